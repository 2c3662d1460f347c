"""One rate limiter per PagerDuty token, shared by every request made with it.

PagerDuty limits each key (960 requests/min). Every PagerDuty client an operation builds reports
to its token's limiter: when a response says the budget is spent (`ratelimit-remaining` at or
below a small reserve), the next request on that token waits until `ratelimit-reset`. 429s are
retried by `http.send`, which honours Retry-After. (Requests stay serial because the sync reads
with one thread, as PagerDuty asks; the limiter only paces them.)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

import requests

MAX_HOLD = 60.0  # never hold a request longer than one rate-limit window


class RateLimiter:
    """Paces requests for one token from the `ratelimit-*` headers of its responses."""

    def __init__(
        self,
        *,
        reserve: int = 2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reserve = reserve
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self._hold_until = 0.0
        self.waits: list[float] = []  # every hold, for progress lines and tests

    def before_request(self) -> None:
        """Wait out a spent budget; the lock only guards the numbers, never the wait, so no
        thread waits on a lock another thread holds while it sleeps."""
        with self._lock:
            wait = self._hold_until - self.clock()
            if wait > 0:
                self.waits.append(wait)
        if wait > 0:
            self.sleep(wait)

    def after_response(self, response: requests.Response) -> None:
        remaining = _number(response.headers.get("ratelimit-remaining"))
        reset = _number(response.headers.get("ratelimit-reset"))
        if response.status_code == 429 and reset is None:
            return  # http.send already waited as asked
        if remaining is not None and reset is not None and remaining <= self.reserve:
            with self._lock:
                self._hold_until = max(self._hold_until, self.clock() + min(reset, MAX_HOLD))


def _number(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


_LIMITERS: dict[str, RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(token: str) -> RateLimiter:
    """The process-wide limiter of `token` (keyed by a digest, so no secret is kept as a key)."""
    key = hashlib.sha256(token.encode()).hexdigest()
    with _REGISTRY_LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = RateLimiter()
        return _LIMITERS[key]
