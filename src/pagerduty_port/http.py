"""Bounded retries shared by every client: 429, 5xx and dropped connections, honouring
the wait the server asks for (Retry-After, ratelimit-reset, x-ratelimit-reset)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT = (10.0, 60.0)  # connect, read
USER_AGENT = "pagerduty-port-actions/0.1 (+https://github.com/)"
_EPOCH_THRESHOLD = 1_000_000_000  # a reset value this large is a Unix time, not a delay


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` in total, exponential backoff, each wait capped at `max_wait`."""

    attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.time, compare=False)


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
    """Send one request, retrying what is safe to retry; returns the last response.

    Connection errors are retried for every method: the callers make their writes
    idempotent (incident keys, upserts) so a replay cannot duplicate anything.
    """
    kwargs.setdefault("timeout", TIMEOUT)
    for attempt in range(1, policy.attempts + 1):
        last = attempt == policy.attempts
        try:
            response = session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if last:
                raise
            reason = f"connection failed ({type(exc).__name__})"
            wait = min(policy.max_wait, policy.backoff * 2 ** (attempt - 1))
        else:
            if response.status_code not in RETRY_STATUSES or last:
                return response
            reason = f"HTTP {response.status_code}"
            asked = server_wait(response, policy.clock)
            wait = asked if asked is not None else policy.backoff * 2 ** (attempt - 1)
            wait = min(policy.max_wait, wait)
        message = (
            f"{describe}: {reason}; retrying in {wait:.1f}s "
            f"(attempt {attempt + 1} of {policy.attempts})"
        )
        log.info(message)
        if on_retry is not None:
            on_retry(message)
        policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


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
