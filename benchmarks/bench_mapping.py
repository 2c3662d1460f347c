"""Time the sync's mapping alone against the per-field approach (one jq program per field
expression, applied item by item, as Ocean's JQEntityProcessor does), on realistic incidents.

    .venv/bin/python benchmarks/bench_mapping.py [N ...]        (default: 1000 10000 100000)

Uses Ocean's default incident mapping from ../shared/data when present (unchanged), else the
built-in mapping's incidents resource.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import jq

from pagerduty_port.catalogue.mapping import SANDBOX_PREFIX, default_mapping_text, parse_mapping

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OCEAN = SHARED_DATA / "ocean_default_incident_mapping.yaml"


def make_incident(n: int) -> dict:
    """About 4.5 KB, shaped like GET /incidents with assignees and first_trigger_log_entries."""
    iid = f"Q{n:013d}"
    user = lambda k: {  # noqa: E731
        "id": f"PU{k:05d}",
        "type": "user",
        "summary": f"User {k}",
        "email": f"user{k}@example.com",
        "self": f"https://api.pagerduty.com/users/PU{k:05d}",
        "html_url": f"https://acme.pagerduty.com/users/PU{k:05d}",
        "name": f"User {k}",
        "time_zone": "Europe/Paris",
        "color": "green",
        "role": "user",
        "avatar_url": "https://x/a.png",
        "description": "",
        "job_title": "SRE",
        "teams": [],
        "contact_methods": [],
    }
    return {
        "id": iid,
        "type": "incident",
        "incident_number": n,
        "title": f"High error rate on checkout-api #{n}",
        "summary": f"[#{n}] High error rate",
        "description": f"High error rate on checkout-api #{n}",
        "status": "acknowledged",
        "urgency": "high",
        "incident_key": f"key-{n:032d}",
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:05:00Z",
        "last_status_change_at": "2024-05-01T10:05:00Z",
        "resolved_at": None,
        "self": f"https://api.pagerduty.com/incidents/{iid}",
        "html_url": f"https://acme.pagerduty.com/incidents/{iid}",
        "service": {
            "id": "PSVC001",
            "type": "service_reference",
            "summary": "checkout-api",
            "self": "https://api.pagerduty.com/services/PSVC001",
            "html_url": "https://acme.pagerduty.com/service-directory/PSVC001",
        },
        "escalation_policy": {
            "id": "PEP0001",
            "type": "escalation_policy_reference",
            "summary": "Checkout on-call",
            "self": "https://api.pagerduty.com/escalation_policies/PEP0001",
            "html_url": "https://acme.pagerduty.com/escalation_policies/PEP0001",
        },
        "assignments": [{"at": "2024-05-01T10:00:00Z", "assignee": user(k)} for k in (1, 2)],
        "acknowledgements": [
            {
                "at": "2024-05-01T10:05:00Z",
                "acknowledger": {"id": "PU00001", "type": "user_reference"},
            }
        ],
        "last_status_change_by": {"id": "PU00001", "type": "user_reference", "summary": "User 1"},
        "first_trigger_log_entry": {
            "id": f"R{n:013d}",
            "type": "trigger_log_entry",
            "summary": "Triggered through the API",
            "created_at": "2024-05-01T10:00:00Z",
            "channel": {"type": "api", "summary": "x" * 600},
            "agent": {
                "id": "PINT001",
                "type": "generic_events_api_inbound_integration_reference",
                "summary": "Datadog",
            },
            "service": {"id": "PSVC001", "type": "service_reference", "summary": "checkout-api"},
            "incident": {"id": iid, "type": "incident_reference"},
            "teams": [],
            "contexts": [],
            "event_details": {"description": "y" * 400},
        },
        "priority": {
            "id": "PPRI001",
            "type": "priority",
            "summary": "P1",
            "name": "P1",
            "description": "z" * 200,
            "color": "a8171c",
        },
        "teams": [{"id": "PT00001", "type": "team_reference", "summary": "Payments"}],
        "pending_actions": [],
        "alert_counts": {"all": 1, "triggered": 0, "resolved": 0},
        "incident_type": {"name": "incident_default"},
        "is_mergeable": True,
        "conference_bridge": None,
        "resolve_reason": None,
        "basic_alert_grouping": None,
        "alert_grouping": None,
        "impacted_services": [],
        "body": {"details": "w" * 300},
    }


def per_field(resource, items: list[dict]) -> None:
    fields = [("q", resource.query), *resource.mapping.fields()]
    programs = [(name, jq.compile(SANDBOX_PREFIX + expr)) for name, expr in fields]
    for item in items:
        entity = {}
        for name, program in programs:
            try:
                entity[name] = program.input_value(item).first()
            except (ValueError, StopIteration):
                entity[name] = None


def one_program(resource, items: list[dict]) -> None:
    for start in range(0, len(items), 100):
        resource.map_page(items[start : start + 100])


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    text = OCEAN.read_text() if OCEAN.exists() else default_mapping_text()
    resource = next(r for r in parse_mapping(text).resources if r.kind == "incidents")
    source = "Ocean's default incident mapping" if OCEAN.exists() else "built-in mapping"
    print(f"mapping: {source}; item size {len(json.dumps(make_incident(1)))} bytes")
    print(f"{'N':>8} {'per-field items/s':>18} {'sync items/s':>14} {'speed-up':>9}")
    for n in sizes:
        items = [make_incident(i) for i in range(n)]
        pf_n = min(n, 10_000)  # the per-field rate is flat; cap its run time
        t = time.perf_counter()
        per_field(resource, items[:pf_n])
        pf = pf_n / (time.perf_counter() - t)
        t = time.perf_counter()
        one_program(resource, items)
        ours = n / (time.perf_counter() - t)
        print(f"{n:>8,} {pf:>18,.0f} {ours:>14,.0f} {ours / pf:>8.1f}x", flush=True)


if __name__ == "__main__":
    main()
