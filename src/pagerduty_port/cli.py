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
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

from .github.inputs import env_name
from .github.masking import SECRETS
from .github.settings import OPERATION_ENV
from .github.terminal import TERMINAL_ENV

#: Environment variables that supply an input when its flag is not given.
SECRET_ENV = {
    "pagerduty_token": "PAGERDUTY_TOKEN",
    "routing_key": "PAGERDUTY_ROUTING_KEY",
    "port_client_id": "PORT_CLIENT_ID",
    "port_client_secret": "PORT_CLIENT_SECRET",
}
#: Entry-point group through which other distributions add commands: the simulators'
#: distribution adds `sandbox`. The runtime never imports them by name, and the action image
#: does not install them.
COMMANDS_GROUP = "pagerduty_port.commands"
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
    for name, command in plugin_commands().items():
        sub.add_parser(name, help=command.help, add_help=False)
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


@dataclass(frozen=True)
class PluginCommand:
    """A command another installed distribution adds (`main(argv) -> exit code`)."""

    entry_point: metadata.EntryPoint

    @property
    def help(self) -> str:
        return f"(from {self.entry_point.dist.name if self.entry_point.dist else 'a plugin'})"

    def run(self, argv: Sequence[str]) -> int:
        command: Callable[[Sequence[str]], int] = self.entry_point.load()
        return command(list(argv))


def plugin_commands() -> dict[str, PluginCommand]:
    return {ep.name: PluginCommand(ep) for ep in metadata.entry_points(group=COMMANDS_GROUP)}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    plugins = plugin_commands()
    if argv and argv[0] in plugins:
        return plugins[argv[0]].run(argv[1:])
    if argv and argv[0] == "sandbox":
        print(
            "error: `pagerduty-port sandbox` comes with the simulators, which are not installed "
            "here (the action image never has them). From a clone of the repository: "
            "pip install -e ./sandbox",
            file=sys.stderr,
        )
        return 2
    actions = load_actions()
    args = build_parser(actions).parse_args(argv)
    values = {name: getattr(args, name) for name in actions[args.operation]["inputs"]}
    return run_operation(args.operation, values)


if __name__ == "__main__":
    sys.exit(main())
