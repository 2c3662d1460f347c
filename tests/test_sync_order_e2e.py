"""Sync writes in dependency order: with `createMissingRelatedEntities: false` Port refuses an
incident whose service it does not hold yet, so each resource's writes must have landed before
the next resource starts. The action runs end to end (`python -m pagerduty_port` in a fresh
process) against the simulators, whose Port refuses such an entity in a 207 as Port does."""

from __future__ import annotations

import json
import re

from actionrun import ActionResult, run_action
from pagerduty_port_sandbox import Sandbox

INCIDENT = "pagerdutyIncident"
SERVICE = "pagerdutyService"

# Services first, then incidents relating to them; Port must not invent missing services.
STRICT_MAPPING = """
createMissingRelatedEntities: false
resources:
  - kind: services
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"pagerdutyService"'
          properties:
            status: .status
  - kind: incidents
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"pagerdutyIncident"'
          properties:
            status: .status
          relations:
            pagerdutyService: .service.id
"""


def seed_spread(sb: Sandbox, n_services: int, n_incidents: int) -> list[str]:
    """`n_services` services (the seeded one included) and `n_incidents` incidents dealt over
    them round-robin."""
    services = [sb.service_id, *sb.pagerduty.seed_services(n_services - 1)]
    sb.pagerduty.seed_incidents_over_services(services, n_incidents)
    assert len(sb.pagerduty.incidents) == n_incidents
    return services


def sync(sb: Sandbox, **inputs: str) -> ActionResult:
    return run_action("sync", {**sb.action_inputs(), **inputs}, timeout=600)


def closing_line(result: ActionResult, kind: str) -> str:
    """The kind's closing progress line (it follows its writes, so it comes once)."""
    (line,) = re.findall(rf"^{kind} done: .*$", result.stdout, re.M)
    return line


def in_port(sb: Sandbox, blueprint: str) -> set[str]:
    return {i for (bp, i) in sb.port.entities if bp == blueprint}


def test_strict_relations_every_incident_lands_after_its_service(sandbox: Sandbox):
    sb = sandbox
    services = seed_spread(sb, 30, 200)  # 30 = one full batch of 20 plus a partial one of 10

    result = sync(sb, mapping=STRICT_MAPPING)
    assert result.returncode == 0, result.stdout[-3000:]
    assert in_port(sb, SERVICE) == set(services)
    assert in_port(sb, INCIDENT) == set(sb.pagerduty.incidents)
    summary = json.loads(result.outputs["summary"])
    assert summary["services"]["created"] == 30
    assert summary["incidents"]["created"] == 200
    assert summary["incidents"]["failed"] == 0
    # Each kind's closing line comes after its writes landed and gives what Port accepted.
    services_line = closing_line(result, "services")
    incidents_line = closing_line(result, "incidents")
    assert "30 read, 30 selected, 30 written" in services_line
    assert "200 read, 200 selected, 200 written" in incidents_line
    assert result.stdout.index(services_line) < result.stdout.index("Reading incidents")
    # Port received every incident write after the last service write.
    writes = [
        r
        for r in sb.requests.filter(server="port", method="POST")
        if r.path.endswith("/entities/bulk")
    ]
    last_service = max(i for i, r in enumerate(writes) if SERVICE in r.path)
    first_incident = min(i for i, r in enumerate(writes) if INCIDENT in r.path)
    assert last_service < first_incident


def test_a_refused_entity_is_not_counted_as_written(sandbox: Sandbox):
    """Only writes Port accepted are counted: incidents whose service Port lacks are refused
    (services are not synced here) and show up as failed, never as created."""
    sb = sandbox
    services = seed_spread(sb, 3, 30)
    sb.port.entities[(SERVICE, services[0])] = {
        "identifier": services[0],
        "title": "held",
        "blueprint": SERVICE,
        "properties": {"status": "active"},
        "relations": {},
    }
    result = sync(sb, mapping=STRICT_MAPPING, kinds="incidents")
    assert result.returncode == 1
    summary = json.loads(result.outputs["summary"])["incidents"]
    assert len(in_port(sb, INCIDENT)) == 10
    assert summary["created"] == 10
    assert summary["failed"] == 20
    assert "30 read, 30 selected, 10 written" in closing_line(result, "incidents")
    assert "was not found" in result.summary


def test_25000_incidents_on_30_services_all_reach_port_with_strict_relations(sandbox: Sandbox):
    """The issue's Done-when, at full size (about 8 s here; see benchmarks/bench_sync_order.py)."""
    sb = sandbox
    seed_spread(sb, 30, 25_000)
    result = sync(sb, mapping=STRICT_MAPPING)
    assert result.returncode == 0, result.stdout[-3000:]
    assert in_port(sb, INCIDENT) == set(sb.pagerduty.incidents)
    assert "30 read, 30 selected, 30 written" in closing_line(result, "services")
    assert "25,000 read, 25,000 selected, 25,000 written" in closing_line(result, "incidents")
