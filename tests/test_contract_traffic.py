"""The traffic the actions really send, checked against the official OpenAPI specs in
../shared/contracts (skipped when that folder is absent, e.g. on a bare clone)."""

from __future__ import annotations

import json

import pytest

from actionrun import run_action
from contracts import ContractChecker


@pytest.fixture(scope="module")
def checker():
    return ContractChecker.load_or_skip()


def test_every_request_of_every_action_matches_the_specs(sandbox, checker):
    sb = sandbox
    common = sb.action_inputs()
    for run in ("r_c1", "r_t1", "r_e1"):
        sb.port.add_run(run)
    created = run_action(
        "create-incident",
        {
            **common,
            "title": 'Quotes " and\nnewlines',
            "details": "details",
            "from": sb.user_email,
            "service": sb.service_id,
            "priority": sb.priority_id,
            "report_status": "true",
            "port_context": json.dumps({"run_id": "r_c1"}),
        },
    )
    assert created.returncode == 0, created.stdout
    triggered = run_action(
        "trigger-incident",
        {
            **common,
            "routing_key": sb.routing_key,
            "summary": "Disk full",
            "custom_details": '{"disk": "/var"}',
            "links": '[{"href": "https://example.com/runbook", "text": "Runbook"}]',
            "images": '[{"src": "https://example.com/g.png", "alt": "graph"}]',
            "timestamp": "2026-11-22T10:00:00Z",
            "component": "db",
            "group": "storage",
            "class": "disk",
            "pagerduty_events_url": sb.events_url,
            "port_context": json.dumps({"run_id": "r_t1"}),
        },
    )
    assert triggered.returncode == 0, triggered.stdout
    resolved = run_action(
        "trigger-incident",
        {
            **common,
            "routing_key": sb.routing_key,
            "event_action": "resolve",
            "dedup_key": triggered.outputs["dedup_key"],
            "pagerduty_events_url": sb.events_url,
        },
    )
    assert resolved.returncode == 0, resolved.stdout
    escalated = run_action(
        "escalate",
        {
            **common,
            "incident_id": created.outputs["incident_id"],
            "escalation_policy_id": sb.escalation_policy_id,
            "escalation_level": "2",
            "urgency": "low",
            "from": sb.user_email,
            "port_context": json.dumps({"run_id": "r_e1"}),
        },
    )
    assert escalated.returncode == 0, escalated.stdout
    traffic = sb.requests.all()
    servers = {r.server for r in traffic}
    assert servers == {"pagerduty", "events", "port"}
    assert checker.assert_valid(traffic) == len(traffic)


def test_the_checker_rejects_what_the_simulators_would_accept_from_a_broken_client(
    sandbox, checker
):
    """Guard against a checker that passes everything: a hand-made bad request fails."""
    import requests

    sb = sandbox
    requests.post(
        sb.pagerduty_url + "/incidents",
        headers={
            "Authorization": f"Token token={sb.pagerduty_token}",
            "Accept": "application/vnd.pagerduty+json;version=2",
            "Content-Type": "application/json",
            "From": sb.user_email,
        },
        json={
            "incident": {
                "type": "incident",
                "title": "x",
                "service": {"id": sb.service_id, "type": "service_reference"},
                "urgency": "urgent",
            }
        },
        timeout=10,
    )
    problems = checker.check_all(sb.requests.all())
    assert any("urgency" in p for p in problems)


def test_every_request_of_a_sync_matches_the_specs(checker, tmp_path):
    """Default mapping and Ocean's own file (analytics on), blueprints created, a stale entity
    deleted: list queries, enrichments, bulk writes, search and bulk delete all validated."""
    from pathlib import Path

    from pagerduty_port_sandbox import Sandbox

    ocean = (
        Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "ocean-pagerduty-port-app-config.yaml"
    )
    with Sandbox(port_blueprints=None) as sb:
        sb.pagerduty.seed_incidents(150, status=["triggered", "acknowledged", "resolved"])
        sb.pagerduty.seed_services(3)
        common = sb.action_inputs()
        first = run_action("sync", {**common, "create_blueprints": "true"}, timeout=300)
        assert first.returncode == 0, first.stdout[-3000:]
        sb.port.entities[("pagerdutyIncident", "QGONE00")] = {
            "identifier": "QGONE00",
            "title": "gone",
            "blueprint": "pagerdutyIncident",
            "properties": {},
            "relations": {},
        }
        second = run_action("sync", {**common, "delete_stale": "pagerdutyIncident"}, timeout=300)
        assert second.returncode == 0, second.stdout[-3000:]
        assert ("pagerdutyIncident", "QGONE00") not in sb.port.entities
        if ocean.exists():
            (tmp_path / "ocean.yaml").write_text(ocean.read_text())
            third = run_action(
                "sync",
                {**common, "mapping": "ocean.yaml"},
                extra_env={"GITHUB_WORKSPACE": str(tmp_path)},
                timeout=300,
            )
            assert third.returncode == 0, third.stdout[-3000:]
        traffic = sb.requests.all()
        paths = {r.path for r in traffic}
        assert {"/incidents", "/services", "/oncalls", "/v1/blueprints"} <= paths
        assert any(p.endswith("/entities/bulk") for p in paths)
        assert any(p.endswith("/bulk/entities/delete") for p in paths)
        assert checker.assert_valid(traffic) == len(traffic)


