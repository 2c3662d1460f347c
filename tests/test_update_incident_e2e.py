"""update-incident end to end: the entrypoint in a subprocess against the simulators."""

from __future__ import annotations

import json

import pytest

from actionrun import run_action


def inputs_for(sb, run_id="r_up1", *, context=None, **given):
    ctx = {"run_id": run_id, **(context or {})} if run_id else dict(context or {})
    if run_id and run_id not in sb.port.runs:
        sb.port.add_run(run_id)
    inputs = {**sb.action_inputs(), "from": sb.user_email, **given}
    if ctx:
        inputs["port_context"] = json.dumps(ctx)
    return {k: v for k, v in inputs.items() if v is not None}


def pd_requests(sb, method=None):
    return (
        sb.requests.filter(server="pagerduty", method=method)
        if method
        else sb.requests.filter(server="pagerduty")
    )


def puts(sb):
    return [r for r in pd_requests(sb, "PUT")]


def note_posts(sb):
    return [r for r in pd_requests(sb, "POST") if r.path.endswith("/notes")]


@pytest.fixture
def incident(sandbox):
    return sandbox.pagerduty.create_incident(service_id=sandbox.service_id, title="Checkout down")


def test_acknowledge_from_the_incident_entity(sandbox, incident):
    sb = sandbox
    context = {"blueprint": "pagerdutyIncident", "entity": incident["id"]}
    result = run_action("update-incident", inputs_for(sb, context=context, status="acknowledged"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "acknowledged"
    assert result.outputs["incident_id"] == incident["id"]
    assert result.outputs["status"] == "acknowledged"
    assert result.outputs["incident_url"] == incident["html_url"]
    assert result.outputs["entity_identifier"] == incident["id"]
    entity = sb.port.entities[("pagerdutyIncident", incident["id"])]
    assert entity["properties"]["status"] == "acknowledged"
    assert [r.json["incident"] for r in puts(sb)] == [
        {"type": "incident_reference", "status": "acknowledged"}
    ]
    assert incident["id"] in result.summary
    assert any(
        "Updating PagerDuty incident" in line["message"] for line in sb.port.runs["r_up1"]["logs"]
    )


def test_every_change_goes_in_one_put_plus_the_note(sandbox, incident):
    sb = sandbox
    result = run_action(
        "update-incident",
        inputs_for(
            sb,
            incident=incident["id"],
            status="resolved",
            resolution="Rolled back the deploy",
            note="Root cause: bad config",
            assignees=f"bob@example.com, {sb.escalation_user_id}",
            urgency="low",
            priority="P2",
            title="Checkout down (config)",
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [put] = puts(sb)
    sent = put.json["incident"]
    assert sent["status"] == "resolved"
    assert sent["resolution"] == "Rolled back the deploy"
    assert sent["urgency"] == "low"
    assert sent["title"] == "Checkout down (config)"
    assert [a["assignee"]["id"] for a in sent["assignments"]] == [
        sb.responder_id,
        sb.escalation_user_id,
    ]
    assert sent["priority"]["type"] == "priority_reference"
    [note] = sb.pagerduty.notes[incident["id"]]
    assert note["content"] == "Root cause: bad config\n\n(Port run r_up1)"
    stored = sb.pagerduty.incidents[incident["id"]]
    assert (stored["status"], stored["urgency"], stored["title"]) == (
        "resolved",
        "low",
        "Checkout down (config)",
    )
    assert [r.query["query"] for r in pd_requests(sb, "GET") if r.path == "/users"] == [
        ["bob@example.com"]
    ]


def test_a_retried_run_changes_nothing_twice(sandbox, incident):
    sb = sandbox
    given = inputs_for(sb, incident=incident["id"], status="resolved", note="Fixed", urgency="low")
    first = run_action("update-incident", given)
    assert first.returncode == 0, first.stdout
    before = len(puts(sb)), len(note_posts(sb))
    again = run_action("update-incident", given)
    assert again.returncode == 0, again.stdout
    assert (len(puts(sb)), len(note_posts(sb))) == before == (1, 1)
    assert len(sb.pagerduty.notes[incident["id"]]) == 1
    assert "not adding it twice" in again.stdout


def test_a_lost_note_answer_is_not_answered_with_a_second_note(sandbox, incident):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"/notes$", 502, process=True)
    given = inputs_for(sb, incident=incident["id"], note="Investigating")
    result = run_action("update-incident", given)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(sb.pagerduty.notes[incident["id"]]) == 1


def test_a_put_replayed_after_a_lost_answer_is_done_not_failed(sandbox, incident):
    """The retry layer replays a PUT whose answer was lost; PagerDuty then refuses to resolve
    a resolved incident, and the action sees the incident already has every change."""
    sb = sandbox
    sb.inject("pagerduty", "PUT", r"/incidents/", 502, process=True, headers={"Retry-After": "0"})
    result = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], status="resolved", urgency="low")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [r.status for r in puts(sb)] == [502, 400]
    assert result.outputs["status"] == "resolved"


def test_a_whole_run_retried_after_a_lost_note_answer_adds_no_second_note(sandbox, incident):
    sb = sandbox
    sb.inject(
        "pagerduty", "POST", r"/notes$", 502, times=4, process=True, headers={"Retry-After": "0"}
    )
    sb.inject("pagerduty", "GET", r"/notes$", 502, times=5, after=1, headers={"Retry-After": "0"})
    given = inputs_for(sb, incident=incident["id"], note="Investigating")
    failed = run_action("update-incident", given)
    assert failed.returncode == 1
    assert len(sb.pagerduty.notes[incident["id"]]) == 1  # made, but the run never heard
    sb.clear_faults()
    retried = run_action("update-incident", given)
    assert retried.returncode == 0, retried.stdout
    assert len(sb.pagerduty.notes[incident["id"]]) == 1


def test_acknowledging_an_acknowledged_incident_sends_no_put(sandbox, incident):
    sb = sandbox
    sb.pagerduty.set_status(incident, "acknowledged", sb.pagerduty.ref("user", sb.user_id))
    result = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], status="acknowledged")
    )
    assert result.returncode == 0, result.stdout
    assert puts(sb) == []
    assert "nothing to change" in result.stdout


