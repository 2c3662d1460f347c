"""Writing mapped entities to Port: bulk requests of at most 20 entities and 1 MiB, sent by a few
worker threads while PagerDuty is still being read, skipping entities Port already holds as
mapped. Per-entity errors of a 207 are counted against the entity's kind, by identifier.

An entity counts as created or updated only once Port has accepted it. `flush` sends the open
batches and waits for every answer: the sync calls it after each resource, because the next
resource's entities may relate to these and Port refuses a relation to an entity it does not
hold yet (unless it may create it, `createMissingRelatedEntities`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ...clients.port import BULK_MAX_BYTES, BULK_MAX_ENTITIES, PortClient
from ...errors import ActionError, PortError
from .counts import SyncCounts
from .fingerprint import Keyset, digest

log = logging.getLogger(__name__)

_BODY_MARGIN = 1024  # room for `{"entities": [...]}` and separators
MAX_CONSECUTIVE_FAILURES = 3  # whole bulk requests failing in a row: stop writing


@dataclass
class _Pending:
    kind: str
    action: str  # "created" or "updated"
    entity: dict[str, Any]
    size: int


@dataclass
class BlueprintState:
    """What Port holds for one blueprint, what this run produced for it, and the open batch."""

    keysets: list[Keyset]
    existing: dict[str, tuple[bytes, ...]] | None = None  # None until loaded
    missing: str | None = None  # why the blueprint cannot be written
    produced: dict[str, bytes] = field(default_factory=dict)
    batch: list[_Pending] = field(default_factory=list)
    batch_bytes: int = 0


class CatalogueWriter:
    """Plans and sends the writes of one sync run."""

    def __init__(
        self,
        port: PortClient | None,
        counts: SyncCounts,
        *,
        keysets: dict[str, list[Keyset]],
        extra_keysets: list[Keyset] | None = None,
        dry_run: bool = False,
        run_id: str | None = None,
        create_missing_related: bool = True,
        workers: int = 8,
        planned: Callable[[str], None] = log.info,
    ) -> None:
        self.port = port
        self.counts = counts
        self.dry_run = dry_run
        self.run_id = run_id
        self.create_missing_related = create_missing_related
        self.planned = planned
        self._keysets = keysets
        self._extra_keysets = list(extra_keysets or [])
        self.blueprints: dict[str, BlueprintState] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="port-write")
        self._slots = threading.BoundedSemaphore(workers * 2)
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()
        self._consecutive_failures = 0
        self.broken: str | None = None
        self.requests = 0

    # Port's current content ---------------------------------------------------------------
    def state(self, blueprint: str) -> BlueprintState:
        """The blueprint's state, reading what Port holds the first time it is needed."""
        state = self.blueprints.get(blueprint)
        if state is None:
            keysets = list(dict.fromkeys([*self._keysets.get(blueprint, []), *self._extra_keysets]))
            state = BlueprintState(keysets=keysets)
            self.blueprints[blueprint] = state
            self._load(blueprint, state)
        return state

    def _load(self, blueprint: str, state: BlueprintState) -> None:
        state.existing = {}
        if self.port is None:
            return
        try:
            for entity in self.port.search_entities(blueprint):
                identifier = entity.get("identifier")
                if isinstance(identifier, str):
                    state.existing[identifier] = tuple(digest(entity, k) for k in state.keysets)
        except PortError as exc:
            state.existing = None
            if exc.status == 404:
                state.missing = (
                    f"blueprint '{blueprint}' does not exist in Port (create it, or "
                    "set create_blueprints: true)"
                )
            else:
                state.missing = f"could not read the '{blueprint}' entities from Port: {exc}"

    # Writing ------------------------------------------------------------------------------
    def write(self, kind: str, blueprint: str, entity: dict[str, Any], keys: Keyset) -> None:
        """Count the entity as selected and write it unless Port already holds it as mapped."""
        state = self.state(blueprint)
        identifier = entity["identifier"]
        self.counts.add(kind, selected=1)
        if state.missing is not None:
            self.counts.add(kind, failed=1)
            self.counts.fail(kind, state.missing, identifier)
            return
        if keys not in state.keysets:
            state.keysets.append(keys)  # a blueprint named dynamically by this resource
        mine = digest(entity, keys)
        if state.produced.get(identifier) == mine:
            return  # produced twice in this run (overlapping reads): already handled
        state.produced[identifier] = mine
        assert state.existing is not None
        held = state.existing.get(identifier)
        if held is not None and held[state.keysets.index(keys)] == mine:
            self.counts.add(kind, unchanged=1)
            return
        action = "created" if held is None else "updated"
        if self.dry_run:
            self.counts.add(kind, **{action: 1})
            self.planned(f"Would {action[:-1]} {blueprint}/{identifier}")
            return
        if self.broken is not None:
            self.counts.add(kind, failed=1)
            self.counts.fail(kind, f"not written: {self.broken}", identifier)
            return
        size = len(json.dumps(entity, separators=(",", ":"), default=str).encode()) + 1
        if size + _BODY_MARGIN > BULK_MAX_BYTES:
            self.counts.add(kind, failed=1)
            self.counts.fail(kind, "entity larger than Port's 1 MiB request limit", identifier)
            return
        if state.batch and state.batch_bytes + size + _BODY_MARGIN > BULK_MAX_BYTES:
            self._send(blueprint, state)
        state.batch.append(_Pending(kind, action, entity, size))
        state.batch_bytes += size
        if len(state.batch) >= BULK_MAX_ENTITIES:
            self._send(blueprint, state)

    def _send(self, blueprint: str, state: BlueprintState) -> None:
        batch, state.batch, state.batch_bytes = state.batch, [], 0
        if not batch:
            return
        self._slots.acquire()
        self._futures.append(self._pool.submit(self._send_batch, blueprint, batch))
        if len(self._futures) > 256:  # forget answered batches, but keep any that crashed
            self._futures = [f for f in self._futures if not f.done() or f.exception()]

    def _send_batch(self, blueprint: str, batch: list[_Pending]) -> None:
        try:
            if self.broken is not None:
                self._fail_batch(batch, f"not written: {self.broken}")
                return
            assert self.port is not None
            with self._lock:
                self.requests += 1
            try:
                result = self.port.bulk_upsert(
                    blueprint,
                    [p.entity for p in batch],
                    run_id=self.run_id,
                    create_missing_related=self.create_missing_related,
                )
            except ActionError as exc:
                with self._lock:
                    self._consecutive_failures += 1
                    if self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
                        self.broken = (
                            f"Port failed {self._consecutive_failures} bulk writes in "
                            f"a row (last: {exc})"
                        )
                self._fail_batch(batch, f"Port refused the bulk write: {exc}")
                return
            with self._lock:
                self._consecutive_failures = 0
            for pending in batch:
                identifier = pending.entity["identifier"]
                error = result.failed.get(str(identifier))
                if error is None:
                    self.counts.add(pending.kind, **{pending.action: 1})
                else:
                    self.counts.add(pending.kind, failed=1)
                    self.counts.fail(
                        pending.kind,
                        f"Port refused the entity: {error}",
                        f"{blueprint}/{identifier}",
                    )
        finally:
            self._slots.release()

    def _fail_batch(self, batch: list[_Pending], reason: str) -> None:
        for pending in batch:
            self.counts.add(pending.kind, failed=1)
        self.counts.fail(batch[0].kind, reason, batch[0].entity["identifier"], count=len(batch))

    def flush(self) -> None:
        """Send every open batch and wait until Port has answered each write sent so far."""
        for blueprint, state in self.blueprints.items():
            self._send(blueprint, state)
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()

    def finish(self) -> None:
        """Flush, then stop the worker threads."""
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)
