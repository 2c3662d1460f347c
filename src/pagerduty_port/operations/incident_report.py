"""What an incident operation reports once PagerDuty has answered: outputs, the Port run's
link, the catalogue entities and a job summary with a link to the incident."""

from __future__ import annotations

from typing import Any

from ..errors import ActionError
from ..markdown import md_cell, table
from .runtime import Runtime


def record_incident(
    runtime: Runtime,
    incident: dict[str, Any],
    *,
    heading: str,
    outputs: dict[str, Any],
    status_label: str,
) -> list[tuple[str, dict[str, Any]]]:
    """Everything an incident operation reports once PagerDuty has answered: the step
    outputs, the Port run's link, the catalogue entities and the job summary. Outputs are
    set before Port is written (and when the mapping fails), so later steps still get
    them."""
    url = incident.get("html_url")
    values = {**outputs, "incident_id": incident["id"], "incident_url": url}
    try:
        entities = runtime.map_object("incidents", incident)
    except ActionError:
        runtime.reporter.set_outputs({**values, "entity_identifier": ""})
        raise
    identifier = entities[0][1]["identifier"] if entities else ""
    runtime.reporter.set_outputs({**values, "entity_identifier": identifier})
    if url:
        runtime.reporter.link(url, status_label=status_label)
    runtime.write_mapped(entities)
    written = [f"{bp}/{e['identifier']}" for bp, e in entities] if runtime.port else None
    runtime.reporter.summary(incident_summary(heading, incident, written, runtime.common.run_id))
    return entities


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
