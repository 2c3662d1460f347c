"""The mapping is the one definition of what the catalogue holds: the incident actions write
through the `mapping` input exactly as the sync does. End to end, through the entrypoint in a
subprocess against the simulators; blueprints are changed through the Port simulator's API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from actionrun import ActionResult, run_action
from pagerduty_port_sandbox import Sandbox

INCIDENT = "pagerdutyIncident"
RECORD = "incidentRecord"

# Adds `number`, renames `status` to `state`, and asks PagerDuty only for assignees: an action
# that fetched the incident without the mapping's includes would map no assignee emails.
CUSTOM_MAPPING = """
resources:
  - kind: incidents
    selector:
      query: "true"
      apiQueryParams:
        include: [assignees]
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"pagerdutyIncident"'
          properties:
            state: .status
            number: .incident_number
            urgency: .urgency
            url: .html_url
            assignees: "[(.assignments // [])[] | .assignee.email // empty]"
          relations:
            pagerdutyService: .service.id
"""

# Inline, to a blueprint of its own: the mapping, not an input, names where incidents go.
RECORD_MAPPING = """
resources:
  - kind: incidents
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"incidentRecord"'
          properties:
            state: .status
            urgency: .urgency
            policy: .escalation_policy.id
"""

SERVICES_ONLY = """
resources:
  - kind: services
    port:
      entity:
        mappings: {identifier: .id, title: .name, blueprint: '"pagerdutyService"'}
