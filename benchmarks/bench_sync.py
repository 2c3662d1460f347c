"""Sync N incidents through the simulators, as the action runs (`python -m pagerduty_port` in a
child process), and print items/s, PagerDuty and Port request counts and the child's own peak
memory (VmHWM).

    .venv/bin/python benchmarks/bench_sync.py [--latency SECONDS] [N ...]
                                              (default: 0.02 s per request; 1000 10000 100000)

`--latency` delays every simulator answer, like a network round trip; Port writes overlap it
(several in flight) while PagerDuty is read serially, as PagerDuty asks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from pagerduty_port_sandbox import Sandbox


def run_and_watch(env: dict[str, str]) -> tuple[int, int, str]:
    """Run the action and follow its own peak RSS (VmHWM) until it exits.

    Not getrusage(RUSAGE_CHILDREN): a forked child briefly shares this process's pages (the
    simulators' whole data set) before exec, and ru_maxrss counts them as the child's.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagerduty_port"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    peak_kb = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    proc.wait()
    reader.join(timeout=5)
    return peak_kb, proc.returncode, "".join(lines)


def run_once(n: int, latency: float) -> dict:
    with Sandbox() as sb, tempfile.TemporaryDirectory() as tmp:
        sb.pagerduty.seed_incidents(
            n, spacing=timedelta(minutes=1), status=["resolved", "triggered"]
        )
        sb.set_latency(latency)
        days = n // (60 * 24) + 2
        env = {
            "PAGERDUTY_PORT_OPERATION": "sync",
            "INPUT_PAGERDUTY_TOKEN": sb.pagerduty_token,
            "INPUT_PAGERDUTY_API_URL": sb.pagerduty_url,
            "INPUT_PORT_CLIENT_ID": sb.port_client_id,
            "INPUT_PORT_CLIENT_SECRET": sb.port_client_secret,
            "INPUT_PORT_BASE_URL": sb.port_url,
            "INPUT_KINDS": "incidents",
            "INPUT_INCIDENTS_SINCE": f"{days}d",
            "GITHUB_OUTPUT": str(Path(tmp, "out")),
            "GITHUB_STEP_SUMMARY": str(Path(tmp, "summary")),
            "PATH": os.environ.get("PATH", ""),
        }
        started = time.perf_counter()
        peak_kb, returncode, output = run_and_watch(env)
        seconds = time.perf_counter() - started
        if returncode != 0:
            sys.exit(f"sync failed:\n{output[-3000:]}")
        written = sum(1 for bp, _ in sb.port.entities if bp == "pagerdutyIncident")
        requests = Counter(r.server for r in sb.requests.all())
        bulk = sum(1 for r in sb.requests.filter(server="port") if r.path.endswith("/bulk"))
        return {
            "n": n,
            "seconds": seconds,
            "items_per_s": n / seconds,
            "in_port": written,
            "pagerduty_requests": requests["pagerduty"],
            "port_requests": requests["port"],
            "port_bulk_writes": bulk,
            "peak_rss_mb": peak_kb / 1024,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    print(f"latency per request: {args.latency * 1000:.0f} ms")
    print(
        f"{'N':>8} {'seconds':>8} {'items/s':>8} {'in Port':>8} {'PD req':>7} "
        f"{'Port req':>8} {'bulk':>6} {'peak RSS MB':>11}"
    )
    for n in args.sizes:
        r = run_once(n, args.latency)
        print(
            f"{r['n']:>8,} {r['seconds']:>8.1f} {r['items_per_s']:>8,.0f} {r['in_port']:>8,} "
            f"{r['pagerduty_requests']:>7,} {r['port_requests']:>8,} {r['port_bulk_writes']:>6,} "
            f"{r['peak_rss_mb']:>11.0f}",
            flush=True,
        )
        print(json.dumps(r), file=sys.stderr)


if __name__ == "__main__":
    main()
