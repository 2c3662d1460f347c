"""Markdown for the job summary: what was done, with a link to the incident."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .operations.base import Runtime


def md_cell(value: Any) -> str:
    """A value safe inside a markdown table cell (no pipes, no line breaks)."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(rows: list[tuple[str, Any]]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {md_cell(k)} | {md_cell(v)} |" for k, v in rows]
    return "\n".join(lines)


def incident_summary(heading: str, incident: dict[str, Any], runtime: Runtime) -> str:
    url = incident.get("html_url")
    number = incident.get("incident_number")
    name = md_cell(f"#{number} {incident.get('title') or ''}".strip())
    link = f"[{name}]({url})" if url else name
    service = (incident.get("service") or {}).get("summary") or (incident.get("service") or {}).get(
        "id"
    )
    policy = (incident.get("escalation_policy") or {}).get("summary")
    rows: list[tuple[str, Any]] = [
        ("Incident", incident.get("id")),
        ("Status", incident.get("status")),
        ("Urgency", incident.get("urgency")),
        ("Service", service),
        ("Escalation policy", policy),
        ("Incident key", incident.get("incident_key")),
    ]
    common = runtime.common
    if runtime.port is not None:
        rows.append(("Catalogue entity", f"{common.blueprint}/{incident['id']}"))
    else:
        rows.append(("Catalogue entity", "skipped (no Port credentials)"))
    if common.run_id:
        rows.append(("Port run", common.run_id))
    return f"### {heading} {link}\n\n{table(rows)}\n"
