"""Run a sandbox in the foreground (`pagerduty-port-sandbox`, or `python -m` this module).

It prints one JSON line with the URLs, credentials and seeded ids, then serves until SIGTERM or
SIGINT. A test in another process (e.g. an action running in a container) reads that line, talks
to the simulators, and reads what they saw from `GET <any url>/__sandbox/requests`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from pagerduty_port_sandbox import Sandbox


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--pagerduty-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--events-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--port-blueprints",
        choices=("default", "none"),
        default="default",
        help="create the project's PagerDuty blueprints in Port (default) or none",
    )
    parser.add_argument(
        "--run-id", action="append", default=[], help="a Port action run to register (repeatable)"
    )
    parser.add_argument(
        "--auto-create-runs",
        action="store_true",
        help="accept any Port run id, registering it on first use",
    )
    parser.add_argument(
        "--seed-incidents", type=int, default=0, help="seed this many resolved incidents"
    )
    parser.add_argument(
        "--event-visibility-polls",
        type=int,
        default=0,
        help="list queries an event-created incident stays invisible for",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sandbox = Sandbox(
        port_blueprints=None if args.port_blueprints == "none" else "default",
        host=args.host,
        ports={
            "pagerduty": args.pagerduty_port,
            "events": args.events_port,
            "port": args.port_port,
        },
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with sandbox:
        sandbox.port.auto_create_runs = args.auto_create_runs
        sandbox.pagerduty.event_visibility_polls = args.event_visibility_polls
        run_ids = [sandbox.port.add_run(run_id) for run_id in args.run_id]
        if args.seed_incidents:
            sandbox.pagerduty.seed_incidents(args.seed_incidents)
        info = {**sandbox.credentials(), "run_ids": run_ids}
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
