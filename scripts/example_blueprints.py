"""Copy (or check) the Port blueprints into examples/port/blueprints/.

The blueprints the actions and the default sync mapping expect are data of the package
(`src/pagerduty_port/blueprints/*.json`); users adopt them by copying them from `examples/`,
so the copies there must stay byte-for-byte identical.

Usage: python scripts/example_blueprints.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "pagerduty_port" / "blueprints"
TARGET = ROOT / "examples" / "port" / "blueprints"


def differences(source: Path = SOURCE, target: Path = TARGET) -> list[str]:
    """Every way the copies in `target` differ from `source` (missing, stale or extra files)."""
    wanted = {p.name: p.read_bytes() for p in sorted(source.glob("*.json"))}
    present = {p.name: p.read_bytes() for p in sorted(target.glob("*.json"))}
    problems = [f"{name}: missing" for name in wanted if name not in present]
    origin = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
    problems += [
        f"{name}: differs from {origin}"
        for name, data in wanted.items()
        if name in present and present[name] != data
    ]
    problems += [f"{name}: not in the package" for name in present if name not in wanted]
    return problems


def main(argv: list[str]) -> int:
    if not SOURCE.is_dir():
        print(f"{SOURCE} does not exist", file=sys.stderr)
        return 1
    if "--check" in argv:
        problems = differences()
        for problem in problems:
            print(f"examples/port/blueprints/{problem}", file=sys.stderr)
        if problems:
            print("run: python scripts/example_blueprints.py", file=sys.stderr)
        return 1 if problems else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    for stale in TARGET.glob("*.json"):
        if not (SOURCE / stale.name).exists():
            stale.unlink()
    for blueprint in sorted(SOURCE.glob("*.json")):
        (TARGET / blueprint.name).write_bytes(blueprint.read_bytes())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
