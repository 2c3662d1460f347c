"""One sync run: read each resource's pages from PagerDuty, map each page with one jq call, write
changed entities to Port while reading goes on, wait for a resource's writes to land before the
next resource starts (in mapping order, so relations point at entities Port holds), then delete
stale entities only if every step of the run was complete."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ...clients.pagerduty import PagerDutyClient
from ...clients.port import DELETE_MAX_ENTITIES, PortClient
from ...errors import ActionError, PagerDutyError
from ..mapping import MappingConfig
from . import blueprints as default_blueprints
from .counts import SyncCounts
from .fingerprint import Keyset
from .prefetch import prefetch
from .progress import Progress
from .queries import ReadStats
from .reader import PagerDutyReader
from .stale import StaleDecision, decide
from .writer import CatalogueWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncSettings:
    """Everything `sync` needs, validated before any request."""

    mapping: MappingConfig
    mapping_source: str
    dry_run: bool = False
    delete_stale: tuple[str, ...] = ()
    deletion_threshold: float = 0.5
    create_blueprints: bool = False
    incidents_since: datetime | None = None
    incidents_until: datetime | None = None
    port_workers: int = 8


@dataclass
class SyncOutcome:
    counts: SyncCounts
    reads: ReadStats
    decisions: list[StaleDecision] = field(default_factory=list)
    port_writes: int = 0
    blueprints_created: list[str] = field(default_factory=list)
    seconds: float = 0.0


def keysets_by_blueprint(mapping: MappingConfig) -> tuple[dict[str, list[Keyset]], list[Keyset]]:
    """Keysets of the resources writing to each constant blueprint, and of the dynamic ones."""
    by_blueprint: dict[str, list[Keyset]] = {}
    dynamic: list[Keyset] = []
    for resource in mapping.resources:
        keys = Keyset.of(resource.mapping)
        if resource.blueprint is None:
            dynamic.append(keys)
        else:
            by_blueprint.setdefault(resource.blueprint, [])
            if keys not in by_blueprint[resource.blueprint]:
                by_blueprint[resource.blueprint].append(keys)
    return by_blueprint, dynamic


def incomplete_reads(kinds: list[str], counts: SyncCounts, reads: ReadStats) -> dict[str, str]:
    """Kinds that read fewer items than PagerDuty said their lists hold, with the counts.

    A reader that stopped early without an error (a short page, `more: false` too soon) looks
    like a complete read with fewer items; deleting after it would wipe what was not read.
    """
    found: dict[str, str] = {}
    for kind in kinds:
        expected = reads.expected.get(kind)
        read = counts.kind(kind).read
        if kind not in counts.read_failed and expected is not None and read < expected:
            found[kind] = f"read {read:,} of the {expected:,} {kind} PagerDuty reported"
    return found


def _blockers(
    blueprint: str, mapping: MappingConfig, counts: SyncCounts, incomplete: dict[str, str]
) -> list[str]:
    """Why no entity of `blueprint` may be deleted: the reads feeding it first, then any failure."""
    feeding = dict.fromkeys(
        r.kind for r in mapping.resources if r.blueprint is None or r.blueprint == blueprint
    )
    blockers = [
        f"the {kind} read is incomplete ({incomplete[kind]})"
        for kind in feeding
        if kind in incomplete
    ]
    blockers += [
        f"reading {kind} from PagerDuty failed"
        for kind in feeding
        if kind in counts.read_failed and kind not in incomplete
    ]
    if counts.any_failure:
        blockers.append("this run had read, mapping or write failures")
    return blockers


def run_sync(
    settings: SyncSettings,
    *,
    pagerduty: PagerDutyClient,
    port: PortClient | None,
    say: Callable[[str], None],
    warn: Callable[[str], None],
    run_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SyncOutcome:
    started = clock()
    mapping = settings.mapping
    counts = SyncCounts()
    reader = PagerDutyReader(
        pagerduty,
        incidents_since=settings.incidents_since,
        incidents_until=settings.incidents_until,
        warn=warn,
    )
    outcome = SyncOutcome(counts=counts, reads=reader.stats)
    for message in mapping.warnings:
        warn(f"mapping: {message}")
        counts.warnings.append(message)

    constant = [r.blueprint for r in mapping.resources if r.blueprint is not None]
    if settings.create_blueprints and port is not None:
        outcome.blueprints_created = default_blueprints.create_missing(
            port, dict.fromkeys(constant), dry_run=settings.dry_run, say=say
        )

    keysets, dynamic = keysets_by_blueprint(mapping)
    writer = CatalogueWriter(
        port,
        counts,
        keysets=keysets,
        extra_keysets=dynamic,
        dry_run=settings.dry_run,
        run_id=run_id,
        create_missing_related=mapping.create_missing_related_entities,
        workers=settings.port_workers,
    )
    progress = Progress(say, reader.stats, clock, dry_run=settings.dry_run)
    try:
        for resource in mapping.resources:
            kind = resource.kind
            keys = Keyset.of(resource.mapping)
            say(f"Reading {kind} (resources[{resource.index}]).")
            counts.kind(kind)
            try:
                for page in prefetch(reader.pages(resource)):
                    counts.add(kind, read=len(page))
                    result = resource.map_page(page)
                    for error in result.errors:
                        counts.add(kind, failed=1)
                        counts.fail(
                            kind, f"jq error in {error.field}: {error.message}", error.example
                        )
                    for blueprint, entity in result.entities:
                        writer.write(kind, blueprint, entity, keys)
                    progress.tick(kind, counts)
            except PagerDutyError as exc:
                if exc.status == 401 or exc.unanswered:
                    # The token or the URL, not this kind: every other read would fail alike,
                    # so stop now and let the error name the input behind it.
                    raise
                counts.read_failed.add(kind)
                counts.fail(
                    kind,
                    f"reading PagerDuty failed, the read is incomplete: {exc}",
                    f"resources[{resource.index}]",
                )
                warn(f"{kind}: reading PagerDuty failed; continuing with the other kinds: {exc}")
            # The next resource may relate to these entities: they must be in Port first.
            writer.flush()
            progress.close(kind, counts, dry_run=settings.dry_run)
    finally:
        writer.finish()
    outcome.port_writes = writer.requests
    incomplete = incomplete_reads(mapping.kinds, counts, reader.stats)
    for kind, reason in incomplete.items():
        counts.read_failed.add(kind)
        counts.fail(kind, f"the read is incomplete: {reason}; run the sync again", f"GET /{kind}")
        warn(f"{kind}: the read is incomplete ({reason}); nothing is deleted for it.")

    kind_of = {r.blueprint: r.kind for r in mapping.resources if r.blueprint is not None}
    for blueprint in settings.delete_stale:
        outcome.decisions.append(
            _delete_stale(
                blueprint,
                kind=kind_of.get(blueprint, blueprint),
                settings=settings,
                writer=writer,
                port=port,
                counts=counts,
                say=say,
                warn=warn,
                run_id=run_id,
                delete_dependents=mapping.delete_dependent_entities,
                blockers=_blockers(blueprint, mapping, counts, incomplete),
            )
        )
    outcome.seconds = clock() - started
    return outcome


def _delete_stale(
    blueprint: str,
    *,
    kind: str,
    settings: SyncSettings,
    writer: CatalogueWriter,
    port: PortClient | None,
    counts: SyncCounts,
    say: Callable[[str], None],
    warn: Callable[[str], None],
    run_id: str | None,
    delete_dependents: bool,
    blockers: list[str],
) -> StaleDecision:
    state = writer.state(blueprint)
    decision = decide(
        blueprint,
        state.existing,
        state.produced,
        threshold=settings.deletion_threshold,
        blockers=blockers,
    )
    if decision.refused:
        warn(f"{blueprint}: deletion refused: {decision.refused}.")
        return decision
    for start in range(0, len(decision.stale), DELETE_MAX_ENTITIES):
        chunk = decision.stale[start : start + DELETE_MAX_ENTITIES]
        if settings.dry_run or port is None:
            for identifier in chunk:
                say(f"Would delete {blueprint}/{identifier}")
            counts.add(kind, deleted=len(chunk))
            continue
        try:
            port.bulk_delete_entities(
                blueprint, chunk, run_id=run_id, delete_dependents=delete_dependents
            )
        except ActionError as exc:
            counts.add(kind, failed=len(chunk))
            counts.fail(
                kind,
                f"deleting stale entities failed: {exc}",
                f"{blueprint}/{chunk[0]}",
                count=len(chunk),
            )
            break
        counts.add(kind, deleted=len(chunk))
    if decision.stale:
        verb = "Would delete" if settings.dry_run else "Deleted"
        say(f"{blueprint}: {verb} {len(decision.stale)} stale entities.")
    return decision
