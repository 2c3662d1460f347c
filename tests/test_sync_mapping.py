"""The sync's mapping engine: Ocean's format parsed and compiled up front, one jq call per page,
per-field diagnosis of failing items, and no access to the process environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pagerduty_port.catalogue.mapping import default_mapping_text, load_mapping, parse_mapping
from pagerduty_port.catalogue.sync.fingerprint import Keyset, digest
from pagerduty_port.errors import InputError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OCEAN_APP_CONFIG = SHARED_DATA / "ocean-pagerduty-port-app-config.yaml"
OCEAN_INCIDENTS = SHARED_DATA / "ocean_default_incident_mapping.yaml"


def incident(number: int, **changes: object) -> dict:
    base = {
        "id": f"PINC{number:04d}",
        "incident_number": number,
        "title": f"Disk full on db-{number}",
        "status": "triggered",
        "urgency": "high",
        "html_url": f"https://acme.pagerduty.com/incidents/PINC{number:04d}",
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:05:00Z",
        "service": {"id": "PSVC001", "summary": "Database"},
        "escalation_policy": {"id": "PEP0001", "summary": "DB on-call"},
        "assignments": [
            {"assignee": {"id": "PUSR001", "summary": "Ada", "email": "ada@example.com"}},
            {"assignee": {"id": "PUSR002", "summary": "Bob"}},
        ],
        "priority": {"id": "PPRI001", "summary": "P1"},
        "description": "disk",
        "first_trigger_log_entry": {"agent": {"summary": "Datadog"}},
    }
    base.update(changes)
    return base


def resource(config, kind):
    return next(r for r in config.resources if r.kind == kind)


def test_default_incident_mapping_builds_the_documented_entity():
    config = parse_mapping(default_mapping_text())
    items = [
        incident(1),
        incident(2, priority=None, assignments=[], first_trigger_log_entry=None),
        incident(3, title=None, summary="summary title", status="resolved", description=None),
        incident(4, assignments=[{"assignee": None}, {"assignee": {"id": "PUSR9"}}]),
    ]
    result = resource(config, "incidents").map_page(items)
    assert result.errors == []
    assert [bp for bp, _ in result.entities] == ["pagerdutyIncident"] * len(items)
    entities = [entity for _, entity in result.entities]
    assert entities[0] == {
        "identifier": "PINC0001",
        "title": "Disk full on db-1",
        "properties": {
            "status": "triggered",
            "url": "https://acme.pagerduty.com/incidents/PINC0001",
            "urgency": "high",
            "assignees": ["ada@example.com", "Bob"],
            "escalation_policy": "DB on-call",
            "created_at": "2024-05-01T10:00:00Z",
            "updated_at": "2024-05-01T10:05:00Z",
            "priority": "P1",
            "description": "disk",
            "triggered_by": "Datadog",
        },
        "relations": {"pagerdutyService": "PSVC001"},
    }
    assert entities[1]["properties"]["assignees"] == []
    assert entities[1]["properties"]["priority"] is None
    assert entities[1]["properties"]["triggered_by"] is None
    assert entities[2]["title"] == "summary title"
    assert entities[3]["properties"]["assignees"] == ["PUSR9"]


def test_default_mapping_covers_the_six_kinds_and_warns_about_nothing():
    config = parse_mapping(default_mapping_text())
    assert config.kinds == [
        "services",
        "incidents",
        "schedules",
        "oncalls",
        "escalation_policies",
        "users",
    ]
    assert config.warnings == []
    assert not config.delete_dependent_entities


@pytest.mark.skipif(not OCEAN_APP_CONFIG.exists(), reason="../shared/data is not present")
def test_oceans_default_mapping_file_runs_unchanged():
    config = parse_mapping(OCEAN_APP_CONFIG.read_text())
    assert config.warnings == []
    assert config.create_missing_related_entities
    assert config.delete_dependent_entities
    assert [r.kind for r in config.resources] == [
        "services",
        "incidents",
        "incidents",
        "schedules",
        "oncalls",
        "escalation_policies",
        "users",
    ]
    service = {
        "id": "PSVC001",
        "name": "Database",
        "status": "active",
        "html_url": "https://x/s",
        "escalation_policy": {"id": "PEP0001"},
        "__oncall_user": [
            {"escalation_level": 2, "user": {"email": "second@example.com"}},
            {"escalation_level": 1, "user": {"email": "first@example.com"}},
        ],
        "__analytics": {"mean_seconds_to_resolve": 60, "mean_seconds_to_first_ack": 5},
    }
    ((bp, entity),) = resource(config, "services").map_page([service]).entities
    assert bp == "pagerdutyService"
    assert entity["properties"]["oncall"] == "first@example.com"
    assert entity["properties"]["secondaryOncall"] == "second@example.com"
    assert entity["properties"]["escalationLevels"] == 2
    assert entity["properties"]["meanSecondsToResolve"] == 60
    assert entity["properties"]["meanSecondsToEngage"] is None

    ((bp, entity),) = resource(config, "incidents").map_page([incident(7)]).entities
    assert bp == "pagerdutyIncident"
    assert entity["identifier"] == "PINC0007"
    assert entity["properties"]["assignees"] == ["ada@example.com", None]
    assert entity["properties"]["priority"] == "P1"
    assert entity["relations"] == {"pagerdutyService": "PSVC001"}

    schedule = {
        "id": "PSCH001",
        "name": "Primary",
        "html_url": "u",
        "time_zone": "UTC",
        "users": [{"id": "PUSR001", "__email": "ada@example.com"}, {"id": "PUSR002"}],
    }
    ((_, entity),) = resource(config, "schedules").map_page([schedule]).entities
    assert entity["properties"]["users"] == ["ada@example.com"]

    oncall = {
        "user": {"id": "PUSR001", "name": "Ada", "email": "ada@example.com"},
        "schedule": {"id": "PSCH001", "html_url": "u"},
        "escalation_policy": {"id": "PEP1"},
        "start": "2024-05-01T00:00:00Z",
        "end": "2024-05-08T00:00:00Z",
    }
    ((bp, entity),) = resource(config, "oncalls").map_page([oncall]).entities
    assert (bp, entity["identifier"]) == ("pagerdutyOncall", "PUSR001-PSCH001-2024-05-01T00:00:00Z")


@pytest.mark.skipif(not OCEAN_INCIDENTS.exists(), reason="../shared/data is not present")
def test_oceans_incident_mapping_file_runs_unchanged():
    config = parse_mapping(OCEAN_INCIDENTS.read_text())
    assert resource(config, "incidents").api_query_params["statuses"] == [
        "triggered",
        "acknowledged",
    ]
    result = resource(config, "incidents").map_page([incident(n) for n in range(250)])
    assert len(result.entities) == 250
    assert not result.errors


def test_jq_cannot_read_the_process_environment(monkeypatch):
    monkeypatch.setenv("INPUT_PAGERDUTY_TOKEN", "u+secret-token-value")
    text = """
