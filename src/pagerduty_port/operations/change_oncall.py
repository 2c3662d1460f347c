"""change-oncall: put a user on call on a schedule for a window (a schedule override), once
per window even when retried, and write the schedule and the on-call entry to the catalogue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from ..clients.pagerduty import PagerDutyClient
from ..errors import ActionError, InputError
from ..formats import EMAIL_RE, PAGERDUTY_ID_RE
from ..markdown import md_cell, table
from .common import CommonSettings
from .durations import iso, parse_duration, parse_instant
from .lookup import get_object, resolve_user
from .protocols import InputSource
from .runtime import Runtime
from .write_once import create_once

# PagerDuty documents no limit on an override's length; this bound (a guess, listed in the
# README) keeps a typo such as `end: 400d` from rewriting a quarter of a rota.
MAX_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class ChangeOncallSettings:
    schedule_id: str
    user: str  # email or ID, as given
    start: datetime
    end: datetime
    # `start: now`: a retry computes another "now", so an override of the same user and
    # length that is in effect now is the one an earlier attempt made.
    start_is_now: bool = False


def _utcnow() -> datetime:
    return datetime.now(UTC)


def parse_end(value: str, start: datetime, now: datetime) -> datetime:
    if value[:1].isdigit() and not any(c in value for c in "-:T"):
        return start + parse_duration("end", value)
    return parse_instant("end", value, now)


@dataclass
class ChangeOncall:
    name: str = "change-oncall"
    clock: Callable[[], datetime] = field(default=_utcnow)  # `now`, injectable in tests

    def parse(self, inputs: InputSource, common: CommonSettings) -> ChangeOncallSettings:
        common.mapping.resources_for("schedules")  # the entity this action writes
        schedule = inputs.pagerduty_id("schedule")
        context = common.context
        blueprints = common.mapping.blueprints_of("schedules")
        if schedule is None and context.entity and context.blueprint in blueprints:
            schedule = context.entity
        if schedule is None:
            raise InputError(
                "schedule",
                "is required: give a PagerDuty schedule ID, or run from an entity of the "
                "blueprint the mapping writes schedules to.",
            )
        user = inputs.required("user")
        if not (EMAIL_RE.match(user) or PAGERDUTY_ID_RE.match(user)):
            raise InputError("user", f"got {user!r}; expected an email or a PagerDuty user ID.")
        now = self.clock()
        given_start = inputs.text("start") or "now"
        start = parse_instant("start", given_start, now)
        end = parse_end(inputs.required("end"), start, now)
        if end <= start:
            raise InputError("end", f"is {iso(end)}, not after start ({iso(start)}).")
        if end - start > MAX_WINDOW:
            raise InputError(
                "end",
                f"makes a {end - start} override; at most {MAX_WINDOW.days} days are allowed.",
            )
        inputs.email("from", required=True)  # who asked; POST overrides takes no From header
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        return ChangeOncallSettings(
            schedule, user, start, end, start_is_now=given_start.lower() == "now"
        )

    def run(self, settings: ChangeOncallSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        client = runtime.pagerduty()
        window = f"{iso(settings.start)} to {iso(settings.end)}"
        reporter.start(f"Changing who is on call on schedule {settings.schedule_id}, {window}.")
        user = resolve_user(client, settings.user, "user")
        schedule = get_object(client, "schedules", "schedule", settings.schedule_id)
        if schedule is None:
            raise ActionError(
                f"Input 'schedule': schedule {settings.schedule_id} does not exist in PagerDuty."
            )
        path = f"/schedules/{quote(schedule['id'], safe='')}/overrides"

        def find() -> dict[str, Any] | None:
            length = settings.end - settings.start
            since = settings.start - length if settings.start_is_now else settings.start
            params = [("since", iso(since)), ("until", iso(settings.end))]
            overrides: list[dict[str, Any]] = (
                client.request("GET", path, params=params) or {}
            ).get("overrides") or []
            for override in overrides:
                if (override.get("user") or {}).get("id") != user["id"]:
                    continue
                start = parse_instant("start", str(override.get("start")), settings.start)
                end = parse_instant("end", str(override.get("end")), settings.end)
                same = (start, end) == (settings.start, settings.end)
                in_effect_now = (
                    settings.start_is_now
                    and end - start == length
                    and start <= settings.start < end
                )
                if same or in_effect_now:
                    return override
            return None

        def create(once: PagerDutyClient) -> dict[str, Any]:
            body = {
                "overrides": [
                    {
                        "start": iso(settings.start),
                        "end": iso(settings.end),
                        "user": {"id": user["id"], "type": "user_reference"},
                        "time_zone": "UTC",
                    }
                ]
            }
            [result] = once.request("POST", path, body=body)
            if result.get("status") not in (None, 200, 201):
                raise ActionError(
                    f"PagerDuty refused the override ({'; '.join(result.get('errors') or [])}); "
                    "check inputs 'user', 'start' and 'end'."
                )
            return dict(result["override"])

        override, adopted = create_once(runtime, f"PagerDuty POST {path}", find, create)
        settings = replace(
            settings,
            start=parse_instant("start", str(override.get("start")), settings.start),
            end=parse_instant("end", str(override.get("end")), settings.end),
        )
        window = f"{iso(settings.start)} to {iso(settings.end)}"
        reporter.progress(
            f"{'Found the same override already' if adopted else 'Created the override'}: "
            f"{user.get('name')} on call on {schedule.get('name')}, {window}."
        )
        reporter.set_outputs(
            {
                "override_id": override.get("id"),
                "schedule_id": schedule["id"],
                "user_id": user["id"],
            }
        )
        written = self._catalogue(runtime, client, schedule, user, settings)
        rows: list[tuple[str, Any]] = [
            ("Schedule", f"{schedule.get('name')} ({schedule['id']})"),
            ("On call", f"{user.get('name')} ({user.get('email')})"),
            ("From", iso(settings.start)),
            ("Until", iso(settings.end)),
            ("Override", override.get("id")),
            ("Catalogue entities", ", ".join(written) or "none"),
        ]
        heading = "Adopted existing override on" if adopted else "Changed on-call on"
        reporter.summary(f"### {heading} {md_cell(schedule.get('name'))}\n\n{table(rows)}\n")
        reporter.progress("Done.")
        reporter.succeed(f"{user.get('name')} on call on {schedule.get('name')}")

    @staticmethod
    def _catalogue(
        runtime: Runtime,
        client: PagerDutyClient,
        schedule: dict[str, Any],
        user: dict[str, Any],
        settings: ChangeOncallSettings,
    ) -> list[str]:
        """The schedule (enriched as the sync enriches it) and the window's on-call."""
        entities = runtime.map_object("schedules", schedule)
        if "oncalls" in runtime.common.mapping.kinds:
            params = [
                ("schedule_ids[]", schedule["id"]),
                ("user_ids[]", user["id"]),
                ("since", iso(settings.start)),
                ("until", iso(settings.end)),
                *(("include[]", i) for i in runtime.common.mapping.includes("oncalls")),
            ]
            shifts = [
                oncall
                for page in client.iter_pages("/oncalls", "oncalls", params)
                for oncall in page
                if oncall.get("start")
                and parse_instant("start", oncall["start"], settings.start) == settings.start
            ]
            for oncall in shifts:
                entities += runtime.map_object("oncalls", oncall)
            if not shifts:
                runtime.reporter.progress(
                    "PagerDuty lists no on-call shift for this override yet (it lists shifts "
                    "up to 90 days ahead); a later sync writes its on-call entity."
                )
        runtime.write_mapped(entities)
        return [f"{b}/{e['identifier']}" for b, e in entities]


OPERATION = ChangeOncall()
