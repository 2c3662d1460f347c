"""The Port simulator: login, blueprints, entities, search, deletes and action runs over HTTP."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests

from pagerduty_port_sandbox import Sandbox

INCIDENT = "pagerdutyIncident"
SERVICE = "pagerdutyService"


class PortClient:
    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.session = requests.Session()
        token = self.session.post(
            sb.port_url + "/v1/auth/access_token",
            json={"clientId": sb.port_client_id, "clientSecret": sb.port_client_secret},
        ).json()["accessToken"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.sb.port_url + path, **kwargs)

    def upsert(self, blueprint: str, entity: dict[str, Any], **params: str) -> requests.Response:
        return self.request(
            "POST", f"/v1/blueprints/{blueprint}/entities", json=entity, params=params
        )

    def search(self, blueprint: str, body: dict[str, Any]) -> requests.Response:
        return self.request("POST", f"/v1/blueprints/{blueprint}/entities/search", json=body)


@pytest.fixture
def port(sb: Sandbox) -> PortClient:
    return PortClient(sb)


def incident(identifier: str, **properties: Any) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "title": f"Incident {identifier}",
        "properties": {"status": "triggered", "urgency": "high", **properties},
    }


def assert_port_error(response: requests.Response, status: int, error: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert isinstance(body["error"], str)
    if error:
        assert body["error"] == error
    return body.get("message", "")


# ---------------------------------------------------------------------- auth and headers
def test_access_token(sb: Sandbox) -> None:
    response = requests.post(
        sb.port_url + "/v1/auth/access_token",
        json={"clientId": sb.port_client_id, "clientSecret": sb.port_client_secret},
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] > 0
    assert body["accessToken"]


def test_bad_credentials_and_missing_tokens_are_401(sb: Sandbox) -> None:
    wrong = requests.post(
        sb.port_url + "/v1/auth/access_token",
        json={"clientId": sb.port_client_id, "clientSecret": "nope"},
        timeout=5,
    )
    assert_port_error(wrong, 401, "unauthorized")
    incomplete = requests.post(
        sb.port_url + "/v1/auth/access_token", json={"clientId": "x"}, timeout=5
    )
    assert_port_error(incomplete, 422)
    for headers in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": "made-up"}):
        response = requests.get(sb.port_url + "/v1/blueprints", headers=headers, timeout=5)
        assert_port_error(response, 401, "unauthorized")


def test_expired_tokens_are_rejected(sb: Sandbox, port: PortClient) -> None:
    assert port.request("GET", "/v1/blueprints").status_code == 200
    sb.port.expire_tokens()
    assert_port_error(port.request("GET", "/v1/blueprints"), 401)


def test_rate_limit_headers_and_429(sb: Sandbox, port: PortClient) -> None:
    response = port.request("GET", "/v1/blueprints")
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert response.headers[header].isdigit()
    assert int(response.headers["x-ratelimit-reset"]) > 1_600_000_000  # epoch seconds
    sb.port.rate_limit = 3  # the login and the call above already used 2
    assert port.request("GET", "/v1/blueprints").status_code == 200
    limited = port.request("GET", "/v1/blueprints")
    assert_port_error(limited, 429)
    assert limited.headers["x-ratelimit-remaining"] == "0"
    sb.port.reset_rate_limit()
    assert port.request("GET", "/v1/blueprints").status_code == 200


def test_bodies_over_one_mebibyte_are_413(port: PortClient) -> None:
    big = incident("big", description="x" * (1024 * 1024))
    assert_port_error(port.upsert(INCIDENT, big, upsert="true"), 413)


# ---------------------------------------------------------------------- blueprints
def test_default_blueprints_exist(port: PortClient) -> None:
    blueprints = port.request("GET", "/v1/blueprints").json()["blueprints"]
    assert {b["identifier"] for b in blueprints} == {
        "pagerdutyService",
        "pagerdutyIncident",
        "pagerdutySchedule",
        "pagerdutyOncall",
        "pagerdutyEscalationPolicy",
        "pagerdutyUser",
    }
    one = port.request("GET", f"/v1/blueprints/{INCIDENT}").json()["blueprint"]
    properties = one["schema"]["properties"]
    assert {
        "status",
        "url",
        "urgency",
        "assignees",
        "escalation_policy",
        "created_at",
        "updated_at",
        "priority",
        "description",
        "triggered_by",
    } <= set(properties)
    assert properties["assignees"]["type"] == "array"
    assert properties["created_at"]["format"] == "date-time"
    assert one["relations"][SERVICE]["target"] == SERVICE
    assert one["relations"][SERVICE]["many"] is False


def test_no_blueprints_when_asked() -> None:
    with Sandbox(port_blueprints=None) as sandbox:
        assert sandbox.port.blueprints == {}
        client = PortClient(sandbox)
        assert client.request("GET", "/v1/blueprints").json()["blueprints"] == []
        missing = client.upsert(INCIDENT, incident("x"))
        assert "pagerdutyIncident" in assert_port_error(missing, 404, "not_found")


def test_create_get_and_patch_a_blueprint(port: PortClient) -> None:
    blueprint = {
        "identifier": "microservice",
        "title": "Microservice",
        "schema": {"properties": {"language": {"type": "string"}}, "required": []},
        "relations": {"pd": {"target": SERVICE, "many": True, "required": False, "title": "PD"}},
    }
    created = port.request("POST", "/v1/blueprints", json=blueprint)
    assert created.status_code == 201
    assert created.json()["blueprint"]["identifier"] == "microservice"
    assert_port_error(port.request("POST", "/v1/blueprints", json=blueprint), 409)
    patched = port.request(
        "PATCH",
        "/v1/blueprints/microservice",
        json={"schema": {"properties": {"tier": {"type": "number"}}}},
    )
    assert patched.status_code == 200
    assert set(patched.json()["blueprint"]["schema"]["properties"]) == {"language", "tier"}
    assert_port_error(port.request("GET", "/v1/blueprints/nope"), 404, "not_found")
    bad = {**blueprint, "identifier": "has space"}
    assert_port_error(port.request("POST", "/v1/blueprints", json=bad), 422)
    dangling = {**blueprint, "identifier": "dangling", "relations": {"x": {"target": "ghost"}}}
    assert_port_error(port.request("POST", "/v1/blueprints", json=dangling), 404)


# ---------------------------------------------------------------------- entities
def test_create_then_get_an_entity(sb: Sandbox, port: PortClient) -> None:
    response = port.upsert(INCIDENT, incident("Q1", url="https://x.pagerduty.com/incidents/Q1"))
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    entity = body["entity"]
    assert entity["identifier"] == "Q1"
    assert entity["blueprint"] == INCIDENT
    assert entity["title"] == "Incident Q1"
    assert entity["properties"]["status"] == "triggered"
    assert entity["properties"]["priority"] is None  # every schema property is present
    assert entity["relations"] == {SERVICE: None}
    for meta in ("createdAt", "updatedAt", "createdBy", "updatedBy"):
        assert entity[meta]
    fetched = port.request("GET", f"/v1/blueprints/{INCIDENT}/entities/Q1").json()["entity"]
    assert fetched == entity
    assert sb.port.entities[(INCIDENT, "Q1")] == entity
    missing = port.request("GET", f"/v1/blueprints/{INCIDENT}/entities/Q404")
    assert_port_error(missing, 404, "not_found")


def test_existing_entity_needs_upsert(sb: Sandbox, port: PortClient) -> None:
    assert port.upsert(INCIDENT, incident("Q1")).status_code == 201
    conflict = port.upsert(INCIDENT, incident("Q1", status="resolved"))
    assert_port_error(conflict, 409)
    updated = port.upsert(INCIDENT, incident("Q1", status="resolved"), upsert="true")
    assert updated.status_code == 200
    assert updated.json()["entity"]["properties"]["status"] == "resolved"


def test_upsert_replaces_but_merge_keeps_other_fields(port: PortClient) -> None:
    first = incident("Q1", description="first", priority="P1")
    created = port.upsert(INCIDENT, first, upsert="true").json()["entity"]
    merged = port.upsert(
        INCIDENT,
        {"identifier": "Q1", "properties": {"status": "acknowledged"}},
        upsert="true",
        merge="true",
    ).json()["entity"]
    assert merged["properties"]["status"] == "acknowledged"
    assert merged["properties"]["description"] == "first"
    assert merged["title"] == "Incident Q1"
    assert merged["createdAt"] == created["createdAt"]
    replaced = port.upsert(
        INCIDENT, {"identifier": "Q1", "properties": {"status": "resolved"}}, upsert="true"
    ).json()["entity"]
    assert replaced["properties"]["description"] is None
    assert replaced["title"] is None


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"status": "on fire"}, "status"),
        ({"urgency": 3}, "urgency"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"url": "not a url"}, "url"),
        ({"assignees": "bob@example.com"}, "assignees"),
        ({"assignees": [1, 2]}, "assignees"),
        ({"unknown_property": "x"}, "unknown_property"),
    ],
)
def test_properties_are_validated_against_the_blueprint(
    port: PortClient, properties: dict[str, Any], named: str
) -> None:
    response = port.upsert(INCIDENT, incident("Q1", **properties), upsert="true")
    message = assert_port_error(response, 422)
    assert f'"{named}' in message


@pytest.mark.parametrize("identifier", ["has space", "..", "a" * 1001, "tab\there", "é#"])
def test_identifier_pattern(port: PortClient, identifier: str) -> None:
    assert_port_error(port.upsert(INCIDENT, incident(identifier), upsert="true"), 422)


def test_identifiers_may_use_letters_and_the_allowed_symbols(port: PortClient) -> None:
    identifier = "Incidént@a_b.c+d:e/f\\g=h-1"
    assert port.upsert(INCIDENT, incident(identifier), upsert="true").status_code == 201
    path = quote(identifier, safe="")
    assert port.request("GET", f"/v1/blueprints/{INCIDENT}/entities/{path}").status_code == 200


def test_relations_must_point_at_existing_entities(sb: Sandbox, port: PortClient) -> None:
    body = {**incident("Q1"), "relations": {SERVICE: "PSVC001"}}
    missing = port.upsert(INCIDENT, body, upsert="true")
    assert "PSVC001" in assert_port_error(missing, 404, "not_found")
    created = port.upsert(
        INCIDENT, body, upsert="true", create_missing_related_entities="true"
    ).json()["entity"]
    assert created["relations"] == {SERVICE: "PSVC001"}
    stub = sb.port.entities[(SERVICE, "PSVC001")]
    assert stub["identifier"] == "PSVC001"
    assert stub["properties"]["status"] is None
    assert port.upsert(INCIDENT, {**body, "identifier": "Q2"}, upsert="true").status_code == 201
    wrong_shape = {**incident("Q3"), "relations": {SERVICE: ["a", "b"]}}
    assert_port_error(port.upsert(INCIDENT, wrong_shape, upsert="true"), 422)
    unknown_relation = {**incident("Q3"), "relations": {"team": "x"}}
    assert_port_error(port.upsert(INCIDENT, unknown_relation, upsert="true"), 422)


def test_run_id_is_recorded_and_must_be_a_live_run(sb: Sandbox, port: PortClient) -> None:
    run_id = sb.port.add_run("r_abc", action="create_incident")
    response = port.upsert(INCIDENT, incident("Q1"), upsert="true", run_id=run_id)
    assert response.status_code == 201
    assert sb.port.entity_runs[(INCIDENT, "Q1")] == "r_abc"
    assert sb.port.runs["r_abc"]["entities"] == [(INCIDENT, "Q1")]
    assert_port_error(port.upsert(INCIDENT, incident("Q2"), upsert="true", run_id="r_x"), 404)
    bulk_unknown_run = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities/bulk",
        json={"entities": [incident("Q4")]},
        params={"upsert": "true", "run_id": "r_x"},
    )
    assert_port_error(bulk_unknown_run, 404, "not_found")
    port.request("PATCH", "/v1/actions/runs/r_abc", json={"status": "SUCCESS"})
    finished = port.upsert(INCIDENT, incident("Q3"), upsert="true", run_id=run_id)
    assert_port_error(finished, 400, "run_exhausted")


def test_bulk_upsert_all_valid_is_200(port: PortClient) -> None:
    entities = [incident(f"Q{i}") for i in range(20)]
    response = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities/bulk",
        json={"entities": entities},
        params={"upsert": "true"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["errors"] == []
    assert body["entities"][0] == {"identifier": "Q0", "index": 0, "created": True}
    again = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities/bulk",
        json={"entities": entities[:2]},
        params={"upsert": "true", "merge": "true"},
    ).json()
    assert [e["created"] for e in again["entities"]] == [False, False]


def test_bulk_upsert_reports_invalid_entities_with_207(sb: Sandbox, port: PortClient) -> None:
    entities = [
        incident("ok-1"),
        incident("bad status", status="???"),
        incident("ok-2"),
        {**incident("orphan"), "relations": {SERVICE: "PNOPE"}},
    ]
    response = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities/bulk",
        json={"entities": entities},
        params={"upsert": "true"},
    )
    assert response.status_code == 207
    body = response.json()
    assert [(e["identifier"], e["index"]) for e in body["entities"]] == [("ok-1", 0), ("ok-2", 2)]
    errors = {e["index"]: e for e in body["errors"]}
    assert set(errors) == {1, 3}
    assert errors[1]["identifier"] == "bad status"
    assert errors[1]["statusCode"] == 422
    assert errors[3]["statusCode"] == 404
    assert errors[3]["error"] == "not_found"
    assert all(e["message"] for e in body["errors"])
    assert (INCIDENT, "ok-2") in sb.port.entities
    assert (INCIDENT, "orphan") not in sb.port.entities


@pytest.mark.parametrize("count", [0, 21])
def test_bulk_takes_1_to_20_entities(port: PortClient, count: int) -> None:
    entities = [incident(f"Q{i}") for i in range(count)]
    response = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities/bulk",
        json={"entities": entities},
        params={"upsert": "true"},
    )
    assert_port_error(response, 422)


def test_bulk_over_one_mebibyte_is_413(port: PortClient) -> None:
    entities = [incident(f"Q{i}", description="x" * 60_000) for i in range(20)]
    response = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities/bulk",
        json={"entities": entities},
        params={"upsert": "true"},
    )
    assert_port_error(response, 413)


# ---------------------------------------------------------------------- search
def seed_incidents(port: PortClient, count: int) -> None:
    port.upsert(SERVICE, {"identifier": "PSVC", "properties": {"status": "active"}}, upsert="true")
    for start in range(0, count, 20):
        batch = [
            {
                **incident(f"Q{i:04d}", status="resolved" if i % 3 == 0 else "triggered"),
                "relations": {SERVICE: "PSVC"} if i % 2 == 0 else {},
            }
            for i in range(start, min(start + 20, count))
        ]
        response = port.request(
            "POST",
            f"/v1/blueprints/{INCIDENT}/entities/bulk",
            json={"entities": batch},
            params={"upsert": "true"},
        )
        assert response.status_code == 200


def test_search_pages_through_everything_with_the_cursor(port: PortClient) -> None:
    seed_incidents(port, 95)
    seen: list[str] = []
    body: dict[str, Any] = {"limit": 40, "include": ["$identifier", "status"]}
    pages = 0
    while True:
        response = port.search(INCIDENT, body)
        assert response.status_code == 200
        page = response.json()
        assert page["ok"] is True
        seen.extend(e["identifier"] for e in page["entities"])
        pages += 1
        if "next" not in page:
            break
        body = {**body, "from": page["next"]}
    assert pages == 3
    assert seen == [f"Q{i:04d}" for i in range(95)]
    first = port.search(INCIDENT, {"limit": 1, "include": ["$identifier", "status"]}).json()
    assert first["entities"] == [{"identifier": "Q0000", "properties": {"status": "resolved"}}]


def test_search_rules(port: PortClient) -> None:
    seed_incidents(port, 30)

    def ids(query: dict[str, Any]) -> list[str]:
        response = port.search(INCIDENT, {"query": query, "limit": 1000})
        assert response.status_code == 200, response.text
        return [e["identifier"] for e in response.json()["entities"]]

    resolved = ids(
        {
            "combinator": "and",
            "rules": [{"property": "status", "operator": "=", "value": "resolved"}],
        }
    )
    assert resolved == [f"Q{i:04d}" for i in range(0, 30, 3)]
    either = ids(
        {
            "combinator": "or",
            "rules": [
                {"property": "$identifier", "operator": "=", "value": "Q0001"},
                {"property": "$identifier", "operator": "in", "value": ["Q0002", "Q0003"]},
            ],
        }
    )
    assert either == ["Q0001", "Q0002", "Q0003"]
    related = ids(
        {
            "combinator": "and",
            "rules": [
                {"relation": SERVICE, "operator": "=", "value": "PSVC"},
                {"property": "$identifier", "operator": "beginsWith", "value": "Q000"},
            ],
        }
    )
    assert related == ["Q0000", "Q0002", "Q0004", "Q0006", "Q0008"]
    related_to = ids(
        {
            "combinator": "and",
            "rules": [{"operator": "relatedTo", "blueprint": SERVICE, "value": "PSVC"}],
        }
    )
    assert len(related_to) == 15
    nested = ids(
        {
            "combinator": "and",
            "rules": [
                {"property": "status", "operator": "!=", "value": "resolved"},
                {
                    "combinator": "or",
                    "rules": [
                        {"property": "$identifier", "operator": "endsWith", "value": "1"},
                        {"property": "$identifier", "operator": "=", "value": "Q0002"},
                    ],
                },
            ],
        }
    )
    assert nested == ["Q0001", "Q0002", "Q0011"]
    empty = ids({"combinator": "and", "rules": [{"property": "priority", "operator": "isEmpty"}]})
    assert len(empty) == 30


def test_search_rejects_bad_requests(port: PortClient) -> None:
    assert_port_error(port.search(INCIDENT, {"limit": 1001}), 422)
    assert_port_error(port.search(INCIDENT, {"limit": 0}), 422)
    bad_operator = {
        "query": {
            "combinator": "and",
            "rules": [{"property": "status", "operator": "like", "value": "x"}],
        }
    }
    assert_port_error(port.search(INCIDENT, bad_operator), 422)
    assert_port_error(port.search(INCIDENT, {"unexpected": True}), 422)
    assert_port_error(port.search("nope", {}), 404)
    assert_port_error(port.search(INCIDENT, {"from": "garbage!"}), 422)


def test_search_exclude_and_cross_blueprint_search(port: PortClient) -> None:
    seed_incidents(port, 2)
    excluded = port.search(INCIDENT, {"exclude": ["status", "$title"]}).json()["entities"][0]
    assert "title" not in excluded
    assert "status" not in excluded["properties"]
    assert "urgency" in excluded["properties"]
    everything = port.request(
        "POST",
        "/v1/entities/search",
        json={
            "query": {
                "combinator": "and",
                "rules": [{"property": "$blueprint", "operator": "=", "value": SERVICE}],
            }
        },
    ).json()["entities"]
    assert [e["identifier"] for e in everything] == ["PSVC"]


# ---------------------------------------------------------------------- deletes
def test_delete_an_entity(sb: Sandbox, port: PortClient) -> None:
    port.upsert(INCIDENT, incident("Q1"), upsert="true")
    deleted = port.request("DELETE", f"/v1/blueprints/{INCIDENT}/entities/Q1")
    assert deleted.status_code == 200
    assert deleted.json() == {"ok": True}
    assert (INCIDENT, "Q1") not in sb.port.entities
    again = port.request("DELETE", f"/v1/blueprints/{INCIDENT}/entities/Q1")
    assert_port_error(again, 404)


def test_dependents_block_a_delete_unless_asked(sb: Sandbox, port: PortClient) -> None:
    seed_incidents(port, 4)
    blocked = port.request("DELETE", f"/v1/blueprints/{SERVICE}/entities/PSVC")
    assert_port_error(blocked, 422)
    assert (SERVICE, "PSVC") in sb.port.entities
    cascaded = port.request(
        "DELETE", f"/v1/blueprints/{SERVICE}/entities/PSVC", params={"delete_dependents": "true"}
    )
    assert cascaded.status_code == 200
    remaining = sorted(identifier for _, identifier in sb.port.entities)
    assert remaining == ["Q0001", "Q0003"]  # the ones that pointed at PSVC went too


def test_bulk_delete(sb: Sandbox, port: PortClient) -> None:
    seed_incidents(port, 5)
    response = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/bulk/entities/delete",
        json={"entities": ["Q0000", "Q0001", "Q9999"]},
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "deletedEntities": ["Q0000", "Q0001"]}
    assert (INCIDENT, "Q0000") not in sb.port.entities
    too_many = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/bulk/entities/delete",
        json={"entities": [f"Q{i}" for i in range(101)]},
    )
    assert_port_error(too_many, 422)
    blocked = port.request(
        "POST", f"/v1/blueprints/{SERVICE}/bulk/entities/delete", json={"entities": ["PSVC"]}
    )
    assert_port_error(blocked, 422)


# ---------------------------------------------------------------------- action runs
def test_run_logs_and_patches_are_kept(sb: Sandbox, port: PortClient) -> None:
    run_id = sb.port.add_run("r_abc")
    log = port.request("POST", f"/v1/actions/runs/{run_id}/logs", json={"message": "Creating"})
    assert log.status_code == 201
    assert log.json()["runLog"]["message"] == "Creating"
    patched = port.request(
        "PATCH",
        f"/v1/actions/runs/{run_id}",
        json={"statusLabel": "Paging", "link": ["https://pd/incidents/Q1"], "summary": "Working"},
    )
    assert patched.status_code == 200
    assert patched.json()["run"]["status"] == "IN_PROGRESS"
    port.request("PATCH", f"/v1/actions/runs/{run_id}", json={"link": "https://pd/incidents/Q2"})
    run = sb.port.runs[run_id]
    assert run["link"] == "https://pd/incidents/Q2"  # each PATCH replaces the link
    assert run["statusLabel"] == "Paging"
    assert run["summary"] == "Working"
    assert [entry["message"] for entry in run["logs"]] == ["Creating"]
    assert len(run["patches"]) == 2
    fetched = port.request("GET", f"/v1/actions/runs/{run_id}").json()["run"]
    assert fetched["id"] == run_id
    assert "logs" not in fetched
    logs = port.request("GET", f"/v1/actions/runs/{run_id}/logs").json()["runLogs"]
    assert [entry["message"] for entry in logs] == ["Creating"]


def test_a_status_ends_the_run(sb: Sandbox, port: PortClient) -> None:
    run_id = sb.port.add_run()
    done = port.request(
        "PATCH", f"/v1/actions/runs/{run_id}", json={"status": "SUCCESS", "externalRunId": "42"}
    )
    assert done.status_code == 200
    assert sb.port.runs[run_id]["status"] == "SUCCESS"
    assert sb.port.runs[run_id]["endedAt"]
    for body in ({"status": "FAILURE"}, {"statusLabel": "late"}):
        late = port.request("PATCH", f"/v1/actions/runs/{run_id}", json=body)
        assert_port_error(late, 422)
    assert sb.port.runs[run_id]["status"] == "SUCCESS"
    # plain log lines are still welcome
    log = port.request("POST", f"/v1/actions/runs/{run_id}/logs", json={"message": "bye"})
    assert log.status_code == 201


def test_termination_status_in_a_log_ends_the_run(sb: Sandbox, port: PortClient) -> None:
    run_id = sb.port.add_run()
    response = port.request(
        "POST",
        f"/v1/actions/runs/{run_id}/logs",
        json={"message": "failed", "terminationStatus": "FAILURE", "statusLabel": "PD said no"},
    )
    assert response.status_code == 201
    assert sb.port.runs[run_id]["status"] == "FAILURE"
    assert sb.port.runs[run_id]["statusLabel"] == "PD said no"


@pytest.mark.parametrize(
    "body",
    [
        {"status": "DONE"},
        {"status": "success"},
        {"logMessage": "wrong route"},
        {"message": "deprecated"},
        {"link": 3},
        {"link": ["ok", 3]},
        {"summary": ["x"]},
    ],
)
def test_run_patch_allows_only_the_documented_keys(
    sb: Sandbox, port: PortClient, body: dict[str, Any]
) -> None:
    run_id = sb.port.add_run()
    assert_port_error(port.request("PATCH", f"/v1/actions/runs/{run_id}", json=body), 422)
    assert sb.port.runs[run_id]["patches"] == []


def test_unknown_runs_are_404_unless_auto_created(sb: Sandbox, port: PortClient) -> None:
    for method, path, body in (
        ("GET", "/v1/actions/runs/r_none", None),
        ("PATCH", "/v1/actions/runs/r_none", {"status": "SUCCESS"}),
        ("POST", "/v1/actions/runs/r_none/logs", {"message": "hi"}),
    ):
        assert_port_error(port.request(method, path, json=body), 404, "not_found")
    sb.port.auto_create_runs = True
    assert port.request("POST", "/v1/actions/runs/r_new/logs", json={"message": "hi"}).ok
    assert sb.port.runs["r_new"]["logs"][0]["message"] == "hi"


def test_invalid_json_is_a_400(port: PortClient) -> None:
    response = port.request(
        "POST",
        f"/v1/blueprints/{INCIDENT}/entities",
        data="{oops",
        headers={"Content-Type": "application/json"},
    )
    assert_port_error(response, 400)
    assert json.loads(response.text)["ok"] is False


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("shown", "s3cret"), ("absent", ...), ("null", None), ("masked", "********")],
)
def test_webhook_reads_show_the_secret_as_secret_on_read_says(
    sb: Sandbox, port: PortClient, mode: str, expected: Any
) -> None:
    sb.port.webhooks.secret_on_read = mode
    security = {"secret": "s3cret", "signatureHeaderName": "X-Sig"}
    created = port.request("POST", "/v1/webhooks", json={"title": "w", "security": security})
    identifier = created.json()["integration"]["identifier"]
    for answer in (
        created.json()["integration"],
        port.request("GET", f"/v1/webhooks/{identifier}").json()["integration"],
        port.request("GET", "/v1/webhooks").json()["integrations"][0],
    ):
        assert answer["security"].get("secret", ...) == expected
        assert answer["security"]["signatureHeaderName"] == "X-Sig"
    assert sb.port.webhooks.webhooks[identifier]["security"]["secret"] == "s3cret"
    with pytest.raises(ValueError, match="secret_on_read"):
        sb.port.webhooks.secret_on_read = "hidden"
