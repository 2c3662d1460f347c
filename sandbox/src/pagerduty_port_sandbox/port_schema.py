"""Port's validation of entities against their blueprint, as the simulator applies it.

Port rejects an entity whose identifier breaks the identifier pattern, whose properties do not
fit the blueprint's schema (type, enum, format, required) or whose relations do not fit the
blueprint's relations; the message names the offending property so a sync can say which mapping
is wrong. Unknown properties are rejected too (knob `PortState.reject_unknown_properties`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pagerduty_port_sandbox.common import parse_iso

# `\p{L}` in Port's patterns is "any letter"; `[^\W\d_]` is Python's spelling of it.
ENTITY_IDENTIFIER = re.compile(r"(?!\.{1,2}$)(?:[^\W\d_]|[0-9@_.+:\\/=-])+")
BLUEPRINT_IDENTIFIER = re.compile(r"(?!\.{1,2}$)(?:[^\W\d_]|[0-9@_.+:\\/-])+")
PROPERTY_IDENTIFIER = re.compile(r"[A-Za-z0-9@_=\\-]+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PROPERTY_TYPES = ("string", "number", "boolean", "object", "array")


@dataclass
class PortError(Exception):
    """A failure to report in Port's error shape `{ok: false, error, message}`."""

    status: int
    error: str
    message: str

    def __str__(self) -> str:
        return self.message


def invalid(message: str) -> PortError:
    return PortError(422, "invalid_request", message)


def valid_identifier(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) <= 1000 and bool(ENTITY_IDENTIFIER.fullmatch(value))
    )


def _format_ok(fmt: str, value: str) -> bool:
    if fmt == "date-time":
        return "T" in value and parse_iso(value) is not None
    if fmt == "url":
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.netloc)
    if fmt == "email":
        return bool(EMAIL.fullmatch(value))
    if fmt in ("ipv4", "ipv6"):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == (4 if fmt == "ipv4" else 6)
    return True  # user, team, markdown, yaml, timer, proto...: any string


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def check_value(name: str, schema: dict[str, Any], value: Any) -> str | None:
    """Why `value` does not fit the property `schema`, or None when it does."""
    kind = schema.get("type", "string")
    if not _type_ok(kind, value):
        return (
            f'property "{name}" must be of type {kind} (got {type(value).__name__} {value!r:.80})'
        )
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(map(str, schema["enum"]))
        return (
            f'property "{name}" must be equal to one of the allowed values: {allowed} '
            f"(got {value!r:.80})"
        )
    if kind == "string":
        if "format" in schema and not _format_ok(schema["format"], value):
            return f'property "{name}" must match format "{schema["format"]}" (got {value!r:.80})'
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f'property "{name}" must match pattern "{schema["pattern"]}"'
        if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get(
            "minLength", 0
        ):
            return f'property "{name}" has an invalid length'
    if kind == "number":
        if "minimum" in schema and value < schema["minimum"]:
            return f'property "{name}" must be >= {schema["minimum"]}'
        if "maximum" in schema and value > schema["maximum"]:
            return f'property "{name}" must be <= {schema["maximum"]}'
    if kind == "array":
        items = schema.get("items") or {}
        for index, item in enumerate(value):
            problem = check_value(f"{name}[{index}]", {"type": "string", **items}, item)
            if problem:
                return problem
    return None


