"""connect-webhooks end to end: PagerDuty changes reach Port through signed webhooks with no
sync run, a second run changes nothing, disconnect leaves nothing, failures are clear."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests

from actionrun import run_action

ACTION = "connect-webhooks"
INCIDENT_BP = "pagerdutyIncident"


def wait_until(sb, check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait, bounded, for asynchronous deliveries: `check` runs again each time a simulator
    records a request (a delivery to Port's ingest URL is one), never on a timer."""
    return sb.requests.wait_for(check, timeout)


def writes(sb, server):
    return [r for r in sb.requests.all() if r.server == server and r.method != "GET"]


def entity(sb, identifier, blueprint=INCIDENT_BP):
    return sb.port.entities.get((blueprint, identifier))


def status_in_port(sb, incident_id):
    found = entity(sb, incident_id)
    return found["properties"]["status"] if found else None


def connect(sb, **inputs):
    result = run_action(ACTION, {**sb.action_inputs(), **inputs})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def create_incident(sb):
    inputs = {**sb.action_inputs(), "title": "Checkout down", "service": sb.service_id}
    result = run_action("create-incident", {**inputs, "from": sb.user_email})
    assert result.returncode == 0, result.stdout
    return result.outputs["incident_id"]


def test_incident_statuses_reach_port_without_a_sync_and_a_sync_agrees(sandbox):
    sb = sandbox
    result = connect(sb)
    subscription_id = result.outputs["subscription_id"]
    assert list(sb.pagerduty.webhooks.subscriptions) == [subscription_id]
    webhook = sb.port.webhooks.webhooks["pagerduty"]
    assert webhook["enabled"]
    assert webhook["security"]["secret"]
    assert webhook["security"]["signatureHeaderName"] == "X-PagerDuty-Signature"
    assert webhook["security"]["requestIdentifierPath"] == ".body.event.id"

    incident_id = create_incident(sb)
    actor = sb.pagerduty.ref("user", sb.user_id)
    incident = sb.pagerduty.incidents[incident_id]
    for status in ("acknowledged", "resolved"):
        with sb.pagerduty.lock:
            sb.pagerduty.set_status(incident, status, actor)

        def reached(expected: str = status) -> bool:
            return status_in_port(sb, incident_id) == expected

        assert wait_until(sb, reached), status
        props = entity(sb, incident_id)["properties"]
        assert props["last_event_type"] == f"incident.{status}"
        assert props["last_event_at"]
    assert not [r for r in sb.requests.all() if r.path.endswith("/entities/bulk")]
    stored = entity(sb, incident_id)
    # Sync-only properties were left as create-incident wrote them, never blanked.
    assert stored["properties"]["url"] == incident["html_url"]
    assert stored["properties"]["assignees"] == ["bob@example.com"]
    assert stored["properties"]["description"] == "Checkout down"

    before = len(sb.requests.all())
    sync = run_action("sync", {**sb.action_inputs(), "kinds": "incidents"})
    assert sync.returncode == 0, sync.stdout
    sent = [
        e
        for r in sb.requests.all()[before:]
        if r.server == "port" and r.path.endswith(f"/{INCIDENT_BP}/entities/bulk")
        for e in json.loads(r.body)["entities"]
        if e["identifier"] == incident_id
    ]
    # The sync rewrites only what the events cannot carry (assignees cleared on resolve,
    # updated_at); every real-time property it sends agrees with what the webhook wrote.
    real_time = webhook["mappings"][2]["entity"]["properties"]
    for written in sent:
        for name in real_time:
            if name in written["properties"]:
                assert written["properties"][name] == stored["properties"][name], name


CARRIED_ONLY = """
resources:
  - kind: incidents
    selector: {query: "true"}
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"pagerdutyIncident"'
          properties:
            status: .status
            url: .html_url
            urgency: .urgency
          relations:
            pagerdutyService: .service.id
"""


