"""trigger-incident and escalate end to end: the entrypoint in a subprocess against the
simulators, through their own action.yml and through the root action."""

from __future__ import annotations

import json

import pytest

from actionrun import run_action


def port_inputs(sb, run_id=None, context=None):
    ctx = dict(context or {})
    if run_id:
        ctx["run_id"] = run_id
        if run_id not in sb.port.runs:
            sb.port.add_run(run_id)
    inputs = {
        "port_client_id": sb.port_client_id,
        "port_client_secret": sb.port_client_secret,
        "port_base_url": sb.port_url,
    }
    if ctx:
        inputs["port_context"] = json.dumps(ctx)
    return inputs


def trigger_inputs(sb, run_id="r_trig", **overrides):
    inputs = {
        "routing_key": sb.routing_key,
        "summary": "Disk full on checkout-1",
        "pagerduty_events_url": sb.events_url,
        "pagerduty_token": sb.pagerduty_token,
        "pagerduty_api_url": sb.pagerduty_url,
        **port_inputs(sb, run_id),
    }
    inputs.update(overrides)
    return {k: v for k, v in inputs.items() if v is not None}


def enqueues(sb):
    return sb.requests.filter(server="events", method="POST", path="/v2/enqueue")


def entity(sb, incident_id):
    return sb.port.entities[("pagerdutyIncident", incident_id)]


# trigger-incident ----------------------------------------------------------------------


def test_trigger_then_acknowledge_then_resolve_leaves_one_resolved_incident(sandbox):
    sb = sandbox
    for run in ("r_t1", "r_t2", "r_t3"):
        sb.port.add_run(run)
    first = run_action("trigger-incident", trigger_inputs(sb, run_id="r_t1", severity="error"))
    assert first.returncode == 0, first.stdout + first.stderr
    key = first.outputs["dedup_key"]
    assert key
    assert first.outputs["status"] == "success"
    incident_id = first.outputs["incident_id"]
    assert sb.pagerduty.incidents[incident_id]["incident_key"] == key
    assert entity(sb, incident_id)["properties"]["status"] == "triggered"
    sent = enqueues(sb)[0].json
    assert sent["payload"] == {
        "summary": "Disk full on checkout-1",
        "source": "Port",
        "severity": "error",
    }

    ack = run_action(
        "trigger-incident",
        trigger_inputs(sb, run_id="r_t2", event_action="acknowledge", summary=None, dedup_key=key),
    )
    assert ack.returncode == 0, ack.stdout
    assert entity(sb, incident_id)["properties"]["status"] == "acknowledged"

    resolve = run_action(
        "trigger-incident",
        trigger_inputs(sb, run_id="r_t3", event_action="resolve", summary=None, dedup_key=key),
    )
    assert resolve.returncode == 0, resolve.stdout
    assert len(sb.pagerduty.incidents) == 1
    assert sb.pagerduty.incidents[incident_id]["status"] == "resolved"
    assert [bp_id for bp_id in sb.port.entities if bp_id[0] == "pagerdutyIncident"] == [
        ("pagerdutyIncident", incident_id)
    ]
    assert entity(sb, incident_id)["properties"]["status"] == "resolved"
    assert resolve.outputs["incident_id"] == incident_id


def test_trigger_without_a_rest_token_leaves_the_catalogue_to_the_sync(sandbox):
    """Without a REST token there is no PagerDuty incident to map, and the mapping is the only
    definition of an incident entity: nothing is written rather than a guess."""
    sb = sandbox
    sb.port.add_run("r_min")
    result = run_action(
        "trigger-incident",
        trigger_inputs(sb, run_id="r_min", pagerduty_token=None, dedup_key="checkout-disk"),
    )
    assert result.returncode == 0, result.stdout
    assert result.outputs["incident_id"] == ""
    assert result.outputs["entity_identifier"] == ""
    assert result.outputs["dedup_key"] == "checkout-disk"
    assert "No pagerduty_token: the incident cannot be read" in result.stdout
    assert sb.requests.filter(server="port", path="/v1/blueprints/*") == []
    assert sb.requests.filter(server="pagerduty") == []


