"""update-incident: acknowledge, resolve, reassign, re-prioritise, retitle or annotate an
incident from a Port run, in one PUT plus one note, and safely when the run is retried."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..clients.pagerduty import PagerDutyClient
from ..errors import ActionError, InputError, PagerDutyError
from ..formats import EMAIL_RE, PAGERDUTY_ID_RE
from .common import CommonSettings
from .incident_report import record_incident
from .lookup import resolve_priority, resolve_user
from .protocols import InputSource
from .runtime import Runtime
from .write_once import create_once

NOTE_MAX_LENGTH = 25_000
CHANGE_INPUTS = ("status", "note", "assignees", "urgency", "priority", "title")


@dataclass(frozen=True)
class UpdateIncidentSettings:
    incident_id: str
    status: str | None
    resolution: str | None
    note: str | None
    assignees: list[str]  # emails or IDs, as given
    urgency: str | None
    priority: str | None
    title: str | None
    reopen: bool
    from_email: str
    run_tag: str | None  # appended to the note, so a retried run finds the note it added


def incident_from_context(inputs: InputSource, common: CommonSettings, name: str) -> str:
    """The incident input, else the run's entity when it is an incident entity."""
    incident_id = inputs.pagerduty_id(name)
    if incident_id is not None:
        return incident_id
    context = common.context
    blueprints = common.mapping.blueprints_of("incidents")
    if context.entity and (context.blueprint in blueprints or None in blueprints):
        return context.entity
    where = (
        f" (the run's entity is {context.blueprint} {context.entity!r})" if context.entity else ""
    )
    raise InputError(
        name,
        f"is required{where}: give a PagerDuty incident ID, or run from an entity of the "
        "blueprint the mapping writes incidents to.",
    )


def users_list(inputs: InputSource, name: str) -> list[str]:
    """Emails or PagerDuty user IDs separated by commas or newlines."""
    value = inputs.text(name)
    if value is None:
        return []
    items = [part.strip() for part in re.split(r"[,\n\r]+", value) if part.strip()]
    for item in items:
        if not (EMAIL_RE.match(item) or PAGERDUTY_ID_RE.match(item)):
            raise InputError(
                name,
                f"contains {item!r}; expected user emails or PagerDuty user IDs such as "
                "PABC123, separated by commas or newlines.",
            )
    return list(dict.fromkeys(items))


def run_tag(common: CommonSettings) -> str | None:
    if common.run_id:
        return f"(Port run {common.run_id})"
    github = common.github
    if github.url:
        return f"(GitHub run {github.url})"
    return None


