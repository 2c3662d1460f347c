"""Write (or check) requirements.txt: the image's packages, every one pinned exactly.

Resolves pyproject.toml's [project.dependencies] plus its [build-system] requirements with
pip (`pip install --dry-run --report`, nothing is installed), for the Python running this
script, and writes the pins. The Dockerfile installs requirements.txt with --no-deps and runs
`pip check`, so a pin missing from the tree fails the image build; this script keeps it whole.

Usage: python scripts/lock_requirements.py [--check]
  --check  exit 1 when requirements.txt differs from what pip resolves today (not run in CI:
           a new release upstream must not break CI; run it when bumping dependencies)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"

HEADER = """\
# The action image's Python packages, every one pinned exactly, transitive ones included.
# The Dockerfile installs them with --no-deps and runs `pip check`, so a missing pin, or a pin
# that does not satisfy pyproject.toml, fails the image build. Regenerate after changing
# [project.dependencies]:  python scripts/lock_requirements.py   (--check compares)
"""
BUILD_HEADER = """
# [build-system] requires: builds the project itself (installed without build isolation, so
# the build backend is pinned too; Python 3.12+ venvs no longer ship setuptools)
"""


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve(requirements: list[str]) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                str(report),
                *requirements,
            ],
            check=True,
        )
        data = json.loads(report.read_text())
    return {
        _normalise(item["metadata"]["name"]): item["metadata"]["version"]
        for item in data["install"]
    }


def render() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = resolve(pyproject["project"]["dependencies"])
    build = resolve(pyproject["build-system"]["requires"])
    lines = [HEADER, "# [project.dependencies] and what they pull in"]
    lines += [f"{name}=={version}" for name, version in sorted(runtime.items())]
    lines.append(BUILD_HEADER.rstrip("\n"))
    lines += [
        f"{name}=={version}" for name, version in sorted(build.items()) if name not in runtime
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if REQUIREMENTS.read_text() != text:
            print("requirements.txt is not what pip resolves today; expected:\n" + text)
            return 1
        print("requirements.txt is current")
        return 0
    REQUIREMENTS.write_text(text)
    print(f"wrote {REQUIREMENTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
