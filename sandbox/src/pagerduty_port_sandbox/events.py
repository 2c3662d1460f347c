"""A local PagerDuty Events API v2 (`POST /v2/enqueue`).

It validates events the way the real API does (400 "invalid event" with a list of errors, never
worth retrying), answers 202 with the dedup key, and hands the event to the shared PagerDuty
state, where it becomes an incident that the REST simulator shows after
`event_visibility_polls` list queries: processing is asynchronous in the real service.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pagerduty_port_sandbox.common import parse_iso
from pagerduty_port_sandbox.httpserver import Api, Request, Response
from pagerduty_port_sandbox.pagerduty_state import PagerDutyState

MAX_EVENT_BYTES = 512 * 1024
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
THROTTLED = "Requests for this service are arriving too quickly.  Please retry later."


def _invalid(*errors: str, message: str = "Event object is invalid") -> Response:
    return Response(400, {"status": "invalid event", "message": message, "errors": list(errors)})


class EventsApi(Api):
    """The alert-event endpoint; events go to the service owning the routing key."""

    name = "events"

    def __init__(self, state: PagerDutyState) -> None:
        super().__init__(state.lock)
        self.state = state
        self.route("POST", r"/v2/enqueue", self.enqueue)

    def error(self, status: int, message: str) -> Response:
        if status == 429:
            return Response(429, {"status": "throttle event", "message": THROTTLED})
        if status == 400:
            return _invalid(message)
        return Response(status, {"status": "error", "message": message})

    def enqueue(self, request: Request) -> Response:
        if len(request.body) > MAX_EVENT_BYTES:
            return _invalid(
                f"Event object is too large ({len(request.body)} bytes; the maximum is 512 KB)"
            )
        try:
            event = json.loads(request.body) if request.body else None
        except ValueError:
            return _invalid("Could not parse the request body as JSON")
        if not isinstance(event, dict):
            return _invalid("Event object must be a JSON object")
        errors = validate_event(event)
        if errors:
            return _invalid(*errors)
        routing_key = event["routing_key"]
        service_id = self.state.routing_keys.get(routing_key)
        if service_id is None:
            return _invalid("Invalid routing key", message="Invalid routing key")
        if not self.state.consume_event(routing_key):
            return self.error(429, THROTTLED)
        action = event["event_action"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        self.state.apply_event(service_id, action, dedup_key, event)
        return Response(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )


def _text(
    container: dict[str, Any], name: str, errors: list[str], *, required: bool, limit: int = 0
) -> None:
    value = container.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(f"'{name}' is missing or blank")
        return
    if not isinstance(value, str):
        errors.append(f"'{name}' must be a string")
    elif limit and len(value) > limit:
        errors.append(f"'{name}' is too long (maximum is {limit} characters)")


def validate_event(event: dict[str, Any]) -> list[str]:
    """Every reason the Events API would reject this event (empty when it is valid)."""
    errors: list[str] = []
    routing_key = event.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        errors.append("'routing_key' is missing or blank")
    else:
        if len(routing_key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not routing_key.isalnum():
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if action is None or action == "":
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(ACTIONS)} (got {action!r})")
    _text(event, "dedup_key", errors, required=action in ("acknowledge", "resolve"), limit=255)
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            _text(payload, "summary", errors, required=True, limit=1024)
            _text(payload, "source", errors, required=True)
            severity = payload.get("severity")
            if severity is None or severity == "":
                errors.append("'severity' is missing or blank")
            elif severity not in SEVERITIES:
                errors.append(f"'severity' must be one of {', '.join(SEVERITIES)}")
            for name in ("component", "group", "class"):
                _text(payload, name, errors, required=False)
            timestamp = payload.get("timestamp")
            if timestamp is not None and parse_iso(timestamp) is None:
                errors.append("'timestamp' must be a valid ISO 8601 date-time")
            details = payload.get("custom_details")
            if details is not None and not isinstance(details, dict):
                errors.append("'custom_details' must be an object")
    for name, required_key in (("links", "href"), ("images", "src")):
        items = event.get(name)
        if items is None:
            continue
        if not isinstance(items, list):
            errors.append(f"'{name}' must be an array")
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get(required_key), str):
                errors.append(f"'{name}[{index}].{required_key}' is missing or not a string")
    for name in ("client", "client_url"):
        _text(event, name, errors, required=False)
    return errors
