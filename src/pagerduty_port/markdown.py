"""Markdown for the job summary: what was done, with a link to the incident."""

from __future__ import annotations

from typing import Any


def md_cell(value: Any) -> str:
    """A value safe inside a markdown table cell (no pipes, no line breaks)."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(rows: list[tuple[str, Any]]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {md_cell(k)} | {md_cell(v)} |" for k, v in rows]
    return "\n".join(lines)


def incident_summary(
    heading: str, incident: dict[str, Any], entities: list[str] | None, run_id: str | None
) -> str:
    """`entities`: `blueprint/identifier` of each entity written; None when Port was skipped."""
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
    if entities is None:
        rows.append(("Catalogue entity", "skipped (no Port credentials)"))
    else:
        rows.append(("Catalogue entity", ", ".join(entities) or "none (left out by the mapping)"))
    if run_id:
        rows.append(("Port run", run_id))
    return f"### {heading} {link}\n\n{table(rows)}\n"
