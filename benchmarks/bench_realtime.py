"""Time from a PagerDuty status change to the Port entity reflecting it, through connect-webhooks.

    .venv/bin/python benchmarks/bench_realtime.py [--changes N] [--latency SECONDS]

Runs connect-webhooks once against the simulators, then changes incidents' statuses in the
PagerDuty simulator and times each change until Port's entity shows it (PagerDuty's delivery
thread signs and POSTs the v3 event; Port's ingest checks the signature and applies the
derived mapping). `--latency` adds that many seconds to every simulator answer, like a network.
For comparison it also times one incidents-only sync, which is what a scheduled sync would cost
per run to reach the same freshness (a run every N minutes = N minutes of staleness at worst).
The target is under 2 s from change to entity.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from pagerduty_port_sandbox import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from actionrun import run_action


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(1000, status=["triggered", "acknowledged", "resolved"])
        result = run_action("connect-webhooks", sb.action_inputs())
        if result.returncode:
            print(result.stdout, file=sys.stderr)
            return 1
        sb.set_latency(args.latency)
        actor = sb.pagerduty.ref("user", sb.user_id)
        times = []
        for n in range(args.changes):
            with sb.pagerduty.lock:
                incident = sb.pagerduty.create_incident(service_id=sb.service_id, title=f"b{n}")
            key = ("pagerdutyIncident", incident["id"])
            for status in ("acknowledged", "resolved"):
                started = time.perf_counter()
                with sb.pagerduty.lock:
                    sb.pagerduty.set_status(incident, status, actor)
                while sb.port.entities.get(key, {}).get("properties", {}).get("status") != status:
                    if time.perf_counter() - started > 30:
                        print(f"{incident['id']} never reached {status}", file=sys.stderr)
                        return 1
                    time.sleep(0.001)
                times.append(time.perf_counter() - started)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"status change -> Port entity, {len(times)} changes, latency {args.latency}s:")
        print(
            f"  median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {times[-1] * 1000:.1f} ms"
        )
        started = time.perf_counter()
        sync = run_action("sync", {**sb.action_inputs(), "kinds": "incidents"}, timeout=600)
        took = time.perf_counter() - started
        print(
            f"one incidents sync over {len(sb.pagerduty.incidents)} incidents: {took:.1f} s "
            f"(exit {sync.returncode}); freshness = the schedule's interval"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
