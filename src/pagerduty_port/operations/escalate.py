"""escalate: move an incident to another escalation policy or level, or change its urgency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..errors import ActionError, InputError, PagerDutyError
from .common import CommonSettings
from .incident_report import record_incident
from .protocols import InputSource
from .runtime import Runtime


@dataclass(frozen=True)
class EscalateSettings:
    incident_id: str
    escalation_policy_id: str | None
    escalation_level: int | None
    urgency: str | None
    from_email: str


class Escalate:
    name = "escalate"

    def parse(self, inputs: InputSource, common: CommonSettings) -> EscalateSettings:
        incident_blueprints = common.mapping.blueprints_of("incidents")
        common.mapping.resources_for("incidents")  # the entity this action writes
        context = common.context
        incident_id = inputs.pagerduty_id("incident_id")
        if (
            incident_id is None
            and context.blueprint is not None
            and context.blueprint not in incident_blueprints
            and None not in incident_blueprints
        ):
            # Another entity's identifier (a service's, say) is no incident ID.
            raise InputError(
                "incident_id",
                f"is required when the run's entity is not an incident (it is "
                f"{context.blueprint} {context.entity!r}): give a PagerDuty incident ID, or run "
                "from an entity of the blueprint the mapping writes incidents to.",
            )
        incident_id = incident_id or context.entity
        if incident_id is None:
            raise InputError(
                "incident_id",
                "is required: give a PagerDuty incident ID, or run from the incident's "
                "Port entity.",
            )
        policy = inputs.pagerduty_id("escalation_policy_id")
        level = inputs.integer("escalation_level", minimum=1)
        # No default here: escalating must never change urgency unless asked to.
        urgency = inputs.choice("urgency", ("high", "low"))
        from_email = inputs.email("from", required=True)
        assert from_email is not None
        if policy is None and level is None and urgency is None:
            raise InputError(
                "escalation_policy_id",
                "nothing to change: give at least one of escalation_policy_id, "
                "escalation_level or urgency.",
            )
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        return EscalateSettings(incident_id, policy, level, urgency, from_email)

    @staticmethod
    def changes(settings: EscalateSettings) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if settings.escalation_policy_id:
            changes["escalation_policy"] = {
                "id": settings.escalation_policy_id,
                "type": "escalation_policy_reference",
            }
        if settings.escalation_level is not None:
            changes["escalation_level"] = settings.escalation_level
        if settings.urgency:
            changes["urgency"] = settings.urgency
        return changes

    def run(self, settings: EscalateSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        client = runtime.pagerduty()
        reporter.start(f"Escalating PagerDuty incident {settings.incident_id}.")
        try:
            current = client.get_incident(settings.incident_id)
        except PagerDutyError as exc:
            if exc.status == 404:
                raise ActionError(
                    f"Incident {settings.incident_id} does not exist in PagerDuty (check "
                    "incident_id and that pagerduty_api_url is your account's region)."
                ) from exc
            raise
        if current.get("status") == "resolved":
            raise ActionError(
                f"Incident #{current.get('incident_number')} ({current['id']}) is already "
                "resolved; a resolved incident cannot be escalated."
            )
        if settings.escalation_policy_id:
            self._check_policy(runtime, settings.escalation_policy_id)
        try:
            client.update_incident(current["id"], self.changes(settings), settings.from_email)
        except PagerDutyError as exc:
            raise ActionError(self._explain(exc, settings)) from exc
        includes = runtime.common.mapping.includes("incidents")
        incident = client.get_incident(current["id"], include=includes)
        policy = incident.get("escalation_policy") or {}
        reporter.progress(
            f"Incident #{incident.get('incident_number')} is now on "
            f"{policy.get('summary') or policy.get('id')}, urgency {incident.get('urgency')}."
        )
        record_incident(
            runtime,
            incident,
            heading="Escalated PagerDuty incident",
            outputs={
                "status": incident.get("status"),
                "urgency": incident.get("urgency"),
                "escalation_policy": policy.get("id"),
            },
            status_label=f"Incident #{incident.get('incident_number')}",
        )
        reporter.progress("Done.")
        reporter.succeed(f"Incident #{incident.get('incident_number')} escalated")

    @staticmethod
    def _check_policy(runtime: Runtime, policy_id: str) -> None:
        try:
            runtime.pagerduty().request("GET", f"/escalation_policies/{quote(policy_id, safe='')}")
        except PagerDutyError as exc:
            if exc.status == 404:
                raise ActionError(
                    f"Escalation policy {policy_id} does not exist in PagerDuty "
                    "(check escalation_policy_id)."
                ) from exc
            raise

    @staticmethod
    def _explain(exc: PagerDutyError, settings: EscalateSettings) -> str:
        text = " ".join([exc.reason, *exc.details]).lower()
        if "from" in text or "requester" in text or "user" in text:
            return (
                f"{exc} — check that 'from' ({settings.from_email}) is the email address of a "
                "user in this PagerDuty account."
            )
        if "level" in text:
            return f"{exc} — check escalation_level against the policy's number of levels."
        return str(exc)


OPERATION = Escalate()
