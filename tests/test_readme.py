"""The README's generated tables are current, and its YAML snippets use real inputs."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SNIPPET = re.compile(r"^```ya?ml\n(.*?)^```", re.S | re.M)
OUR_USES = re.compile(r"^OWNER/REPO(?:/(?P<sub>[\w-]+))?@\S+$")


def _tables() -> Any:
    spec = importlib.util.spec_from_file_location(
        "readme_tables", REPO / "scripts" / "readme_tables.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tables = _tables()


def _uses_steps(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("uses"), str):
            found.append(node)
        for value in node.values():
            found += _uses_steps(value)
    elif isinstance(node, list):
        for value in node:
            found += _uses_steps(value)
    return found


def snippet_problems(readme: str, root: Path = REPO) -> list[str]:
    """Steps in the README's YAML snippets that pass inputs our actions do not declare."""
    problems = []
    for number, block in enumerate(SNIPPET.findall(readme), start=1):
        try:
            data = yaml.safe_load(textwrap.dedent(block))
        except yaml.YAMLError as exc:
            problems.append(f"YAML snippet {number} does not parse: {exc}")
            continue
        for step in _uses_steps(data):
            match = OUR_USES.match(step["uses"])
            if not match:
                continue
            path = tables.action_path(match["sub"] or "root", root)
            if not path.is_file():
                problems.append(f"YAML snippet {number}: {step['uses']} has no action.yml")
                continue
            declared = (yaml.safe_load(path.read_text()) or {}).get("inputs") or {}
            for key in step.get("with") or {}:
                if key not in declared:
                    problems.append(f"YAML snippet {number}: {step['uses']} has no input {key!r}")
    return problems


def test_readme_tables_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "readme_tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_action_has_a_table() -> None:
    assert tables.missing_blocks(README.read_text()) == []


def test_tables_list_every_input_and_output() -> None:
    text = README.read_text()
    blocks = {m["name"]: m["body"] for m in tables.BLOCK.finditer(text)}
    for name, body in blocks.items():
        action = yaml.safe_load(tables.action_path(name).read_text())
        for key in action.get("inputs") or {}:
            assert f"`{key}`" in body, f"{name}: input {key} is not in the README table"
        for key in action.get("outputs") or {}:
            assert f"| `{key}` |" in body, f"{name}: output {key} is not in the README table"


def test_readme_snippets_use_declared_inputs() -> None:
    problems = snippet_problems(README.read_text())
    assert not problems, "\n".join(problems)


def test_a_changed_action_makes_the_check_fail(tmp_path: Path) -> None:
    for path in REPO.glob("*/action.yml"):
        shutil.copytree(path.parent, tmp_path / path.parent.name)
    text = README.read_text()
    updated, problems = tables.update(text, tmp_path)
    assert problems == []
    action = tmp_path / "create-incident" / "action.yml"
    action.write_text(action.read_text().replace("  details:\n", "  body:\n"))
    changed, _ = tables.update(text, tmp_path)
    assert changed != updated
    assert "| `body` |" in changed


def test_a_missing_block_is_reported(tmp_path: Path) -> None:
    (tmp_path / "new-action").mkdir()
    (tmp_path / "new-action" / "action.yml").write_text("name: x\ndescription: y\n")
    assert tables.missing_blocks("", tmp_path) == ["README has no generated block for new-action"]


def test_a_snippet_with_an_unknown_input_is_reported() -> None:
    readme = textwrap.dedent(
        """\
        ```yaml
              - uses: OWNER/REPO/escalate@v1
                with:
                  escalation_level: 2
                  incident: P123
        ```
        """
    )
    assert snippet_problems(readme) == [
        "YAML snippet 1: OWNER/REPO/escalate@v1 has no input 'incident'"
    ]


def test_cells_stay_on_one_line_and_escape_pipes() -> None:
    assert tables.cell("a |\n b") == "a \\| b"
