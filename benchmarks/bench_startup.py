"""How long the entrypoint takes to start, beyond a bare interpreter's own start-up.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]      (default: 15)

Runs the entrypoint as the image does (`python -m pagerduty_port`) in two ways that send no
request: with no operation (it fails at once on the missing `operation`), and as create-incident
with no inputs (it imports that operation and fails on its first required input). What is timed
is interpreter start + imports + settings. The baseline is `python -c pass`. The median of N
runs of each is printed, less the baseline (the bar: about 150 ms here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def median_seconds(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {"PATH": os.environ.get("PATH", "")}
    bare = median_seconds([sys.executable, "-c", "pass"], args.runs, env)
    entry = [sys.executable, "-m", "pagerduty_port"]
    action = median_seconds(entry, args.runs, env)
    operation_env = {**env, "PAGERDUTY_PORT_OPERATION": "create-incident"}
    create = median_seconds(entry, args.runs, operation_env)
    print(f"bare interpreter:                 {bare * 1000:7.1f} ms (median of {args.runs})")
    print(f"entrypoint, no operation:         {(action - bare) * 1000:7.1f} ms beyond it")
    print(f"entrypoint, create-incident:      {(create - bare) * 1000:7.1f} ms beyond it")


if __name__ == "__main__":
    main()
