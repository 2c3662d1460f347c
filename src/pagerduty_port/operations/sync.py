"""sync: a one-shot sync of PagerDuty into Port's catalogue, driven by a mapping file in Port
Ocean's format kept in the repository (read with the other common inputs, see settings)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..catalogue.mapping import KINDS
from ..catalogue.sync.queries import parse_time
from ..catalogue.sync.run import SyncSettings, run_sync
from ..catalogue.sync.summary import failure_message, summary_json, summary_markdown
from ..errors import ActionError, InputError
from .common import CommonSettings
from .protocols import InputSource
from .runtime import Runtime

BLUEPRINT_ID_RE = re.compile(r"^[A-Za-z0-9@_.+:\\/=-]{1,1000}$")
_RELATIVE_RE = re.compile(r"^(\d{1,5})\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in re.split(r"[,\s]+", value or "") if p.strip()]


def read_time(inputs: InputSource, name: str, now: datetime) -> datetime | None:
    """An ISO 8601 date/date-time, or a duration before now such as `90d`, `12h`, `2w`."""
    value = inputs.text(name)
    if value is None:
        return None
    relative = _RELATIVE_RE.match(value.lower())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    moment = parse_time(value)
    if moment is None:
        raise InputError(
            name,
            f"got {value!r}; expected an ISO 8601 date or date-time "
            "(2024-01-31, 2024-01-31T12:00:00Z) or a duration such as 90d.",
        )
    return moment


class Sync:
    name = "sync"

    def parse(self, inputs: InputSource, common: CommonSettings) -> SyncSettings:
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        mapping = common.mapping
        kinds = _split(inputs.text("kinds"))
        for kind in kinds:
            if kind not in KINDS:
                raise InputError(
                    "kinds", f"contains {kind!r}; expected some of: {', '.join(KINDS)}."
                )
            if kind not in mapping.kinds:
                raise InputError(
                    "kinds",
                    f"contains {kind!r}, which the mapping has no "
                    f"resource for (it has: {', '.join(mapping.kinds)}).",
                )
        if kinds:
            mapping = mapping.only(kinds)
        mapping.compile()  # every resource it will map: bad jq fails here, before any request
        dry_run = inputs.boolean("dry_run", default=False)
        if common.port is None and not dry_run:
            raise InputError(
                "port_client_id",
                "is required for sync (with port_client_secret), unless dry_run is true.",
            )
        delete_stale = tuple(dict.fromkeys(_split(inputs.text("delete_stale"))))
        written = {r.blueprint for r in mapping.resources}
        for blueprint in delete_stale:
            if not BLUEPRINT_ID_RE.match(blueprint):
                raise InputError(
                    "delete_stale", f"contains {blueprint!r}, which is not a blueprint identifier."
                )
            if blueprint not in written and None not in written:
                raise InputError(
                    "delete_stale",
                    f"lists {blueprint!r}, but no resource of this run writes to it, so every "
                    f"one of its entities would look stale (this run writes: "
                    f"{', '.join(sorted(b for b in written if b))}).",
                )
        now = datetime.now(UTC)
        since = read_time(inputs, "incidents_since", now)
        until = read_time(inputs, "incidents_until", now)
        if since and until and since >= until:
            raise InputError("incidents_since", "must be earlier than incidents_until.")
        if since and since > now:
            raise InputError("incidents_since", "is in the future.")
        return SyncSettings(
            mapping=mapping,
            mapping_source=mapping.source,
            dry_run=dry_run,
            delete_stale=delete_stale,
            deletion_threshold=inputs.number(
                "deletion_threshold", default=0.5, minimum=0.0, maximum=1.0
            ),
            create_blueprints=inputs.boolean("create_blueprints", default=False),
            incidents_since=since,
            incidents_until=until,
        )

    def run(self, settings: SyncSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        mode = " (dry run)" if settings.dry_run else ""
        reporter.start(f"Syncing PagerDuty {', '.join(settings.mapping.kinds)} into Port{mode}.")
        outcome = run_sync(
            settings,
            pagerduty=runtime.pagerduty(),
            port=runtime.port,
            say=reporter.progress,
            warn=reporter.warning,
            run_id=runtime.reporter.write_run_id,
        )
        reporter.set_outputs({"summary": summary_json(outcome)})
        reporter.summary(summary_markdown(outcome, settings))
        # A refused deletion fails the job, in a dry run too: a dry run predicts the real
        # run's outcome, and stale entities left on a schedule would stay forever unnoticed.
        if outcome.counts.any_failure or any(d.refused for d in outcome.decisions):
            raise ActionError(failure_message(outcome, settings))
        totals = outcome.counts.totals()
        if settings.dry_run:
            label = (
                f"would create {totals['created']:,}, would update {totals['updated']:,}, "
                f"would delete {totals['deleted']:,}"
            )
        else:
            label = (
                f"{totals['created']:,} created, {totals['updated']:,} updated, "
                f"{totals['deleted']:,} deleted"
            )
        reporter.progress(f"Done: {label}, {totals['unchanged']:,} unchanged.")
        reporter.succeed(label)


OPERATION = Sync()