resources:
  - kind: services
    selector: {query: 'env.INPUT_PAGERDUTY_TOKEN == null and $ENV == {}'}
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"pagerdutyService"'
          title: env.INPUT_PAGERDUTY_TOKEN
          properties:
            a: $ENV.INPUT_PAGERDUTY_TOKEN
            b: '[env[]] | length'
            c: '"\\(env)\\($ENV)"'
            d: 'def f: $ENV; f | keys'
"""
    assert os.environ["INPUT_PAGERDUTY_TOKEN"] == "u+secret-token-value"
    ((_, entity),) = resource(parse_mapping(text), "services").map_page([{"id": "S1"}]).entities
    assert "title" not in entity
    assert entity["properties"] == {"a": None, "b": 0, "c": "{}{}", "d": []}
    assert "secret-token" not in repr(entity)


def test_a_failing_item_names_the_field_and_the_others_go_on():
    config = parse_mapping(default_mapping_text())
    items = [incident(1), incident(2, assignments=5), incident(3)]
    result = resource(config, "incidents").map_page(items)
    assert [e["identifier"] for _, e in result.entities] == ["PINC0001", "PINC0003"]
    (error,) = result.errors
    assert error.field == "properties.assignees"
    assert error.example == "PINC0002"
    assert "Cannot iterate" in error.message


def test_selector_and_identifier_problems_are_reported_per_item():
    text = """
resources:
  - kind: incidents
    selector: {query: '.urgency'}
    port: {entity: {mappings: {identifier: .id, blueprint: '"b"'}}}
  - kind: incidents
    selector: {query: '.urgency == "high"'}
    port: {entity: {mappings: {identifier: .number, blueprint: '"b"'}}}
"""
    config = parse_mapping(text)
    first, second = config.resources
    result = first.map_page([incident(1)])
    assert [(e.field, e.example) for e in result.errors] == [("selector.query", "PINC0001")]
    result = second.map_page([incident(1), incident(2, urgency="low")])
    assert [(e.field, e.message) for e in result.errors] == [
        ("identifier", "produced null; expected a non-empty string")
    ]


def test_items_to_parse_makes_one_entity_per_element():
    text = """
resources:
  - kind: schedules
    selector: {query: '.item.id != "skip"'}
    port:
      itemsToParse: .users
      entity:
        mappings:
          identifier: '.id + "-" + .item.id'
          blueprint: '"member"'
          relations: {schedule: .id}
