"""Create a PagerDuty object at most once, even when an answer is lost on the way back.

`http.send` replays a failed request, which is safe for PUTs and upserts but would add a second
note, override or service when PagerDuty acted and only its answer was lost. Here each create is
sent once per attempt, and before every attempt `find` looks for what an earlier attempt (or an
earlier run) already made; only when nothing is found is the create sent again.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

import requests

from ..clients.http import RETRY_STATUSES, RetryPolicy, server_wait
from ..clients.pagerduty import PagerDutyClient
from ..errors import PagerDutyError
from .runtime import Runtime

T = TypeVar("T")

ATTEMPTS = 4
BACKOFF = 1.0
MAX_WAIT = 60.0


class _SingleShot:
    """A PagerDuty client that sends each request exactly once and keeps the last response."""

    def __init__(self, runtime: Runtime) -> None:
        self.last: requests.Response | None = None

        def keep(response: requests.Response) -> None:
            self.last = response

        self.client = runtime.new_pagerduty(RetryPolicy(attempts=1), after_response=keep)


def create_once(
    runtime: Runtime,
    describe: str,
    find: Callable[[], T | None],
    create: Callable[[PagerDutyClient], T],
) -> tuple[T, bool]:
    """(object, adopted): the object `find` sees, else the one `create` makes. Retries 429, 5xx
    and dropped connections a bounded number of times, with jitter, honouring Retry-After and
    the rate-limit headers, and looks again with `find` before each new attempt."""
    shot = _SingleShot(runtime)
    for attempt in range(1, ATTEMPTS + 1):
        found = find()
        if found is not None:
            return found, True
        shot.last = None
        try:
            return create(shot.client), False
        except PagerDutyError as exc:
            if exc.status not in RETRY_STATUSES or attempt == ATTEMPTS:
                raise
            reason = f"HTTP {exc.status}"
        except (requests.ConnectionError, requests.Timeout) as exc:
            if attempt == ATTEMPTS:
                raise
            reason = f"connection failed ({type(exc).__name__})"
        asked = server_wait(shot.last) if shot.last is not None else None
        backoff = BACKOFF * 2 ** (attempt - 1) * random.uniform(0.5, 1.0)  # noqa: S311
        wait = min(MAX_WAIT, asked if asked is not None else backoff)
        runtime.reporter.progress(
            f"{describe}: {reason}; checking whether it was made, then retrying in "
            f"{wait:.1f}s (attempt {attempt + 1} of {ATTEMPTS})"
        )
        runtime.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
