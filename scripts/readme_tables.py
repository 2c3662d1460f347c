"""Write (or check) the README's inputs and outputs tables from each action's action.yml.

The README marks where each table goes:

    <!-- BEGIN GENERATED: create-incident -->
    <!-- END GENERATED: create-incident -->

The name is a sub-action folder (`create-incident/action.yml`) or `root` for the root
`action.yml`. Everything between the markers is replaced; the rest of the README is untouched.

Usage: python scripts/readme_tables.py [--check]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- END GENERATED: (?P=name) -->)",
    re.S,
)


def action_path(name: str, root: Path = ROOT) -> Path:
    return root / "action.yml" if name == "root" else root / name / "action.yml"


def cell(text: Any) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    flat = " ".join(str(text).split())
    return flat.replace("|", "\\|")


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def code(text: Any) -> str:
    value = str(text)
    return f"`` {value} ``" if "`" in value else f"`{value}`"


def render(name: str, action: dict[str, Any]) -> str:
    source = "action.yml" if name == "root" else f"{name}/action.yml"
    lines = [
        f"<!-- Generated from {source} by scripts/readme_tables.py; do not edit by hand. -->",
        "",
    ]
    inputs = action.get("inputs") or {}
    current = {k: v or {} for k, v in inputs.items() if not (v or {}).get("deprecationMessage")}
    deprecated = {k: v for k, v in inputs.items() if (v or {}).get("deprecationMessage")}
    if current:
        lines += ["| input | description | default |", "|---|---|---|"]
        for key, spec in current.items():
            default = code(spec["default"]) if "default" in spec else ""
            if spec.get("required"):
                default = "**required**"
            lines.append(f"| `{key}` | {cell(spec.get('description', ''))} | {default} |")
        lines.append("")
    if deprecated:
        aliases = ", ".join(
            f"`{key}` ({lower_first(cell(spec['deprecationMessage']).rstrip('.'))})"
            for key, spec in deprecated.items()
        )
        lines += [f"Deprecated inputs, still accepted: {aliases}.", ""]
    outputs = action.get("outputs") or {}
    if outputs:
        lines += ["| output | description |", "|---|---|"]
        for key, spec in outputs.items():
            lines.append(f"| `{key}` | {cell((spec or {}).get('description', ''))} |")
        lines.append("")
    return "\n".join(lines)


def update(text: str, root: Path = ROOT) -> tuple[str, list[str]]:
    """The README with every generated block rewritten, and the problems found."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        path = action_path(name, root)
        if not path.is_file():
            problems.append(f"README block {name!r}: {path.relative_to(root)} does not exist")
            return match[0]
        body = render(name, yaml.safe_load(path.read_text()) or {})
        return f"{match['begin']}{body}{match['end']}"

    return BLOCK.sub(replace, text), problems


def missing_blocks(text: str, root: Path = ROOT) -> list[str]:
    """Sub-actions that have no generated block in the README."""
    present = {m["name"] for m in BLOCK.finditer(text)}
    actions = sorted(p.parent.name for p in root.glob("*/action.yml"))
    return [f"README has no generated block for {name}" for name in actions if name not in present]


def main(argv: list[str]) -> int:
    text = README.read_text()
    new, problems = update(text)
    problems += missing_blocks(text)
    for problem in problems:
        print(problem, file=sys.stderr)
    if "--check" in argv:
        if new != text:
            print(
                "README.md tables are out of date: run python scripts/readme_tables.py",
                file=sys.stderr,
            )
            return 1
        return 1 if problems else 0
    if new != text:
        README.write_text(new)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
