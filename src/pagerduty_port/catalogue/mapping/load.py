"""A mapping input turned into a compiled mapping: the built-in file, inline YAML or a path in
the workspace. The one place the sync and every entity-writing action read `mapping` from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ...errors import InputError
from .config import parse_document
from .engine import Resource

BUILT_IN = "built-in default"


@dataclass
class MappingConfig:
    """A whole mapping file, compiled: resources in file order and the two top-level switches."""

    resources: list[Resource]
    create_missing_related_entities: bool = True
    delete_dependent_entities: bool = False
    warnings: list[str] = field(default_factory=list)
    source: str = BUILT_IN  # where it came from, for logs and summaries
    input_name: str = "mapping"

    def compile(self) -> MappingConfig:
        """Compile every resource now (the sync maps them all): bad jq is an InputError
        before any request rather than after the first kinds were written."""
        for resource in self.resources:
            _ = resource.program
        return self

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(r.kind for r in self.resources))

    def only(self, kinds: Iterable[str]) -> MappingConfig:
        wanted = set(kinds)
        return MappingConfig(
            [r for r in self.resources if r.kind in wanted],
            self.create_missing_related_entities,
            self.delete_dependent_entities,
            self.warnings,
            self.source,
            self.input_name,
        )

    def blueprints_of(self, kind: str) -> set[str | None]:
        """The blueprints `kind` is written to (None: one computed per item by jq)."""
        return {r.blueprint for r in self.resources if r.kind == kind}

    def includes(self, kind: str) -> tuple[str, ...]:
        """`apiQueryParams.include` of every `kind` resource: what to fetch an object with so
        that an action maps it from the same data as the sync."""
        return tuple(dict.fromkeys(i for r in self.resources_for(kind) for i in r.includes))

    def resources_for(self, kind: str) -> list[Resource]:
        """The resources mapping PagerDuty `kind`; none is an InputError naming the input, so
        an operation can check what it will write before it makes any request."""
        found = [r for r in self.resources if r.kind == kind]
        if not found:
            raise InputError(
                self.input_name,
                f"({self.source}) has no resource of kind {kind!r}, so the catalogue entity "
                f"cannot be built; add one (it has: {', '.join(self.kinds) or 'none'}).",
            )
        for resource in found:
            _ = resource.program  # compiled now: bad jq fails before any request
        return found


def parse_mapping(
    text: str, *, input_name: str = "mapping", source: str = BUILT_IN
) -> MappingConfig:
    """Parse and compile a mapping file in Port Ocean's format; InputError names `input_name`."""
    parsed = parse_document(text, input_name=input_name)
    return MappingConfig(
        [Resource.of(spec) for spec in parsed.resources],
        create_missing_related_entities=parsed.create_missing_related_entities,
        delete_dependent_entities=parsed.delete_dependent_entities,
        warnings=parsed.warnings,
        source=source,
        input_name=input_name,
    )


def default_mapping_text() -> str:
    return (resources.files("pagerduty_port") / "mappings" / "default.yaml").read_text("utf-8")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # inline YAML is rarely a valid file name
        return False


def load_mapping(
    value: str | None, workspace: str, *, input_name: str = "mapping"
) -> MappingConfig:
    """`value` empty for the built-in mapping, inline YAML, or a path (relative to `workspace`)."""
    if value is None or not value.strip():
        return parse_mapping(default_mapping_text(), input_name=input_name)
    given = value.strip()
    path = Path(given)
    if not path.is_absolute():
        path = Path(workspace) / path
    looks_inline = "\n" in given or ": " in value or value.lstrip().startswith("{")
    if looks_inline and not _is_file(path):
        return parse_mapping(value, input_name=input_name, source="inline")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise InputError(
            input_name,
            f"file {given!r} was not found in the workspace ({workspace}); "
            "give a path or inline YAML.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(input_name, f"file {given!r} cannot be read: {exc}") from None
    return parse_mapping(text, input_name=input_name, source=given)
