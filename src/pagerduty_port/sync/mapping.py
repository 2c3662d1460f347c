"""Port Ocean mapping files, parsed and compiled once: ONE jq program per resource builds every
entity of a page, because converting an item into jq's representation is the expensive part and a
program per field pays it once per field (see docs on mapping speed).

Every program runs with `env` and `$ENV` shadowed by `{}`: the process environment holds the
PagerDuty token and the Port secret, and a mapping file must not be able to read them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jq
import yaml

from ..errors import InputError

#: PagerDuty list endpoints a resource may name as its `kind`.
KINDS = (
    "services",
    "incidents",
    "schedules",
    "oncalls",
    "escalation_policies",
    "users",
    "teams",
)
KNOWN_SELECTOR_KEYS = frozenset(
    {
        "query",
        "apiQueryParams",
        "serviceAnalytics",
        "analyticsMonthsPeriod",
        "attachOncallUsers",
    }
)
ENTITY_KEYS = ("identifier", "title", "blueprint", "icon", "team", "properties", "relations")
_OPTIONAL_KEYS = ("title", "icon", "team")
# Lexically shadows jq's environment accessors for everything that follows.
SANDBOX_PREFIX = "def env: {}; {} as $ENV | "
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def compile_jq(expression: str, *, where: str, input_name: str) -> Any:
    """Compile one expression inside the environment sandbox; a syntax error names `where`."""
    try:
        return jq.compile(SANDBOX_PREFIX + f"[({expression})][0]")
    except ValueError as exc:
        message = str(exc).replace(SANDBOX_PREFIX, "").splitlines()[0]
        raise InputError(
            input_name, f"{where}: jq expression {expression!r} does not compile: {message}"
        ) from None


def _literal(key: str) -> str:
    """A jq object key for `key` (quoted unless it is a plain identifier)."""
    return key if _IDENT_RE.match(key) else json.dumps(key)


@dataclass(frozen=True)
class EntityMapping:
    """The jq expressions of `port.entity.mappings`, in Ocean's shape."""

    identifier: str
    blueprint: str
    title: str | None = None
    icon: str | None = None
    team: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    relations: dict[str, str] = field(default_factory=dict)

    def fields(self) -> list[tuple[str, str]]:
        """(field name as reported to users, expression), in evaluation order."""
        out = [("identifier", self.identifier), ("blueprint", self.blueprint)]
        out += [(k, getattr(self, k)) for k in _OPTIONAL_KEYS if getattr(self, k) is not None]
        out += [(f"properties.{k}", v) for k, v in self.properties.items()]
        out += [(f"relations.{k}", v) for k, v in self.relations.items()]
        return out

    def constant_blueprint(self) -> str | None:
        """The blueprint when the expression is a string literal (as it nearly always is)."""
        try:
            value = json.loads(self.blueprint)
        except ValueError:
            return None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class MappingError:
    """One item a resource could not map, with the field that failed."""

    kind: str
    field: str
    message: str
    example: str  # the item's id, to find it in PagerDuty


@dataclass
class PageResult:
    """What mapping a page produced: (blueprint, entity) pairs and per-item errors."""

    entities: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    errors: list[MappingError] = field(default_factory=list)


