"""Create a PagerDuty object at most once, even when an answer is lost on the way back.

`http.send` replays a failed request, which is safe for PUTs and upserts but would add a second
note, override or service when PagerDuty acted and only its answer was lost. Here each create is
sent once per attempt, and before every attempt `find` looks for what an earlier attempt (or an
earlier run) already made; only when nothing is found is the create sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import requests

from ..clients.http import RETRY_STATUSES, Retries
from ..clients.pagerduty import PagerDutyClient
from ..errors import PagerDutyError
from .runtime import Runtime

T = TypeVar("T")


def create_once(
    runtime: Runtime,
    describe: str,
    find: Callable[[], T | None],
    create: Callable[[PagerDutyClient], T],
) -> tuple[T, bool]:
    """(object, adopted): the object `find` sees, else the one `create` makes.

    The run's one retry policy decides (`http.Retries`: bounded attempts and time, jitter,
    Retry-After and the rate-limit headers honoured); only the loop is here, because `find`
    must look again before each new attempt. 408, 429, 5xx and requests that got no answer
    are retried; any other error is final.
    """
    last: list[requests.Response] = []
    single_shot = runtime.new_pagerduty(
        replace(runtime.policy, attempts=1), after_response=last.append
    )
    retries = Retries(
        runtime.policy, f"{describe} (looked up again before retrying)", runtime.reporter.progress
    )
    while True:
        retries.begin()
        found = find()
        if found is not None:
            return found, True
        last.clear()
        try:
            return create(single_shot), False
        except PagerDutyError as exc:
            if not (exc.unanswered or exc.status in RETRY_STATUSES):
                raise
            wait = retries.wait(exc.reason, last[-1] if last else None)
            if wait is None:
                raise
        runtime.policy.sleep(wait)