"""
    config = parse_mapping(text)
    page = [{"id": "S1", "users": [{"id": "U1"}, {"id": "skip"}, {"id": "U2"}]}, {"id": "S2"}]
    result = config.resources[0].map_page(page)
    assert [e["identifier"] for _, e in result.entities] == ["S1-U1", "S1-U2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resources: [", "is not valid YAML"),
        ("just: a map", "top-level 'resources' list"),
        ("resources: []", "empty 'resources'"),
        ("resources: [{kind: pets, port: {entity: {mappings: {identifier: .id}}}}]", "'pets'"),
        (
            "resources: [{kind: users, port: {entity: {mappings: {identifier: .id}}}}]",
            "mappings.blueprint is required",
        ),
        (
            "resources: [{kind: users, port: {entity: {mappings: {identifier: '.id |',"
            " blueprint: '\"u\"'}}}}]",
            "identifier: jq expression '.id |' does not compile",
        ),
        (
            "resources: [{kind: users, selector: {query: 'if'}, port: {entity: {mappings: "
            "{identifier: .id, blueprint: '\"u\"'}}}}]",
            "selector.query: jq expression",
        ),
        (
            "resources: [{kind: users, port: {entity: {mappings: {identifier: .id, blueprint: "
            "'\"u\"', properties: {a: '.a | (.'}}}}}]",
            "properties.a: jq expression",
        ),
        (
            "resources: [{kind: users, port: {entity: {mappings: {identifier: .id, blueprint: "
            "'\"u\"', colour: .c}}}}]",
            "unknown keys ['colour']",
        ),
    ],
)
def test_bad_mappings_fail_naming_the_input(text, expected):
    with pytest.raises(InputError) as caught:
        parse_mapping(text).compile()
    assert caught.value.input_name == "mapping"
    assert expected in str(caught.value)


def test_unknown_selector_keys_warn_instead_of_failing():
    text = """
resources:
  - kind: incidents
    selector: {query: 'true', incidentAnalytics: true, colour: blue}
    port: {entity: {mappings: {identifier: .id, blueprint: '"b"'}}}
"""
    config = parse_mapping(text)
    assert len(config.warnings) == 2
    assert "incidentAnalytics" in config.warnings[0]


def test_digest_treats_port_storage_forms_as_equal():
    keys = Keyset(
        title=True, icon=False, team=True, properties=("at", "n", "gone"), relations=("svc", "many")
    )
    mine = {
        "identifier": "a",
        "title": "T",
        "team": "ops",
        "properties": {"at": "2024-05-01T10:00:00Z", "n": 3.0, "gone": None},
        "relations": {"svc": "S1", "many": None},
    }
    held: dict[str, Any] = {
        "identifier": "a",
        "title": "T",
        "team": ["ops"],
        "icon": "x",
        "properties": {"at": "2024-05-01T10:00:00.000Z", "n": 3, "other": 1},
        "relations": {"svc": "S1", "many": [], "other": "z"},
    }
    assert digest(mine, keys) == digest(held, keys)
    held["properties"]["n"] = 4
    assert digest(mine, keys) != digest(held, keys)


def test_the_generated_programs_variables_are_reserved():
    """Expressions compile as one program that binds $__s and $__i; a mapping reading them
    would see the program's internals, so they are refused by name."""
    text = """
resources:
  - kind: incidents
    port: {entity: {mappings: {identifier: .id, blueprint: '"b"', title: '$__s | tostring'}}}
"""
    with pytest.raises(InputError) as caught:
        parse_mapping(text)
    assert caught.value.input_name == "mapping"
    assert "mappings.title: jq variables starting with $__ are reserved" in str(caught.value)


def test_a_kind_the_mapping_lacks_is_an_input_error_naming_the_mapping():
    config = parse_mapping(
        "resources: [{kind: services, port: {entity: {mappings: "
        "{identifier: .id, blueprint: '\"s\"'}}}}]",
        source="custom.yaml",
    )
    with pytest.raises(InputError) as caught:
        config.resources_for("incidents")
    assert caught.value.input_name == "mapping"
    assert "(custom.yaml) has no resource of kind 'incidents'" in str(caught.value)
    assert "it has: services" in str(caught.value)


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ("[assignees, first_trigger_log_entries]", ("assignees", "first_trigger_log_entries")),
        ("'assignees, acknowledgers'", ("assignees", "acknowledgers")),
        ("[]", ()),
    ],
)
def test_includes_are_read_from_api_query_params(include, expected):
    text = f"""
resources:
  - kind: incidents
    selector: {{apiQueryParams: {{include: {include}}}}}
    port: {{entity: {{mappings: {{identifier: .id, blueprint: '"b"'}}}}}}
"""
    assert parse_mapping(text).includes("incidents") == expected


def test_load_mapping_reads_inline_yaml_a_workspace_path_or_the_built_in(tmp_path):
    text = "resources: [{kind: users, port: {entity: {mappings: {identifier: .id, blueprint: '\"u\"'}}}}]"
    (tmp_path / "m.yaml").write_text(text)
    assert load_mapping(None, str(tmp_path)).source == "built-in default"
    assert load_mapping(text, str(tmp_path)).source == "inline"
    from_file = load_mapping("m.yaml", str(tmp_path))
    assert (from_file.source, from_file.kinds) == ("m.yaml", ["users"])
    with pytest.raises(InputError) as caught:
        load_mapping("missing.yaml", str(tmp_path))
    assert caught.value.input_name == "mapping"
    assert "'missing.yaml' was not found in the workspace" in str(caught.value)