def test_with_a_mapping_events_fully_carry_a_following_sync_writes_nothing(sandbox):
    sb = sandbox
    sb.port.upsert_entity(
        "pagerdutyService",
        {"identifier": sb.service_id, "title": "Checkout API"},
        upsert=True,
        merge=False,
        create_missing=False,
    )
    connect(sb, mapping=CARRIED_ONLY)
    incident = sb.pagerduty.create_incident(service_id=sb.service_id, title="Disk full")
    with sb.pagerduty.lock:
        sb.pagerduty.set_status(incident, "resolved", sb.pagerduty.ref("user", sb.user_id))
    assert wait_until(sb, lambda: status_in_port(sb, incident["id"]) == "resolved")
    before = len(sb.requests.all())
    sync = run_action("sync", {**sb.action_inputs(), "kinds": "incidents", "mapping": CARRIED_ONLY})
    assert sync.returncode == 0, sync.stdout
    bulk = [r for r in sb.requests.all()[before:] if r.path.endswith("/entities/bulk")]
    assert not [r for r in bulk if incident["id"] in r.body.decode()]


def test_summary_lists_sync_only_properties_and_secrets_stay_hidden(sandbox):
    sb = sandbox
    result = connect(sb)
    assert "sync only: assignees, updated_at, description, triggered_by" in result.summary
    realtime = next(line for line in result.summary.splitlines() if "Incident** real time" in line)
    assert "status" in realtime
    assert "urgency" not in realtime
    assert "title" not in realtime
    assert "no event when only these change" in result.summary
    assert "event or sync: title, urgency\n" in result.summary
    secret = sb.port.webhooks.webhooks["pagerduty"]["security"]["secret"]
    key = sb.port.webhooks.webhooks["pagerduty"]["webhookKey"]
    for hidden in (secret, key, sb.pagerduty_token, sb.port_client_secret):
        assert hidden not in result.visible
    assert result.outputs["webhook_url"].endswith("/ingest/***")
    assert "incident.resolved" in result.outputs["events"].split(",")


def test_a_bad_signature_changes_nothing_and_a_replayed_event_is_ignored(sandbox):
    sb = sandbox
    connect(sb)
    incident = sb.pagerduty.create_incident(service_id=sb.service_id, title="Latency")
    assert wait_until(sb, lambda: status_in_port(sb, incident["id"]) == "triggered")
    delivery = sb.pagerduty.webhooks.deliveries[-1]
    forged = delivery.body.replace(b'"triggered"', b'"resolved"')
    answer = requests.post(delivery.url, data=forged, headers=delivery.headers, timeout=5)
    assert answer.status_code == 401
    assert status_in_port(sb, incident["id"]) == "triggered"
    sb.port.entities[(INCIDENT_BP, incident["id"])]["properties"]["status"] = "acknowledged"
    replay = requests.post(delivery.url, data=delivery.body, headers=delivery.headers, timeout=5)
    assert replay.status_code == 202
    assert status_in_port(sb, incident["id"]) == "acknowledged"  # de-duplicated on event.id


def test_a_second_run_changes_nothing_and_disconnect_leaves_neither_half(sandbox):
    sb = sandbox
    first = connect(sb)
    pd_before, port_before = len(writes(sb, "pagerduty")), len(writes(sb, "port"))
    second = connect(sb)
    assert second.outputs == first.outputs
    assert len(writes(sb, "pagerduty")) == pd_before
    new_port = writes(sb, "port")[port_before:]
    assert [r.path for r in new_port] == ["/v1/auth/access_token"]
    assert "Nothing changed" in second.summary

    connect(sb, disconnect="true")
    assert not sb.pagerduty.webhooks.subscriptions
    assert not sb.port.webhooks.webhooks


def test_scope_makes_one_subscription_per_item_and_drops_the_account_one(sandbox):
    sb = sandbox
    connect(sb)
    result = connect(sb, scope=f"service:{sb.service_id}\nteam:{sb.team_id}")
    subs = sb.pagerduty.webhooks.subscriptions.values()
    assert sorted(s["filter"]["type"] for s in subs) == ["service_reference", "team_reference"]
    assert sorted(sb.port.webhooks.webhooks) == [
        f"pagerduty-service-{sb.service_id}",
        f"pagerduty-team-{sb.team_id}",
    ]
    assert len(result.outputs["subscription_id"].split(",")) == 2
    again = connect(sb, scope=f"service:{sb.service_id}, team:{sb.team_id}")
    assert "Nothing changed" in again.summary