def test_every_request_of_the_lifecycle_actions_matches_the_specs(sandbox, checker):
    """update-incident (every change, note, reopen), change-oncall and create-service, with
    retries after lost answers: each request they send is validated."""
    sb = sandbox
    common = {**sb.action_inputs(), "from": sb.user_email}
    incident = sb.pagerduty.create_incident(service_id=sb.service_id, title="Lifecycle")
    for run in ("r_u1", "r_u2", "r_o1", "r_s1"):
        sb.port.add_run(run)
    sb.inject("pagerduty", "POST", r"/notes$", 502, process=True, headers={"Retry-After": "0"})
    updated = run_action(
        "update-incident",
        {
            **common,
            "incident": incident["id"],
            "status": "resolved",
            "resolution": "Rolled back",
            "note": 'Quotes " and\nnewlines',
            "assignees": f"bob@example.com,{sb.escalation_user_id}",
            "urgency": "low",
            "priority": "P2",
            "title": "Lifecycle (fixed)",
            "port_context": json.dumps({"run_id": "r_u1"}),
        },
    )
    assert updated.returncode == 0, updated.stdout
    reopened = run_action(
        "update-incident",
        {
            **common,
            "status": "acknowledged",
            "reopen": "true",
            "port_context": json.dumps(
                {"run_id": "r_u2", "blueprint": "pagerdutyIncident", "entity": incident["id"]}
            ),
        },
    )
    assert reopened.returncode == 0, reopened.stdout
    sb.inject("pagerduty", "POST", r"/overrides$", 502, process=True, headers={"Retry-After": "0"})
    oncall = run_action(
        "change-oncall",
        {
            **common,
            "schedule": sb.schedule_id,
            "user": "carol@example.com",
            "start": "2030-01-01T00:00:00Z",
            "end": "12h",
            "port_context": json.dumps({"run_id": "r_o1"}),
        },
    )
    assert oncall.returncode == 0, oncall.stdout
    sb.inject("pagerduty", "POST", r"^/services$", 502, process=True, headers={"Retry-After": "0"})
    service = run_action(
        "create-service",
        {
            **common,
            "name": "Lifecycle API",
            "description": "d",
            "escalation_policy": "Default Escalation Policy",
            "urgency": "severity_based",
            "auto_resolve_timeout": "off",
            "acknowledgement_timeout": "30m",
            "port_context": json.dumps({"run_id": "r_s1"}),
        },
    )
    assert service.returncode == 0, service.stdout
    traffic = sb.requests.all()
    paths = {(r.method, r.path) for r in traffic if r.server == "pagerduty"}
    assert ("POST", f"/incidents/{incident['id']}/notes") in paths
    assert ("POST", f"/schedules/{sb.schedule_id}/overrides") in paths
    assert ("POST", "/services") in paths


def test_every_request_of_connect_webhooks_matches_the_specs(sandbox, checker):
    """Create both halves, change the scope (PUT and a new subscription), rotate the secret and
    disconnect: every /webhook_subscriptions and /v1/webhooks request is validated. Deliveries
    into the ingest URL come from the simulator, not the action, and are left out."""
    sb = sandbox
    common = sb.action_inputs()
    steps = [
        {},
        {"scope": f"service:{sb.service_id}"},
        {"scope": f"team:{sb.team_id}", "rotate_secret": "true"},
        {"scope": f"team:{sb.team_id}", "disconnect": "true"},
    ]
    for extra in steps:
        result = run_action("connect-webhooks", {**common, **extra})
        assert result.returncode == 0, result.stdout
    traffic = [r for r in sb.requests.all() if not r.path.startswith("/ingest/")]
    paths = {(r.method, r.path.split("/P")[0]) for r in traffic}
    assert ("POST", "/webhook_subscriptions") in paths
    assert ("DELETE", "/webhook_subscriptions") in paths
    assert ("POST", "/v1/webhooks") in paths
    assert any(m == "PATCH" and p.startswith("/v1/webhooks/") for m, p in paths)
    assert checker.assert_valid(traffic) == len(traffic)
