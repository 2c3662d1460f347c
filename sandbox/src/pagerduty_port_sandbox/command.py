"""`pagerduty-port sandbox`: the simulators in the foreground, with the lines that point the
command line at them. Registered as a `pagerduty_port.commands` entry point, so the runtime's
command line offers it only where this distribution is installed (never in the action image).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from pagerduty_port_sandbox import Sandbox


def sandbox_lines(info: Mapping[str, Any]) -> list[str]:
    """What to paste to point the command line at the simulators."""
    q = shlex.quote
    return [
        "Simulators are running on 127.0.0.1 (Ctrl-C stops them). In another shell:",
        "",
        f"export PAGERDUTY_TOKEN={q(info['pagerduty_token'])}",
        f"export PAGERDUTY_ROUTING_KEY={q(info['routing_key'])}",
        f"export PORT_CLIENT_ID={q(info['port_client_id'])}",
        f"export PORT_CLIENT_SECRET={q(info['port_client_secret'])}",
        "",
        f"pagerduty-port sync --pagerduty-api-url {q(info['pagerduty_url'])} "
        f"--port-base-url {q(info['port_url'])}",
        f"pagerduty-port create-incident --pagerduty-api-url {q(info['pagerduty_url'])} "
        f"--port-base-url {q(info['port_url'])} --service {q(info['service_id'])} "
        f"--from {q(info['user_email'])} --title 'Disk full'",
        f"pagerduty-port trigger-incident --pagerduty-events-url {q(info['events_url'])} "
        f"--port-base-url {q(info['port_url'])} --summary 'Disk full'",
    ]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pagerduty-port sandbox",
        description=(
            "Start local simulators of PagerDuty's REST and Events APIs and of Port's API on "
            "127.0.0.1 and print the environment and flags that point the other commands at "
            "them. Serves until Ctrl-C."
        ),
    )
    parser.add_argument("--seed-incidents", type=int, default=0, metavar="N")
    parser.add_argument(
        "--seed-schedules", type=int, default=0, metavar="N", help="add N on-call schedules"
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Sandbox() as sandbox:
        state = sandbox.pagerduty
        if args.seed_schedules:
            schedules = state.seed_schedules(args.seed_schedules)
            state.seed_escalation_policies(args.seed_schedules, schedules)
        if args.seed_incidents:
            state.seed_incidents(args.seed_incidents)
        print("\n".join(sandbox_lines(sandbox.credentials())), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
