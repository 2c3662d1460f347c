"""The layers show in the imports: clients, then the catalogue, then operations, then the GitHub
layer, then the entrypoint. A lower layer never imports a higher one, the clients load nothing
of GitHub, and only the entrypoint reads the environment.

The checks read the source (every import, also inside functions and `if TYPE_CHECKING:`), and
the client check imports each client in a fresh interpreter, as a user of the library would.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "pagerduty_port"

#: Layer of each top-level part of the package, lowest first. Modules not listed (errors,
#: markdown, formats, the package itself) are the shared base every layer may import.
LAYERS = {"clients": 1, "catalogue": 2, "operations": 3, "github": 4, "main": 5, "cli": 5}
LAYERS["__main__"] = 5
BASE = 0
ENTRYPOINT = {"pagerduty_port.__main__", "pagerduty_port.main", "pagerduty_port.cli"}
#: Every client module, found on disk so a new one is checked too.
CLIENTS = sorted(
    f"pagerduty_port.clients.{path.stem}"
    for path in (PACKAGE / "clients").glob("*.py")
    if path.stem != "__init__"
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], BASE) if len(parts) > 1 else BASE


def imported_modules(module: str, source: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) for every import of this package in `source`, wherever it sits."""
    package = module if is_package else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # `from . import sync` imports a module, not a name
                sub = f"{target}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else target))
    return [(line, name) for line, name in found if name.split(".")[0] == "pagerduty_port"]


def upward_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    return [
        f"{module}:{line} imports {target} (layer {layer_of(target)} above {own})"
        for line, target in imported_modules(module, source, is_package)
        if layer_of(target) > own
    ]


def test_no_module_imports_a_higher_layer() -> None:
    problems = []
    for module, path in MODULES.items():
        problems += upward_imports(module, path.read_text(), path.name == "__init__.py")
    assert problems == []


def test_every_module_has_a_known_place() -> None:
    """A new top-level folder must be given its layer here, not fall into the shared base."""
    tops = {name.split(".")[1] for name in MODULES if name.count(".") >= 1}
    base = {"errors", "markdown", "formats"}
    assert tops - set(LAYERS) == base


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("pagerduty_port.clients.port", "from ..github.masking import SECRETS\n"),
        ("pagerduty_port.clients.port", "def f():\n    from ..operations import runtime\n"),
        (
            "pagerduty_port.catalogue.sync.run",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ...operations.runtime import Runtime\n",
        ),
        ("pagerduty_port.operations.sync", "import pagerduty_port.github.report\n"),
        ("pagerduty_port.errors", "from . import main\n"),
    ],
)
def test_the_layer_check_sees_every_kind_of_import(module: str, source: str) -> None:
    assert upward_imports(module, source) != []


@pytest.mark.parametrize("client", CLIENTS)
def test_a_client_loads_nothing_of_the_github_layer(client: str) -> None:
    code = f"import importlib, json, sys; importlib.import_module({client!r}); "
    code += "print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert client in loaded
    above = [
        name
        for name in loaded
        if name.split(".")[0] == "github_action_utils"
        or (name.startswith("pagerduty_port.") and layer_of(name) > layer_of(client))
    ]
    assert above == [], f"importing {client} loads {above}"


#: (object, attribute) pairs that read the process environment or the working directory.
_ENVIRONMENT = {
    ("os", "environ"),
    ("os", "getenv"),
    ("os", "getcwd"),
    ("os", "getcwdb"),
    ("Path", "cwd"),
}


def environment_reads(source: str) -> list[int]:
    """Lines that read the process environment or working directory."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in _ENVIRONMENT
        ) or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(("os", a.name) in _ENVIRONMENT for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_entrypoint_reads_the_environment() -> None:
    found = {
        module: lines
        for module, path in MODULES.items()
        if module not in ENTRYPOINT and (lines := environment_reads(path.read_text()))
    }
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "import os\nx = os.environ['A']\n",
        "import os\ndef f():\n    return os.getenv('A')\n",
        "import os\nwhere = os.getcwd()\n",
        "from os import environ\n",
        "from pathlib import Path\nhere = Path.cwd()\n",
    ],
)
def test_the_environment_check_sees_every_read(source: str) -> None:
    assert environment_reads(source) != []