def test_acknowledge_from_the_incident_entity_uses_its_incident_key(sandbox):
    sb = sandbox
    incident = sb.pagerduty.create_incident(
        service_id=sb.service_id, title="From Port", incident_key="custom-key-1"
    )
    context = {"blueprint": "pagerdutyIncident", "entity": incident["id"]}
    result = run_action(
        "trigger-incident",
        {
            **trigger_inputs(sb, run_id=None, event_action="acknowledge", summary=None),
            **port_inputs(sb, context=context),
        },
    )
    assert result.returncode == 0, result.stdout
    assert enqueues(sb)[0].json["dedup_key"] == "custom-key-1"
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "acknowledged"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("token", [True, False])
def test_acknowledge_from_a_service_entity_without_dedup_key_fails_before_any_request(
    sandbox, action, token
):
    sb = sandbox
    context = {"blueprint": "pagerdutyService", "entity": sb.service_id}
    inputs = {
        **trigger_inputs(sb, run_id=None, event_action=action, summary=None),
        **port_inputs(sb, context=context),
    }
    if not token:
        del inputs["pagerduty_token"]
    result = run_action("trigger-incident", inputs)
    assert result.returncode == 1, result.stdout
    (error,) = result.errors()
    assert "Input 'dedup_key'" in error
    assert f"is required when event_action is {action}" in error
    assert f"pagerdutyService '{sb.service_id}'" in error
    assert "give the dedup_key output of the trigger step" in error
    assert sb.requests.filter() == []


def test_incident_lookup_waits_for_asynchronous_processing(sandbox):
    sb = sandbox
    sb.pagerduty.event_visibility_polls = 2  # the first two look-ups do not see it yet
    result = run_action("trigger-incident", trigger_inputs(sb))
    assert result.returncode == 0, result.stdout
    lookups = sb.requests.filter(server="pagerduty", method="GET", path="/incidents")
    assert len(lookups) == 3
    assert result.outputs["incident_id"] in sb.pagerduty.incidents


def test_retrigger_after_resolve_reports_the_new_open_incident(sandbox):
    sb = sandbox
    for run in ("r_re1", "r_re2", "r_re3"):
        sb.port.add_run(run)
    key = "checkout-disk"
    first = run_action("trigger-incident", trigger_inputs(sb, run_id="r_re1", dedup_key=key))
    assert first.returncode == 0, first.stdout
    old_id = first.outputs["incident_id"]
    resolve = run_action(
        "trigger-incident",
        trigger_inputs(sb, run_id="r_re2", event_action="resolve", summary=None, dedup_key=key),
    )
    assert resolve.returncode == 0, resolve.stdout
    sb.pagerduty.event_visibility_polls = 1  # the resolved incident is visible before the new one
    again = run_action("trigger-incident", trigger_inputs(sb, run_id="r_re3", dedup_key=key))
    assert again.returncode == 0, again.stdout
    (new_id,) = set(sb.pagerduty.incidents) - {old_id}
    assert [sb.pagerduty.incidents[i]["incident_key"] for i in (old_id, new_id)] == [key, key]
    assert again.outputs["incident_id"] == new_id
    assert again.outputs["entity_identifier"] == new_id
    assert sb.pagerduty.incidents[new_id]["status"] == "triggered"
    assert entity(sb, new_id)["properties"]["status"] == "triggered"
    assert entity(sb, old_id)["properties"]["status"] == "resolved"
    assert sb.port.runs["r_re3"]["link"] == [sb.pagerduty.incidents[new_id]["html_url"]]