def normalize_entity(
    data: Any, blueprint: dict[str, Any], *, reject_unknown: bool = True, partial: bool = False
) -> dict[str, Any]:
    """Validate an entity body against `blueprint`; returns the fields it sets.

    `partial` (merges and PATCH) skips the required-property check, which applies to the merged
    entity instead.
    """
    if not isinstance(data, dict):
        raise invalid("body must be object")
    identifier = data.get("identifier")
    if identifier is not None and not isinstance(identifier, str):
        raise invalid("Search identifiers are not supported by the sandbox: use a string")
    if identifier is not None and not valid_identifier(identifier):
        raise invalid(
            f'body/identifier "{identifier:.100}" must match pattern '
            '"^(?!\\.{1,2}$)[\\p{L}0-9@_.+:\\\\/=-]+$" and be at most 1000 characters'
        )
    result: dict[str, Any] = {"identifier": identifier}
    for key in ("title", "icon"):
        if key in data:
            if data[key] is not None and not isinstance(data[key], str):
                raise invalid(f"body/{key} must be string")
            result[key] = data[key]
    if "team" in data:
        team = data["team"]
        if isinstance(team, str):
            team = [team]
        if team is not None and (
            not isinstance(team, list) or not all(isinstance(t, str) for t in team)
        ):
            raise invalid("body/team must be a string or an array of strings")
        result["team"] = team or []
    schema = blueprint.get("schema", {})
    declared = schema.get("properties", {})
    where = f'Entity "{identifier}" of blueprint "{blueprint["identifier"]}"'
    properties = data.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise invalid("body/properties must be object")
    for name, value in properties.items():
        if name not in declared:
            if reject_unknown:
                raise invalid(
                    f'{where} does not match the blueprint\'s schema: property "{name}" is not '
                    "defined in the blueprint"
                )
            continue
        if value is None:
            continue
        problem = check_value(name, declared[name], value)
        if problem:
            raise invalid(f"{where} does not match the blueprint's schema: {problem}")
    result["properties"] = {k: v for k, v in properties.items() if k in declared}
    if not partial:
        for name in schema.get("required", []):
            if result["properties"].get(name) is None:
                raise invalid(f'{where} is missing the required property "{name}"')
    relations = data.get("relations", {})
    if relations is None:
        relations = {}
    if not isinstance(relations, dict):
        raise invalid("body/relations must be object")
    declared_relations = blueprint.get("relations", {})
    normalized: dict[str, Any] = {}
    for name, value in relations.items():
        relation = declared_relations.get(name)
        if relation is None:
            raise invalid(f'{where}: relation "{name}" is not defined in the blueprint')
        if value is None:
            normalized[name] = [] if relation.get("many") else None
            continue
        if relation.get("many"):
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise invalid(f'{where}: relation "{name}" must be an array of identifiers')
        else:
            if not isinstance(value, str):
                raise invalid(
                    f'{where}: relation "{name}" is not "many", its value must be one identifier'
                )
            values = [value]
        for target in values:
            if not valid_identifier(target):
                raise invalid(f'{where}: relation "{name}" has an invalid identifier {target!r}')
        normalized[name] = values if relation.get("many") else value
    if not partial:
        for name, relation in declared_relations.items():
            if relation.get("required") and not normalized.get(name):
                raise invalid(f'{where} is missing the required relation "{name}"')
    result["relations"] = normalized
    return result


def validate_blueprint(data: Any) -> dict[str, Any]:
    """Check a blueprint body (`POST /v1/blueprints`) and fill Port's defaults."""
    if not isinstance(data, dict):
        raise invalid("body must be object")
    identifier = data.get("identifier")
    if (
        not isinstance(identifier, str)
        or len(identifier) > 100
        or not BLUEPRINT_IDENTIFIER.fullmatch(identifier)
    ):
        raise invalid(f"body/identifier {identifier!r} is not a valid blueprint identifier")
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 100:
        raise invalid("body/title must be a string of 1 to 100 characters")
    schema = data.get("schema")
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        raise invalid("body/schema must be an object with properties")
    for name, definition in schema["properties"].items():
        if not PROPERTY_IDENTIFIER.fullmatch(name) or len(name) > 100:
            raise invalid(f"body/schema/properties: {name!r} is not a valid property identifier")
        if not isinstance(definition, dict) or definition.get("type") not in PROPERTY_TYPES:
            raise invalid(f"body/schema/properties/{name}/type must be one of {PROPERTY_TYPES}")
    required = schema.get("required", [])
    if not isinstance(required, list) or any(r not in schema["properties"] for r in required):
        raise invalid("body/schema/required must list defined properties")
    relations = data.get("relations", {})
    if not isinstance(relations, dict):
        raise invalid("body/relations must be object")
    for name, relation in relations.items():
        if not isinstance(relation, dict) or not isinstance(relation.get("target"), str):
            raise invalid(f"body/relations/{name} must have a target blueprint")
    return {
        "identifier": identifier,
        "title": title,
        "icon": data.get("icon"),
        "description": data.get("description"),
        "schema": {"properties": schema["properties"], "required": required},
        "mirrorProperties": data.get("mirrorProperties", {}),
        "calculationProperties": data.get("calculationProperties", {}),
        "aggregationProperties": data.get("aggregationProperties", {}),
        "relations": {
            name: {
                "title": relation.get("title", name),
                "target": relation["target"],
                "required": bool(relation.get("required", False)),
                "many": bool(relation.get("many", False)),
            }
            for name, relation in relations.items()
        },
    }