def test_a_lost_secret_is_reported_and_rotate_secret_replaces_the_subscription(sandbox):
    sb = sandbox
    first = connect(sb)
    sb.port.webhooks.webhooks["pagerduty"]["security"] = {}  # settings and secret gone
    failed = run_action(ACTION, sb.action_inputs())
    assert failed.returncode == 1
    assert "rotate_secret" in failed.stdout
    assert "no longer holds" in failed.stdout
    rotated = connect(sb, rotate_secret="true")
    assert rotated.outputs["subscription_id"] != first.outputs["subscription_id"]
    assert list(sb.pagerduty.webhooks.subscriptions) == [rotated.outputs["subscription_id"]]
    new_secret = sb.pagerduty.webhooks.secrets[rotated.outputs["subscription_id"]]
    assert sb.port.webhooks.webhooks["pagerduty"]["security"]["secret"] == new_secret
    incident = sb.pagerduty.create_incident(service_id=sb.service_id, title="After rotation")
    assert wait_until(sb, lambda: status_in_port(sb, incident["id"]) == "triggered")


@pytest.mark.parametrize("shown", ["absent", "null", "masked"])
def test_when_port_hides_secrets_a_second_run_changes_nothing_and_keeps_the_secret(sandbox, shown):
    sb = sandbox
    sb.port.webhooks.secret_on_read = shown
    first = connect(sb)
    secret = sb.pagerduty.webhooks.secrets[first.outputs["subscription_id"]]
    assert sb.port.webhooks.webhooks["pagerduty"]["security"]["secret"] == secret
    pd_before, port_before = len(writes(sb, "pagerduty")), len(writes(sb, "port"))
    second = connect(sb)
    assert second.outputs == first.outputs
    assert len(writes(sb, "pagerduty")) == pd_before
    assert [r.path for r in writes(sb, "port")[port_before:]] == ["/v1/auth/access_token"]
    assert "Nothing changed" in second.summary
    # a changed mapping is patched without the security block, so the secret stays
    sb.port.webhooks.webhooks["pagerduty"]["mappings"] = []
    connect(sb)
    assert sb.port.webhooks.webhooks["pagerduty"]["security"]["secret"] == secret
    incident = sb.pagerduty.create_incident(service_id=sb.service_id, title="Still signed")
    assert wait_until(sb, lambda: status_in_port(sb, incident["id"]) == "triggered")


@pytest.mark.parametrize("shown", ["absent", "masked"])
@pytest.mark.parametrize(
    ("security", "says"),
    [
        ({}, "no longer holds its signing secret"),
        ({"signaturePrefix": "sha256="}, "security settings differ"),
    ],
)
def test_when_port_hides_secrets_missing_security_fails_naming_rotate_secret(
    sandbox, shown, security, says
):
    sb = sandbox
    sb.port.webhooks.secret_on_read = shown
    first = connect(sb)
    webhook = sb.port.webhooks.webhooks["pagerduty"]
    webhook["security"] = {**webhook["security"], **security} if security else {}
    failed = run_action(ACTION, sb.action_inputs())
    assert failed.returncode == 1
    assert "rotate_secret" in failed.stdout
    assert says in failed.stdout
    rotated = connect(sb, rotate_secret="true")
    assert rotated.outputs["subscription_id"] != first.outputs["subscription_id"]
    new_secret = sb.pagerduty.webhooks.secrets[rotated.outputs["subscription_id"]]
    assert sb.port.webhooks.webhooks["pagerduty"]["security"]["secret"] == new_secret
    assert sb.port.webhooks.webhooks["pagerduty"]["security"]["signaturePrefix"] == "v1="


def test_a_run_cut_before_the_secret_is_stored_is_not_taken_for_connected(sandbox):
    """The webhook is created without security: settings only ever go with the secret, so a
    run that failed before storing it is not mistaken for one whose secret Port hides."""
    sb = sandbox
    sb.port.webhooks.secret_on_read = "absent"
    sb.inject("port", "PATCH", r"^/v1/webhooks/", 400)
    cut = run_action(ACTION, sb.action_inputs())
    assert cut.returncode == 1
    assert len(sb.pagerduty.webhooks.subscriptions) == 1
    assert not sb.port.webhooks.webhooks["pagerduty"]["security"]
    failed = run_action(ACTION, sb.action_inputs())
    assert failed.returncode == 1
    assert "rotate_secret" in failed.stdout
    connect(sb, rotate_secret="true")
    assert sb.port.webhooks.webhooks["pagerduty"]["enabled"]