@pytest.mark.parametrize(
    ("overrides", "named", "expected"),
    [
        (
            {"event_action": "snooze"},
            "event_action",
            "expected one of: trigger, acknowledge, resolve",
        ),
        ({"severity": "fatal"}, "severity", "expected one of: critical, error, warning, info"),
        ({"custom_details": '["a"]'}, "custom_details", "expected a JSON object"),
        ({"custom_details": "{bad"}, "custom_details", "is not valid JSON"),
        ({"links": '[{"text": "no href"}]'}, "links", "with a string 'href'"),
        ({"links": '{"href": "x"}'}, "links", "expected a JSON array"),
        ({"images": '[{"alt": "no src"}]'}, "images", "with a string 'src'"),
        ({"summary": "x" * 1025}, "summary", "at most 1024"),
        ({"summary": None}, "summary", "is required when event_action is trigger"),
        (
            # One environment variable holds at most 128 KiB, so the 600 KB come from several inputs.
            {
                "custom_details": json.dumps({"blob": "x" * 125_000}),
                "links": json.dumps([{"href": "https://e.x/" + "l" * 119_000}]),
                "images": json.dumps([{"src": "https://e.x/" + "i" * 119_000}]),
                "component": "c" * 119_000,
                "group": "g" * 119_000,
            },
            "custom_details",
            "makes the event 587 KB; PagerDuty's Events API accepts at most 512 KB",
        ),
        (
            {"event_action": "resolve", "summary": None},
            "dedup_key",
            "is required when event_action is resolve",
        ),
        ({"routing_key": "short"}, "routing_key", "expected the 32-character"),
        ({"routing_key": None}, "routing_key", "is required"),
        ({"timestamp": "yesterday"}, "timestamp", "expected an ISO 8601"),
        ({"dedup_key": "k" * 256}, "dedup_key", "at most 255"),
    ],
)
def test_bad_trigger_input_is_named_and_nothing_is_sent(sandbox, overrides, named, expected):
    sb = sandbox
    result = run_action("trigger-incident", trigger_inputs(sb, run_id=None, **overrides))
    assert result.returncode == 1
    (error,) = result.errors()
    assert f"Input '{named}'" in error
    assert expected in error
    assert sb.requests.filter(server="events") == []
    assert sb.requests.filter(server="pagerduty") == []


@pytest.mark.parametrize(("status", "headers"), [(429, {"Retry-After": "1"}), (500, {})])
def test_events_429_and_500_are_retried(sandbox, status, headers):
    sb = sandbox
    sb.inject("events", "POST", r"/v2/enqueue$", status, headers=headers, times=1)
    result = run_action("trigger-incident", trigger_inputs(sb))
    assert result.returncode == 0, result.stdout
    assert len(enqueues(sb)) == 2
    assert len(sb.pagerduty.incidents) == 1


def test_events_400_is_not_retried(sandbox):
    sb = sandbox
    body = {"status": "invalid event", "message": "Event object is invalid", "errors": ["bad"]}
    sb.inject("events", "POST", r"/v2/enqueue$", 400, body=body, times=3)
    result = run_action("trigger-incident", trigger_inputs(sb))
    assert result.returncode == 1
    assert len(enqueues(sb)) == 1
    (error,) = result.errors()
    assert "HTTP 400" in error
    assert "Event object is invalid" in error


def test_an_events_url_given_with_its_enqueue_path_is_trimmed(sandbox):
    sb = sandbox
    result = run_action(
        "trigger-incident",
        trigger_inputs(sb, pagerduty_events_url=sb.events_url + "/v2/enqueue"),
    )
    assert result.returncode == 0, result.stdout
    assert "Input 'pagerduty_events_url' ends in /v2/enqueue" in result.stdout
    assert len(sb.requests.filter(server="events", path="/v2/enqueue")) == 1


def test_routing_key_and_tokens_never_appear(sandbox):
    sb = sandbox
    sb.port.add_run("r_sec")
    ok = run_action(
        "trigger-incident", trigger_inputs(sb, run_id="r_sec", summary=f"key {sb.routing_key}")
    )
    bad = run_action("trigger-incident", trigger_inputs(sb, run_id="r_sec", severity="nope"))
    assert ok.returncode == 0
    assert bad.returncode == 1
    logs = "\n".join(
        r.body.decode()
        for r in sb.requests.filter(server="port", path="/v1/actions/runs/r_sec/logs")
    )
    for secret in (sb.routing_key, sb.pagerduty_token, sb.port_client_secret, *sb.port.tokens):
        assert secret not in ok.visible
        assert secret not in bad.visible
        assert secret not in logs