def test_resolving_a_resolved_incident_sends_no_put(sandbox, incident):
    sb = sandbox
    sb.pagerduty.set_status(incident, "resolved", sb.pagerduty.ref("user", sb.user_id))
    result = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], status="resolved")
    )
    assert result.returncode == 0, result.stdout
    assert puts(sb) == []


def test_acknowledging_a_resolved_incident_needs_reopen(sandbox, incident):
    sb = sandbox
    sb.pagerduty.set_status(incident, "resolved", sb.pagerduty.ref("user", sb.user_id))
    refused = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], status="acknowledged", note="x")
    )
    assert refused.returncode == 1
    assert "'reopen'" in refused.errors()[0]
    assert puts(sb) == []
    assert note_posts(sb) == []
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "resolved"
    reopened = run_action(
        "update-incident",
        inputs_for(sb, incident=incident["id"], status="acknowledged", reopen="true"),
    )
    assert reopened.returncode == 0, reopened.stdout
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "acknowledged"
    assert reopened.outputs["status"] == "acknowledged"


def test_an_unknown_assignee_email_is_named_before_any_write(sandbox, incident):
    sb = sandbox
    result = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], assignees="nobody@example.com")
    )
    assert result.returncode == 1
    assert "Input 'assignees'" in result.errors()[0]
    assert "nobody@example.com" in result.errors()[0]
    assert puts(sb) == []
    assert pd_requests(sb, "POST") == []


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({}, "status"),
        ({"status": "closed"}, "status"),
        ({"status": "acknowledged", "resolution": "done"}, "resolution"),
        ({"status": "resolved", "assignees": "not an email"}, "assignees"),
        ({"status": "resolved", "urgency": "urgent"}, "urgency"),
        ({"status": "resolved", "reopen": "maybe"}, "reopen"),
        ({"status": "resolved", "from": "alice"}, "from"),
        ({"status": "resolved", "from": None}, "from"),
        ({"status": "resolved", "incident": "not-an-id"}, "incident"),
        ({"status": "resolved", "incident": None}, "incident"),
        ({"status": "resolved", "pagerduty_token": None}, "pagerduty_token"),
        ({"status": "resolved", "note": "x" * 30_000}, "note"),
    ],
)
def test_bad_inputs_fail_before_any_pagerduty_request(sandbox, incident, given, named):
    sb = sandbox
    base = {"incident": incident["id"]}
    result = run_action("update-incident", inputs_for(sb, **{**base, **given}))
    assert result.returncode == 1, result.stdout
    assert f"Input '{named}'" in result.errors()[0]
    assert pd_requests(sb) == []


def test_a_service_entity_is_no_incident(sandbox):
    sb = sandbox
    context = {"blueprint": "pagerdutyService", "entity": sb.service_id}
    result = run_action("update-incident", inputs_for(sb, context=context, status="resolved"))
    assert result.returncode == 1
    assert "Input 'incident'" in result.errors()[0]
    assert pd_requests(sb) == []


def test_rate_limits_and_server_errors_are_retried(sandbox, incident):
    sb = sandbox
    sb.inject("pagerduty", "PUT", r"/incidents/", 429, headers={"Retry-After": "0"})
    sb.inject("pagerduty", "PUT", r"/incidents/", 503, headers={"Retry-After": "0"})
    sb.inject("pagerduty", "POST", r"/notes$", 429, headers={"Retry-After": "0"})
    result = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], status="resolved", note="n")
    )
    assert result.returncode == 0, result.stdout
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "resolved"
    assert len(sb.pagerduty.notes[incident["id"]]) == 1
    assert len(puts(sb)) == 3


def test_a_400_from_pagerduty_fails_with_its_message(sandbox, incident):
    sb = sandbox
    sb.inject(
        "pagerduty",
        "PUT",
        r"/incidents/",
        400,
        body={
            "error": {
                "message": "Invalid Input Provided",
                "code": 2001,
                "errors": ["Requester User Not Found"],
            }
        },
    )
    result = run_action(
        "update-incident", inputs_for(sb, incident=incident["id"], status="resolved")
    )
    assert result.returncode == 1
    assert "Requester User Not Found" in result.errors()[0]
    assert "'from'" in result.errors()[0]
    assert len(puts(sb)) == 1


def test_an_unknown_incident_names_the_input(sandbox):
    sb = sandbox
    result = run_action("update-incident", inputs_for(sb, incident="QNOPE12345", status="resolved"))
    assert result.returncode == 1
    assert "Input 'incident'" in result.errors()[0]
    assert puts(sb) == []


def test_secrets_never_show(sandbox, incident):
    sb = sandbox
    sb.inject("pagerduty", "PUT", r"/incidents/", 500, times=10, headers={"Retry-After": "0"})
    for result in (
        run_action("update-incident", inputs_for(sb, incident=incident["id"], status="resolved")),
        run_action(
            "update-incident", inputs_for(sb, run_id="r_up3", incident=incident["id"], note="ok")
        ),
    ):
        for secret in (sb.pagerduty_token, sb.port_client_secret, sb.port_client_id):
            assert secret not in result.visible
