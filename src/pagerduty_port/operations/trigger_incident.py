"""trigger-incident: send an Events API v2 event and bring the resulting incident into Port."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clients.events import MAX_BODY_BYTES, PAGERDUTY_EVENTS_URL, EventsClient, encode_event
from ..clients.pagerduty import PagerDutyClient
from ..errors import InputError, PagerDutyError
from ..markdown import table
from .common import CommonSettings
from .event_incident import find_event_incident
from .incident_report import record_incident
from .protocols import InputSource
from .runtime import Runtime

ROUTING_KEY_RE = re.compile(r"^[A-Za-z0-9]{32}$")
# Events are processed asynchronously; these waits (about 12 s in all) bound the look-up.
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


@dataclass(frozen=True)
class TriggerSettings:
    routing_key: str
    event_action: str
    dedup_key: str | None
    dedup_from_context: str | None  # an incident entity whose incident_key to look up
    event: dict[str, Any]
    events_url: str


def _objects(
    inputs: InputSource, name: str, required_key: str, example: str
) -> list[dict[str, Any]] | None:
    items = inputs.json_value(name, expect=list, example=example)
    if items is None:
        return None
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get(required_key), str):
            raise InputError(
                name,
                f"item {index} must be an object with a string '{required_key}', "
                f"such as {example}.",
            )
    return items


def _timestamp(inputs: InputSource) -> str | None:
    value = inputs.text("timestamp")
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            "timestamp", f"got {value!r}; expected an ISO 8601 time such as 2026-01-31T12:00:00Z."
        ) from None
    return value


def _check_size(event: dict[str, Any]) -> None:
    size = len(encode_event(event))
    if size <= MAX_BODY_BYTES:
        return
    payload = event.get("payload") or {}
    fields = {name: payload.get(name) for name in ("custom_details", "summary", "source")}
    fields |= {name: payload.get(name) for name in ("component", "group", "class")}
    fields |= {"links": event.get("links"), "images": event.get("images")}
    sizes = {name: len(encode_event(value)) for name, value in fields.items() if value}
    culprit = max(sizes, key=lambda k: sizes[k])
    raise InputError(
        culprit,
        f"makes the event {size // 1024} KB; PagerDuty's Events API accepts at most "
        f"{MAX_BODY_BYTES // 1024} KB per event.",
    )


class TriggerIncident:
    name = "trigger-incident"

    def parse(self, inputs: InputSource, common: CommonSettings) -> TriggerSettings:
        common.mapping.resources_for("incidents")  # the entity this action writes
        routing_key = inputs.secret("routing_key", required=True)
        assert routing_key is not None
        if not ROUTING_KEY_RE.match(routing_key):
            raise InputError(
                "routing_key",
                f"is {len(routing_key)} characters long; expected the 32-character integration "
                "key of an Events API v2 integration.",
            )
        action = inputs.choice(
            "event_action", ("trigger", "acknowledge", "resolve"), default="trigger"
        )
        assert action is not None
        summary = inputs.text("summary", max_length=MAX_SUMMARY)
        if action == "trigger" and summary is None:
            raise InputError("summary", "is required when event_action is trigger.")
        severity = inputs.choice(
            "severity", ("critical", "error", "warning", "info"), default="critical"
        )
        custom_details = inputs.json_value(
            "custom_details", expect=dict, example='{"region": "eu-west-1"}'
        )
        links = _objects(inputs, "links", "href", '[{"href": "https://example.com", "text": "x"}]')
        images = _objects(inputs, "images", "src", '[{"src": "https://example.com/a.png"}]')
        timestamp = _timestamp(inputs)
        dedup_key = inputs.text("dedup_key", max_length=MAX_DEDUP_KEY)
        dedup_from_context = None
        context = common.context
        if dedup_key is None and action != "trigger":
            if context.entity is None:
                raise InputError(
                    "dedup_key",
                    f"is required when event_action is {action}: give the dedup_key output of "
                    "the trigger step, or run from the incident's Port entity.",
                )
            incident_blueprints = common.mapping.blueprints_of("incidents")
            if (
                context.blueprint is not None
                and context.blueprint not in incident_blueprints
                and None not in incident_blueprints
            ):
                # Another entity's identifier (a service's, say) is no incident's dedup key.
                raise InputError(
                    "dedup_key",
                    f"is required when event_action is {action} and the run's entity is not an "
                    f"incident (it is {context.blueprint} {context.entity!r}): give the "
                    "dedup_key output of the trigger step, or run from an entity of the "
                    "blueprint the mapping writes incidents to.",
                )
            if common.pagerduty_token:
                dedup_from_context = context.entity
            else:
                dedup_key = context.entity

        github = common.github
        event: dict[str, Any] = {"routing_key": routing_key, "event_action": action}
        if dedup_key:
            event["dedup_key"] = dedup_key
        if action == "trigger":
            payload: dict[str, Any] = {
                "summary": summary,
                "source": inputs.text("source") or "Port",
                "severity": severity,
            }
            for name, value in (
                ("timestamp", timestamp),
                ("component", inputs.text("component")),
                ("group", inputs.text("group")),
                ("class", inputs.text("class")),
                ("custom_details", custom_details),
            ):
                if value is not None:
                    payload[name] = value
            event["payload"] = payload
            client = inputs.text("client") or (
                f"GitHub Actions: {github.repository}" if github.repository else None
            )
            client_url = inputs.text("client_url") or github.url
            if client:
                event["client"] = client
            if client_url:
                event["client_url"] = client_url
            if links:
                event["links"] = links
            if images:
                event["images"] = images
        _check_size(event)
        return TriggerSettings(
            routing_key=routing_key,
            event_action=action,
            dedup_key=dedup_key,
            dedup_from_context=dedup_from_context,
            event=event,
            events_url=inputs.url(
                "pagerduty_events_url", default=PAGERDUTY_EVENTS_URL, added_path="/v2/enqueue"
            ),
        )

    @staticmethod
    def _find(
        client: PagerDutyClient, dedup_key: str, action: str, runtime: Runtime
    ) -> dict[str, Any] | None:
        return find_event_incident(
            client,
            dedup_key,
            action,
            include=runtime.common.mapping.includes("incidents"),
            sleep=runtime.sleep,
            warn=runtime.reporter.warning,
        )

    def run(self, settings: TriggerSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        common = runtime.common
        reporter.start(f"Sending a PagerDuty '{settings.event_action}' event.")
        event = dict(settings.event)
        if settings.dedup_from_context:
            source = runtime.pagerduty().get_incident(settings.dedup_from_context)
            key = source.get("incident_key") or settings.dedup_from_context
            reporter.progress(f"Using incident {source['id']}'s key as the dedup key.")
            event["dedup_key"] = key
        events = EventsClient(
            runtime.session, settings.events_url, policy=runtime.policy, on_retry=reporter.progress
        )
        result = events.enqueue(event)
        dedup_key = result.get("dedup_key") or event.get("dedup_key") or ""
        reporter.progress(
            f"PagerDuty accepted the event: {result.get('message', 'processed')} "
            f"(dedup key {dedup_key})."
        )
        outputs: dict[str, Any] = {
            "dedup_key": dedup_key,
            "status": result.get("status"),
            "message": result.get("message"),
            "incident_id": "",
            "incident_url": "",
            "entity_identifier": "",
        }
        incident: dict[str, Any] | None = None
        if common.pagerduty_token:
            reporter.progress("Looking up the incident in PagerDuty.")
            try:
                incident = self._find(
                    runtime.pagerduty(), dedup_key, settings.event_action, runtime
                )
            except PagerDutyError as exc:
                reporter.warning(f"Could not look the incident up: {exc}")
            if incident is None:
                reporter.warning(
                    f"No incident with key {dedup_key} is visible in PagerDuty yet; "
                    "the catalogue is left as it is (the next sync will bring it in)."
                )
        if incident is not None:
            record_incident(
                runtime,
                incident,
                heading=f"PagerDuty {settings.event_action} event for",
                outputs=outputs,
                status_label=f"Incident {incident['status']}",
            )
        else:
            reporter.set_outputs(outputs)
            if not common.pagerduty_token:
                reporter.progress(
                    "No pagerduty_token: the incident cannot be read, so the catalogue is left "
                    "as it is (give pagerduty_token to write it through the mapping now, or let "
                    "the next sync bring it in)."
                )
            reporter.summary(
                f"### PagerDuty {settings.event_action} event sent\n\n"
                + table(
                    [
                        ("Dedup key", dedup_key),
                        ("Status", result.get("status")),
                        ("Message", result.get("message")),
                    ]
                )
                + "\n"
            )
        reporter.progress("Done.")
        reporter.succeed(f"Event {settings.event_action} sent")


OPERATION = TriggerIncident()
