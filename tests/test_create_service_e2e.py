"""create-service end to end: the entrypoint in a subprocess against the simulators."""

from __future__ import annotations

import json

import pytest

from actionrun import run_action


def inputs_for(sb, run_id="r_svc1", *, context=None, **given):
    ctx = {"run_id": run_id, **(context or {})} if run_id else dict(context or {})
    if run_id and run_id not in sb.port.runs:
        sb.port.add_run(run_id)
    inputs = {
        **sb.action_inputs(),
        "from": sb.user_email,
        "name": "Payments API",
        "escalation_policy": sb.escalation_policy_id,
        **given,
    }
    if ctx:
        inputs["port_context"] = json.dumps(ctx)
    return {k: v for k, v in inputs.items() if v is not None}


def service_posts(sb):
    return sb.requests.filter(server="pagerduty", method="POST", path="/services")


def named(sb, name):
    return [s for s in sb.pagerduty.services.values() if s["name"] == name]


def add_port_service_blueprint(sb, *, many=False, linked=()):
    sb.port.add_blueprint(
        {
            "identifier": "service",
            "title": "Service",
            "schema": {"properties": {}},
            "relations": {
                "pagerduty": {"title": "PagerDuty", "target": "pagerdutyService", "many": many},
                "incident": {"title": "Incident", "target": "pagerdutyIncident", "many": False},
            },
        }
    )
    relations = {"pagerduty": list(linked)} if many else {}
    sb.port.upsert_entity(
        "service",
        {"identifier": "payments", "title": "Payments", "properties": {}, "relations": relations},
        upsert=True,
        merge=True,
        create_missing=True,
    )