def test_trigger_through_the_root_action(sandbox):
    sb = sandbox
    result = run_action(".", {"operation": "trigger-incident", **trigger_inputs(sb)})
    assert result.returncode == 0, result.stdout
    assert result.outputs["incident_id"] in sb.pagerduty.incidents


# escalate ------------------------------------------------------------------------------


@pytest.fixture
def open_incident(sandbox):
    return sandbox.pagerduty.create_incident(
        service_id=sandbox.service_id, title="Checkout slow", urgency="low"
    )


@pytest.fixture
def other_policy(sandbox):
    return sandbox.pagerduty.add_escalation_policy(
        "Database team", [[sandbox.escalation_user_id], [sandbox.user_id]]
    )


def escalate_inputs(sb, incident_id, run_id="r_esc", **changes):
    inputs = {
        "incident_id": incident_id,
        "from": sb.user_email,
        "pagerduty_token": sb.pagerduty_token,
        "pagerduty_api_url": sb.pagerduty_url,
        **port_inputs(sb, run_id),
        **changes,
    }
    return {k: v for k, v in inputs.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "assignees"),
    [
        # The default policy pages the schedule (Bob on call), then Carol; OTHER pages Carol, then Alice.
        ({"escalation_policy_id": "OTHER"}, ["carol@example.com"]),
        ({"escalation_level": "2"}, ["carol@example.com"]),
        ({"urgency": "high"}, ["bob@example.com"]),
        ({"escalation_policy_id": "OTHER", "escalation_level": "2"}, ["alice@example.com"]),
        (
            {"escalation_policy_id": "OTHER", "escalation_level": "1", "urgency": "high"},
            ["carol@example.com"],
        ),
    ],
)
def test_escalate_changes_pagerduty_and_the_catalogue_in_one_run(
    sandbox, open_incident, other_policy, changes, assignees
):
    sb = sandbox
    sb.port.add_run("r_esc")
    changes = {k: (other_policy if v == "OTHER" else v) for k, v in changes.items()}
    result = run_action("escalate", escalate_inputs(sb, open_incident["id"], **changes))
    assert result.returncode == 0, result.stdout + result.stderr
    (put,) = sb.requests.filter(server="pagerduty", method="PUT")
    assert put.headers["from"] == sb.user_email
    sent = put.json["incident"]
    after = sb.pagerduty.incidents[open_incident["id"]]
    stored = entity(sb, open_incident["id"])
    if "escalation_policy_id" in changes:
        assert sent["escalation_policy"] == {
            "id": other_policy,
            "type": "escalation_policy_reference",
        }
        assert after["escalation_policy"]["id"] == other_policy
        assert stored["properties"]["escalation_policy"] == "Database team"
        assert result.outputs["escalation_policy"] == other_policy
    if "escalation_level" in changes:
        assert sent["escalation_level"] == int(changes["escalation_level"])
    if "urgency" in changes:
        assert after["urgency"] == "high"
    else:
        assert "urgency" not in sent
        assert after["urgency"] == "low"
    assert stored["properties"]["urgency"] == after["urgency"]
    emails = {user["id"]: user["email"] for user in sb.pagerduty.users.values()}
    assert [emails[a["assignee"]["id"]] for a in after["assignments"]] == assignees
    assert stored["properties"]["assignees"] == assignees
    assert result.outputs["urgency"] == after["urgency"]
    assert result.outputs["incident_url"] == after["html_url"]


def test_escalate_level_two_reassigns_to_the_second_level(sandbox, open_incident):
    sb = sandbox
    result = run_action("escalate", escalate_inputs(sb, open_incident["id"], escalation_level="2"))
    assert result.returncode == 0, result.stdout
    assignees = entity(sb, open_incident["id"])["properties"]["assignees"]
    assert assignees == ["carol@example.com"]
    assert sb.pagerduty.level_of(open_incident["id"]) == 2


