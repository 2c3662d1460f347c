"""Write (or check) src/pagerduty_port/actions.json: each sub-action's inputs and outputs.

The command line (`pagerduty-port <operation> --help`) builds its flags and help from this file,
because the action.yml files live at the repository root and are not installed with the package.
Per operation: its description, its current inputs (description, required, default; deprecated
aliases left out) and its outputs' descriptions.

Usage: python scripts/cli_actions.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from pagerduty_port.operations.registry import OPERATION_NAMES

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = OPERATION_NAMES  # every operation, in the order users meet them
TARGET = ROOT / "src" / "pagerduty_port" / "actions.json"


def describe(action: dict[str, Any]) -> dict[str, Any]:
    inputs = {}
    for name, declared in (action.get("inputs") or {}).items():
        spec = declared or {}
        if spec.get("deprecationMessage"):
            continue
        entry: dict[str, Any] = {
            "description": " ".join(str(spec.get("description", "")).split()),
            "required": bool(spec.get("required", False)),
        }
        if "default" in spec:
            entry["default"] = str(spec["default"])
        inputs[name] = entry
    outputs = {
        name: " ".join(str((spec or {}).get("description", "")).split())
        for name, spec in (action.get("outputs") or {}).items()
    }
    return {
        "description": " ".join(str(action.get("description", "")).split()),
        "inputs": inputs,
        "outputs": outputs,
    }


def build(root: Path = ROOT) -> dict[str, Any]:
    return {
        op: describe(yaml.safe_load((root / op / "action.yml").read_text()) or {})
        for op in OPERATIONS
    }


def render(root: Path = ROOT) -> str:
    return json.dumps(build(root), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(
                f"{TARGET.relative_to(ROOT)} is out of date: run python scripts/cli_actions.py",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
