"""Which Port entities a sync may delete: a deletion after a partial read would wipe the part of
the catalogue that was not read, so every rule here errs towards keeping entities. A refusal
carries the counts and the threshold, because it fails the job and the error must say why."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StaleDecision:
    blueprint: str
    stale: list[str] = field(default_factory=list)  # what may be deleted (empty when refused)
    refused: str | None = None  # why nothing is deleted, when something was stale


def decide(
    blueprint: str,
    existing: Collection[str] | None,
    produced: Collection[str],
    *,
    threshold: float,
    blockers: Iterable[str] = (),
) -> StaleDecision:
    """Entities of `blueprint` in Port (`existing`) that a complete read no longer produced.

    `blockers` are reasons the read or the writes were not complete (any of them refuses every
    deletion); more than `threshold` of the blueprint's entities is refused as well.
    """
    if existing is None:
        return StaleDecision(blueprint, refused="its entities could not be read from Port")
    stale = sorted(set(existing) - set(produced))
    if not stale:
        return StaleDecision(blueprint)
    share = f"{len(stale):,} of {len(existing):,} entities ({len(stale) / len(existing):.0%})"
    reasons = list(blockers)
    if reasons:
        return StaleDecision(
            blueprint,
            refused=f"{share} look stale, but nothing is deleted because " + "; ".join(reasons),
        )
    if len(stale) > threshold * len(existing):
        return StaleDecision(
            blueprint,
            refused=(
                f"{share} are stale, more than deletion_threshold {threshold:g} "
                f"({threshold:.0%}) allows; nothing deleted"
            ),
        )
    return StaleDecision(blueprint, stale=stale)
