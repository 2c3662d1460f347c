"""The blueprints the built-in mapping writes to, created on request when missing (never
changed when they exist: a team's own blueprint edits win)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from ...clients.port import PortClient


def _load_defaults() -> dict[str, dict[str, Any]]:
    """The package's blueprint definitions (`pagerduty_port/blueprints/*.json`)."""
    folder = resources.files("pagerduty_port") / "blueprints"
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            definition = json.loads(entry.read_text("utf-8"))
            found[definition["identifier"]] = definition
    return found


DEFAULT_BLUEPRINTS: dict[str, dict[str, Any]] = _load_defaults()


def needed(blueprints: Iterable[str]) -> list[str]:
    """The default blueprints among `blueprints` plus their relation targets, targets first."""
    wanted: list[str] = []

    def visit(identifier: str) -> None:
        definition = DEFAULT_BLUEPRINTS.get(identifier)
        if definition is None or identifier in wanted:
            return
        for relation in (definition.get("relations") or {}).values():
            visit(relation["target"])
        wanted.append(identifier)

    for identifier in blueprints:
        visit(identifier)
    return wanted


def create_missing(
    port: PortClient, blueprints: Iterable[str], *, dry_run: bool, say: Callable[[str], None]
) -> list[str]:
    """Create the default blueprints that Port lacks; returns the ones created (or planned)."""
    created = []
    for identifier in needed(blueprints):
        if port.get_blueprint(identifier) is not None:
            continue
        if dry_run:
            say(f"Would create blueprint {identifier}")
        else:
            port.create_blueprint(DEFAULT_BLUEPRINTS[identifier])
            say(f"Created blueprint {identifier}")
        created.append(identifier)
    return created
