"""Run a resource's compiled program over PagerDuty items, and name the field behind each item
that fails: the one-call program says only that an item failed, so a failing item is re-run
expression by expression (rare, and paid only for that item)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from .compile import compile_jq, compile_resource
from .config import OPTIONAL_KEYS, ResourceSpec


@dataclass(frozen=True)
class MappingError:
    """One item a resource could not map, with the field that failed."""

    kind: str
    field: str
    message: str
    example: str  # the item's id, to find it in PagerDuty

    def __str__(self) -> str:
        return f"{self.kind} {self.example}: {self.field}: {self.message}"


@dataclass
class PageResult:
    """What mapping a page produced: (blueprint, entity) pairs and per-item errors."""

    entities: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[MappingError] = field(default_factory=list)


@dataclass(frozen=True)
class Resource(ResourceSpec):
    """A resource whose page program is compiled when first needed: an action that writes one
    kind pays for that kind's program only (`MappingConfig.resources_for` compiles, so a bad
    expression is still an input error before any request)."""

    _compiled: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _field_programs: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, spec: ResourceSpec) -> Resource:
        values = {f.name: getattr(spec, f.name) for f in dataclasses.fields(ResourceSpec)}
        return cls(**values)

    @property
    def program(self) -> Any:
        """The page program; an expression that does not compile is an InputError naming it."""
        if "page" not in self._compiled:
            self._compiled["page"] = compile_resource(self)
        return self._compiled["page"]

    def map_page(self, items: list[Any]) -> PageResult:
        """Map a page of PagerDuty items in one jq call; failing items are diagnosed one by one."""
        result = PageResult()
        if not items:
            return result
        outcomes = self.program.input_value(items).first()
        for item, produced in zip(items, outcomes, strict=True):
            for outcome in produced:
                entity = outcome.get("e")
                if entity is None:
                    result.errors.append(self._diagnose(item))
                    break
                problem = _check_entity(entity)
                if problem is not None:
                    result.errors.append(
                        MappingError(self.kind, problem[0], problem[1], _example(item))
                    )
                    continue
                result.entities.append((entity.pop("blueprint"), _clean(entity)))
        return result

    def _programs(self) -> dict[str, Any]:
        if not self._field_programs:
            self._field_programs.update(
                {
                    name: compile_jq(expr, where=name, input_name=self.input_name)
                    for name, expr in self.expressions()
                }
            )
        return self._field_programs

    def _diagnose(self, item: Any) -> MappingError:
        """Re-run the item field by field to name the expression that fails."""
        subjects = [item]
        for name, program in self._programs().items():
            try:
                if name == "itemsToParse":
                    values = program.input_value(item).first() or []
                    subjects = (
                        [{**item, "item": v} for v in values]
                        if isinstance(item, dict)
                        else subjects
                    )
                    continue
                for subject in subjects:
                    value = program.input_value(subject).first()
                    if name == "selector.query" and not isinstance(value, bool):
                        return MappingError(
                            self.kind,
                            name,
                            f"produced {_short(value)}; expected true or false",
                            _example(item),
                        )
            except ValueError as exc:
                return MappingError(self.kind, name, str(exc), _example(item))
        return MappingError(self.kind, "(entity)", "the mapping failed", _example(item))


def _check_entity(entity: dict[str, Any]) -> tuple[str, str] | None:
    for key in ("identifier", "blueprint"):
        value = entity.get(key)
        if not isinstance(value, str) or not value:
            return key, f"produced {_short(value)}; expected a non-empty string"
    return None


def _clean(entity: dict[str, Any]) -> dict[str, Any]:
    """The body Port receives: unmapped or null title/icon/team are left out."""
    for key in OPTIONAL_KEYS:
        if key in entity and entity[key] is None:
            del entity[key]
    return entity


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _example(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("id", "identifier", "name"):
            if item.get(key) is not None:
                return str(item[key])
    return _short(item)
