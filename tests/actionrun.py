"""Run an action the way the runner does: a fresh process, only INPUT_* variables, the
operation from the action's own runs.env, and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
_HEREDOC = re.compile(
    r"^(?P<name>[^\n<=]+)<<(?P<delim>\S+)\n(?P<value>.*?)\n(?P=delim)\n", re.S | re.M
)


@dataclass
class ActionResult:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    output_file: str

    @property
    def everything(self) -> str:
        """Every stream a user could see, for secret scans."""
        return "\n".join([self.stdout, self.stderr, self.output_file, self.summary])

    @property
    def visible(self) -> str:
        """What a user sees: every stream but the ::add-mask:: lines the runner swallows."""
        return "\n".join(
            line for line in self.everything.splitlines() if not line.startswith("::add-mask")
        )

    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT records (`name<<delimiter` heredocs, as github-action-utils writes them)."""
    return {m["name"]: m["value"] for m in _HEREDOC.finditer(text)}


def runs_env(action_dir: str) -> dict[str, str]:
    data = yaml.safe_load((REPO / action_dir / "action.yml").read_text())
    return {k: str(v) for k, v in (data["runs"].get("env") or {}).items()}


def input_env(inputs: dict[str, str]) -> dict[str, str]:
    """INPUT_<NAME> as the runner builds it: upper-cased, spaces to _, hyphens kept."""
    return {"INPUT_" + k.replace(" ", "_").upper(): v for k, v in inputs.items()}


def run_action(
    action_dir: str,
    inputs: dict[str, str],
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> ActionResult:
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp, "output")
        summary = Path(tmp, "summary")
        output.touch()
        summary.touch()
        env = {
            **input_env(inputs),
            **runs_env(action_dir),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            **(extra_env or {}),
        }
        if "SYSTEMROOT" in os.environ:  # pragma: no cover - Windows only
            env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
        proc = subprocess.run(
            [sys.executable, "-m", "pagerduty_port"],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=tmp,
        )
        output_text = output.read_text()
        return ActionResult(
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            outputs=parse_outputs(output_text),
            summary=summary.read_text(),
            output_file=output_text,
        )
