"""The catalogue entity for a PagerDuty incident; one mapping for every action and the sync,
so an incident written by one and read by the other looks the same and is not rewritten."""

from __future__ import annotations

from typing import Any

# What to ask PagerDuty for so the entity can carry assignee emails and who triggered it.
INCIDENT_INCLUDES = ("assignees", "first_trigger_log_entries")
SERVICE_RELATION = "pagerdutyService"


def _assignee(assignment: dict[str, Any]) -> str | None:
    assignee = assignment.get("assignee") or {}
    return assignee.get("email") or assignee.get("summary") or assignee.get("id")


def incident_entity(incident: dict[str, Any]) -> dict[str, Any]:
    """Port entity for `incident` (a PagerDuty incident object); identifier = incident id."""
    priority = incident.get("priority")
    policy = incident.get("escalation_policy") or {}
    first_log = incident.get("first_trigger_log_entry") or {}
    service = incident.get("service") or {}
    entity: dict[str, Any] = {
        "identifier": incident["id"],
        "title": incident.get("title") or incident.get("summary") or incident["id"],
        "properties": {
            "status": incident.get("status"),
            "url": incident.get("html_url"),
            "urgency": incident.get("urgency"),
            "assignees": [
                a for a in map(_assignee, incident.get("assignments") or []) if a is not None
            ],
            "escalation_policy": policy.get("summary"),
            "created_at": incident.get("created_at"),
            "updated_at": incident.get("updated_at"),
            "priority": priority.get("summary") if isinstance(priority, dict) else None,
            "description": incident.get("description"),
            "triggered_by": (first_log.get("agent") or {}).get("summary"),
        },
        "relations": {},
    }
    if service.get("id"):
        entity["relations"][SERVICE_RELATION] = service["id"]
    return entity
