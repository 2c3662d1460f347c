"""Stale deletion refuses to act on a read that is not known to be complete, and a refused
deletion fails the job. The action runs end to end against the simulators; the short read is a
PagerDuty answer that ends the list early without an error (`more: false`, no items), the way a
misbehaving proxy or a reader bug would."""

from __future__ import annotations

import json

import pytest

from actionrun import ActionResult, run_action
from pagerduty_port_sandbox import Sandbox

INCIDENT = "pagerdutyIncident"
SERVICE = "pagerdutyService"


def sync(sb: Sandbox, **inputs: str) -> ActionResult:
    return run_action("sync", {**sb.action_inputs(), **inputs}, timeout=300)


def in_port(sb: Sandbox, blueprint: str) -> set[str]:
    return {i for (bp, i) in sb.port.entities if bp == blueprint}


def error_text(result: ActionResult) -> str:
    """The one ::error line, with the workflow-command escapes (%25, %0D, %0A) undone."""
    (line,) = result.errors()
    return line.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def deletes(sb: Sandbox) -> list:
    return [r for r in sb.requests.filter(server="port") if r.path.endswith("/entities/delete")]


def seed(sb: Sandbox, kind: str) -> int:
    """About 2.5 pages of `kind`; returns how many PagerDuty holds."""
    if kind == "incidents":
        sb.pagerduty.seed_incidents(249, status=["resolved", "triggered"])
        return len(sb.pagerduty.incidents)
    sb.pagerduty.seed_services(249)
    return len(sb.pagerduty.services)


@pytest.mark.parametrize(("kind", "blueprint"), [("incidents", INCIDENT), ("services", SERVICE)])
def test_a_read_that_silently_stops_after_one_page_deletes_nothing_and_fails(
    sandbox: Sandbox, kind: str, blueprint: str
):
    sb = sandbox
    total = seed(sb, kind)
    first = sync(sb, kinds=kind)
    assert first.returncode == 0, first.stdout[-2000:]
    held = in_port(sb, blueprint)
    assert len(held) == total

    # The second page says the list is over: 100 read, the rest would look stale.
    short = {kind: [], "limit": 100, "offset": 100, "more": False, "total": None}
    sb.inject("pagerduty", "GET", rf"^/{kind}$", 200, body=short, after=1)
    result = sync(sb, kinds=kind, delete_stale=blueprint, deletion_threshold="1")

    assert sb.pending_faults() == []
    assert result.returncode == 1, result.stdout[-2000:]
    assert deletes(sb) == []
    assert in_port(sb, blueprint) == held
    error = error_text(result)
    assert f"read 100 of the {total} {kind} PagerDuty reported" in error
    assert f"{blueprint}: deletion refused" in error
    assert f"{total - 100} of {total} entities" in error
    assert f"read 100 of the {total} {kind} PagerDuty reported" in result.summary
    assert json.loads(result.outputs["summary"])[kind]["deleted"] == 0
    # The first page of every list asked PagerDuty for the total.
    reads = sb.requests.filter(server="pagerduty", method="GET", path=f"/{kind}")
    firsts = [r for r in reads if r.query.get("offset") == ["0"]]
    assert firsts
    assert all(r.query.get("total") == ["true"] for r in firsts)


def test_a_deletion_over_the_threshold_fails_the_job_with_the_counts(sandbox: Sandbox):
    sb = sandbox
    sb.pagerduty.seed_services(9)  # 10 with the seeded one
    assert sync(sb, kinds="services").returncode == 0
    for n in range(4):  # 4 of 14 are stale: 29%
        sb.port.entities[(SERVICE, f"PGONE{n}")] = {
            "identifier": f"PGONE{n}",
            "title": "gone",
            "blueprint": SERVICE,
            "properties": {},
            "relations": {},
        }
    before = in_port(sb, SERVICE)

    result = sync(sb, kinds="services", delete_stale=SERVICE, deletion_threshold="0.2")
    assert result.returncode == 1, result.stdout[-2000:]
    assert deletes(sb) == []
    assert in_port(sb, SERVICE) == before
    error = error_text(result)
    expected = "4 of 14 entities (29%) are stale, more than deletion_threshold 0.2 (20%) allows"
    assert f"{SERVICE}: deletion refused: {expected}" in error
    assert expected in result.summary
    assert "**refused** (the job fails)" in result.summary

    # A dry run predicts the same refusal and fails the same way, saying it is a dry run.
    dry = sync(sb, kinds="services", delete_stale=SERVICE, deletion_threshold="0.2", dry_run="true")
    assert dry.returncode == 1
    error = error_text(dry)
    assert f"{SERVICE}: a real run would refuse to delete: {expected}" in error
    assert "Stale entities kept (dry run)" in error
    assert "a real run would refuse to delete" in dry.summary

    # Within the threshold the same stale entities go, and the job passes.
    result = sync(sb, kinds="services", delete_stale=SERVICE, deletion_threshold="0.3")
    assert result.returncode == 0, result.stdout[-2000:]
    assert len(deletes(sb)) == 1
    assert in_port(sb, SERVICE) == before - {f"PGONE{n}" for n in range(4)}