class UpdateIncident:
    name = "update-incident"

    def parse(self, inputs: InputSource, common: CommonSettings) -> UpdateIncidentSettings:
        common.mapping.resources_for("incidents")  # the entity this action writes
        incident_id = incident_from_context(inputs, common, "incident")
        status = inputs.choice("status", ("acknowledged", "resolved"))
        resolution = inputs.text("resolution", strip=False, max_length=NOTE_MAX_LENGTH)
        if resolution is not None and not resolution.strip():
            resolution = None
        if resolution is not None and status != "resolved":
            raise InputError("resolution", "is only sent when resolving: set status: resolved.")
        note = inputs.text("note", strip=False, max_length=NOTE_MAX_LENGTH - 200)
        if note is not None and not note.strip():
            note = None
        settings = UpdateIncidentSettings(
            incident_id=incident_id,
            status=status,
            resolution=resolution,
            note=note,
            assignees=users_list(inputs, "assignees"),
            urgency=inputs.choice("urgency", ("high", "low")),
            priority=inputs.text("priority", max_length=100),
            title=inputs.text("title", max_length=1024),
            reopen=inputs.boolean("reopen", default=False),
            from_email=inputs.email("from", required=True) or "",
            run_tag=run_tag(common),
        )
        if not any(getattr(settings, name) for name in CHANGE_INPUTS):
            raise InputError(
                "status",
                "nothing to change: give at least one of " + ", ".join(CHANGE_INPUTS) + ".",
            )
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        return settings

    # ------------------------------------------------------------------ what to send
    @staticmethod
    def _assignee_ids(client: PagerDutyClient, settings: UpdateIncidentSettings) -> list[str]:
        return [str(resolve_user(client, v, "assignees")["id"]) for v in settings.assignees]

    @staticmethod
    def changes(
        current: dict[str, Any],
        settings: UpdateIncidentSettings,
        assignee_ids: list[str],
        priority_id: str | None,
    ) -> dict[str, Any]:
        """Only what differs from the incident now: a retried run sends nothing it already did."""
        changes: dict[str, Any] = {}
        status = current.get("status")
        if settings.status and settings.status != status:
            changes["status"] = settings.status
            if settings.resolution:
                changes["resolution"] = settings.resolution
        if settings.urgency and settings.urgency != current.get("urgency"):
            changes["urgency"] = settings.urgency
        if settings.title and settings.title != current.get("title"):
            changes["title"] = settings.title
        if priority_id and priority_id != (current.get("priority") or {}).get("id"):
            changes["priority"] = {"id": priority_id, "type": "priority_reference"}
        assigned = {(a.get("assignee") or {}).get("id") for a in current.get("assignments") or []}
        if assignee_ids and set(assignee_ids) != assigned:
            changes["assignments"] = [
                {"assignee": {"id": user, "type": "user_reference"}} for user in assignee_ids
            ]
        return changes

    @staticmethod
    def _refuse_resolved(
        current: dict[str, Any], settings: UpdateIncidentSettings, changes: dict[str, Any]
    ) -> None:
        """PagerDuty reopens a resolved incident set to acknowledged; only do that on purpose."""
        if current.get("status") != "resolved" or not changes:
            return
        label = f"Incident #{current.get('incident_number')} ({current['id']}) is resolved"
        if changes.get("status") == "acknowledged":
            if not settings.reopen:
                raise ActionError(
                    f"{label}; acknowledging it would reopen it. Nothing was changed. Set "
                    "input 'reopen' to true to reopen it (a Port page may simply be stale)."
                )
            return
        names = ", ".join(
            k
            for k in CHANGE_INPUTS
            if k in changes or (k == "assignees" and "assignments" in changes)
        )
        raise ActionError(
            f"{label}; PagerDuty changes no {names} of a resolved incident. Nothing was "
            "changed. Reopen it first (status: acknowledged, reopen: true), or only add a note."
        )

    # ------------------------------------------------------------------ run
    def run(self, settings: UpdateIncidentSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        client = runtime.pagerduty()
        reporter.start(f"Updating PagerDuty incident {settings.incident_id}.")
        includes = runtime.common.mapping.includes("incidents")
        current = self._read(client, settings.incident_id, includes)
        assignee_ids = self._assignee_ids(client, settings)
        priority_id = resolve_priority(client, settings.priority) if settings.priority else None
        changes = self.changes(current, settings, assignee_ids, priority_id)
        self._refuse_resolved(current, settings, changes)
        done: list[str] = []
        if changes:
            try:
                client.update_incident(current["id"], changes, settings.from_email)
            except PagerDutyError as exc:
                # A PUT replayed after a lost answer meets its own effect ("Incident Already
                # Resolved"): when the incident now has every change, the update is done.
                if exc.status != 400 or self.changes(
                    client.get_incident(current["id"]), settings, assignee_ids, priority_id
                ):
                    raise ActionError(self._explain(exc, settings)) from exc
            done.append(
                ", ".join(f"{k} {self._show(v)}" for k, v in changes.items() if k != "resolution")
            )
            reporter.progress(f"Updated incident #{current.get('incident_number')}: {done[-1]}.")
        elif (
            settings.status
            or settings.urgency
            or settings.title
            or settings.priority
            or settings.assignees
        ):
            reporter.progress(
                f"Incident #{current.get('incident_number')} is already "
                f"{current.get('status')} with the requested values; nothing to change."
            )
        added = False
        if settings.note:
            added = self._add_note(runtime, current["id"], settings)
            done.append("note added" if added else "note already there")
        # Read it again only when this run changed it; an idempotent retry needs no second read.
        changed = bool(changes) or added
        incident = client.get_incident(current["id"], include=includes) if changed else current
        number = incident.get("incident_number")
        record_incident(
            runtime,
            incident,
            heading="Updated PagerDuty incident" if done else "PagerDuty incident unchanged",
            outputs={"status": incident.get("status")},
            status_label=f"Incident #{number}",
        )
        reporter.progress("Done.")
        reporter.succeed(f"Incident #{number} {incident.get('status')}")

    @staticmethod
    def _show(value: Any) -> str:
        if isinstance(value, list):
            return "→ " + ", ".join(str((v.get("assignee") or {}).get("id")) for v in value)
        if isinstance(value, dict):
            return f"→ {value.get('id')}"
        return f"→ {value}"

    @staticmethod
    def _read(
        client: PagerDutyClient, incident_id: str, includes: tuple[str, ...]
    ) -> dict[str, Any]:
        try:
            return client.get_incident(incident_id, include=includes)
        except PagerDutyError as exc:
            if exc.status == 404:
                raise ActionError(
                    f"Input 'incident': incident {incident_id} does not exist in PagerDuty "
                    "(check the ID and that pagerduty_api_url is your account's region)."
                ) from exc
            raise

    @staticmethod
    def note_content(settings: UpdateIncidentSettings) -> str:
        assert settings.note is not None
        note = settings.note.rstrip()
        return f"{note}\n\n{settings.run_tag}" if settings.run_tag else note

    def _add_note(
        self, runtime: Runtime, incident_id: str, settings: UpdateIncidentSettings
    ) -> bool:
        """Add the note unless this run (or, without a run id, anyone) already added it."""
        content = self.note_content(settings)
        path = f"/incidents/{quote(incident_id, safe='')}/notes"
        client = runtime.pagerduty()

        def find() -> dict[str, Any] | None:
            notes: list[dict[str, Any]] = (client.request("GET", path) or {}).get("notes") or []
            return next((n for n in notes if n.get("content") == content), None)

        def create(once: PagerDutyClient) -> dict[str, Any]:
            body = {"note": {"content": content}}
            note: dict[str, Any] = once.request(
                "POST", path, body=body, from_email=settings.from_email
            )["note"]
            return note

        _, adopted = create_once(runtime, f"PagerDuty POST {path}", find, create)
        runtime.reporter.progress(
            "The note was already on the incident; not adding it twice."
            if adopted
            else "Added the note to the incident."
        )
        return not adopted

    @staticmethod
    def _explain(exc: PagerDutyError, settings: UpdateIncidentSettings) -> str:
        text = " ".join([exc.reason, *exc.details]).lower()
        if "requester" in text or "from" in text:
            return (
                f"{exc} — check that 'from' ({settings.from_email}) is the email address of a "
                "user in this PagerDuty account."
            )
        return str(exc)


OPERATION = UpdateIncident()
