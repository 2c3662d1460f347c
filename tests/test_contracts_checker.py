"""The contract checker itself: handcrafted requests it must accept, and ones it must reject.

Tests that need the official specs skip when `../shared/contracts` is absent (a fresh clone);
the others exercise the spec-independent parts (pattern rewrite, YAML loader, loading errors).
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

if str(Path(__file__).resolve().parent) not in sys.path:  # importable whatever the import mode
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import contracts
from contracts import ContractChecker, contracts_dir
from pagerduty_port_sandbox.recording import RecordedRequest

PD_HEADERS = {
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Authorization": "Token token=y_NbAkKc66ryYTWUXYEu",
    "Content-Type": "application/json",
    "From": "oncall@example.com",
}
PORT_HEADERS = {"Authorization": "Bearer eyJhbGciOi.x.y", "Content-Type": "application/json"}
EVENTS_HEADERS = {"Content-Type": "application/json"}

INCIDENT: dict[str, Any] = {
    "incident": {
        "type": "incident",
        "title": "t",
        "service": {"id": "PABC123", "type": "service_reference"},
        "urgency": "high",
        "body": {"type": "incident_body", "details": "x"},
        "incident_key": "k",
    }
}
TRIGGER: dict[str, Any] = {
    "routing_key": "R" * 32,
    "event_action": "trigger",
    "dedup_key": "port-r_1",
    "payload": {
        "summary": "Disk full on db-1",
        "source": "port",
        "severity": "critical",
        "timestamp": "2026-01-01T10:00:00+00:00",
        "component": "db",
        "custom_details": {"run_id": "r_1", "count": 3},
    },
    "links": [{"href": "https://app.port.io/r_1", "text": "Port run"}],
    "client": "Port",
}
ENTITY: dict[str, Any] = {
    "identifier": "Q1W2E3R",
    "title": "[#12] Disk full",
    "icon": "pagerduty",
    "properties": {"status": "triggered", "urgency": "high", "incident_number": 12},
    "relations": {"pagerdutyService": "PABC123", "assignees": ["PUSER1", "PUSER2"]},
}
UPSERT = "/v1/blueprints/pagerdutyIncident/entities?upsert=true&merge=true&run_id=r_1"


def request(
    server: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> RecordedRequest:
    default = {"pagerduty": PD_HEADERS, "port": PORT_HEADERS, "events": EVENTS_HEADERS}[server]
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    return RecordedRequest.from_raw(
        server, method, path, dict(default if headers is None else headers), raw
    )


def without(fields: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != name}


def joined(problems: list[str]) -> str:
    return "\n".join(problems)


@pytest.fixture(scope="module")
def checker() -> ContractChecker:
    return ContractChecker.load_or_skip()


# -- without the specs ----------------------------------------------------------------------


def test_contracts_dir_is_next_to_the_repository() -> None:
    expected = Path(__file__).resolve().parents[2] / "shared" / "contracts"
    assert contracts_dir() == (expected if expected.is_dir() else None)


def test_load_refuses_a_folder_without_specs(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(FileNotFoundError, match="specs missing"):
        ContractChecker.load(tmp_path)
    monkeypatch.delenv(contracts.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        ContractChecker.load_or_skip(tmp_path / "absent")


def test_missing_specs_fail_when_the_contract_tier_is_required(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(contracts.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="contract tier must run"):
        ContractChecker.load_or_skip(tmp_path / "absent")


def test_unicode_letter_classes_are_rewritten_for_python_re() -> None:
    rewritten = contracts._rewrite_unicode_letters(r"^(?!\.{1,2}$)[\p{L}0-9@_.+:\\/=-]+$")
    assert "\\p{" not in rewritten
    pattern = __import__("re").compile(rewritten)
    for good in ("PABC123", "héllo", "a/b:c=d", "x@y.z", "日本"):
        assert pattern.search(good), good
    for bad in ("a b", "..", ".", "tab\there", "x#y", ""):
        assert not pattern.search(bad), bad
    assert contracts._rewrite_unicode_letters(r"[\p{L}]") == r"[^\W\d_]"


def test_yaml_loader_reads_a_bare_equals_sign() -> None:
    loaded = yaml.load("rules:\n  - operator: =\n    value: x\n", Loader=contracts._yaml_loader())
    assert loaded == {"rules": [{"operator": "=", "value": "x"}]}


# -- PagerDuty REST -------------------------------------------------------------------------


def test_create_incident_passes(checker: ContractChecker) -> None:
    assert checker.check(request("pagerduty", "POST", "/incidents", INCIDENT)) == []


def test_create_incident_without_from_fails(checker: ContractChecker) -> None:
    problems = checker.check(
        request("pagerduty", "POST", "/incidents", INCIDENT, without(PD_HEADERS, "From"))
    )
    assert len(problems) == 1
    assert "header From" in problems[0]
    assert "POST /incidents" in problems[0]


def test_create_incident_with_medium_urgency_fails(checker: ContractChecker) -> None:
    body = copy.deepcopy(INCIDENT)
    body["incident"]["urgency"] = "medium"
    problems = checker.check(request("pagerduty", "POST", "/incidents", body))
    assert len(problems) == 1
    assert "body#/incident/urgency" in problems[0]
    assert "'medium'" in problems[0]


def test_create_incident_without_title_fails(checker: ContractChecker) -> None:
    body = copy.deepcopy(INCIDENT)
    del body["incident"]["title"]
    problems = checker.check(request("pagerduty", "POST", "/incidents", body))
    assert len(problems) == 1
    assert "'title' is a required property" in problems[0]


def test_create_incident_reference_shapes_are_checked(checker: ContractChecker) -> None:
    body = copy.deepcopy(INCIDENT)
    body["incident"]["service"] = {"id": "PABC123", "type": "service"}
    body["incident"]["body"]["details"] = {"not": "a string"}
    body["incident"]["escalation_policy"] = {"type": "escalation_policy_reference"}
    problems = joined(checker.check(request("pagerduty", "POST", "/incidents", body)))
    assert "body#/incident/service/type" in problems
    assert "body#/incident/body/details" in problems
    assert "'id' is a required property" in problems


def test_create_incident_headers_are_checked_by_hand(checker: ContractChecker) -> None:
    bearer = {**PD_HEADERS, "Authorization": "Bearer pd_oauth_token"}
    assert checker.check(request("pagerduty", "POST", "/incidents", INCIDENT, bearer)) == []
    cases = {
        "Accept": {**PD_HEADERS, "Accept": "application/json"},
        "Authorization": {**PD_HEADERS, "Authorization": "y_NbAkKc66ryYTWUXYEu"},
        "Content-Type": {**PD_HEADERS, "Content-Type": "text/plain"},
        "From": {**PD_HEADERS, "From": "not an email"},
    }
    for name, headers in cases.items():
        problems = checker.check(request("pagerduty", "POST", "/incidents", INCIDENT, headers))
        assert len(problems) == 1, (name, problems)
        assert f"header {name}" in problems[0]
    problems = checker.check(
        request("pagerduty", "GET", "/incidents", None, without(PD_HEADERS, "Accept"))
    )
    assert ["header Accept: missing" in p for p in problems] == [True]


def test_update_incident_needs_from(checker: ContractChecker) -> None:
    body = {"incident": {"type": "incident_reference", "status": "resolved", "resolution": "ok"}}
    assert checker.check(request("pagerduty", "PUT", "/incidents/PT4KHLK", body)) == []
    problems = checker.check(
        request("pagerduty", "PUT", "/incidents/PT4KHLK", body, without(PD_HEADERS, "From"))
    )
    assert len(problems) == 1
    assert "[/incidents/{id}]" in problems[0]
    assert "header From" in problems[0]
    body["incident"]["status"] = "closed"
    assert "body#/incident/status" in joined(
        checker.check(request("pagerduty", "PUT", "/incidents/PT4KHLK", body))
    )


def test_list_incidents_passes(checker: ContractChecker) -> None:
    get = without(PD_HEADERS, "Content-Type")
    path = "/incidents?statuses[]=triggered&limit=100&offset=0"
    assert checker.check(request("pagerduty", "GET", path, None, get)) == []
    path = (
        "/incidents?statuses[]=triggered&statuses[]=acknowledged&include[]=assignees"
        "&service_ids[]=PABC123&total=true&date_range=all&sort_by=created_at:desc,urgency"
    )
    assert checker.check(request("pagerduty", "GET", path, None, get)) == []


def test_list_incidents_query_is_checked(checker: ContractChecker) -> None:
    cases = {
        "statuses[]=open": "query statuses[]#/0: 'open' is not one of",
        "limit=many": "query limit: 'many' is not of type 'integer'",
        "total=yes": "query total: 'yes' is not of type 'boolean'",
        "statuses=triggered": "query statuses: not a parameter of this operation",
        "limit=1&limit=2": "query limit: given 2 times",
        "statuses[]=resolved&statuses[]=resolved": "non-unique",
    }
    for query, expected in cases.items():
        problems = checker.check(request("pagerduty", "GET", f"/incidents?{query}"))
        assert len(problems) == 1, (query, problems)
        assert expected in problems[0], (query, problems)


def test_pagerduty_paths_prefer_literal_segments(checker: ContractChecker) -> None:
    me = request("pagerduty", "GET", "/users/me")
    assert checker.operation(me) == ("/users/me", "getCurrentUser")
    user = request("pagerduty", "GET", "/users/PXPGF42")
    assert checker.operation(user) == ("/users/{id}", "getUser")


# -- PagerDuty Events v2 --------------------------------------------------------------------


def test_trigger_event_passes(checker: ContractChecker) -> None:
    assert checker.check(request("events", "POST", "/v2/enqueue", TRIGGER)) == []
    resolve = {"routing_key": "R" * 32, "event_action": "resolve", "dedup_key": "port-r_1"}
    assert checker.check(request("events", "POST", "/v2/enqueue", resolve)) == []


def test_trigger_event_with_fatal_severity_fails(checker: ContractChecker) -> None:
    body = copy.deepcopy(TRIGGER)
    body["payload"]["severity"] = "fatal"
    problems = checker.check(request("events", "POST", "/v2/enqueue", body))
    assert len(problems) == 1
    assert "body#/payload/severity: 'fatal' is not one of" in problems[0]


def test_events_body_is_checked(checker: ContractChecker) -> None:
    cases: dict[str, Any] = {
        "'routing_key' is a required property": without(TRIGGER, "routing_key"),
        "body#/payload: 'source' is a required property": {
            **TRIGGER,
            "payload": without(TRIGGER["payload"], "source"),
        },
        "'payload' is required for a trigger event": without(TRIGGER, "payload"),
        "'dedup_key' is required to acknowledge": {
            "routing_key": "R" * 32,
            "event_action": "acknowledge",
        },
        "body#/payload/summary: longer than 1024": {
            **TRIGGER,
            "payload": {**TRIGGER["payload"], "summary": "s" * 1025},
        },
    }
    for expected, body in cases.items():
        problems = checker.check(request("events", "POST", "/v2/enqueue", body))
        assert len(problems) == 1, (expected, problems)
        assert expected in problems[0], (expected, problems)


def test_events_path_is_rooted_at_v2(checker: ContractChecker) -> None:
    problems = checker.check(request("events", "POST", "/enqueue", TRIGGER))
    assert problems == ["events POST /enqueue: no path in the events spec matches"]


# -- Port -----------------------------------------------------------------------------------


def test_port_upsert_passes(checker: ContractChecker) -> None:
    assert checker.check(request("port", "POST", UPSERT, ENTITY)) == []
    path = UPSERT + "&create_missing_related_entities=true"
    unicode_id = {**ENTITY, "identifier": "incident:Ünïcode/é=1"}
    assert checker.check(request("port", "POST", path, unicode_id)) == []


def test_port_upsert_identifier_with_space_fails(checker: ContractChecker) -> None:
    problems = checker.check(request("port", "POST", UPSERT, {**ENTITY, "identifier": "a b"}))
    assert len(problems) == 1
    assert "body#/identifier" in problems[0]
    assert "does not match" in problems[0]  # the closest oneOf branch: the pattern


def test_port_upsert_request_is_checked(checker: ContractChecker) -> None:
    path = "/v1/blueprints/pagerdutyIncident/entities"
    # expected problem: (target, body, headers)
    cases: dict[str, tuple[str, Any, dict[str, str] | None]] = {
        "query upsert: required, missing": (path + "?merge=true", ENTITY, PORT_HEADERS),
        "query upsert: 'yes' is not of type 'boolean'": (path + "?upsert=yes", ENTITY, None),
        "query dry_run: not a parameter": (UPSERT + "&dry_run=1", ENTITY, None),
        "header Authorization: missing": (UPSERT, ENTITY, without(PORT_HEADERS, "Authorization")),
        "header Authorization: Port wants": (
            UPSERT,
            ENTITY,
            {**PORT_HEADERS, "Authorization": "Token token=x"},
        ),
        "body#/relations/pagerdutyService": (
            UPSERT,
            {**ENTITY, "relations": {"pagerdutyService": 7}},
            None,
        ),
        "body: not valid JSON": (UPSERT, b"{not json", None),
        "body: required by this operation": ("/v1/actions/runs/r_1/logs", b"", None),
    }
    for expected, (target, body, headers) in cases.items():
        problems = checker.check(request("port", "POST", target, body, headers))
        assert len(problems) == 1, (expected, problems)
        assert expected in problems[0], (expected, problems)


def test_port_run_log_passes_and_needs_a_message(checker: ContractChecker) -> None:
    logs = "/v1/actions/runs/r_1/logs"
    assert checker.check(request("port", "POST", logs, {"message": "Incident created"})) == []
    final = {"message": "done", "terminationStatus": "SUCCESS", "statusLabel": "Created"}
    assert checker.check(request("port", "POST", logs, final)) == []
    problems = checker.check(request("port", "POST", logs, {"statusLabel": "x"}))
    assert len(problems) == 1
    assert "'message' is a required property" in problems[0]


def test_port_run_patch_forbids_unknown_keys(checker: ContractChecker) -> None:
    run = "/v1/actions/runs/r_1"
    body = {"status": "SUCCESS", "statusLabel": "Done", "link": ["https://x/1"], "summary": "s"}
    assert checker.check(request("port", "PATCH", run, body)) == []
    assert checker.check(request("port", "PATCH", run, {"link": "https://x/1"})) == []
    problems = checker.check(request("port", "PATCH", run, {"status": "SUCCESS", "foo": 1}))
    assert len(problems) == 1
    assert "Additional properties are not allowed ('foo' was unexpected)" in problems[0]
    problems = checker.check(request("port", "PATCH", run, {"status": "DONE"}))
    assert "body#/status: 'DONE' is not one of" in joined(problems)


def test_port_bulk_search_and_delete_pass(checker: ContractChecker) -> None:
    bulk = "/v1/blueprints/pagerdutyIncident/entities/bulk?upsert=true&merge=true&run_id=r_1"
    entities = [{**ENTITY, "identifier": f"P{i}"} for i in range(20)]
    assert checker.check(request("port", "POST", bulk, {"entities": entities})) == []
    problems = checker.check(request("port", "POST", bulk, {"entities": [*entities, ENTITY]}))
    assert len(problems) == 1
    assert "body#/entities" in problems[0]
    search = {
        "query": {
            "combinator": "and",
            "rules": [
                {"property": "$identifier", "operator": "in", "value": ["P1", "P2"]},
                {"property": "status", "operator": "=", "value": "triggered"},
            ],
        },
        "include": ["$identifier", "properties.status"],
        "limit": 1000,
    }
    path = "/v1/blueprints/pagerdutyIncident/entities/search"
    assert checker.check(request("port", "POST", path, search)) == []
    assert "body#/limit" in joined(checker.check(request("port", "POST", path, {"limit": 1001})))
    delete = "/v1/blueprints/pagerdutyIncident/entities/P%2F1?delete_dependents=false&run_id=r_1"
    assert checker.check(request("port", "DELETE", delete)) == []
    bulk_delete = "/v1/blueprints/pagerdutyIncident/bulk/entities/delete?delete_dependents=false"
    ids = {"entities": ["P1", "P2"]}
    assert checker.check(request("port", "POST", bulk_delete, ids)) == []
    get = "/v1/blueprints/pagerdutyIncident/entities/P1?include=identifier&include=title"
    assert checker.check(request("port", "GET", get)) == []


def test_port_access_token_needs_no_authorization(checker: ContractChecker) -> None:
    body = {"clientId": "id", "clientSecret": "secret"}
    headers = {"Content-Type": "application/json"}
    assert checker.check(request("port", "POST", "/v1/auth/access_token", body, headers)) == []
    problems = checker.check(
        request("port", "POST", "/v1/auth/access_token", {**body, "scope": "x"}, headers)
    )
    assert "'scope' was unexpected" in joined(problems)


# -- routing and reporting ------------------------------------------------------------------


def test_unknown_operations_fail(checker: ContractChecker) -> None:
    assert checker.check(request("port", "GET", "/v1/nothing/here")) == [
        "port GET /v1/nothing/here: no path in the port spec matches"
    ]
    problems = checker.check(request("port", "PUT", "/v1/actions/runs/r_1/logs", {"message": "m"}))
    assert problems == [
        "port PUT /v1/actions/runs/r_1/logs: /v1/actions/runs/{run_id}/logs has no PUT "
        "operation (spec has ['GET', 'POST'])"
    ]
    elsewhere = RecordedRequest("github", "GET", "/repos", {}, {}, b"")
    assert "unknown server 'github'" in joined(checker.check(elsewhere))


def test_a_body_where_none_is_taken_fails(checker: ContractChecker) -> None:
    problems = checker.check(request("pagerduty", "GET", "/incidents", {"x": 1}))
    assert ["takes no request body" in p for p in problems] == [True]


def test_assert_valid_lists_every_violation(checker: ContractChecker) -> None:
    good = request("pagerduty", "POST", "/incidents", INCIDENT)
    bad_body = copy.deepcopy(INCIDENT)
    bad_body["incident"]["urgency"] = "medium"
    bad = request("pagerduty", "POST", "/incidents", bad_body, without(PD_HEADERS, "From"))
    unknown = request("port", "GET", "/v1/unknown")
    assert checker.assert_valid([good, good]) == 2
    with pytest.raises(AssertionError) as raised:
        checker.assert_valid([good, bad, unknown, unknown])
    message = str(raised.value)
    assert message.startswith("4 contract violation(s) in 4 request(s):")
    assert "pagerduty POST /incidents [/incidents]: header From" in message
    assert "body#/incident/urgency" in message
    assert "port GET /v1/unknown: no path in the port spec matches  (x2)" in message
    assert checker.assert_valid([good, bad], ignore=lambda r: "from" not in r.headers) == 1


def test_patches_are_applied_where_the_defects_are(checker: ContractChecker) -> None:
    patches = checker.patches()
    assert any("readOnly" in p for p in patches["pagerduty"])
    assert any("IncidentBody.details" in p for p in patches["pagerduty"])
    assert any("sre_memories_limit" in p for p in patches["pagerduty"])
    assert any("\\p{L}" in p for p in patches["port"])
    assert any("entities-auto-discovery" in p for p in patches["port"])


# -- the fast pre-check agrees with jsonschema ----------------------------------------------

_ODD_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "a b", "medium", [], ["x"], {}, {"x": 1}]


def _mutants(document: Any) -> list[Any]:
    """The document with each value replaced by odd ones, each key dropped, a key added."""
    found: list[Any] = []

    def walk(node: Any, rebuild: Any) -> None:
        for odd in _ODD_VALUES:
            found.append(rebuild(copy.deepcopy(odd)))
        if isinstance(node, dict):
            found.append(rebuild({**node, "unexpected_key": 1}))
            for key, value in node.items():
                found.append(rebuild({k: v for k, v in node.items() if k != key}))
                walk(value, lambda new, key=key, node=node: rebuild({**node, key: new}))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(
                    value,
                    lambda new, i=index, node=node: rebuild([*node[:i], new, *node[i + 1 :]]),
                )

    walk(document, lambda new: new)
    return found


def test_fast_precheck_agrees_with_jsonschema(checker: ContractChecker) -> None:
    samples = [
        ("pagerduty", "/incidents", "post", INCIDENT),
        (
            "pagerduty",
            "/incidents/{id}",
            "put",
            {"incident": {"type": "incident_reference", "status": "acknowledged"}},
        ),
        ("events", "/enqueue", "post", TRIGGER),
        ("port", "/v1/blueprints/{blueprint_identifier}/entities", "post", ENTITY),
        (
            "port",
            "/v1/blueprints/{blueprint_identifier}/entities/bulk",
            "post",
            {"entities": [ENTITY]},
        ),
        ("port", "/v1/actions/runs/{run_id}", "patch", {"status": "FAILURE", "link": ["u"]}),
        ("port", "/v1/actions/runs/{run_id}/logs", "post", {"message": "m"}),
        (
            "port",
            "/v1/blueprints/{blueprint_identifier}/entities/search",
            "post",
            {
                "query": {
                    "combinator": "or",
                    "rules": [{"property": "a", "operator": "=", "value": 1}],
                }
            },
        ),
    ]
    compared = 0
    for server, template, method, document in samples:
        op = checker._api(server).operation(template, method)
        assert op is not None, (server, template)
        assert op.body_fast is not None, (server, template)
        assert op.body_validate is not None, (server, template)
        for mutant in _mutants(document):
            fast = op.body_fast(mutant)
            slow = not list(op.body_validate(mutant))
            assert fast == slow, (server, template, mutant)
            compared += 1
    assert compared > 500


def _synthetic_api(version: str, schema: dict[str, Any], components: dict[str, Any]) -> Any:
    doc = {
        "openapi": version,
        "paths": {
            "/things": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                },
            },
        },
        "components": {"schemas": components},
    }
    return contracts._Api("synthetic", doc, [])


_OAS30_COMPONENTS: dict[str, Any] = {
    "Ref": {
        "type": "object",
        "properties": {"id": {"type": "string", "readOnly": True}, "type": {"type": "string"}},
        "required": ["id", "type"],
    },
    "Node": {
        "type": "object",
        "properties": {"child": {"$ref": "#/components/schemas/Node"}, "v": {"type": "integer"}},
        "additionalProperties": False,
    },
}
_OAS30_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["one"],
    "properties": {
        "one": {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        "any": {
            "anyOf": [
                {"type": "string", "maxLength": 2},
                {"type": "integer", "minimum": 0, "maximum": 10, "exclusiveMaximum": True},
            ]
        },
        "nullable": {"type": "string", "nullable": True, "enum": ["a", None]},
        "ro": {"$ref": "#/components/schemas/Ref"},
        "node": {"$ref": "#/components/schemas/Node"},
        "tags": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-z]+$"},
            "minItems": 1,
            "maxItems": 3,
            "uniqueItems": True,
        },
        "when": {"type": "string", "format": "date-time"},
        "mail": {"type": "string", "format": "email"},
        "all": {"allOf": [{"type": "object", "required": ["a"]}, {"properties": {"a": {}}}]},
        "neg": {"not": {"type": "string"}},
        "big": {"type": "integer", "format": "int32"},
        "map": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": 2,
            "additionalProperties": {"type": "number", "minimum": 1, "exclusiveMinimum": True},
        },
        "bool": {"type": "boolean", "x-vendor": "ignored", "example": True},
    },
}
_OAS30_VALID: dict[str, Any] = {
    "one": 1.5,
    "any": 9,
    "nullable": None,
    "ro": {"type": "ref"},
    "node": {"v": 1, "child": {"v": 2, "child": {}}},
    "tags": ["ab", "cd"],
    "when": "2026-01-01T00:00:00Z",
    "mail": "a@b.c",
    "all": {"a": [1, 1.0]},
    "neg": 3,
    "big": 2**31 - 1,
    "map": {"x": 2},
    "bool": False,
}
_OAS31_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": ["string"], "pattern": "^[a-z]+$", "maxLength": 5},
        "maybe": {"type": ["string", "null"], "minLength": 1},
        "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 5},
        "kind": {"const": "x"},
        "link": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "title": "string or strings",
        },
        "tree": {"$ref": "#/components/schemas/Tree", "description": "siblings of $ref"},
        "ro": {"type": "string", "readOnly": True},
        "anything": True,
        "nothing": False,
    },
}
_OAS31_COMPONENTS: dict[str, Any] = {
    "Tree": {
        "type": "object",
        "properties": {"kids": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}},
        "additionalProperties": False,
        "minProperties": 1,
    }
}
_OAS31_VALID: dict[str, Any] = {
    "id": "abc",
    "maybe": None,
    "count": 4.0,
    "kind": "x",
    "link": ["a"],
    "tree": {"kids": [{"kids": []}]},
    "ro": "sent anyway",
    "anything": {"deep": [1]},
}


# Edge cases the mutants do not reach: (changes to the valid document, valid?)
_OAS30_EDGES: list[tuple[dict[str, Any], bool]] = [
    ({"one": 1}, False),  # matches both oneOf branches
    ({"any": 10}, False),  # exclusiveMaximum: true
    ({"any": 0}, True),
    ({"any": "abc"}, False),
    ({"ro": {"id": "P1", "type": "ref"}}, False),  # readOnly sent in a request
    ({"ro": {}}, False),  # type still required, id (readOnly) is not
    ({"tags": ["ab", "ab"]}, False),
    ({"tags": ["ab", "c d"]}, False),
    ({"tags": ["a", "b", "c", "d"]}, False),
    ({"map": {"x": 1}}, False),  # exclusiveMinimum: true
    ({"map": {"x": 1.01, "y": 2, "z": 3}}, False),
    ({"when": "yesterday"}, False),
    ({"when": "2026-01-01T10:00:00.315+0000"}, True),
    ({"mail": "nobody"}, False),
    ({"big": 2**31}, False),
    ({"nullable": "b"}, False),
    ({"all": {"a": None}}, True),
    ({"node": {"child": {"child": {"v": "x"}}}}, False),
    ({"node": {"child": {"w": 1}}}, False),
    ({"one": 2.5, "bool": 0}, False),
]
_OAS31_EDGES: list[tuple[dict[str, Any], bool]] = [
    ({"count": 5}, False),
    ({"count": 0}, False),
    ({"count": 1}, True),
    ({"count": 1.5}, False),
    ({"count": True}, False),
    ({"maybe": ""}, False),
    ({"kind": "y"}, False),
    ({"id": "abcdef"}, False),
    ({"link": "a"}, True),
    ({"link": ["a", 1]}, False),
    ({"tree": {}}, False),
    ({"tree": {"kids": [{}]}}, False),
    ({"tree": {"kids": [{"kids": [{"leaf": 1}]}]}}, False),
    ({"nothing": None}, False),
    ({"extra": 1}, False),
]


@pytest.mark.parametrize(
    ("version", "schema", "components", "valid", "edges"),
    [
        ("3.0.3", _OAS30_SCHEMA, _OAS30_COMPONENTS, _OAS30_VALID, _OAS30_EDGES),
        ("3.1.0", _OAS31_SCHEMA, _OAS31_COMPONENTS, _OAS31_VALID, _OAS31_EDGES),
    ],
)
def test_fast_precheck_agrees_with_jsonschema_on_synthetic_specs(
    version: str,
    schema: dict[str, Any],
    components: dict[str, Any],
    valid: dict[str, Any],
    edges: list[tuple[dict[str, Any], bool]],
) -> None:
    op = _synthetic_api(version, schema, components).operation("/things", "post")
    assert op.body_fast is not None
    assert op.body_fast(valid)
    assert not list(op.body_validate(valid))
    for changes, expected in edges:
        document = {**valid, **changes}
        assert (not list(op.body_validate(document))) is expected, ("jsonschema", changes)
        assert op.body_fast(document) is expected, ("fast", changes)
    verdicts = set()
    for mutant in _mutants(valid):
        fast = op.body_fast(mutant)
        assert fast == (not list(op.body_validate(mutant))), mutant
        verdicts.add(fast)
    assert verdicts == {True, False}


def test_fast_precheck_leaves_unsupported_keywords_to_jsonschema() -> None:
    discriminated = {
        "oneOf": [{"$ref": "#/components/schemas/A"}],
        "discriminator": {"propertyName": "kind"},
    }
    a_schema = {"A": {"type": "object", "properties": {"kind": {"type": "string"}}}}
    op = _synthetic_api("3.0.3", discriminated, a_schema).operation("/things", "post")
    assert op.body_fast is None
    patterned = {"type": "object", "patternProperties": {"^x": {"type": "string"}}}
    op = _synthetic_api("3.1.0", patterned, {}).operation("/things", "post")
    assert op.body_fast is None
    assert list(op.body_validate({"xa": 1}))


def test_thousands_of_bulk_writes_are_checked_quickly(checker: ContractChecker) -> None:
    bulk = "/v1/blueprints/pagerdutyIncident/entities/bulk?upsert=true&merge=true&run_id=r_1"
    requests = [
        request(
            "port",
            "POST",
            bulk,
            {"entities": [{**ENTITY, "identifier": f"P{n}-{i}"} for i in range(20)]},
        )
        for n in range(1300)
    ]
    started = time.perf_counter()
    assert checker.assert_valid(requests) == 1300
    assert time.perf_counter() - started < 30  # about 0.5 s here; jsonschema alone takes ~4 s


def test_ci_fetches_the_pinned_specs_and_requires_the_contract_tier() -> None:
    """GitHub CI lays the specs out before .ci/run, and .ci/run turns a skip into a failure."""
    root = contracts.repo_root()
    ci_run = (root / ".ci" / "run").read_text()
    assert f"export {contracts.REQUIRE_ENV}=1" in ci_run
    workflow = yaml.safe_load((root / ".github" / "workflows" / "ci.yml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    fetch = next(i for i, run in enumerate(runs) if "scripts/fetch_contracts.sh" in run)
    assert fetch < next(i for i, run in enumerate(runs) if ".ci/run" in run)
    script = (root / "scripts" / "fetch_contracts.sh").read_text()
    for relative in contracts.SPEC_FILES.values():
        assert f'"{relative}"' in script, relative
    # Every pinned sha256 is the one of the specs the contract tests were written against.
    directory = contracts_dir()
    if directory is not None:
        import hashlib
        import re

        pins = re.findall(r'^  "([\w/.-]+)"\n  "[^"]+"\n  "([0-9a-f]{64})"', script, re.M)
        assert len(pins) == len(contracts.SPEC_FILES)
        for relative, digest in pins:
            assert hashlib.sha256((directory / relative).read_bytes()).hexdigest() == digest
