"""Port webhook mappings derived from the sync's mapping, so real-time writes agree with it.

Port upserts a webhook mapping's entity with merge: the fields a mapping names are written,
the others are left as they are (its docs: a webhook can "update a single property on an
entity"). A field mapped to a value the event lacks would be blanked, so each field is mapped
only when the event carries its source (see `events`), with the sync's own jq run over
`.body.event.data`; the others are listed as "sync only".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import InputError
from ..mapping import EntityMapping, MappingConfig, ResourceSpec, compile_jq
from .events import (
    INCIDENT_EVENTS,
    SERVICE_DELETE_EVENTS,
    SERVICE_UPSERT_EVENTS,
    UNEVENTED_INCIDENT_FIELDS,
    incident_data,
    sample_incident,
    sample_service,
    service_data,
)

#: Properties an incident mapping also writes, when the blueprint has them.
EVENT_PROPERTIES = {
    "last_event_type": ".body.event.event_type",
    "last_event_at": ".body.event.occurred_at",
}
DATA = ".body.event.data"

_KINDS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], Any]]] = {
    "incidents": (sample_incident, incident_data),
    "services": (sample_service, service_data),
}


@dataclass
class Derived:
    """The webhook mappings, the events they handle and what they leave to the sync."""

    mappings: list[dict[str, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    sync_only: dict[str, list[str]] = field(default_factory=dict)  # "<kind> -> <blueprint>"
    #: By blueprint: mapped fields read from an incident field whose edit alone sends no event.
    lagging: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    incident_blueprints: list[str] = field(default_factory=list)


def _evaluate(expression: str, value: Any, where: str, input_name: str) -> Any:
    program = compile_jq(expression, where=where, input_name=input_name)
    try:
        return program.input_value(value).first()
    except ValueError:
        return None


def _on_event(expression: str) -> str:
    """The sync's expression, run on the event's data; its first output, as Ocean takes it."""
    return f"{DATA} | [({expression})][0]"


def _carried(expression: str, rest: Any, data: Any, where: str, input_name: str) -> bool:
    from_rest = _evaluate(expression, rest, where, input_name)
    from_event = _evaluate(expression, data, where, input_name)
    return from_rest not in (None, [], {}) and from_rest == from_event


def _entity(
    spec: ResourceSpec, rest: Any, data: Any, sync_only: list[str]
) -> dict[str, Any] | None:
    mapping: EntityMapping = spec.mapping
    name = spec.input_name
    if not _carried(mapping.identifier, rest, data, f"{spec.where} identifier", name):
        return None
    entity: dict[str, Any] = {"identifier": _on_event(mapping.identifier)}
    for key in ("title", "icon", "team"):
        expression = getattr(mapping, key)
        if expression is None:
            continue
        if _carried(expression, rest, data, f"{spec.where} {key}", name):
            entity[key] = _on_event(expression)
        else:
            sync_only.append(key)
    for group in ("properties", "relations"):
        chosen = {}
        for key, expression in getattr(mapping, group).items():
            if _carried(expression, rest, data, f"{spec.where} {group}.{key}", name):
                chosen[key] = _on_event(expression)
            else:
                sync_only.append(f"{group}.{key}" if group == "relations" else key)
        entity[group] = chosen
    return entity


def _lagging(spec: ResourceSpec, entity: dict[str, Any], rest: Any, data: Any) -> list[str]:
    """The entity's fields whose value moves with `UNEVENTED_INCIDENT_FIELDS`: found by
    editing those fields in the sample and seeing which mapped values change."""
    edits = {f: f"{rest[f]} (edited)" for f in UNEVENTED_INCIDENT_FIELDS}
    edited = incident_data({**rest, **edits})
    mapping: EntityMapping = spec.mapping
    fields: list[tuple[str, str]] = [
        (k, getattr(mapping, k)) for k in ("title", "icon", "team") if k in entity
    ]
    fields += [(k, mapping.properties[k]) for k in entity["properties"]]
    fields += [(f"relations.{k}", mapping.relations[k]) for k in entity["relations"]]
    where, name = spec.where, spec.input_name
    return [
        label
        for label, expression in fields
        if _evaluate(expression, data, where, name) != _evaluate(expression, edited, where, name)
    ]


def _selector(spec: ResourceSpec, rest: Any, data: Any) -> str | None:
    """The selector as a filter clause; None when the event cannot decide it."""
    if spec.query.strip() == "true":
        return "true"
    where, name = f"{spec.where} selector.query", spec.input_name
    if _evaluate(spec.query, rest, where, name) == _evaluate(spec.query, data, where, name):
        return f"(({DATA} | [({spec.query})][0]) == true)"
    return None


def _events_filter(events: tuple[str, ...]) -> str:
    return "(" + " or ".join(f".body.event.event_type == {json.dumps(e)}" for e in events) + ")"


def derive(mapping: MappingConfig) -> Derived:
    """Webhook mappings for the mapping's incidents and services resources; an InputError
    (naming the input) when neither can be followed in real time."""
    derived = Derived()
    for spec in mapping.resources:
        if spec.kind not in _KINDS:
            continue
        sample, to_event = _KINDS[spec.kind]
        rest = sample()
        data = to_event(rest)
        blueprint = spec.mapping.constant_blueprint()
        label = f"{spec.kind} -> {blueprint}"
        if blueprint is None:
            derived.notes.append(f"{spec.where}: its blueprint is computed by jq; sync only.")
            continue
        selector = _selector(spec, rest, data)
        if selector is None:
            derived.notes.append(
                f"{spec.where}: its selector reads fields webhook events lack; sync only."
            )
            continue
        sync_only: list[str] = []
        entity = _entity(spec, rest, data, sync_only)
        if entity is None:
            derived.notes.append(f"{spec.where}: events do not carry its identifier; sync only.")
            continue
        derived.sync_only[label] = sync_only
        if spec.kind == "incidents":
            lagging = derived.lagging.setdefault(blueprint, [])
            lagging += [f for f in _lagging(spec, entity, rest, data) if f not in lagging]
        events: tuple[str, ...]
        if spec.kind == "incidents":
            events = INCIDENT_EVENTS
            derived.incident_blueprints.append(blueprint)
        else:
            events = SERVICE_UPSERT_EVENTS
        derived.mappings.append(
            {
                "blueprint": blueprint,
                "filter": f"{_events_filter(events)} and {selector}",
                "entity": entity,
            }
        )
        derived.events += [e for e in events if e not in derived.events]
        if spec.kind == "services":
            derived.mappings.append(
                {
                    "blueprint": blueprint,
                    "operation": {"type": "delete"},
                    "filter": f"{_events_filter(SERVICE_DELETE_EVENTS)} and {selector}",
                    "entity": {"identifier": entity["identifier"]},
                }
            )
            derived.events += [e for e in SERVICE_DELETE_EVENTS if e not in derived.events]
    if not derived.mappings:
        raise InputError(
            mapping.input_name,
            f"({mapping.source}) has no incidents or services resource that webhook events can "
            "follow; connect-webhooks needs at least one.",
        )
    return derived


def add_event_properties(derived: Derived, blueprint_properties: dict[str, set[str]]) -> None:
    """Record the event type and time on incident entities whose blueprint has the fields."""
    for mapping in derived.mappings:
        blueprint = mapping["blueprint"]
        if blueprint not in derived.incident_blueprints:
            continue
        have = blueprint_properties.get(blueprint, set())
        for key, expression in EVENT_PROPERTIES.items():
            if key in have:
                mapping["entity"]["properties"][key] = expression
