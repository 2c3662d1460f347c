"""sync: a one-shot sync of PagerDuty into Port's catalogue, driven by a mapping file in Port
Ocean's format kept in the repository."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from ..errors import ActionError, InputError
from ..inputs import Inputs
from ..settings import CommonSettings
from ..sync.mapping import KINDS, MappingConfig, parse_mapping
from ..sync.reader import parse_time
from ..sync.run import SyncSettings, run_sync
from ..sync.summary import failure_message, summary_json, summary_markdown
from .base import Runtime

BLUEPRINT_ID_RE = re.compile(r"^[A-Za-z0-9@_.+:\\/=-]{1,1000}$")
_RELATIVE_RE = re.compile(r"^(\d{1,5})\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def default_mapping_text() -> str:
    return (resources.files("pagerduty_port") / "mappings" / "default.yaml").read_text("utf-8")


def _split(value: str | None) -> list[str]:
    return [p.strip() for p in re.split(r"[,\s]+", value or "") if p.strip()]


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # inline YAML is rarely a valid file name
        return False


def read_mapping(inputs: Inputs, workspace: str) -> tuple[MappingConfig, str]:
    """`mapping`: empty for the built-in mapping, inline YAML, or a path in the workspace."""
    value = inputs.text("mapping", strip=False)
    if value is None or not value.strip():
        return parse_mapping(default_mapping_text()), "built-in default"
    path = Path(value.strip())
    if not path.is_absolute():
        path = Path(workspace) / path
    looks_inline = "\n" in value.strip() or ": " in value or value.lstrip().startswith("{")
    if looks_inline and not _is_file(path):
        return parse_mapping(value), "inline"
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(
            "mapping",
            f"file {value.strip()!r} was not found in the workspace "
            f"({workspace}); give a path or inline YAML.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("mapping", f"file {value.strip()!r} cannot be read: {exc}") from None
    return parse_mapping(text), value.strip()


def read_time(inputs: Inputs, name: str, now: datetime) -> datetime | None:
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

    def parse(self, inputs: Inputs, common: CommonSettings) -> SyncSettings:
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        workspace = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
        mapping, source = read_mapping(inputs, workspace)
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
            mapping_source=source,
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
        if outcome.counts.any_failure:
            raise ActionError(failure_message(outcome))
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
