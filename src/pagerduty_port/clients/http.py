"""One retry policy for every request (PagerDuty REST, Events v2, Port): bounded attempts and
a bounded total time, capped exponential backoff with full jitter, and the server's own wait
(Retry-After, ratelimit-reset, x-ratelimit-reset) kept whole: a wait longer than the budget
left ends the retries at once, with the server's answer.

Every attempt has a (connect, read) timeout, shortened to what is left of the time budget, so a
server that never answers costs at most `budget` seconds per request.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

log = logging.getLogger(__name__)

# 408 and 429 ask for a retry; 5xx are the server's own failures. Any other 4xx is final
# (401 is left to the Port client, which logs in again once).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TIMEOUT = (5.0, 15.0)  # connect, read
USER_AGENT = "pagerduty-port-actions/0.1 (+https://github.com/)"
_EPOCH_THRESHOLD = 1_000_000_000  # a reset value this large is a Unix time, not a delay
_MIN_ATTEMPT_TIME = 0.05  # too little budget left to be worth another attempt


class Unanswered(Exception):
    """No HTTP answer at all: refused, dropped, or nothing within the timeout, every attempt."""

    def __init__(self, reason: str, attempts: int, elapsed: float) -> None:
        self.reason = reason
        self.attempts = attempts
        self.elapsed = elapsed
        plural = "s" if attempts != 1 else ""
        super().__init__(f"no answer ({reason}) after {attempts} attempt{plural} in {elapsed:.1f}s")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request.

    `attempts` in total, within `budget` seconds from the first send to the last answer.
    Waits grow as `backoff * 2**n`, capped at `max_wait`, drawn uniformly below that (full
    jitter); a wait the server asks for is used as given, never shortened. A wait that
    would overrun the budget ends the retries at once. `clock` is wall time (for HTTP dates and
    epoch resets), `monotonic` measures the budget; both, `sleep` and `random` are injectable.
    """

    attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 10.0
    budget: float = 30.0
    timeout: tuple[float, float] = TIMEOUT
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.time, compare=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff_wait(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_wait, backoff * 2**(attempt-1)))."""
        ceiling: float = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        return ceiling * self.random()


def server_wait(
    response: requests.Response, clock: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asked us to wait, from the first header that says so, else None."""
    headers = response.headers
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - clock())
            except (TypeError, ValueError):
                pass
    for name in ("ratelimit-reset", "x-ratelimit-reset"):
        value = headers.get(name)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if number >= _EPOCH_THRESHOLD:
            number -= clock()
        return max(0.0, number)
    return None


class Retries:
    """The retry decisions of one logical request under `policy`, for every loop that retries:
    `send` below, and callers that must look before they send again (a create whose answer
    may have been lost). Counts attempts and the time budget, picks each wait (the server's
    if it asked, else jittered backoff, capped) and announces each retry once: through
    `on_retry` when given, else in this module's log."""

    def __init__(
        self,
        policy: RetryPolicy,
        describe: str,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.policy = policy
        self.describe = describe
        self.on_retry = on_retry
        self.attempt = 0
        self.start = policy.monotonic()

    @property
    def elapsed(self) -> float:
        return self.policy.monotonic() - self.start

    def begin(self) -> tuple[float, float]:
        """Count one more attempt; its (connect, read) timeout, cut to the budget left."""
        self.attempt += 1
        left = max(self.policy.budget - self.elapsed, _MIN_ATTEMPT_TIME)
        connect, read = self.policy.timeout
        return min(connect, left), min(read, left)

    def wait(self, reason: str, response: requests.Response | None = None) -> float | None:
        """After a failed attempt: the announced wait before the next one, or None when the
        attempts or the time budget are spent. A wait the server asks for is kept whole, never
        shortened into a retry it said not to send; one that overruns the budget ends the
        retries at once. `max_wait` caps our own backoff."""
        policy = self.policy
        asked = server_wait(response, policy.clock) if response is not None else None
        wait = (
            asked if asked is not None else min(policy.max_wait, policy.backoff_wait(self.attempt))
        )
        out_of_time = self.elapsed + wait + _MIN_ATTEMPT_TIME > policy.budget
        if self.attempt >= policy.attempts or out_of_time:
            return None
        message = (
            f"{self.describe}: {reason}; retrying in {wait:.1f}s "
            f"(attempt {self.attempt + 1} of {policy.attempts})"
        )
        if self.on_retry is not None:
            self.on_retry(message)
        else:
            log.info(message)
        return wait


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    describe: str,
    on_retry: Callable[[str], None] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one request, retrying what is safe to retry; returns the last answer.

    Raises `Unanswered` when no attempt got an HTTP answer. Connection errors are retried for
    every method: the callers make their writes idempotent (incident keys, upserts, or a look
    before each new attempt) so a replay cannot duplicate anything.
    """
    retries = Retries(policy, describe, on_retry)
    while True:
        timeout = retries.begin()
        response: requests.Response | None = None
        try:
            answer = session.request(method, url, timeout=timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = _transport_reason(exc)
        else:
            if answer.status_code not in RETRY_STATUSES:
                return answer
            response = answer
            reason = f"HTTP {answer.status_code}"
        wait = retries.wait(reason, response)
        if wait is None:
            if response is not None:
                return response
            raise Unanswered(reason, retries.attempt, retries.elapsed)
        policy.sleep(wait)


def _transport_reason(exc: Exception) -> str:
    if isinstance(exc, requests.Timeout):
        return "no response within the timeout"
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if "aborted" in text.lower() or "reset" in text.lower() or "closed" in text.lower():
        return "connection dropped"
    return f"connection failed ({type(exc).__name__})"


def new_session() -> requests.Session:
    """A session with our User-Agent; clients receive it so tests can point them anywhere."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def short_text(response: requests.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "") if text else response.reason or ""