@dataclass
class Resource:
    """One entry of `resources`: what to read from PagerDuty and how to turn it into entities."""

    index: int
    kind: str
    query: str
    api_query_params: dict[str, Any]
    selector: dict[str, Any]
    items_to_parse: str | None
    mapping: EntityMapping
    input_name: str = "mapping"
    _program: Any = field(default=None, repr=False)
    _field_programs: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        where = f"resources[{self.index}] ({self.kind})"
        for name, expression in self._all_expressions():
            compile_jq(expression, where=f"{where} {name}", input_name=self.input_name)
        self._program = jq.compile(self._page_program())

    def _all_expressions(self) -> list[tuple[str, str]]:
        out = [("selector.query", self.query)]
        if self.items_to_parse is not None:
            out.append(("itemsToParse", self.items_to_parse))
        return out + self.mapping.fields()

    def uses(self, name: str) -> bool:
        """Whether any expression mentions `name` (to skip enrichments nobody maps)."""
        return any(name in expression for _, expression in self._all_expressions())

    @property
    def blueprint(self) -> str | None:
        return self.mapping.constant_blueprint()

    def _entity_expression(self) -> str:
        m = self.mapping

        def one(expression: str) -> str:
            return f"([({expression})][0])"

        parts = [f"identifier: {one(m.identifier)}", f"blueprint: {one(m.blueprint)}"]
        parts += [f"{k}: {one(getattr(m, k))}" for k in _OPTIONAL_KEYS if getattr(m, k) is not None]
        props = ", ".join(f"{_literal(k)}: {one(v)}" for k, v in m.properties.items())
        rels = ", ".join(f"{_literal(k)}: {one(v)}" for k, v in m.relations.items())
        parts += [f"properties: {{{props}}}", f"relations: {{{rels}}}"]
        return "{" + ", ".join(parts) + "}"

    def _page_program(self) -> str:
        """`[item] -> [[outcome]]`: per item, a list of {e: entity} / {x: error} / nothing."""
        selected = (
            f"([({self.query})][0]) as $__s | "
            f"if $__s == true then {{e: {self._entity_expression()}}} "
            f'elif $__s == false then empty else {{x: "selector"}} end'
        )
        if self.items_to_parse is None:
            per_item = f"[{selected}]"
        else:
            per_item = (
                f"[([({self.items_to_parse})][0] // [])[] as $__i | (. + {{item: $__i}}) | "
                f"{selected}]"
            )
        return SANDBOX_PREFIX + f"map(try {per_item} catch [{{x: .}}])"

    # Mapping -----------------------------------------------------------------------------
    def map_page(self, items: list[Any]) -> PageResult:
        """Map a page of PagerDuty items in one jq call; failing items are diagnosed one by one."""
        result = PageResult()
        if not items:
            return result
        outcomes = self._program.input_value(items).first()
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

    def _diagnose(self, item: Any) -> MappingError:
        """Re-run the item field by field to name the expression that fails."""
        if self._field_programs is None:
            self._field_programs = {
                name: compile_jq(expr, where=name, input_name=self.input_name)
                for name, expr in self._all_expressions()
            }
        subjects = [item]
        for name, program in self._field_programs.items():
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
    for key in _OPTIONAL_KEYS:
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


# Parsing --------------------------------------------------------------------------------
@dataclass
class MappingConfig:
    """A whole mapping file: resources in file order and the two top-level switches."""

    resources: list[Resource]
    create_missing_related_entities: bool = True
    delete_dependent_entities: bool = False
    warnings: list[str] = field(default_factory=list)

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
        )


def _expression(value: Any, where: str, input_name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str) or not value.strip():
        raise InputError(input_name, f"{where} must be a jq expression (a string).")
    return value


