"""Port's access token for one client: kept until shortly before Port says it expires, renewed
by one login at a time, and handed to `on_secret` before anything can use (or print) it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import PortError
from .http import RetryPolicy

EXPIRY_MARGIN = 60.0  # renew this many seconds before Port says the token expires
LOGIN_PATH = "/v1/auth/access_token"


class AccessToken:
    """No lock is held across a request: the token lock guards two fields, and the login lock,
    which serialises logins so concurrent writers share one, is only ever waited on for the
    caller's own budget."""

    def __init__(
        self,
        login: Callable[[RetryPolicy], None],
        on_secret: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._login = login  # exchanges the credentials and calls `store`
        self.on_secret = on_secret
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._token_lock = threading.Lock()
        self._login_lock = threading.Lock()
        self.logins = 0

    def store(self, token: str, expires_in: float) -> None:
        if self.on_secret is not None:
            self.on_secret(token)
        with self._token_lock:
            self._token = token
            self._expires_at = self._clock() + max(0.0, expires_in - EXPIRY_MARGIN)
            self.logins += 1

    def forget(self) -> None:
        """Port refused the token before its time: the next request logs in again."""
        with self._token_lock:
            self._token = None

    def current(self) -> str | None:
        with self._token_lock:
            if self._token is None or self._clock() >= self._expires_at:
                return None
            return self._token

    def header(self, policy: RetryPolicy) -> str:
        """`Bearer <token>`, logging in first when there is no valid token."""
        token = self.current()
        if token is None:
            # One login at a time; a caller that cannot get its turn within its own budget
            # gives up instead of waiting behind a login that may never end.
            if not self._login_lock.acquire(timeout=policy.budget):
                raise PortError(
                    "timed out waiting for another Port login to finish",
                    method="POST",
                    path=LOGIN_PATH,
                    unanswered=True,
                )
            try:
                token = self.current()
                if token is None:
                    self._login(policy)
                    token = self.current()
            finally:
                self._login_lock.release()
        return f"Bearer {token}"