def test_service_events_update_and_delete_the_service_entity(sandbox):
    sb = sandbox
    connect(sb)
    with sb.pagerduty.lock:
        service_id = sb.pagerduty.add_service("Search", sb.escalation_policy_id)
    assert wait_until(sb, lambda: entity(sb, service_id, "pagerdutyService") is not None)
    sb.pagerduty.update_service(service_id, name="Search v2")
    assert wait_until(
        sb, lambda: entity(sb, service_id, "pagerdutyService")["title"] == "Search v2"
    )
    sb.pagerduty.delete_service(service_id)
    assert wait_until(sb, lambda: entity(sb, service_id, "pagerdutyService") is None)


def test_a_title_edit_alone_waits_for_the_next_event_such_as_a_move_to_another_service(
    sandbox,
):
    sb = sandbox
    connect(sb)
    incident = sb.pagerduty.create_incident(service_id=sb.service_id, title="Old title")
    assert wait_until(sb, lambda: status_in_port(sb, incident["id"]) == "triggered")
    with sb.pagerduty.lock:
        service_id = sb.pagerduty.add_service("Search", sb.escalation_policy_id)
    assert wait_until(sb, lambda: entity(sb, service_id, "pagerdutyService") is not None)
    delivered = len(sb.pagerduty.webhooks.deliveries)
    with sb.pagerduty.lock:  # PagerDuty sends no v3 event for a title edit alone
        sb.pagerduty.incidents[incident["id"]]["title"] = "New title"
    assert len(sb.pagerduty.webhooks.deliveries) == delivered
    assert entity(sb, incident["id"])["title"] == "Old title"
    sb.pagerduty.move_incident(incident["id"], service_id)  # incident.service_updated

    def followed() -> bool:
        found = entity(sb, incident["id"])
        return found["relations"]["pagerdutyService"] == service_id and (
            found["title"] == "New title"
        )

    assert wait_until(sb, followed)


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"scope": "service:"}, "scope"),
        ({"scope": "user:PABC123"}, "scope"),
        ({"webhook_identifier": "bad id!"}, "webhook_identifier"),
        ({"webhook_identifier": "x" * 20, "scope": "service:PABC1234567"}, "webhook_identifier"),
        ({"rotate_secret": "maybe"}, "rotate_secret"),
        ({"rotate_secret": "true", "disconnect": "true"}, "rotate_secret"),
        ({"port_client_id": "", "port_client_secret": ""}, "port_client_id"),
        ({"mapping": "resources: []"}, "mapping"),
    ],
)
def test_bad_inputs_fail_before_any_request(sandbox, inputs, named):
    sb = sandbox
    result = run_action(ACTION, {**sb.action_inputs(), **inputs})
    assert result.returncode == 1
    assert f"'{named}'" in result.stdout
    assert not [r for r in sb.requests.all() if r.path != "/v1/auth/access_token"]


@pytest.mark.parametrize(
    ("server", "method", "path"),
    [
        ("port", "POST", r"^/v1/webhooks$"),
        ("port", "PATCH", r"^/v1/webhooks/"),
        ("pagerduty", "POST", r"^/webhook_subscriptions$"),
        ("pagerduty", "GET", r"^/webhook_subscriptions$"),
    ],
)
@pytest.mark.parametrize("status", [429, 503])
def test_transient_faults_are_retried_and_the_result_is_whole(
    sandbox, server, method, path, status
):
    sb = sandbox
    sb.inject(server, method, path, status, headers={"Retry-After": "0"})
    result = connect(sb)
    assert len(sb.pagerduty.webhooks.subscriptions) == 1
    assert sb.port.webhooks.webhooks["pagerduty"]["enabled"]
    assert result.outputs["subscription_id"] in sb.pagerduty.webhooks.subscriptions


def test_a_pagerduty_refusal_fails_naming_the_request(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"^/webhook_subscriptions$", 403)
    result = run_action(ACTION, sb.action_inputs())
    assert result.returncode == 1
    assert "webhook_subscriptions" in result.stdout
    assert not sb.pagerduty.webhooks.subscriptions
