"""How long the entrypoint takes to start, beyond a bare interpreter's own start-up.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]      (default: 15)

Runs `python -m pagerduty_port --help`-free: the entrypoint with no operation, which parses its
inputs and fails at once on the missing `operation` (no request is sent), so what is timed is
interpreter start + imports + settings. The baseline is `python -c pass`. The median of N runs
of each is printed; the difference is the entrypoint's own cost (the bar: about 150 ms here).
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
    action = median_seconds([sys.executable, "-m", "pagerduty_port"], args.runs, env)
    print(f"bare interpreter:  {bare * 1000:7.1f} ms (median of {args.runs})")
    print(f"entrypoint:        {action * 1000:7.1f} ms")
    print(f"entrypoint's own:  {(action - bare) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