def test_create_a_service_and_link_the_run_entity(sandbox):
    sb = sandbox
    add_port_service_blueprint(sb)
    result = run_action(
        "create-service",
        inputs_for(
            sb,
            context={"blueprint": "service", "entity": "payments"},
            relation="pagerduty",
            escalation_policy="Default Escalation Policy",
            description="Takes payments",
            urgency="severity_based",
            auto_resolve_timeout="off",
            acknowledgement_timeout="30m",
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [service] = named(sb, "Payments API")
    assert result.outputs["service_id"] == service["id"]
    assert result.outputs["service_url"] == service["html_url"]
    assert result.outputs["entity_identifier"] == service["id"]
    [post] = service_posts(sb)
    sent = post.json["service"]
    assert sent["auto_resolve_timeout"] == 0  # off: the spec's integer, never null
    assert sent["acknowledgement_timeout"] == 1800
    assert sent["incident_urgency_rule"] == {"type": "constant", "urgency": "severity_based"}
    assert sent["escalation_policy"]["id"] == sb.escalation_policy_id
    assert service["auto_resolve_timeout"] is None
    entity = sb.port.entities[("pagerdutyService", service["id"])]
    assert entity["title"] == "Payments API"
    assert sb.port.entities[("service", "payments")]["relations"]["pagerduty"] == service["id"]
    assert "Created PagerDuty service" in result.summary


@pytest.mark.parametrize(
    ("relation", "named_in_error"),
    [("pagerdutyy", "has no relation 'pagerdutyy'"), ("incident", "points at pagerdutyIncident")],
)
def test_a_wrong_relation_fails_before_any_pagerduty_request(sandbox, relation, named_in_error):
    sb = sandbox
    add_port_service_blueprint(sb)
    result = run_action(
        "create-service",
        inputs_for(sb, context={"blueprint": "service", "entity": "payments"}, relation=relation),
    )
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'relation'" in error
    assert named_in_error in error
    assert sb.requests.filter(server="pagerduty") == []


def test_a_many_relation_keeps_the_services_already_linked(sandbox):
    sb = sandbox
    old = sb.service_id
    add_port_service_blueprint(sb, many=True, linked=[old])
    result = run_action(
        "create-service",
        inputs_for(
            sb, context={"blueprint": "service", "entity": "payments"}, relation="pagerduty"
        ),
    )
    assert result.returncode == 0, result.stdout
    relations = sb.port.entities[("service", "payments")]["relations"]
    assert relations["pagerduty"] == [old, result.outputs["service_id"]]


def test_a_retried_run_adopts_the_service(sandbox):
    sb = sandbox
    first = run_action("create-service", inputs_for(sb))
    assert first.returncode == 0, first.stdout
    again = run_action("create-service", inputs_for(sb))
    assert again.returncode == 0, again.stdout
    assert len(named(sb, "Payments API")) == 1
    assert len(service_posts(sb)) == 1
    assert again.outputs["service_id"] == first.outputs["service_id"]
    assert "Adopted existing PagerDuty service" in again.summary


def test_a_lost_answer_is_not_answered_with_a_second_service(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"^/services$", 502, process=True, headers={"Retry-After": "0"})
    result = run_action("create-service", inputs_for(sb))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(named(sb, "Payments API")) == 1
    assert len(service_posts(sb)) == 1


def test_a_dropped_connection_after_the_create_adopts_the_service(sandbox):
    """PagerDuty made the service, then the connection dropped: the retry looks first."""
    sb = sandbox
    sb.inject("pagerduty", "POST", r"^/services$", 0, drop=True, process=True)
    result = run_action("create-service", inputs_for(sb))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(named(sb, "Payments API")) == 1
    assert len(service_posts(sb)) == 1
    assert "looked up again before retrying" in result.stdout


def test_a_create_that_never_gets_an_answer_ends_with_an_error(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"^/services$", 0, drop=True, times=20)
    result = run_action(
        "create-service",
        inputs_for(sb),
        extra_env={"PAGERDUTY_PORT_TEST_RETRY_BACKOFF": "0.05"},
    )
    assert result.returncode == 1
    assert "pagerduty_api_url" in result.errors()[0]
    assert named(sb, "Payments API") == []
    assert 2 <= len(service_posts(sb)) <= 5  # the policy's attempts, not one and not unbounded


def test_same_name_on_another_policy_names_both(sandbox):
    sb = sandbox
    other = sb.pagerduty.add_escalation_policy("Other Policy", [[sb.user_id]])
    sb.pagerduty.add_service("Payments API", other)
    result = run_action("create-service", inputs_for(sb))
    assert result.returncode == 1
    error = result.errors()[0]
    assert other in error
    assert sb.escalation_policy_id in error
    assert service_posts(sb) == []


@pytest.mark.parametrize(
    ("given", "input_name"),
    [
        ({"name": None}, "name"),
        ({"escalation_policy": None}, "escalation_policy"),
        ({"urgency": "medium"}, "urgency"),
        ({"auto_resolve_timeout": "soon"}, "auto_resolve_timeout"),
        ({"acknowledgement_timeout": "0"}, "acknowledgement_timeout"),
        ({"relation": "pagerduty"}, "relation"),
        ({"from": "alice"}, "from"),
        ({"pagerduty_token": None}, "pagerduty_token"),
        ({"name": "x" * 300}, "name"),
    ],
)
def test_bad_inputs_fail_before_any_pagerduty_request(sandbox, given, input_name):
    sb = sandbox
    result = run_action("create-service", inputs_for(sb, **given))
    assert result.returncode == 1, result.stdout
    assert f"Input '{input_name}'" in result.errors()[0]
    assert sb.requests.filter(server="pagerduty") == []


def test_an_unknown_policy_is_named_before_any_write(sandbox):
    sb = sandbox
    result = run_action("create-service", inputs_for(sb, escalation_policy="No Such Policy"))
    assert result.returncode == 1
    assert "Input 'escalation_policy'" in result.errors()[0]
    assert service_posts(sb) == []


def test_429_and_5xx_are_retried_and_a_400_is_reported(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"^/services$", 429, headers={"Retry-After": "0"})
    sb.inject("pagerduty", "POST", r"^/services$", 503, headers={"Retry-After": "0"})
    ok = run_action("create-service", inputs_for(sb))
    assert ok.returncode == 0, ok.stdout
    assert [r.status for r in service_posts(sb)] == [429, 503, 201]
    sb.inject(
        "pagerduty",
        "POST",
        r"^/services$",
        400,
        body={"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Nope"]}},
    )
    bad = run_action("create-service", inputs_for(sb, run_id="r_svc2", name="Other API"))
    assert bad.returncode == 1
    assert "Nope" in bad.errors()[0]


def test_secrets_never_show(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"^/services$", 500, times=10, headers={"Retry-After": "0"})
    results = [
        run_action("create-service", inputs_for(sb)),
        run_action("create-service", inputs_for(sb, run_id="r_svc3", name="Ok API")),
    ]
    sb.clear_faults()
    results.append(run_action("create-service", inputs_for(sb, run_id="r_svc4", name="Ok API")))
    assert results[-1].returncode == 0
    for result in results:
        for secret in (sb.pagerduty_token, sb.port_client_secret, sb.port_client_id):
            assert secret not in result.visible


def test_a_sync_after_create_service_finds_the_service_entity_unchanged(sandbox):
    """The action maps the service the way the sync does (same includes, same on-call and
    analytics enrichments), so the next sync has nothing to rewrite for it."""
    sb = sandbox
    first = run_action("sync", {**sb.action_inputs(), "kinds": "services"})  # the seeded one
    assert first.returncode == 0, first.stdout
    created = run_action("create-service", inputs_for(sb))
    assert created.returncode == 0, created.stdout
    service_id = created.outputs["service_id"]
    written = json.loads(json.dumps(sb.port.entities[("pagerdutyService", service_id)]))
    assert written["properties"]["escalationLevels"] == 2  # from the included escalation policy
    synced = run_action("sync", {**sb.action_inputs(), "kinds": "services"})
    assert synced.returncode == 0, synced.stdout
    summary = json.loads(synced.outputs["summary"])
    assert summary["services"]["created"] + summary["services"]["updated"] == 0, summary
    assert sb.port.entities[("pagerdutyService", service_id)] == written
