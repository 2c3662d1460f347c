"""PagerDuty Events API v2: one enqueue call, size-checked before sending, 400 never retried."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from ..errors import EventsError
from .http import RetryPolicy, Unanswered, json_or_none, send, short_text

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com"
MAX_BODY_BYTES = 512 * 1024


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class EventsClient:
    def __init__(
        self,
        session: requests.Session,
        base_url: str = PAGERDUTY_EVENTS_URL,
        *,
        policy: RetryPolicy | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry

    def enqueue(self, event: dict[str, Any]) -> dict[str, Any]:
        body = encode_event(event)
        if len(body) > MAX_BODY_BYTES:
            raise EventsError(
                f"the event is {len(body)} bytes; the Events API accepts at most {MAX_BODY_BYTES}",
                method="POST",
                path="/v2/enqueue",
            )
        try:
            response = send(
                self.session,
                "POST",
                self.base_url + "/v2/enqueue",
                policy=self.policy,
                describe="PagerDuty Events POST /v2/enqueue",
                on_retry=self.on_retry,
                data=body,
                headers={"Content-Type": "application/json"},
            )
        except Unanswered as exc:
            raise EventsError(str(exc), method="POST", path="/v2/enqueue", unanswered=True) from exc
        data = json_or_none(response)
        if response.status_code >= 400:
            if isinstance(data, dict) and ("message" in data or "errors" in data):
                errors = data.get("errors")
                raise EventsError(
                    str(data.get("message") or data.get("status") or response.reason),
                    status=response.status_code,
                    details=[str(e) for e in errors] if isinstance(errors, list) else [],
                    method="POST",
                    path="/v2/enqueue",
                )
            raise EventsError(
                short_text(response),
                status=response.status_code,
                method="POST",
                path="/v2/enqueue",
            )
        return data if isinstance(data, dict) else {}