"""


def port_api(sb: Sandbox, method: str, path: str, body: dict) -> dict:
    """A call to the Port simulator's API, as a Port admin would make it."""
    login = requests.post(
        f"{sb.port_url}/v1/auth/access_token",
        json={"clientId": sb.port_client_id, "clientSecret": sb.port_client_secret},
        timeout=10,
    )
    token = login.json()["accessToken"]
    response = requests.request(
        method,
        f"{sb.port_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.ok, response.text
    return response.json()


def add_custom_properties(sb: Sandbox) -> None:
    port_api(
        sb,
        "PATCH",
        f"/v1/blueprints/{INCIDENT}",
        {
            "schema": {
                "properties": {
                    "state": {"type": "string", "title": "State"},
                    "number": {"type": "number", "title": "Number"},
                }
            }
        },
    )


def add_record_blueprint(sb: Sandbox) -> None:
    properties = {name: {"type": "string"} for name in ("state", "urgency", "policy")}
    port_api(
        sb,
        "POST",
        "/v1/blueprints",
        {"identifier": RECORD, "title": "Incident record", "schema": {"properties": properties}},
    )


def create_inputs(sb: Sandbox, **extra: str) -> dict[str, str]:
    return {
        "title": "Checkout is down",
        "service": sb.service_id,
        "from": sb.user_email,
        **sb.action_inputs(),
        **extra,
    }


def in_workspace(workspace: Path) -> dict[str, str]:
    return {"GITHUB_WORKSPACE": str(workspace)}


def entity_writes(sb: Sandbox) -> list:
    return [
        r
        for r in sb.requests.filter(server="port", method="POST", path="/v1/blueprints/*")
        if r.path.endswith("/entities") or r.path.endswith("/entities/bulk")
    ]


def ok(result: ActionResult) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_create_incident_and_a_sync_with_the_same_custom_mapping_write_the_same_entity(
    sandbox, tmp_path
):
    sb = sandbox
    add_custom_properties(sb)
    (tmp_path / "incidents.yaml").write_text(CUSTOM_MAPPING)

    created = run_action(
        "create-incident",
        create_inputs(sb, mapping="incidents.yaml"),
        extra_env=in_workspace(tmp_path),
    )
    ok(created)
    incident = sb.pagerduty.incidents[created.outputs["incident_id"]]
    (read_back,) = sb.requests.filter(
        server="pagerduty", method="GET", path=f"/incidents/{incident['id']}"
    )
    assert read_back.query["include[]"] == ["assignees"]
    written_by_action = json.loads(json.dumps(sb.port.entities[(INCIDENT, incident["id"])]))
    properties = written_by_action["properties"]
    assert properties["state"] == "triggered"
    assert properties["number"] == incident["incident_number"]
    assert properties["assignees"], "the incident was not read with the mapping's includes"
    assert properties["status"] is None, "the renamed property must not be written"
    assert properties["escalation_policy"] is None, "only the mapping's properties are written"
    assert created.outputs["entity_identifier"] == incident["id"]

    before = len(entity_writes(sb))
    synced = run_action(
        "sync",
        {**sb.action_inputs(), "mapping": "incidents.yaml"},
        extra_env=in_workspace(tmp_path),
    )
    ok(synced)
    summary = json.loads(synced.outputs["summary"])
    assert summary["incidents"]["unchanged"] == 1
    assert summary["incidents"]["created"] + summary["incidents"]["updated"] == 0
    assert len(entity_writes(sb)) == before
    assert sb.port.entities[(INCIDENT, incident["id"])] == written_by_action


@pytest.mark.parametrize("action", ["create-incident", "trigger-incident", "escalate"])
def test_a_mapping_without_incidents_fails_before_any_request(sandbox, action):
    sb = sandbox
    inputs = {
        "create-incident": create_inputs(sb),
        "trigger-incident": {
            **sb.action_inputs(),
            "routing_key": sb.routing_key,
            "summary": "Disk full",
            "pagerduty_events_url": sb.events_url,
        },
        "escalate": {
            **sb.action_inputs(),
            "incident_id": "PABC123",
            "urgency": "low",
            "from": sb.user_email,
        },
    }[action]
    result = run_action(action, {**inputs, "mapping": SERVICES_ONLY})
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'mapping'" in error
    assert "no resource of kind 'incidents'" in error
    assert sb.requests.all() == []


def test_trigger_and_escalate_write_through_an_inline_mapping(sandbox):
    sb = sandbox
    add_record_blueprint(sb)
    triggered = run_action(
        "trigger-incident",
        {
            **sb.action_inputs(),
            "routing_key": sb.routing_key,
            "summary": "Disk full on db-1",
            "pagerduty_events_url": sb.events_url,
            "mapping": RECORD_MAPPING,
        },
    )
    ok(triggered)
    incident_id = triggered.outputs["incident_id"]
    assert triggered.outputs["entity_identifier"] == incident_id
    assert sb.port.entities[(RECORD, incident_id)]["properties"]["state"] == "triggered"
    assert (INCIDENT, incident_id) not in sb.port.entities

    policy = sb.pagerduty.add_escalation_policy("Database team", [[sb.user_id]])
    escalated = run_action(
        "escalate",
        {
            **sb.action_inputs(),
            "incident_id": incident_id,
            "escalation_policy_id": policy,
            "urgency": "low",
            "from": sb.user_email,
            "mapping": RECORD_MAPPING,
        },
    )
    ok(escalated)
    record = sb.port.entities[(RECORD, incident_id)]
    assert record["properties"] == {"state": "triggered", "urgency": "low", "policy": policy}
    assert (INCIDENT, incident_id) not in sb.port.entities
    assert f"{RECORD}/{incident_id}" in escalated.summary


def test_acknowledge_from_an_entity_of_the_mappings_blueprint_uses_its_incident_key(sandbox):
    """The run's entity is recognised as an incident by the blueprint the mapping writes."""
    sb = sandbox
    add_record_blueprint(sb)
    incident = sb.pagerduty.create_incident(
        service_id=sb.service_id, title="From Port", incident_key="custom-key-2"
    )
    result = run_action(
        "trigger-incident",
        {
            **sb.action_inputs(),
            "routing_key": sb.routing_key,
            "event_action": "acknowledge",
            "pagerduty_events_url": sb.events_url,
            "mapping": RECORD_MAPPING,
            "port_context": json.dumps({"blueprint": RECORD, "entity": incident["id"]}),
        },
    )
    ok(result)
    (event,) = sb.requests.filter(server="events", method="POST", path="/v2/enqueue")
    assert event.json["dedup_key"] == "custom-key-2"


def test_a_blueprint_input_that_disagrees_with_the_mapping_is_refused(sandbox):
    sb = sandbox
    result = run_action("create-incident", create_inputs(sb, blueprint="myIncidents"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'blueprint'" in error
    assert "writes incidents to 'pagerdutyIncident'" in error
    assert sb.requests.all() == []


def test_a_blueprint_input_that_agrees_with_the_mapping_is_deprecated_but_works(sandbox):
    sb = sandbox
    result = run_action("create-incident", create_inputs(sb, blueprint=INCIDENT))
    ok(result)
    assert "Input 'blueprint' is deprecated" in result.stdout
    assert (INCIDENT, result.outputs["incident_id"]) in sb.port.entities


def test_an_incident_the_mapping_cannot_map_fails_naming_the_field(sandbox):
    sb = sandbox
    broken = RECORD_MAPPING.replace("policy: .escalation_policy.id", 'policy: error("no policy")')
    result = run_action("create-incident", create_inputs(sb, mapping=broken))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'mapping' (inline): resources[0] (incidents) cannot map incidents" in error
    assert "properties.policy: no policy" in error
    assert result.outputs["incident_id"] in sb.pagerduty.incidents
    assert entity_writes(sb) == []


def test_an_incident_the_mappings_selector_leaves_out_is_not_written(sandbox):
    sb = sandbox
    low_only = RECORD_MAPPING.replace(
        "    port:", '    selector: {query: .urgency == "low"}\n    port:'
    )
    result = run_action("create-incident", create_inputs(sb, mapping=low_only))
    ok(result)
    assert "The mapping's selector leaves incidents" in result.stdout
    assert result.outputs["entity_identifier"] == ""
    assert entity_writes(sb) == []


def test_a_bad_mapping_is_reported_to_the_port_run_and_pagerduty_is_untouched(sandbox):
    """The mapping is parsed in the operation's parse, once the Port run is known, so the
    Port user sees why the run failed."""
    sb = sandbox
    sb.port.add_run("r_badmap")
    context = json.dumps({"run_id": "r_badmap"})
    result = run_action(
        "create-incident", create_inputs(sb, mapping=SERVICES_ONLY, port_context=context)
    )
    assert result.returncode == 1
    logs = [
        r.json["message"]
        for r in sb.requests.filter(server="port", path="/v1/actions/runs/r_badmap/logs")
    ]
    assert any("Input 'mapping'" in message for message in logs), logs
    assert sb.requests.filter(server="pagerduty") == []


BROKEN_USERS = """
resources:
  - kind: incidents
    selector: {query: 'true'}
    port:
      entity:
        mappings: {identifier: .id, title: .title, blueprint: '"pagerdutyIncident"'}
  - kind: users
    selector: {query: 'true'}
    port:
      entity:
        mappings: {identifier: '.id |', blueprint: '"pagerdutyUser"'}
"""


def test_bad_jq_in_the_kind_an_action_writes_fails_before_any_request(sandbox):
    sb = sandbox
    broken = BROKEN_USERS.replace("'.id |'", ".id").replace(
        "identifier: .id, title", "identifier: '.id |', title"
    )
    result = run_action("create-incident", {**create_inputs(sb), "mapping": broken})
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'mapping'" in error
    assert "does not compile" in error
    assert sb.requests.filter(server="pagerduty") == []


def test_bad_jq_in_a_kind_the_action_does_not_write_does_not_stop_an_incident(sandbox):
    """During an incident, a typo in the users resource must not keep the page from going out;
    the sync, which maps users, still refuses the mapping before any request."""
    sb = sandbox
    created = run_action("create-incident", {**create_inputs(sb), "mapping": BROKEN_USERS})
    ok(created)
    before = len(sb.requests.filter(server="pagerduty"))
    synced = run_action("sync", {**sb.action_inputs(), "mapping": BROKEN_USERS})
    assert synced.returncode == 1
    assert "does not compile" in synced.errors()[0]
    assert len(sb.requests.filter(server="pagerduty")) == before
