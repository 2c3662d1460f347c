"""Port Ocean's mapping format, parsed and checked: what each resource reads from PagerDuty and
which jq expression fills each entity field. No jq runs here; `compile` turns this into programs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from ...errors import InputError

# libyaml's safe loader when PyYAML was built with it (several times faster), else PyYAML's.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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
KNOWN_TOP_KEYS = frozenset(
    {
        "resources",
        "createMissingRelatedEntities",
        "deleteDependentEntities",
        "enableMergeEntity",
        "entityDeletionThreshold",
    }
)
ENTITY_KEYS = ("identifier", "title", "blueprint", "icon", "team", "properties", "relations")
OPTIONAL_KEYS = ("title", "icon", "team")
#: jq variables the generated program binds; a mapping must not read or shadow them.
RESERVED_VARIABLE_PREFIX = "$__"


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
        out += [(k, v) for k in OPTIONAL_KEYS if (v := getattr(self, k)) is not None]
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
class ResourceSpec:
    """One entry of `resources`: what to read from PagerDuty and how to turn it into entities."""

    index: int
    kind: str
    query: str
    api_query_params: dict[str, Any]
    selector: dict[str, Any]
    items_to_parse: str | None
    mapping: EntityMapping
    input_name: str = "mapping"

    @property
    def where(self) -> str:
        """How errors name this resource: its place in the file and its kind."""
        return f"resources[{self.index}] ({self.kind})"

    def expressions(self) -> list[tuple[str, str]]:
        """Every jq expression of the resource, named, in evaluation order."""
        out = [("selector.query", self.query)]
        if self.items_to_parse is not None:
            out.append(("itemsToParse", self.items_to_parse))
        return out + self.mapping.fields()

    def uses(self, name: str) -> bool:
        """Whether any expression mentions `name` (to skip enrichments nobody maps)."""
        return any(name in expression for _, expression in self.expressions())

    @property
    def blueprint(self) -> str | None:
        return self.mapping.constant_blueprint()

    @property
    def includes(self) -> tuple[str, ...]:
        """`apiQueryParams.include`: what to ask PagerDuty to embed in each item."""
        value = self.api_query_params.get("include", self.api_query_params.get("include[]"))
        if value is None:
            return ()
        values = value if isinstance(value, list | tuple) else str(value).split(",")
        return tuple(str(v).strip() for v in values if str(v).strip())


@dataclass(frozen=True)
class ParsedMapping:
    """A whole mapping file, checked but not compiled."""

    resources: list[ResourceSpec]
    create_missing_related_entities: bool = True
    delete_dependent_entities: bool = False
    warnings: list[str] = field(default_factory=list)


def _expression(value: Any, where: str, input_name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str) or not value.strip():
        raise InputError(input_name, f"{where} must be a jq expression (a string).")
    if RESERVED_VARIABLE_PREFIX in value:
        raise InputError(
            input_name,
            f"{where}: jq variables starting with {RESERVED_VARIABLE_PREFIX} are reserved for "
            "the program the mapping compiles into; rename the variable.",
        )
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


def _entity_mapping(mappings: Mapping[str, Any], where: str, input_name: str) -> EntityMapping:
    unknown = [k for k in mappings if k not in ENTITY_KEYS]
    if unknown:
        raise InputError(
            input_name,
            f"{where} has unknown keys {unknown}; expected {', '.join(ENTITY_KEYS)}.",
        )
    for key in ("identifier", "blueprint"):
        if key not in mappings:
            raise InputError(input_name, f"{where}.{key} is required.")
    return EntityMapping(
        identifier=_expression(mappings["identifier"], f"{where}.identifier", input_name),
        blueprint=_expression(mappings["blueprint"], f"{where}.blueprint", input_name),
        **{
            k: _expression(mappings[k], f"{where}.{k}", input_name)
            for k in OPTIONAL_KEYS
            if mappings.get(k) is not None
        },
        properties=_expressions(mappings.get("properties"), f"{where}.properties", input_name),
        relations=_expressions(mappings.get("relations"), f"{where}.relations", input_name),
    )


def parse_resource(raw: Any, index: int, input_name: str) -> tuple[ResourceSpec, list[str]]:
    """One `resources[index]` entry, and warnings about the keys it ignores."""
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
    mapping = _entity_mapping(mappings, f"{where}.port.entity.mappings", input_name)
    items_to_parse = port.get("itemsToParse") if isinstance(port, Mapping) else None
    for key, default in (("serviceAnalytics", None), ("attachOncallUsers", True)):
        if key in selector:
            _flag(selector[key], f"{where}.selector.{key}", bool(default), input_name)
    months = selector.get("analyticsMonthsPeriod")
    if months is not None and (
        not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 12
    ):
        raise InputError(input_name, f"{where}.selector.analyticsMonthsPeriod must be 1 to 12.")
    spec = ResourceSpec(
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
    return spec, warnings


def parse_document(text: str, *, input_name: str = "mapping") -> ParsedMapping:
    """Check a mapping file in Port Ocean's format; InputError names `input_name`."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
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
    specs: list[ResourceSpec] = []
    warnings: list[str] = []
    for index, raw in enumerate(data["resources"]):
        spec, more = parse_resource(raw, index, input_name)
        specs.append(spec)
        warnings += more
    warnings += [
        f"top-level key {k!r} is not supported and is ignored."
        for k in data
        if k not in KNOWN_TOP_KEYS
    ]
    return ParsedMapping(
        specs,
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
