"""The runtime never needs the simulators, and its distribution leaves them out of the image.

The simulators and the demo are the `sandbox/` distribution (`pagerduty_port_sandbox`); the
image installs only the root `pyproject.toml`. These are the fast checks; the container tier
(`test_image_holds_the_product_only` in tests/test_container.py) checks the built image itself.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from setuptools import find_packages

REPO = Path(__file__).resolve().parent.parent
RUNTIME = REPO / "src" / "pagerduty_port"
SANDBOX_PACKAGE = "pagerduty_port_sandbox"
SANDBOX_DISTRIBUTION = "pagerduty-port-sandbox"
SANDBOX_SCRIPTS = ("pagerduty-port-demo", "pagerduty-port-sandbox")

# Imports every runtime module (not `__main__`, which would run an action) in a fresh
# interpreter and reports what got loaded.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import pagerduty_port
names = [
    m.name for m in pkgutil.walk_packages(pagerduty_port.__path__, "pagerduty_port.")
    if not m.name.endswith(".__main__")
]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def _names_sandbox(name: str) -> bool:
    return name == SANDBOX_PACKAGE or name.startswith(SANDBOX_PACKAGE + ".")


def test_importing_every_runtime_module_loads_no_simulator() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert "pagerduty_port.main" in report["imported"], report["imported"]
    assert "pagerduty_port.operations.sync" in report["imported"], report["imported"]
    loaded = [name for name in report["loaded"] if _names_sandbox(name)]
    assert loaded == [], f"importing the runtime loads the simulators: {loaded}"


def _sandbox_references(path: Path, root: Path = REPO) -> list[str]:
    """Imports of the sandbox package in ``path``, lazy ones and `import_module("...")` too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.stmt | ast.expr):  # imports and strings are; they have lines
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value] if re.fullmatch(r"[\w.]+", node.value) else []
        found += [f"{path.relative_to(root)}:{node.lineno}: {name}" for name in names]
    return [ref for ref in found if _names_sandbox(ref.rsplit(": ", 1)[1])]


def test_no_runtime_module_imports_the_simulators() -> None:
    """Catches imports inside functions, which importing every module would not run."""
    sources = sorted(RUNTIME.rglob("*.py"))
    assert len(sources) > 10, sources
    references = [ref for path in sources for ref in _sandbox_references(path)]
    assert references == [], "the runtime imports the simulators:\n" + "\n".join(references)


def test_a_lazy_import_of_the_simulators_is_found(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(
        "import importlib\n"
        "def run():\n"
        "    from pagerduty_port_sandbox.demo import main\n"
        "    importlib.import_module('pagerduty_port_sandbox')\n"
        "    return main\n"
    )
    refs = [ref.rsplit(": ", 1)[1] for ref in _sandbox_references(module, tmp_path)]
    assert refs == ["pagerduty_port_sandbox.demo", "pagerduty_port_sandbox"]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_runtime_distribution_packages_no_simulator() -> None:
    """What setuptools packs from the root pyproject.toml, the image's only install."""
    find = _pyproject()["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(
        where=str(REPO / find["where"][0]),
        include=find.get("include", ("*",)),
        exclude=find.get("exclude", ()),
    )
    assert "pagerduty_port" in packages, packages
    assert [p for p in packages if _names_sandbox(p)] == []
    assert all(p == "pagerduty_port" or p.startswith("pagerduty_port.") for p in packages), packages


def test_runtime_distribution_has_no_simulator_scripts_or_dependency() -> None:
    project = _pyproject()["project"]
    entry_points = {
        f"{group}: {name} = {target}"
        for group, table in (
            ("scripts", project.get("scripts") or {}),
            ("gui-scripts", project.get("gui-scripts") or {}),
            *((g, t) for g, t in (project.get("entry-points") or {}).items()),
        )
        for name, target in table.items()
    }
    leaks = {
        line
        for line in entry_points
        if SANDBOX_PACKAGE in line or any(f" {s} =" in line for s in SANDBOX_SCRIPTS)
    }
    assert leaks == set(), f"the runtime distribution installs simulator entry points: {leaks}"
    requirements = [
        *project.get("dependencies", []),
        *(r for extra in (project.get("optional-dependencies") or {}).values() for r in extra),
        *(REPO / "requirements.txt").read_text().splitlines(),
    ]
    named = [r for r in requirements if re.match(rf"\s*{SANDBOX_DISTRIBUTION}\b", r, re.I)]
    assert named == [], f"the runtime distribution pulls in the simulators: {named}"


def test_build_context_leaves_the_simulators_out() -> None:
    """The .dockerignore allow-list never lets sandbox/ into the image's build context."""
    allowed = [
        line.strip()[1:].strip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip().startswith("!")
    ]
    assert allowed, "the .dockerignore is an allow-list"
    assert not [a for a in allowed if a.split("/")[0] in ("sandbox", "**", "*")], allowed
    assert (REPO / "sandbox" / "src" / SANDBOX_PACKAGE / "__init__.py").is_file()
