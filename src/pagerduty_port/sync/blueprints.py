"""The blueprints the built-in mapping writes to, created on request when missing (never
changed when they exist: a team's own blueprint edits win)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..port import PortClient


def _props(**types: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in types.items():
        if kind == "url":
            out[name] = {"type": "string", "format": "url", "title": name}
        elif kind == "date-time":
            out[name] = {"type": "string", "format": "date-time", "title": name}
        else:
            out[name] = {"type": kind, "title": name}
    return out


def _blueprint(
    identifier: str,
    title: str,
    icon: str,
    properties: dict[str, Any],
    relations: dict[str, tuple[str, bool]] | None = None,
) -> dict[str, Any]:
    return {
        "identifier": identifier,
        "title": title,
        "icon": icon,
        "schema": {"properties": properties, "required": []},
        "relations": {
            name: {"title": name, "target": target, "required": False, "many": many}
            for name, (target, many) in (relations or {}).items()
        },
    }


DEFAULT_BLUEPRINTS: dict[str, dict[str, Any]] = {
    bp["identifier"]: bp
    for bp in (
        _blueprint(
            "pagerdutyService",
            "PagerDuty Service",
            "pagerduty",
            _props(
                status="string",
                url="url",
                oncall="string",
                secondaryOncall="string",
                escalationLevels="number",
                meanSecondsToResolve="number",
                meanSecondsToFirstAck="number",
                meanSecondsToEngage="number",
            ),
        ),
        _blueprint(
            "pagerdutyEscalationPolicy",
            "PagerDuty Escalation Policy",
            "pagerduty",
            _props(
                url="url", description="string", primaryOncall="string", escalationRules="array"
            ),
        ),
        _blueprint(
            "pagerdutySchedule",
            "PagerDuty Schedule",
            "pagerduty",
            _props(url="url", timezone="string", description="string", users="array"),
        ),
        _blueprint(
            "pagerdutyUser",
            "PagerDuty User",
            "pagerduty",
            _props(
                url="url",
                email="string",
                time_zone="string",
                role="string",
                job_title="string",
                description="string",
            ),
        ),
        _blueprint(
            "pagerdutyIncident",
            "PagerDuty Incident",
            "pagerduty",
            _props(
                status="string",
                url="url",
                urgency="string",
                assignees="array",
                escalation_policy="string",
                created_at="date-time",
                updated_at="date-time",
                priority="string",
                description="string",
                triggered_by="string",
            ),
            {"pagerdutyService": ("pagerdutyService", False)},
        ),
        _blueprint(
            "pagerdutyOncall",
            "PagerDuty Oncall",
            "pagerduty",
            _props(user="string", startDate="date-time", endDate="date-time", url="url"),
            {
                "pagerdutySchedule": ("pagerdutySchedule", False),
                "pagerdutyEscalationPolicy": ("pagerdutyEscalationPolicy", False),
            },
        ),
    )
}


def needed(blueprints: Iterable[str]) -> list[str]:
    """The default blueprints among `blueprints` plus their relation targets, targets first."""
    wanted: list[str] = []

    def visit(identifier: str) -> None:
        definition = DEFAULT_BLUEPRINTS.get(identifier)
        if definition is None or identifier in wanted:
            return
        for relation in definition["relations"].values():
            visit(relation["target"])
        wanted.append(identifier)

    for identifier in blueprints:
        visit(identifier)
    return wanted


def create_missing(
    port: PortClient, blueprints: Iterable[str], *, dry_run: bool, say: Callable[[str], None]
) -> list[str]:
    """Create the default blueprints that Port lacks; returns the ones created (or planned)."""
    created = []
    for identifier in needed(blueprints):
        if port.get_blueprint(identifier) is not None:
            continue
        if dry_run:
            say(f"Would create blueprint {identifier}")
        else:
            port.create_blueprint(DEFAULT_BLUEPRINTS[identifier])
            say(f"Created blueprint {identifier}")
        created.append(identifier)
    return created
