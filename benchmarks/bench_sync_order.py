"""Sync N incidents dealt over S services with `createMissingRelatedEntities: false`, as the
action runs (`python -m pagerduty_port` in a child process), and check that every incident and
every service reached Port: Port refuses an incident whose service it does not hold yet, so this
shows the sync writes in dependency order. Prints seconds, items/s, what Port holds, each kind's
closing progress line and the sync's peak memory.

    .venv/bin/python benchmarks/bench_sync_order.py [--latency SECONDS] [--services S] [N ...]
                                                    (default: 0.02 s, 30 services, 25000)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench_sync import run_and_watch

from pagerduty_port_sandbox import Sandbox

MAPPING = """
createMissingRelatedEntities: false
resources:
  - kind: services
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"pagerdutyService"'
          properties: {status: .status}
  - kind: incidents
    selector: {query: 'true'}
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"pagerdutyIncident"'
          properties: {status: .status}
          relations: {pagerdutyService: .service.id}
"""


def seed(sb: Sandbox, n_services: int, n: int) -> None:
    """Services plus incidents dealt round-robin over them, one minute apart."""
    services = [sb.service_id, *sb.pagerduty.seed_services(n_services - 1)]
    sb.pagerduty.seed_incidents_over_services(services, n, status=["resolved", "triggered"])


def run_once(n: int, n_services: int, latency: float) -> dict:
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        seed(sb, n_services, n)
        sb.set_latency(latency)
        env = {
            "PAGERDUTY_PORT_OPERATION": "sync",
            "INPUT_PAGERDUTY_TOKEN": sb.pagerduty_token,
            "INPUT_PAGERDUTY_API_URL": sb.pagerduty_url,
            "INPUT_PORT_CLIENT_ID": sb.port_client_id,
            "INPUT_PORT_CLIENT_SECRET": sb.port_client_secret,
            "INPUT_PORT_BASE_URL": sb.port_url,
            "INPUT_MAPPING": MAPPING,
            "INPUT_INCIDENTS_SINCE": f"{n // (60 * 24) + 2}d",
            "GITHUB_OUTPUT": str(Path(tmp, "out")),
            "GITHUB_STEP_SUMMARY": str(Path(tmp, "summary")),
            "PATH": os.environ.get("PATH", ""),
        }
        started = time.perf_counter()
        peak_kb, returncode, output = run_and_watch(env)
        seconds = time.perf_counter() - started
        held = Counter(bp for bp, _ in sb.port.entities)
        closing = re.findall(r"^\w+ done: .*$", output, re.M)
        if returncode != 0 or held["pagerdutyIncident"] != n:
            sys.exit(f"sync failed ({returncode}), {held}:\n{output[-3000:]}")
        return {
            "n": n,
            "services": n_services,
            "seconds": seconds,
            "items_per_s": n / seconds,
            "incidents_in_port": held["pagerdutyIncident"],
            "services_in_port": held["pagerdutyService"],
            "closing": closing,
            "peak_rss_mb": peak_kb / 1024,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("sizes", nargs="*", type=int, default=[25_000])
    args = parser.parse_args()
    print(f"latency per request: {args.latency * 1000:.0f} ms, {args.services} services")
    for n in args.sizes:
        r = run_once(n, args.services, args.latency)
        print(
            f"{r['n']:,} incidents: {r['seconds']:.1f} s, {r['items_per_s']:,.0f} items/s, "
            f"in Port: {r['incidents_in_port']:,} incidents, {r['services_in_port']} services, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        for line in r["closing"]:
            print(f"    {line}")


if __name__ == "__main__":
    main()
