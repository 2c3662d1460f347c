"""What PagerDuty's v3 webhook events carry, next to what the REST API returns.

The real-time mapping writes a property only when a v3 event carries its source in the form the
sync reads it. That is decided by evaluating the property's jq on a fully populated REST object
(as the sync reads it, with `include[]` expansions and the sync's own `__` fields) and on the
v3 event `data` PagerDuty sends for the same object (`incident_data` / `service_data`, after
PagerDuty's webhook documentation): the same non-null value means the event carries it.
"""

from __future__ import annotations

from typing import Any

#: The v3 event types each PagerDuty kind's real-time mapping handles.
INCIDENT_EVENTS = (
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.reopened",
    "incident.reassigned",
    "incident.escalated",
    "incident.delegated",
    "incident.priority_updated",
    "incident.service_updated",  # moved to another service: the pagerdutyService relation
)
#: Incident fields PagerDuty sends no v3 event for when they alone change (its documented
#: list has none for them): written with any incident event, they can lag until the next one.
UNEVENTED_INCIDENT_FIELDS = ("title", "urgency")
SERVICE_UPSERT_EVENTS = ("service.created", "service.updated")
SERVICE_DELETE_EVENTS = ("service.deleted",)

_WEB = "https://acme.pagerduty.com"
_API = "https://api.pagerduty.com"


def _ref(kind: str, obj_id: str, summary: str, path: str) -> dict[str, Any]:
    return {
        "id": obj_id,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"{_API}/{path}/{obj_id}",
        "html_url": f"{_WEB}/{path}/{obj_id}",
    }


def _user(obj_id: str, name: str, email: str) -> dict[str, Any]:
    return {**_ref("user", obj_id, name, "users"), "type": "user", "name": name, "email": email}


def sample_incident() -> dict[str, Any]:
    """An incident as the sync reads it (include[]=assignees,first_trigger_log_entries...),
    every field set to a distinct value."""
    alice = _user("PUSER01", "Alice Admin", "alice@example.com")
    return {
        "id": "PINC001",
        "type": "incident",
        "summary": "[#42] Checkout is down",
        "self": f"{_API}/incidents/PINC001",
        "html_url": f"{_WEB}/incidents/PINC001",
        "incident_number": 42,
        "title": "Checkout is down",
        "description": "Checkout is down (description)",
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T04:05:06Z",
        "status": "acknowledged",
        "incident_key": "checkout-down",
        "service": _ref("service", "PSVC001", "Checkout API", "service-directory"),
        "assignments": [{"at": "2026-01-02T03:04:05Z", "assignee": alice}],
        "acknowledgements": [{"at": "2026-01-02T03:10:00Z", "acknowledger": alice}],
        "assigned_via": "escalation_policy",
        "last_status_change_at": "2026-01-02T03:10:00Z",
        "last_status_change_by": _ref("user", "PUSER01", "Alice Admin", "users"),
        "resolved_at": "2026-01-02T05:00:00Z",
        "first_trigger_log_entry": {
            "id": "RLOG001",
            "type": "trigger_log_entry",
            "summary": "Triggered through the API",
            "agent": _ref("service", "PSVC001", "Checkout API", "service-directory"),
            "channel": {"type": "api"},
        },
        "alert_counts": {"all": 3, "triggered": 1, "resolved": 2},
        "escalation_policy": _ref("escalation_policy", "PPOL001", "Default", "escalation_policies"),
        "teams": [_ref("team", "PTEAM01", "Platform", "teams")],
        "priority": {**_ref("priority", "PPRI001", "P1", "priorities"), "name": "P1"},
        "urgency": "high",
        "resolve_reason": {"type": "merge_resolve_reason"},
        "conference_bridge": {"conference_number": "+1 555", "conference_url": "https://c"},
        "body": {"type": "incident_body", "details": "details"},
    }


def sample_service() -> dict[str, Any]:
    """A service as the sync reads it, with the sync's `__oncall_user` and `__analytics`."""
    return {
        "id": "PSVC001",
        "type": "service",
        "summary": "Checkout API",
        "name": "Checkout API",
        "self": f"{_API}/services/PSVC001",
        "html_url": f"{_WEB}/service-directory/PSVC001",
        "description": "Takes payments",
        "status": "active",
        "created_at": "2025-01-01T00:00:00Z",
        "last_incident_timestamp": "2026-01-02T03:04:05Z",
        "escalation_policy": _ref("escalation_policy", "PPOL001", "Default", "escalation_policies"),
        "teams": [_ref("team", "PTEAM01", "Platform", "teams")],
        "integrations": [],
        "__oncall_user": [
            {"escalation_level": 1, "user": _user("PUSER02", "Bob", "bob@example.com")},
            {"escalation_level": 2, "user": _user("PUSER03", "Carol", "carol@example.com")},
        ],
        "__analytics": {
            "mean_seconds_to_resolve": 600,
            "mean_seconds_to_first_ack": 60,
            "mean_seconds_to_engage": 90,
        },
    }


def _reference(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    if not obj:
        return None
    keys = ("html_url", "id", "self", "summary")
    return {**{k: obj.get(k) for k in keys}, "type": f"{kind}_reference"}


def incident_data(incident: dict[str, Any]) -> dict[str, Any]:
    """The `data` of an `incident.*` event about `incident`."""
    return {
        "id": incident["id"],
        "type": "incident",
        "self": incident.get("self"),
        "html_url": incident.get("html_url"),
        "number": incident.get("incident_number"),
        "status": incident.get("status"),
        "incident_key": incident.get("incident_key"),
        "created_at": incident.get("created_at"),
        "title": incident.get("title"),
        "service": _reference(incident.get("service"), "service"),
        "assignees": [
            _reference(a.get("assignee"), "user") for a in incident.get("assignments") or []
        ],
        "escalation_policy": _reference(incident.get("escalation_policy"), "escalation_policy"),
        "teams": [_reference(t, "team") for t in incident.get("teams") or []],
        "priority": _reference(incident.get("priority"), "priority"),
        "urgency": incident.get("urgency"),
        "conference_bridge": incident.get("conference_bridge"),
        "resolve_reason": incident.get("resolve_reason"),
    }


def service_data(service: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a `service.*` event about `service`."""
    return {
        "id": service["id"],
        "type": "service",
        "self": service.get("self"),
        "html_url": service.get("html_url"),
        "summary": service.get("summary"),
        "name": service.get("name"),
        "description": service.get("description"),
        "teams": [_reference(t, "team") for t in service.get("teams") or []],
    }
