"""create-incident: open a PagerDuty incident from a Port run, exactly once per run."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from ..clients.pagerduty import PagerDutyClient
from ..errors import InputError, PagerDutyError
from .common import SERVICE_BLUEPRINT, CommonSettings
from .incident_report import record_incident
from .lookup import resolve_priority
from .protocols import InputSource
from .runtime import Runtime

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class CreateIncidentSettings:
    title: str
    service: str
    urgency: str
    details: str | None
    from_email: str
    escalation_policy: str | None
    priority: str | None
    assignees: list[str]
    incident_key: str | None


def context_service(common: CommonSettings) -> str | None:
    """The PagerDuty service a Port run is about: the entity itself, or its service relation."""
    context = common.context
    if context.blueprint == SERVICE_BLUEPRINT and context.entity:
        return context.entity
    return context.relation(SERVICE_BLUEPRINT)


def default_incident_key(common: CommonSettings, title: str, service: str) -> str | None:
    """A key that is the same for every retry of one Port run (or one workflow run)."""
    if common.run_id:
        return f"port-run-{common.run_id}"
    github = common.github
    if github.repository and github.run_id:
        digest = hashlib.sha256(f"{service}\n{title}".encode()).hexdigest()[:16]
        return f"github-{github.repository}-{github.run_id}-{github.job or ''}-{digest}"
    return None


class CreateIncident:
    name = "create-incident"

    def parse(self, inputs: InputSource, common: CommonSettings) -> CreateIncidentSettings:
        common.mapping.resources_for("incidents")  # the entity this action writes
        title = inputs.required("title", aliases=("incidentTitle",))
        service = inputs.pagerduty_id("service") or context_service(common)
        if service is None:
            raise InputError(
                "service",
                "is required: give a PagerDuty service ID, or run from a Port entity of "
                f"blueprint '{SERVICE_BLUEPRINT}' or one related to it by '{SERVICE_BLUEPRINT}'.",
            )
        from_email = inputs.email("from", required=True, aliases=("actorEmail",))
        assert from_email is not None
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        escalation_policy = inputs.pagerduty_id("escalation_policy")
        assignees = inputs.id_list("assignees")
        if assignees and escalation_policy:
            raise InputError(
                "assignees",
                "cannot be combined with 'escalation_policy' (PagerDuty accepts one or the other).",
            )
        incident_key = inputs.text("incident_key", max_length=MAX_KEY_LENGTH)
        return CreateIncidentSettings(
            title=title,
            service=service,
            urgency=inputs.choice("urgency", ("high", "low"), default="high") or "high",
            details=inputs.text("details", aliases=("extraDetails",), strip=False),
            from_email=from_email,
            escalation_policy=escalation_policy,
            priority=inputs.text("priority", max_length=100),
            assignees=assignees,
            incident_key=incident_key or default_incident_key(common, title, service),
        )

    @staticmethod
    def incident_body(settings: CreateIncidentSettings) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "incident",
            "title": settings.title,
            "service": {"id": settings.service, "type": "service_reference"},
            "urgency": settings.urgency,
        }
        if settings.details:
            body["body"] = {"type": "incident_body", "details": settings.details}
        if settings.incident_key:
            body["incident_key"] = settings.incident_key
        if settings.priority:
            body["priority"] = {"id": settings.priority, "type": "priority_reference"}
        if settings.escalation_policy:
            body["escalation_policy"] = {
                "id": settings.escalation_policy,
                "type": "escalation_policy_reference",
            }
        if settings.assignees:
            body["assignments"] = [
                {"assignee": {"id": user, "type": "user_reference"}} for user in settings.assignees
            ]
        return body

    def _existing(
        self, client: PagerDutyClient, settings: CreateIncidentSettings
    ) -> dict[str, Any] | None:
        if not settings.incident_key:
            return None
        found = client.find_incidents_by_key(settings.incident_key, service_id=settings.service)
        return found[0] if found else None

    def run(self, settings: CreateIncidentSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        reporter.start(f"Opening a PagerDuty incident on service {settings.service}.")
        client = runtime.pagerduty()
        if settings.priority:
            settings = replace(settings, priority=resolve_priority(client, settings.priority))

        incident = self._existing(client, settings)
        adopted = incident is not None
        if incident is None:
            try:
                incident = client.create_incident(self.incident_body(settings), settings.from_email)
            except PagerDutyError as exc:
                # A create retried after a lost response meets PagerDuty's own de-duplication.
                incident = self._existing(client, settings) if exc.status == 400 else None
                if incident is None:
                    raise
                adopted = True
        if adopted:
            reporter.progress(
                f"Incident #{incident.get('incident_number')} ({incident['id']}) already exists "
                f"for incident key {settings.incident_key}; using it instead of opening another."
            )
        else:
            reporter.progress(
                f"Opened incident #{incident.get('incident_number')} ({incident['id']})."
            )
        try:
            incident = client.get_incident(
                incident["id"], include=runtime.common.mapping.includes("incidents")
            )
        except PagerDutyError as exc:
            reporter.warning(f"Could not read back the incident's details: {exc}")

        number = incident.get("incident_number")
        record_incident(
            runtime,
            incident,
            heading=f"{'Adopted existing' if adopted else 'Opened'} PagerDuty incident",
            outputs={"incident_number": number, "status": incident.get("status")},
            status_label=f"Incident #{number}",
        )
        reporter.progress(f"Done: {incident.get('html_url')}")
        reporter.succeed(f"Incident #{incident.get('incident_number')} {incident.get('status')}")


OPERATION = CreateIncident()
