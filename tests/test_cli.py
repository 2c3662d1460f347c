"""The command line: `pagerduty-port <operation>` runs the action's operations from a terminal,
with flags and help from the action.yml files and secrets from the environment."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "pagerduty-port"
SECRET_VARS = ("PAGERDUTY_TOKEN", "PAGERDUTY_ROUTING_KEY", "PORT_CLIENT_ID", "PORT_CLIENT_SECRET")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that could steer a run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INPUT_", "GITHUB_", "PAGERDUTY_", "PORT_", "RUNNER_"))
    }
    return {**env, **extra}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_actions_json_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "cli_actions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_sync_help_lists_every_input_with_its_default() -> None:
    result = cli("sync", "--help")
    assert result.returncode == 0, result.stderr
    help_text = " ".join(result.stdout.split())
    declared = yaml.safe_load((REPO / "sync" / "action.yml").read_text())["inputs"]
    for name, spec in declared.items():
        assert "--" + name.replace("_", "-") in help_text, name
        if "default" in spec:
            assert f"default: {spec['default'] or '(empty)'}" in help_text, name


def test_python_m_help_prints_usage_not_a_workflow_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pagerduty_port", "--help"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "usage: pagerduty-port" in result.stdout
    assert "::error" not in result.stdout + result.stderr


def test_a_missing_token_is_a_plain_error_naming_the_input_and_exit_1() -> None:
    result = cli("sync", "--dry-run", "true")
    assert result.returncode == 1
    assert "error: Input 'pagerduty_token'" in result.stderr
    assert "::" not in result.stdout + result.stderr


@pytest.fixture
def sandbox_process() -> Iterator[tuple[dict[str, str], list[str]]]:
    """`pagerduty-port sandbox` in its own process: the exports and the sync command it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagerduty_port", "sandbox", "--seed-incidents", "3"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        exports: dict[str, str] = {}
        sync: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            if match := re.match(r"^export (\w+)=(.*)$", line.strip()):
                exports[match[1]] = shlex.split(match[2])[0]
            elif line.startswith("pagerduty-port sync "):
                sync = shlex.split(line)
            elif line.startswith("pagerduty-port trigger-incident"):
                break
        assert set(exports) == set(SECRET_VARS), exports
        yield exports, sync
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_a_sync_from_the_command_line_against_the_sandbox(
    sandbox_process: tuple[dict[str, str], list[str]],
) -> None:
    exports, command = sandbox_process
    assert command[:2] == ["pagerduty-port", "sync"]
    # Secrets only from the environment: none of them is on the command line.
    assert not set(exports.values()) & set(command)
    env = clean_env(**exports)

    first = cli(*command[1:], env=env)
    assert first.returncode == 0, first.stderr
    shown = first.stdout + first.stderr
    assert "::" not in shown
    for secret in exports.values():
        assert secret not in shown
    output = re.search(r"^output summary=(.*)$", first.stderr, re.M)
    assert output, first.stderr
    summary = json.loads(output[1])
    assert summary["incidents"]["created"] == 3
    assert summary["services"]["created"] >= 1
    # The final table: one row per kind, aligned, on stdout.
    assert re.search(r"^incidents\s+3\s+3\s+3\s+0\s+0\s+0\s+0$", first.stdout, re.M), first.stdout

    # Written for real: a second run finds everything unchanged in Port.
    second = cli(*command[1:], env=env)
    assert second.returncode == 0, second.stderr
    output = re.search(r"^output summary=(.*)$", second.stderr, re.M)
    assert output, second.stderr
    again = json.loads(output[1])
    assert all(row["created"] == row["updated"] == 0 for row in again.values()), again
    assert again["incidents"]["unchanged"] == 3