def test_escalate_through_the_root_action_never_changes_urgency_unasked(
    sandbox, open_incident, other_policy
):
    sb = sandbox
    result = run_action(
        ".",
        {
            "operation": "escalate",
            **escalate_inputs(sb, open_incident["id"], escalation_policy_id=other_policy),
        },
    )
    assert result.returncode == 0, result.stdout
    assert sb.pagerduty.incidents[open_incident["id"]]["urgency"] == "low"
    assert "urgency" not in sb.requests.filter(server="pagerduty", method="PUT")[0].json["incident"]


def test_escalate_defaults_to_the_context_entity(sandbox, open_incident):
    sb = sandbox
    inputs = escalate_inputs(sb, None, run_id=None, urgency="high")
    inputs.update(
        port_inputs(sb, context={"blueprint": "pagerdutyIncident", "entity": open_incident["id"]})
    )
    result = run_action("escalate", inputs)
    assert result.returncode == 0, result.stdout
    assert sb.pagerduty.incidents[open_incident["id"]]["urgency"] == "high"


def test_escalate_from_a_service_entity_without_incident_id_fails_before_any_request(sandbox):
    sb = sandbox
    inputs = escalate_inputs(sb, None, run_id=None, urgency="high")
    inputs.update(
        port_inputs(sb, context={"blueprint": "pagerdutyService", "entity": sb.service_id})
    )
    result = run_action("escalate", inputs)
    assert result.returncode == 1, result.stdout
    (error,) = result.errors()
    assert "Input 'incident_id'" in error
    assert (
        f"is required when the run's entity is not an incident (it is pagerdutyService '{sb.service_id}')"
        in error
    )
    assert sb.requests.filter() == []


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "does not exist in PagerDuty"),
        ("resolved", "is already resolved"),
        ("unknown_policy", "Escalation policy PNOPE99 does not exist"),
        ("bad_from", "is the email address of a user"),
    ],
)
def test_escalate_failures_are_explained(sandbox, open_incident, setup, expected):
    sb = sandbox
    incident_id = open_incident["id"]
    changes = {"urgency": "high"}
    if setup == "missing":
        incident_id = "PNOPE00"
    elif setup == "resolved":
        sb.pagerduty.incidents[incident_id]["status"] = "resolved"
    elif setup == "unknown_policy":
        changes = {"escalation_policy_id": "PNOPE99"}
    inputs = escalate_inputs(sb, incident_id, run_id=None, **changes)
    if setup == "bad_from":
        inputs["from"] = "nobody@example.com"
    result = run_action("escalate", inputs)
    assert result.returncode == 1
    (error,) = result.errors()
    assert expected in error
    if setup != "bad_from":
        assert sb.requests.filter(server="pagerduty", method="PUT") == []
    assert sb.pagerduty.incidents[open_incident["id"]]["urgency"] == "low"


@pytest.mark.parametrize(
    ("changes", "named", "expected"),
    [
        ({}, "escalation_policy_id", "give at least one of"),
        ({"escalation_level": "0"}, "escalation_level", ">= 1"),
        ({"escalation_level": "two"}, "escalation_level", "whole number"),
        ({"urgency": "urgent"}, "urgency", "expected one of: high, low"),
        ({"urgency": "high", "from": None}, "from", "is required"),
        ({"urgency": "high", "incident_id": "bad id"}, "incident_id", "expected a PagerDuty ID"),
    ],
)
def test_bad_escalate_input_is_named_and_nothing_is_sent(
    sandbox, open_incident, changes, named, expected
):
    sb = sandbox
    changes = {"incident_id": open_incident["id"], **changes}
    inputs = escalate_inputs(sb, changes.pop("incident_id"), **changes)
    result = run_action("escalate", inputs)
    assert result.returncode == 1
    (error,) = result.errors()
    assert f"Input '{named}'" in error
    assert expected in error
    assert sb.requests.filter(server="pagerduty") == []
