"""`pagerduty-port <operation> [--input value ...]`: the actions' operations from a terminal,
cron or any CI.

A second front door to the same code: the flags become the inputs the runner would pass
(`--pagerduty-token` is input `pagerduty_token`) and `main` runs the operation exactly as in
the action, with plain progress lines, the summary as a final table and the same exit codes.
Flags and help come from the sub-actions' action.yml (packaged as actions.json by
scripts/cli_actions.py). Secrets can come from the environment instead, so they stay out of
shell history.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from .inputs import env_name
from .masking import SECRETS
from .settings import OPERATION_ENV
from .terminal import TERMINAL_ENV

#: Environment variables that supply an input when its flag is not given.
SECRET_ENV = {
    "pagerduty_token": "PAGERDUTY_TOKEN",
    "routing_key": "PAGERDUTY_ROUTING_KEY",
    "port_client_id": "PORT_CLIENT_ID",
    "port_client_secret": "PORT_CLIENT_SECRET",
}
#: Where the simulators live; imported only by `pagerduty-port sandbox`.
SANDBOX_MODULE = "pagerduty_port_sandbox"
#: Variables of the runner that must not steer a run from the command line.
_RUNNER_ONLY = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", OPERATION_ENV)


def load_actions() -> dict[str, Any]:
    text = (resources.files("pagerduty_port") / "actions.json").read_text("utf-8")
    actions: dict[str, Any] = json.loads(text)
    return actions


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _help(name: str, spec: Mapping[str, Any]) -> str:
    text = spec.get("description", "").replace("%", "%%")
    notes = []
    if spec.get("required"):
        notes.append("required")
    if "default" in spec:
        notes.append(f"default: {spec['default'] or '(empty)'}")
    if name in SECRET_ENV:
        notes.append(f"or set {SECRET_ENV[name]}")
    return f"{text} [{'; '.join(notes)}]" if notes else text


def build_parser(actions: Mapping[str, Any]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pagerduty-port",
        description=(
            "Run an operation of the PagerDuty-for-Port actions from a terminal or any CI. "
            "Flags are the action's inputs with hyphens (--pagerduty-token is pagerduty_token); "
            "errors name the input. Exit code 0 on success, 1 on failure, as in the action."
        ),
    )
    sub = parser.add_subparsers(dest="operation", metavar="operation", required=True)
    for operation, action in actions.items():
        outputs = "; ".join(f"{k}: {v}" for k, v in action["outputs"].items())
        op_parser = sub.add_parser(
            operation,
            help=action["description"].split(". ")[0],
            description=action["description"],
            epilog=f"Outputs (printed as 'output NAME=VALUE'): {outputs}" if outputs else None,
        )
        for name, spec in action["inputs"].items():
            op_parser.add_argument(flag(name), dest=name, metavar="VALUE", help=_help(name, spec))
    sandbox = sub.add_parser(
        "sandbox",
        help="Start the local simulators of PagerDuty and Port and print the flags for them",
        description=(
            "Start local simulators of PagerDuty's REST and Events APIs and of Port's API on "
            "127.0.0.1 and print the environment and flags that point the other commands at "
            "them. Serves until Ctrl-C."
        ),
    )
    sandbox.add_argument("--seed-incidents", type=int, default=0, metavar="N")
    sandbox.add_argument(
        "--seed-schedules", type=int, default=0, metavar="N", help="add N on-call schedules"
    )
    return parser


def operation_environ(
    operation: str, values: Mapping[str, str | None], base: Mapping[str, str]
) -> dict[str, str]:
    """The environment `main` reads: `base` without any INPUT_* or runner file, plus one
    INPUT_* per given flag, secrets from their environment variables when not given."""
    environ = {
        k: v for k, v in base.items() if not k.startswith("INPUT_") and k not in _RUNNER_ONLY
    }
    for name, given in values.items():
        value = given
        if value is None and name in SECRET_ENV:
            value = base.get(SECRET_ENV[name]) or None
        if value is not None:
            environ[env_name(name)] = value
    environ[OPERATION_ENV] = operation
    environ[TERMINAL_ENV] = "1"
    return environ


def run_operation(operation: str, values: Mapping[str, str | None]) -> int:
    from .main import main  # noqa: PLC0415 - keeps `--help` fast

    SECRETS.announce = False
    return main(operation_environ(operation, values, os.environ))


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


def run_sandbox(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module(SANDBOX_MODULE)
    except ImportError as exc:
        print(
            f"error: the simulators ({SANDBOX_MODULE}) are not installed ({exc}); install "
            "this project from a clone of its repository (pip install -e .) to get them.",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with module.Sandbox() as sandbox:
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


def main(argv: Sequence[str] | None = None) -> int:
    actions = load_actions()
    args = build_parser(actions).parse_args(argv)
    if args.operation == "sandbox":
        return run_sandbox(args)
    values = {name: getattr(args, name) for name in actions[args.operation]["inputs"]}
    return run_operation(args.operation, values)


if __name__ == "__main__":
    sys.exit(main())
