"""What a sync did, per kind, plus the failures to show (with examples) in the log and summary."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

COLUMNS = ("read", "selected", "created", "updated", "unchanged", "failed", "deleted")
MAX_EXAMPLES = 20  # failures listed one by one; the rest are counted


@dataclass
class KindCounts:
    read: int = 0
    selected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    deleted: int = 0


@dataclass
class SyncCounts:
    """Thread-safe counters: Port writes finish on worker threads."""

    kinds: dict[str, KindCounts] = field(default_factory=dict)
    # (kind, what failed) -> (count, first example)
    failures: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    read_failed: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def kind(self, kind: str) -> KindCounts:
        with self._lock:
            return self.kinds.setdefault(kind, KindCounts())

    def add(self, kind: str, **deltas: int) -> None:
        with self._lock:
            counts = self.kinds.setdefault(kind, KindCounts())
            for name, delta in deltas.items():
                setattr(counts, name, getattr(counts, name) + delta)

    def fail(self, kind: str, what: str, example: str, count: int = 1) -> None:
        """Record `count` failures of one sort (e.g. a jq field, a Port error) with an example."""
        with self._lock:
            entry = self.failures.setdefault((kind, what), [0, example])
            entry[0] += count

    @property
    def any_failure(self) -> bool:
        with self._lock:
            return bool(self.failures or self.read_failed) or any(
                c.failed for c in self.kinds.values()
            )

    def as_dict(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {kind: asdict(counts) for kind, counts in self.kinds.items()}

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.as_dict().values():
            total.update(counts)
        return total
