"""A sync's progress lines: counts, rate and time left while it reads, one closing line per
kind once its writes have landed."""

from __future__ import annotations

from collections.abc import Callable

from .counts import SyncCounts
from .queries import ReadStats

PROGRESS_EVERY = 15.0  # seconds between progress lines


class Progress:
    """A line every PROGRESS_EVERY seconds: counts, rate and, when PagerDuty said, time left."""

    def __init__(
        self,
        say: Callable[[str], None],
        reads: ReadStats,
        clock: Callable[[], float],
        *,
        dry_run: bool = False,
    ) -> None:
        self.dry_run = dry_run
        self.say = say
        self.reads = reads
        self.clock = clock
        self.started = clock()
        self.last = self.started

    def tick(self, kind: str, counts: SyncCounts, *, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        c = counts.kind(kind)
        elapsed = max(now - self.started, 1e-6)
        rate = c.read / elapsed
        changed = (
            f"would create {c.created:,}, would update {c.updated:,}"
            if self.dry_run
            else f"{c.created + c.updated:,} written"
        )
        line = (
            f"{kind}: {c.read:,} read, {c.selected:,} selected, {changed}, "
            f"{c.unchanged:,} unchanged, {c.failed:,} failed ({rate:,.0f} items/s)"
        )
        expected = self.reads.planned.get(kind, self.reads.expected.get(kind))
        if expected and rate > 0 and expected > c.read:
            line += f", about {(expected - c.read) / rate:,.0f}s left"
        self.say(line)

    def close(self, kind: str, counts: SyncCounts, *, dry_run: bool) -> None:
        """The kind's closing line, once its writes have landed: what Port accepted."""
        c = counts.kind(kind)
        if dry_run:
            writes = f"would create {c.created:,}, would update {c.updated:,}"
        else:
            writes = (
                f"{c.created + c.updated:,} written ({c.created:,} created, {c.updated:,} updated)"
            )
        self.say(
            f"{kind} done: {c.read:,} read, {c.selected:,} selected, {writes}, "
            f"{c.unchanged:,} unchanged, {c.failed:,} failed"
        )
