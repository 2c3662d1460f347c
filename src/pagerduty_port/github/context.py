"""Reading the `port_context` Port sends with a self-service run, in every shape Port has used."""

from __future__ import annotations

import re
from typing import Any

from ..errors import InputError
from ..operations.common import PortContext
from .inputs import parse_json

RUN_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
EXAMPLE = '{"blueprint": "pagerdutyService", "entity": "PABC123", "run_id": "r_abc"}'


def _string(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _parse_object(text: str, input_name: str) -> dict[str, Any]:
    return parse_json(input_name, text, expect=dict, example=EXAMPLE)


def _entity_fields(raw: Any, input_name: str) -> tuple[str | None, dict[str, Any]]:
    """Port sends the entity as its identifier or as the whole entity object."""
    if raw is None or raw == "":
        return None, {}
    if isinstance(raw, dict):
        return _string(raw.get("identifier")), raw
    identifier = _string(raw)
    if identifier is None:
        raise InputError(
            input_name, "has an 'entity' that is neither an identifier nor an entity object."
        )
    return identifier, {}


def parse_port_context(port_context: str | None, port_payload: str | None = None) -> PortContext:
    """Read `port_context` (or the older `port_payload` with `context.runId`)."""
    if port_context:
        data = _parse_object(port_context, "port_context")
        name = "port_context"
    elif port_payload:
        data = _parse_object(port_payload, "port_payload")
        name = "port_payload"
        legacy = data.get("context")
        legacy = legacy if isinstance(legacy, dict) else {}
        payload = data.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        data = {
            "blueprint": legacy.get("blueprint"),
            "entity": legacy.get("entity") or payload.get("entity"),
            "run_id": legacy.get("runId"),
            "relations": legacy.get("relations"),
        }
    else:
        return PortContext()

    entity, entity_data = _entity_fields(data.get("entity"), name)
    relations = data.get("relations")
    if relations is None:
        relations = entity_data.get("relations") or {}
    if not isinstance(relations, dict):
        raise InputError(name, "has 'relations' that is not an object of relation -> identifier.")
    run_id = _string(data.get("run_id") or data.get("runId") or data.get("runID"))
    if run_id is not None and not RUN_ID_RE.match(run_id):
        raise InputError(name, f"has run id {run_id!r}; expected a Port run id such as r_abc123.")
    blueprint = _string(data.get("blueprint") or entity_data.get("blueprint"))
    return PortContext(
        blueprint=blueprint,
        entity=entity,
        entity_data=entity_data,
        run_id=run_id,
        relations=relations,
    )