def _expressions(value: Any, where: str, input_name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(input_name, f"{where} must be a mapping of name -> jq expression.")
    return {str(k): _expression(v, f"{where}.{k}", input_name) for k, v in value.items()}


def _flag(value: Any, where: str, default: bool, input_name: str) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InputError(input_name, f"{where} must be true or false.")


def parse_resource(raw: Any, index: int, input_name: str) -> tuple[Resource, list[str]]:
    where = f"resources[{index}]"
    if not isinstance(raw, Mapping):
        raise InputError(input_name, f"{where} must be a mapping with kind, selector and port.")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(
            input_name, f"{where}.kind is {kind!r}; expected one of: {', '.join(KINDS)}."
        )
    warnings = [
        f"{where} ({kind}): unknown key {k!r} ignored."
        for k in raw
        if k not in ("kind", "selector", "port")
    ]
    selector = raw.get("selector") or {}
    if not isinstance(selector, Mapping):
        raise InputError(input_name, f"{where}.selector must be a mapping.")
    warnings += [
        f"{where} ({kind}): selector key {k!r} is not supported and is ignored."
        for k in selector
        if k not in KNOWN_SELECTOR_KEYS
    ]
    params = selector.get("apiQueryParams") or {}
    if not isinstance(params, Mapping):
        raise InputError(input_name, f"{where}.selector.apiQueryParams must be a mapping.")
    port = raw.get("port")
    entity = port.get("entity") if isinstance(port, Mapping) else None
    mappings = entity.get("mappings") if isinstance(entity, Mapping) else None
    if not isinstance(mappings, Mapping):
        raise InputError(input_name, f"{where}.port.entity.mappings is required (a mapping).")
    unknown = [k for k in mappings if k not in ENTITY_KEYS]
    if unknown:
        raise InputError(
            input_name,
            f"{where}.port.entity.mappings has unknown keys {unknown}; expected "
            f"{', '.join(ENTITY_KEYS)}.",
        )
    for key in ("identifier", "blueprint"):
        if key not in mappings:
            raise InputError(input_name, f"{where}.port.entity.mappings.{key} is required.")
    base = f"{where}.port.entity.mappings"
    mapping = EntityMapping(
        identifier=_expression(mappings["identifier"], f"{base}.identifier", input_name),
        blueprint=_expression(mappings["blueprint"], f"{base}.blueprint", input_name),
        **{
            k: _expression(mappings[k], f"{base}.{k}", input_name)
            for k in _OPTIONAL_KEYS
            if mappings.get(k) is not None
        },
        properties=_expressions(mappings.get("properties"), f"{base}.properties", input_name),
        relations=_expressions(mappings.get("relations"), f"{base}.relations", input_name),
    )
    items_to_parse = port.get("itemsToParse") if isinstance(port, Mapping) else None
    for key, default in (("serviceAnalytics", None), ("attachOncallUsers", True)):
        if key in selector:
            _flag(selector[key], f"{where}.selector.{key}", bool(default), input_name)
    months = selector.get("analyticsMonthsPeriod")
    if months is not None and (
        not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 12
    ):
        raise InputError(input_name, f"{where}.selector.analyticsMonthsPeriod must be 1 to 12.")
    resource = Resource(
        index=index,
        kind=str(kind),
        query=_expression(selector.get("query", "true"), f"{where}.selector.query", input_name),
        api_query_params=dict(params),
        selector=dict(selector),
        items_to_parse=(
            _expression(items_to_parse, f"{where}.port.itemsToParse", input_name)
            if items_to_parse is not None
            else None
        ),
        mapping=mapping,
        input_name=input_name,
    )
    return resource, warnings


def parse_mapping(text: str, *, input_name: str = "mapping") -> MappingConfig:
    """Parse and compile a mapping file in Port Ocean's format; InputError names `input_name`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(input_name, f"is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("resources"), list):
        raise InputError(
            input_name,
            "is not a mapping in Port Ocean's format: expected a top-level "
            "'resources' list (resources[].kind, selector, port.entity.mappings).",
        )
    if not data["resources"]:
        raise InputError(input_name, "has an empty 'resources' list.")
    resources: list[Resource] = []
    warnings: list[str] = []
    for index, raw in enumerate(data["resources"]):
        resource, more = parse_resource(raw, index, input_name)
        resources.append(resource)
        warnings += more
    known_top = {
        "resources",
        "createMissingRelatedEntities",
        "deleteDependentEntities",
        "enableMergeEntity",
        "entityDeletionThreshold",
    }
    warnings += [
        f"top-level key {k!r} is not supported and is ignored." for k in data if k not in known_top
    ]
    return MappingConfig(
        resources,
        create_missing_related_entities=_flag(
            data.get("createMissingRelatedEntities"),
            "createMissingRelatedEntities",
            True,
            input_name,
        ),
        delete_dependent_entities=_flag(
            data.get("deleteDependentEntities"), "deleteDependentEntities", False, input_name
        ),
        warnings=warnings,
    )
