"""trigger-incident's look-up of the incident an event produced, in process against the
PagerDuty simulators, with the polling's sleep injected so no test waits."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from pagerduty_port.clients.pagerduty import PagerDutyClient
from pagerduty_port.operations.event_incident import POLL_WAITS, find_event_incident
from pagerduty_port_sandbox import Sandbox


def send(sb: Sandbox, action: str, key: str) -> None:
    body: dict[str, Any] = {"routing_key": sb.routing_key, "event_action": action, "dedup_key": key}
    if action == "trigger":
        body["payload"] = {"summary": "Disk full", "source": "db-1", "severity": "critical"}
    response = requests.post(sb.events_url + "/v2/enqueue", json=body, timeout=5)
    assert response.status_code == 202, response.text


class Lookup:
    """find_event_incident with its sleeps and warnings recorded instead of done."""

    def __init__(self, sb: Sandbox) -> None:
        self.client = PagerDutyClient(requests.Session(), sb.pagerduty_token, sb.pagerduty_url)
        self.waits: list[float] = []
        self.warnings: list[str] = []

    def __call__(self, key: str, action: str = "trigger") -> dict[str, Any] | None:
        return find_event_incident(
            self.client, key, action, sleep=self.waits.append, warn=self.warnings.append
        )


def resolved_then_retriggered(sb: Sandbox, key: str, hidden_polls: int) -> tuple[str, str]:
    """An incident with `key`, resolved, then a new one that stays hidden for `hidden_polls`."""
    send(sb, "trigger", key)
    send(sb, "resolve", key)
    sb.pagerduty.event_visibility_polls = hidden_polls
    send(sb, "trigger", key)
    sb.pagerduty.event_visibility_polls = 0
    old, new = sorted(
        sb.pagerduty.incidents, key=lambda i: sb.pagerduty.incidents[i]["incident_number"]
    )
    return old, new


def test_a_retrigger_after_resolve_waits_for_the_new_open_incident(sb):
    old, new = resolved_then_retriggered(sb, "disk-1", hidden_polls=2)
    assert sb.pagerduty.incidents[old]["status"] == "resolved"
    lookup = Lookup(sb)
    found = lookup("disk-1")
    assert found is not None
    assert found["id"] == new
    assert found["status"] == "triggered"
    assert lookup.waits == [0.5, 1.0]  # the resolved incident was visible at once: not taken
    assert lookup.warnings == []


def test_a_retrigger_whose_incident_never_shows_reports_none_not_the_resolved_one(sb):
    resolved_then_retriggered(sb, "disk-2", hidden_polls=len(POLL_WAITS) + 5)
    lookup = Lookup(sb)
    assert lookup("disk-2") is None
    assert lookup.waits == list(POLL_WAITS)  # bounded: every wait once, then give up


def test_a_trigger_on_an_open_key_is_the_same_incident(sb):
    send(sb, "trigger", "disk-3")
    send(sb, "trigger", "disk-3")
    (incident_id,) = sb.pagerduty.incidents
    lookup = Lookup(sb)
    found = lookup("disk-3")
    assert found is not None
    assert found["id"] == incident_id
    assert found["alert_counts"]["all"] == 2
    assert lookup.waits == []


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_report_the_newest_incident_with_the_key(sb, action):
    _, new = resolved_then_retriggered(sb, "disk-4", hidden_polls=0)
    send(sb, action, "disk-4")
    lookup = Lookup(sb)
    found = lookup("disk-4", action)
    assert found is not None
    assert found["id"] == new
    assert found["status"] == {"acknowledge": "acknowledged", "resolve": "resolved"}[action]
    assert lookup.waits == []
