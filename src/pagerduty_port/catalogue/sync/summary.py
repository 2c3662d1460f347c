"""The job summary and the `summary` output of a sync: counts per kind, failures with examples,
and what happened to stale entities."""

from __future__ import annotations

import json

from ...markdown import md_cell
from .counts import COLUMNS, MAX_EXAMPLES
from .run import SyncOutcome, SyncSettings


def summary_json(outcome: SyncOutcome) -> str:
    """The `summary` output: {kind: {read, selected, created, updated, unchanged, failed,
    deleted}}."""
    return json.dumps(outcome.counts.as_dict(), sort_keys=True, separators=(",", ":"))


def summary_markdown(outcome: SyncOutcome, settings: SyncSettings) -> str:
    counts = outcome.counts
    heading = "PagerDuty sync (dry run: nothing written)" if settings.dry_run else "PagerDuty sync"
    lines = [f"### {heading}", ""]
    lines.append(
        f"Mapping: {md_cell(settings.mapping_source)}. "
        f"{outcome.seconds:,.1f}s, {sum(outcome.reads.list_requests.values()):,} "
        f"PagerDuty list requests, {outcome.reads.enrichment_requests:,} enrichment "
        f"requests, {outcome.port_writes:,} Port bulk writes."
    )
    would = {"created": "would create", "updated": "would update", "deleted": "would delete"}
    headers = [would.get(c, c) if settings.dry_run else c for c in COLUMNS]
    lines += ["", "| kind | " + " | ".join(headers) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for kind, row in counts.as_dict().items():
        flag = " (incomplete read)" if kind in counts.read_failed else ""
        cells = " | ".join(f"{row[c]:,}" for c in COLUMNS)
        lines.append(f"| {md_cell(kind)}{flag} | {cells} |")
    if counts.failures:
        lines += [
            "",
            "#### Failures",
            "",
            "| kind | what failed | count | example |",
            "|---|---|---:|---|",
        ]
        for (kind, what), (count, example) in list(counts.failures.items())[:MAX_EXAMPLES]:
            lines.append(f"| {md_cell(kind)} | {md_cell(what)} | {count:,} | {md_cell(example)} |")
        hidden = len(counts.failures) - MAX_EXAMPLES
        if hidden > 0:
            lines.append(f"\n… and {hidden} more sorts of failure (see the log).")
    if settings.delete_stale:
        lines += ["", "#### Stale entities", ""]
        for decision in outcome.decisions:
            if decision.refused:
                verb = "a real run would refuse to delete" if settings.dry_run else "refused"
                text = f"**{verb}** (the job fails): {decision.refused}"
            elif decision.stale:
                verb = "would delete" if settings.dry_run else "deleted"
                text = f"{verb} {len(decision.stale):,}"
            else:
                text = "none"
            lines.append(f"- `{md_cell(decision.blueprint)}`: {md_cell(text)}")
    if outcome.blueprints_created:
        verb = "Would create" if settings.dry_run else "Created"
        lines += ["", f"{verb} blueprints: {', '.join(outcome.blueprints_created)}."]
    return "\n".join(lines) + "\n"


def refused_deletions(outcome: SyncOutcome, settings: SyncSettings) -> list[str]:
    """One line per blueprint whose stale entities were kept, with the counts and threshold."""
    verb = "a real run would refuse to delete" if settings.dry_run else "deletion refused"
    return [f"{d.blueprint}: {verb}: {d.refused}" for d in outcome.decisions if d.refused]


def failure_message(outcome: SyncOutcome, settings: SyncSettings) -> str:
    """One line for ::error and the Port run: what failed, with the first failures, and every
    refused deletion (a refused deletion fails the job: on a schedule nobody reads warnings)."""
    counts = outcome.counts
    sentences = []
    if counts.any_failure:
        parts = []
        for (kind, what), (count, example) in list(counts.failures.items())[:3]:
            parts.append(f"{kind}: {what} ({count:,}, e.g. {example})")
        total = counts.totals()["failed"]
        incomplete = ", ".join(sorted(counts.read_failed))
        head = f"Sync finished with failures: {total:,} items failed"
        if incomplete:
            head += f"; incomplete reads: {incomplete}"
        sentences.append(head + ". " + " | ".join(parts))
    refused = refused_deletions(outcome, settings)
    if refused:
        dry = " (dry run)" if settings.dry_run else ""
        sentences.append(f"Stale entities kept{dry}: " + " | ".join(refused) + ".")
    return " ".join(sentences)
