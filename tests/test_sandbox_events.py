"""The Events API v2 simulator validates like PagerDuty and feeds the REST simulator."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from pagerduty_port.clients.pagerduty import ACCEPT
from pagerduty_port_sandbox import Sandbox


def event(sb: Sandbox, action: str = "trigger", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": sb.routing_key, "event_action": action}
    if action == "trigger":
        body["payload"] = {
            "summary": "Disk full on db-1",
            "source": "db-1.example.com",
            "severity": "critical",
        }
    body.update(fields)
    return body


def send(sb: Sandbox, body: Any) -> requests.Response:
    return requests.post(sb.events_url + "/v2/enqueue", json=body, timeout=5)


def list_incidents(sb: Sandbox, **params: Any) -> list[dict[str, Any]]:
    response = requests.get(
        sb.pagerduty_url + "/incidents",
        params=params,
        headers={"Authorization": f"Token token={sb.pagerduty_token}", "Accept": ACCEPT},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["incidents"]


def test_trigger_creates_an_incident_keyed_by_the_dedup_key(sb: Sandbox) -> None:
    response = send(sb, event(sb, dedup_key="disk-db-1"))
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "disk-db-1",
    }
    [incident] = list_incidents(sb, incident_key="disk-db-1")
    assert incident["service"]["id"] == sb.service_id
    assert incident["title"] == "Disk full on db-1"
    assert incident["status"] == "triggered"
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [sb.responder_id]


def test_trigger_without_dedup_key_gets_one_generated(sb: Sandbox) -> None:
    first = send(sb, event(sb)).json()["dedup_key"]
    second = send(sb, event(sb)).json()["dedup_key"]
    assert first != second
    assert len(first) == 32
    assert {i["incident_key"] for i in list_incidents(sb)} == {first, second}


def test_trigger_on_an_open_key_does_not_create_a_second_incident(sb: Sandbox) -> None:
    for _ in range(3):
        assert send(sb, event(sb, dedup_key="same")).status_code == 202
    [incident] = list_incidents(sb, incident_key="same")
    assert incident["alert_counts"]["all"] == 3


def test_acknowledge_and_resolve_change_the_incident(sb: Sandbox) -> None:
    send(sb, event(sb, dedup_key="k"))
    assert send(sb, event(sb, "acknowledge", dedup_key="k")).status_code == 202
    assert list_incidents(sb, incident_key="k")[0]["status"] == "acknowledged"
    assert send(sb, event(sb, "resolve", dedup_key="k")).status_code == 202
    [resolved] = list_incidents(sb, incident_key="k")
    assert resolved["status"] == "resolved"
    # a trigger after the resolve opens a new incident with the same key
    send(sb, event(sb, dedup_key="k"))
    assert sorted(i["status"] for i in list_incidents(sb, incident_key="k")) == [
        "resolved",
        "triggered",
    ]


def test_unknown_dedup_key_is_accepted_and_ignored(sb: Sandbox) -> None:
    for action in ("acknowledge", "resolve"):
        response = send(sb, event(sb, action, dedup_key="never-triggered"))
        assert response.status_code == 202
        assert response.json()["dedup_key"] == "never-triggered"
    assert sb.pagerduty.incidents == {}


def test_events_for_another_routing_key_do_not_touch_the_incident(sb: Sandbox) -> None:
    other_service = sb.pagerduty.add_service("Billing", sb.escalation_policy_id)
    other_key = sb.pagerduty.routing_key_for(other_service)
    send(sb, event(sb, dedup_key="k"))
    send(sb, event(sb, "resolve", routing_key=other_key, dedup_key="k"))
    assert list_incidents(sb, incident_key="k")[0]["status"] == "triggered"


def test_incidents_appear_only_after_the_configured_number_of_polls(sb: Sandbox) -> None:
    sb.pagerduty.event_visibility_polls = 2
    send(sb, event(sb, dedup_key="slow"))
    # queries that would not match it do not count as polls
    assert list_incidents(sb, **{"statuses[]": "resolved"}) == []
    assert list_incidents(sb, incident_key="slow") == []
    assert list_incidents(sb) == []
    [incident] = list_incidents(sb, incident_key="slow")
    assert incident["incident_key"] == "slow"
    assert list_incidents(sb)[0]["id"] == incident["id"]


def test_hidden_incident_is_still_deduplicated_and_updated(sb: Sandbox) -> None:
    sb.pagerduty.event_visibility_polls = 1
    send(sb, event(sb, dedup_key="k"))
    send(sb, event(sb, dedup_key="k"))
    send(sb, event(sb, "acknowledge", dedup_key="k"))
    assert list_incidents(sb) == []
    [incident] = list_incidents(sb)
    assert incident["status"] == "acknowledged"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"routing_key": None}, "'routing_key' is missing or blank"),
        (
            {"routing_key": "short"},
            "Length of 'routing_key' is incorrect (should be 32 characters)",
        ),
        ({"routing_key": "-" * 32}, "'routing_key' cannot contain non-alphanumeric characters."),
        ({"event_action": None}, "'event_action' is missing or blank"),
        ({"event_action": "snooze"}, "'event_action' must be one of"),
        ({"payload": None}, "'payload' is missing"),
        ({"payload": {"source": "x", "severity": "info"}}, "'summary' is missing or blank"),
        ({"payload": {"summary": "x", "severity": "info"}}, "'source' is missing or blank"),
        ({"payload": {"summary": "x", "source": "y"}}, "'severity' is missing or blank"),
        ({"payload": {"summary": "x", "source": "y", "severity": "fatal"}}, "'severity' must be"),
        (
            {"payload": {"summary": "x" * 1025, "source": "y", "severity": "info"}},
            "'summary' is too long (maximum is 1024 characters)",
        ),
        (
            {"payload": {"summary": "x", "source": "y", "severity": "info", "timestamp": "soon"}},
            "'timestamp'",
        ),
        (
            {"payload": {"summary": "x", "source": "y", "severity": "info", "custom_details": 3}},
            "'custom_details' must be an object",
        ),
        ({"dedup_key": "k" * 256}, "'dedup_key' is too long (maximum is 255 characters)"),
        ({"links": {"href": "x"}}, "'links' must be an array"),
        ({"links": [{"text": "no href"}]}, "'links[0].href'"),
        ({"images": [{"href": "no src"}]}, "'images[0].src'"),
    ],
)
def test_invalid_events_are_400_with_a_list_of_errors(
    sb: Sandbox, change: dict[str, Any], expected: str
) -> None:
    body = {k: v for k, v in {**event(sb), **change}.items() if v is not None}
    response = send(sb, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["status"] == "invalid event"
    assert payload["message"] == "Event object is invalid"
    assert any(error.startswith(expected) for error in payload["errors"]), payload
    assert sb.pagerduty.incidents == {}


def test_acknowledge_and_resolve_need_a_dedup_key(sb: Sandbox) -> None:
    for action in ("acknowledge", "resolve"):
        response = send(sb, event(sb, action))
        assert response.status_code == 400
        assert "'dedup_key' is missing or blank" in response.json()["errors"]


def test_a_well_formed_but_unknown_routing_key_is_rejected(sb: Sandbox) -> None:
    response = send(sb, event(sb, routing_key="0123456789abcdef0123456789abcdef"))
    assert response.status_code == 400
    assert response.json()["errors"] == ["Invalid routing key"]


def test_optional_fields_are_accepted(sb: Sandbox) -> None:
    body = event(
        sb,
        dedup_key="full",
        client="GitHub Actions",
        client_url="https://github.com/acme/app/actions/runs/1",
        links=[{"href": "https://example.com", "text": "runbook"}],
        images=[{"src": "https://example.com/graph.png", "alt": "graph"}],
    )
    body["payload"].update(
        timestamp="2015-07-17T08:42:58.315+0000",
        component="mysql",
        group="prod-datapipe",
        **{"class": "disk"},
        custom_details={"free": "0%"},
    )
    assert send(sb, body).status_code == 202
    [incident] = list_incidents(sb)
    detail = requests.get(
        f"{sb.pagerduty_url}/incidents/{incident['id']}",
        headers={"Authorization": f"Token token={sb.pagerduty_token}", "Accept": ACCEPT},
        timeout=5,
    ).json()["incident"]
    assert json.loads(detail["body"]["details"]) == {"free": "0%"}


def test_bodies_over_512_kb_are_rejected(sb: Sandbox) -> None:
    body = event(sb)
    body["payload"]["custom_details"] = {"blob": "x" * (512 * 1024)}
    response = send(sb, body)
    assert response.status_code == 400
    assert "too large" in response.json()["errors"][0]


def test_non_json_bodies_are_rejected(sb: Sandbox) -> None:
    response = requests.post(sb.events_url + "/v2/enqueue", data="not json", timeout=5)
    assert response.status_code == 400
    assert response.json()["status"] == "invalid event"
    assert send(sb, ["a", "list"]).status_code == 400


def test_rate_limit_per_routing_key_answers_429(sb: Sandbox) -> None:
    sb.pagerduty.events_rate_limit = 2
    statuses = [send(sb, event(sb)).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    throttled = send(sb, event(sb))
    assert throttled.json()["status"] == "throttle event"
    sb.pagerduty.reset_rate_limit()
    assert send(sb, event(sb)).status_code == 202
    assert len(sb.pagerduty.incidents) == 3


def test_injected_faults_reach_the_events_api(sb: Sandbox) -> None:
    sb.inject("events", "POST", r"^/v2/enqueue$", 429, times=2)
    sb.inject("events", "POST", r"/v2/enqueue", 503)
    statuses = [send(sb, event(sb)).status_code for _ in range(4)]
    assert statuses == [429, 429, 503, 202]
    assert len(sb.pagerduty.incidents) == 1
    assert [r.status for r in sb.requests.filter(server="events")] == statuses
