"""Check the traffic the simulators recorded against the official OpenAPI specs.

The specs are third-party files without an open licence, so they are never copied into the
project: they are read at test time from `../shared/contracts/` next to the repository
(`contracts_dir()`), and tests that need them skip when that folder is absent, or fail when
PAGERDUTY_PORT_REQUIRE_CONTRACTS=1 (.ci/run sets it; GitHub CI fetches the specs first with
scripts/fetch_contracts.sh, at pinned commits with their sha256 checked).

    from contracts import ContractChecker
    checker = ContractChecker.load_or_skip()          # pytest.skip() without ../shared/contracts
    problems = checker.check(recorded_request)        # [] when the request honours the spec
    checker.assert_valid(request_log.all())           # AssertionError naming every violation
    checker.assert_valid(log.all(), ignore=lambda r: r.status == 400)  # sent invalid on purpose

Test modules directly under tests/ can `import contracts` (pytest puts their folder on sys.path
in its default import mode); elsewhere, put tests/ on sys.path first.
Messages read `<server> <METHOD> <path> [<template>]: <where>: <what>`, where <where> is
`path <name>`, `query <name>[#/<index>]`, `header <Name>` or `body#/<json/pointer>`.

A request is matched to an operation by server ("pagerduty", "events", "port"), method and path
template; then its path, query and header parameters and its JSON body are validated against
that operation. Header parameters are checked by hand (OpenAPI tools ignore Accept, Content-Type
and Authorization). The specs' known defects are patched in memory when they are loaded (see
`ContractChecker.patches()`); every patch is applied only where the defect is still present, so a
fixed spec is used as it is.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from jsonschema import (
    FormatChecker,
    _utils,  # equal/uniq: the exact JSON equality jsonschema uses
)
from jsonschema.exceptions import UnknownType, ValidationError, best_match
from openapi_schema_validator import OAS30WriteValidator, OAS31Validator
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4, DRAFT202012

__all__ = [
    "REQUIRE_ENV",
    "SPEC_FILES",
    "ContractChecker",
    "contracts_dir",
    "repo_root",
    "skip_or_fail",
]

#: Where each simulated server's spec lives, relative to `contracts_dir()`.
SPEC_FILES: dict[str, str] = {
    "pagerduty": "pagerduty/rest-openapiv3.json",
    "events": "pagerduty/events-v2-openapiv3.json",
    "port": "port/apispec.yaml",
}

PAGERDUTY_ACCEPT = "application/vnd.pagerduty+json;version=2"
_PAGERDUTY_AUTH = re.compile(r"(?:Token token=|Bearer )\S+")
_BEARER_AUTH = re.compile(r"Bearer \S+")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_HAND_CHECKED_HEADERS = {"accept", "content-type", "authorization"}
_MAX_MESSAGE = 400


#: Set to 1 (CI does) to turn "the specs are not there" from a skip into a failure.
REQUIRE_ENV = "PAGERDUTY_PORT_REQUIRE_CONTRACTS"


def skip_or_fail(reason: str) -> None:
    """Skip the calling test, or fail it when the contract tier is required to run."""
    import pytest

    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(
            f"{reason} ({REQUIRE_ENV}=1: the contract tier must run; "
            "fetch the specs with scripts/fetch_contracts.sh)"
        )
    pytest.skip(reason)


def repo_root() -> Path:
    """The repository this file belongs to (tests/ is one level below it)."""
    return Path(__file__).resolve().parent.parent


def contracts_dir() -> Path | None:
    """`../shared/contracts` next to the repository, or None when it is not there."""
    directory = repo_root().parent / "shared" / "contracts"
    return directory if directory.is_dir() else None


# --------------------------------------------------------------------------------------------
# Loading and patching the specs
# --------------------------------------------------------------------------------------------


def _yaml_loader() -> type:
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    # misc, valid-type: the base is chosen at run time (libyaml's loader when built with it).
    class _Loader(base):  # type: ignore[misc, valid-type]
        pass

    # Port's spec has unquoted `operator: =` in examples; `=` is YAML's (obsolete) value tag.
    _Loader.add_constructor(
        "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
    )
    return _Loader


def _walk_dicts(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            yield current
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield template, method, operation


def _patch_pagerduty(doc: dict[str, Any]) -> list[str]:
    patches = []
    # Reference objects ({id, type: "*_reference"}) inherit readOnly id/type from Tag/allOf/0,
    # which would forbid the very fields a request must send.
    dropped = 0
    for node in _walk_dicts(doc):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        for name in ("id", "type"):
            prop = properties.get(name)
            if isinstance(prop, dict) and prop.get("readOnly") is True:
                del prop["readOnly"]
                dropped += 1
    if dropped:
        patches.append(f"dropped readOnly from {dropped} `id`/`type` property schemas")
    # incident.body.details is declared as an object; the API takes (and returns) a string.
    body = doc.get("components", {}).get("schemas", {}).get("IncidentBody", {})
    details = body.get("properties", {}).get("details")
    if isinstance(details, dict) and details.get("type") == "object":
        details["type"] = "string"
        patches.append("IncidentBody.details: type object -> string")
    # A default of "20 - incident_summary" for an integer parameter (invalid, though harmless
    # for request validation): drop it so the schema itself is valid.
    limit = doc.get("components", {}).get("parameters", {}).get("sre_memories_limit", {})
    schema = limit.get("schema", {})
    if isinstance(schema.get("default"), str) and schema.get("type") == "integer":
        del schema["default"]
        patches.append("parameters.sre_memories_limit.schema: dropped the invalid default")
    # Array query parameters typed as a bare string (`statuses[]`, `include[]`, ...) are handled
    # when parameters are compiled, not here.
    return patches


def _patch_events(doc: dict[str, Any]) -> list[str]:
    # Its 400/429 responses carry `#/components/responses/...` in `description` (missing
    # components); request validation never reads responses, so nothing to patch. Its server URL
    # ends in /v2, which is where the operations' paths are rooted.
    del doc
    return []


_UNICODE_CLASS = re.compile(r"\[((?:\\.|[^\]\\])*?)\\p\{L\}((?:\\.|[^\]\\])*)\]")


def _rewrite_unicode_letters(pattern: str) -> str:
    """`[\\p{L}0-9_]` (ECMA-262 with the u flag) -> `(?:[^\\W\\d_]|[0-9_])` (Python `re`)."""

    def replace(match: re.Match[str]) -> str:
        rest = match.group(1) + match.group(2)
        return f"(?:[^\\W\\d_]|[{rest}])" if rest else "[^\\W\\d_]"

    rewritten = _UNICODE_CLASS.sub(replace, pattern)
    if "\\p{" in rewritten:
        raise ValueError(f"cannot rewrite the Unicode property in pattern {pattern!r}")
    return rewritten


def _patch_port(doc: dict[str, Any]) -> list[str]:
    patches = []
    rewritten = 0
    for node in _walk_dicts(doc):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and "\\p{" in pattern:
            node["pattern"] = _rewrite_unicode_letters(pattern)
            rewritten += 1
    if rewritten:
        patches.append(f"rewrote `\\p{{L}}` for Python re in {rewritten} patterns")
    nulls = []
    for template, method, operation in _operations(doc):
        if "parameters" in operation and operation["parameters"] is None:
            operation["parameters"] = []
            nulls.append(f"{method.upper()} {template}")
    if nulls:
        patches.append(f"parameters: null -> [] on {', '.join(nulls)}")
    # Response schemas (which forbid keys the API returns, and the 201-only create-entity) are
    # never used: only requests are validated.
    return patches


_PATCHERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "pagerduty": _patch_pagerduty,
    "events": _patch_events,
    "port": _patch_port,
}


def _read_spec(path: Path) -> dict[str, Any]:
    if path.suffix in {".yaml", ".yml"}:
        with path.open("rb") as stream:
            return yaml.load(stream, Loader=_yaml_loader())
    with path.open("rb") as stream:
        return json.load(stream)


# --------------------------------------------------------------------------------------------
# Formats: only the ones worth asserting on request traffic
# --------------------------------------------------------------------------------------------

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("email")
def _is_email(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[^@\s]+@[^@\s]+", value) is not None


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value and "t" not in value:
        raise ValueError("no time part")
    datetime.fromisoformat(value.replace("z", "Z"))  # ISO 8601 as Python 3.11 reads it
    return True


@_FORMATS.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_FORMATS.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


# --------------------------------------------------------------------------------------------
# A fast yes/no pre-check mirroring the validators' semantics (jsonschema takes ~3 ms for a
# 20-entity Port bulk body; this takes a tenth of that). Only a "no" pays for jsonschema, which
# then produces the messages. Schemas using a keyword it does not implement are left to
# jsonschema entirely, and tests compare both on mutated bodies.
# --------------------------------------------------------------------------------------------


class _Unsupported(Exception):
    """The schema uses a keyword the fast pre-check does not implement."""


_Check = Callable[[Any], bool]


def _always(_instance: Any) -> bool:
    return True


def _never(_instance: Any) -> bool:
    return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS: dict[str, _Check] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_num,
    "integer": _is_int,
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
_TYPE_TESTS_31: dict[str, _Check] = {
    **_TYPE_TESTS,
    "integer": lambda v: _is_int(v) or (isinstance(v, float) and v.is_integer()),
    "null": lambda v: v is None,
}


class _FastCompiler:
    """Compiles a schema (by JSON pointer into one spec) to a `value -> bool` function."""

    def __init__(self, api: _Api) -> None:
        self.api = api
        self.oas31 = api.oas31
        self.keywords = set(api.validator_class.VALIDATORS)
        self.noops = {
            name
            for name, function in api.validator_class.VALIDATORS.items()
            if getattr(function, "__name__", "") == "not_implemented"
        }
        self.refs: dict[str, _Check] = {}

    def top(self, pointer: str) -> _Check | None:
        """The check for the schema at `pointer`, or None when jsonschema must do it alone."""
        before = dict(self.refs)
        try:
            return self.ref(pointer)
        except _Unsupported:
            self.refs = before  # drop half-built (possibly recursive) entries
            return None

    def ref(self, ref: str) -> _Check:
        if ref.startswith(self.api.uri):
            ref = ref[len(self.api.uri) :]
        if not ref.startswith("#/"):
            raise _Unsupported(ref)
        if ref not in self.refs:
            cell: list[_Check] = []

            def forward(value: Any) -> bool:  # stands in while a recursive schema compiles
                return cell[0](value)

            self.refs[ref] = forward
            node, _ = self.api.resolve({"$ref": ref}, ref)
            cell.append(self.compile(node))
            self.refs[ref] = cell[0]
        return self.refs[ref]

    def compile(self, schema: Any) -> _Check:
        if schema is True or schema == {}:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        checks: list[_Check] = []
        for keyword, value in schema.items():
            if keyword not in self.keywords or keyword in self.noops:
                continue
            build = getattr(self, "_kw_" + keyword.lstrip("$"), None)
            if build is None:
                raise _Unsupported(keyword)
            checks.append(build(value, schema))
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]

        def check_all(value: Any) -> bool:
            for check in checks:  # noqa: SIM110 - a loop is faster than all() on this hot path
                if not check(value):
                    return False
            return True

        return check_all

    # -- keywords (signature: keyword value, whole schema) --------------------------------------
    def _kw_ref(self, ref: Any, _schema: dict[str, Any]) -> _Check:
        return self.ref(ref)

    def _kw_type(self, declared: Any, schema: dict[str, Any]) -> _Check:
        tests = _TYPE_TESTS_31 if self.oas31 else _TYPE_TESTS
        names = [declared] if isinstance(declared, str) else declared
        if not self.oas31 and not isinstance(declared, str):
            raise _Unsupported("type list in OpenAPI 3.0")
        if not isinstance(names, list) or any(n not in tests for n in names):
            raise _Unsupported(f"type {declared!r}")
        funcs = [tests[n] for n in names]
        nullable = not self.oas31 and schema.get("nullable") is True
        if len(funcs) == 1 and not nullable:
            return funcs[0]

        def check(value: Any) -> bool:
            if value is None and nullable:
                return True
            return any(f(value) for f in funcs)

        return check

    def _kw_readOnly(self, read_only: Any, _schema: dict[str, Any]) -> _Check:
        return _never if read_only else _always  # OAS 3.0 write validator: never send it

    def _kw_properties(self, properties: dict[str, Any], _schema: dict[str, Any]) -> _Check:
        compiled = [(name, self.compile(sub)) for name, sub in properties.items()]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for name, f in compiled:  # noqa: SIM110 - hot path, as above
                if name in value and not f(value[name]):
                    return False
            return True

        return check

    def _kw_required(self, required: list[str], schema: dict[str, Any]) -> _Check:
        names = list(required)
        if not self.oas31:  # write_required: a readOnly property is never required in a request
            props = schema.get("properties", {})
            names = [n for n in names if not (props.get(n) or {}).get("readOnly", False)]

        def check(value: Any) -> bool:
            return not isinstance(value, dict) or all(name in value for name in names)

        return check

    def _kw_additionalProperties(self, extra: Any, schema: dict[str, Any]) -> _Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = set(schema.get("properties", {}) or {})
        if extra is True or (isinstance(extra, dict) and not extra):
            return _always
        sub = _never if extra is False else self.compile(extra)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(sub(v) for k, v in value.items() if k not in known)

        return check

    def _kw_items(self, items: Any, schema: dict[str, Any]) -> _Check:
        if isinstance(items, list) or "prefixItems" in schema:
            raise _Unsupported("tuple items")
        sub = self.compile(items)

        def check(value: Any) -> bool:
            return not isinstance(value, list) or all(sub(v) for v in value)

        return check

    def _kw_enum(self, enum: list[Any], _schema: dict[str, Any]) -> _Check:
        return lambda value: any(_json_equal(option, value) for option in enum)

    def _kw_const(self, const: Any, _schema: dict[str, Any]) -> _Check:
        return lambda value: _json_equal(const, value)

    def _kw_pattern(self, pattern: str, _schema: dict[str, Any]) -> _Check:
        regex = re.compile(pattern)
        return lambda value: not isinstance(value, str) or regex.search(value) is not None

    def _kw_format(self, name: str, _schema: dict[str, Any]) -> _Check:
        return lambda value: value is None or _FORMATS.conforms(value, name)

    def _kw_minLength(self, n: int, _schema: dict[str, Any]) -> _Check:
        return lambda value: not isinstance(value, str) or len(value) >= n

    def _kw_maxLength(self, n: int, _schema: dict[str, Any]) -> _Check:
        return lambda value: not isinstance(value, str) or len(value) <= n

    def _kw_minItems(self, n: int, _schema: dict[str, Any]) -> _Check:
        return lambda value: not isinstance(value, list) or len(value) >= n

    def _kw_maxItems(self, n: int, _schema: dict[str, Any]) -> _Check:
        return lambda value: not isinstance(value, list) or len(value) <= n

    def _kw_minProperties(self, n: int, _schema: dict[str, Any]) -> _Check:
        return lambda value: not isinstance(value, dict) or len(value) >= n

    def _kw_maxProperties(self, n: int, _schema: dict[str, Any]) -> _Check:
        return lambda value: not isinstance(value, dict) or len(value) <= n

    def _kw_uniqueItems(self, unique: Any, _schema: dict[str, Any]) -> _Check:
        if not unique:
            return _always
        return lambda value: not isinstance(value, list) or _json_unique(value)

    def _kw_minimum(self, bound: Any, schema: dict[str, Any]) -> _Check:
        exclusive = not self.oas31 and schema.get("exclusiveMinimum", False)
        if exclusive:
            return lambda value: not _is_num(value) or value > bound
        return lambda value: not _is_num(value) or value >= bound

    def _kw_maximum(self, bound: Any, schema: dict[str, Any]) -> _Check:
        exclusive = not self.oas31 and schema.get("exclusiveMaximum", False)
        if exclusive:
            return lambda value: not _is_num(value) or value < bound
        return lambda value: not _is_num(value) or value <= bound

    def _kw_exclusiveMinimum(self, bound: Any, _schema: dict[str, Any]) -> _Check:
        return lambda value: not _is_num(value) or value > bound  # 3.1 only (3.0: a flag)

    def _kw_exclusiveMaximum(self, bound: Any, _schema: dict[str, Any]) -> _Check:
        return lambda value: not _is_num(value) or value < bound

    def _combinator(self, schema: dict[str, Any], subs: list[Any]) -> list[_Check]:
        if not self.oas31 and "discriminator" in schema:
            raise _Unsupported("discriminator")  # OAS 3.0 validators route on it
        return [self.compile(sub) for sub in subs]

    def _kw_allOf(self, subs: list[Any], schema: dict[str, Any]) -> _Check:
        funcs = self._combinator(schema, subs)
        return lambda value: all(f(value) for f in funcs)

    def _kw_anyOf(self, subs: list[Any], schema: dict[str, Any]) -> _Check:
        funcs = self._combinator(schema, subs)
        return lambda value: any(f(value) for f in funcs)

    def _kw_oneOf(self, subs: list[Any], schema: dict[str, Any]) -> _Check:
        funcs = self._combinator(schema, subs)
        return lambda value: sum(1 for f in funcs if f(value)) == 1

    def _kw_not(self, sub: Any, _schema: dict[str, Any]) -> _Check:
        func = self.compile(sub)
        return lambda value: not func(value)


def _json_equal(one: Any, two: Any) -> bool:
    return _utils.equal(one, two)


def _json_unique(items: list[Any]) -> bool:
    return bool(_utils.uniq(items))


# --------------------------------------------------------------------------------------------
# One spec, its routes and its compiled operations
# --------------------------------------------------------------------------------------------


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _location(prefix: str, path: Iterable[Any]) -> str:
    pointer = "".join("/" + _escape_pointer(str(part)) for part in path)
    return f"{prefix}#{pointer}" if pointer else prefix


def _short(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _closest(errors: list[ValidationError]) -> ValidationError:
    """The most telling complaint of a failed oneOf/anyOf: prefer branches whose type matched."""
    branches: dict[Any, list[ValidationError]] = {}
    for error in errors:
        branch = error.relative_schema_path[0] if error.relative_schema_path else None
        branches.setdefault(branch, []).append(error)
    typed = [
        error
        for group in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in group)
        for error in group
    ]
    return best_match(typed or errors)


def _describe(error: ValidationError, prefix: str) -> str:
    message = f"{_location(prefix, error.absolute_path)}: {_short(error.message)}"
    if error.context:  # oneOf / anyOf: name the closest branch's complaint
        closest = _closest(error.context)
        message += (
            f" (closest: {_location(prefix, closest.absolute_path)}: {_short(closest.message)})"
        )
    return message


def _types_of(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return [t for t in declared if isinstance(t, str)]
    return []


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A query/path/header string as the scalar type its schema declares (left as is if not)."""
    for kind in _types_of(schema):
        if kind == "integer" and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        if kind == "number":
            try:
                number = float(value)
            except ValueError:
                continue
            return int(number) if re.fullmatch(r"[+-]?\d+", value) else number
        if kind == "boolean" and value in {"true", "false"}:
            return value == "true"
        if kind == "string":
            return value
    return value


@dataclass
class _Param:
    name: str
    location: str  # "path", "query", "header"
    required: bool
    schema: dict[str, Any]  # with a top-level $ref resolved, for coercion
    is_array: bool
    explode: bool
    validate: Callable[[Any], Iterator[ValidationError]]
    fast: _Check | None


@dataclass
class _Operation:
    server: str
    method: str
    template: str
    operation_id: str
    params: dict[tuple[str, str], _Param]  # (location, name lower-cased for headers)
    body_required: bool
    body_media_types: list[str]
    body_validate: Callable[[Any], Iterator[ValidationError]] | None
    body_fast: _Check | None
    has_body: bool
    needs_auth: bool
    problems: list[str] = field(default_factory=list)


class _Api:
    """One parsed spec: routing, $ref resolution and a cache of compiled operations."""

    def __init__(self, server: str, doc: dict[str, Any], patches: list[str]) -> None:
        self.server = server
        self.doc = doc
        self.patches = patches
        self.uri = f"urn:contracts:{server}"
        self.oas31 = str(doc.get("openapi", "")).startswith("3.1")
        self.validator_class = OAS31Validator if self.oas31 else OAS30WriteValidator
        specification = DRAFT202012 if self.oas31 else DRAFT4
        self.registry: Registry = Registry().with_resource(
            self.uri, specification.create_resource(doc)
        )
        servers = doc.get("servers") or [{"url": ""}]
        self.base_path = urlsplit(servers[0].get("url", "")).path.rstrip("/")
        self.security = doc.get("security") or []
        self.routes = self._compile_routes()
        self.fast = _FastCompiler(self)
        self._operations: dict[tuple[str, str], _Operation] = {}
        self._route_cache: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self._lock = threading.Lock()

    # -- routing ------------------------------------------------------------------------------
    def _compile_routes(self) -> list[tuple[re.Pattern[str], str, list[str]]]:
        routes = []
        for template in self.doc.get("paths") or {}:
            names = re.findall(r"\{([^}]+)\}", template)
            regex = "".join(
                "([^/]+)" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", template)
                if part
            )
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            routes.append((len(names), -literal, re.compile(regex), template, names))
        routes.sort(key=lambda route: (route[0], route[1], route[3]))
        return [(regex, template, names) for _, _, regex, template, names in routes]

    def route(self, path: str) -> list[tuple[str, dict[str, str]]]:
        """Every (template, raw path parameter values) matching a path, most literal first."""
        cached = self._route_cache.get(path)
        if cached is not None:
            return cached
        found = []
        if path.startswith(self.base_path):
            relative = path[len(self.base_path) :] or "/"
            for regex, template, names in self.routes:
                match = regex.fullmatch(relative)
                if match:
                    found.append((template, dict(zip(names, match.groups(), strict=True))))
        if len(self._route_cache) > 10_000:
            self._route_cache.clear()
        self._route_cache[path] = found
        return found

    def find(self, path: str, method: str) -> tuple[str, dict[str, str], _Operation | None] | None:
        """The operation for a request: the most literal template that has the method.

        None when no template matches; (first template, values, None) when templates match but
        none of them has the method.
        """
        matches = self.route(path)
        for template, values in matches:
            op = self.operation(template, method)
            if op is not None:
                return template, values, op
        return (matches[0][0], matches[0][1], None) if matches else None

    # -- $ref ---------------------------------------------------------------------------------
    def resolve(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow local `$ref`s; returns the node and the JSON pointer (`#/...`) it lives at."""
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/") or ref in seen:
                break
            seen.add(ref)
            node = self.doc
            for raw in ref[2:].split("/"):
                token = unquote(raw).replace("~1", "/").replace("~0", "~")
                node = node[int(token)] if isinstance(node, list) else node[token]
            pointer = ref
        return node, pointer

    def validator(self, schema: dict[str, Any]) -> Callable[[Any], Iterator[ValidationError]]:
        validator = self.validator_class(schema, registry=self.registry, format_checker=_FORMATS)
        return validator.iter_errors

    def validator_at(self, pointer: str) -> Callable[[Any], Iterator[ValidationError]]:
        return self.validator({"$ref": self.uri + pointer})

    # -- operations ---------------------------------------------------------------------------
    def operation(self, template: str, method: str) -> _Operation | None:
        key = (template, method)
        with self._lock:
            if key not in self._operations:
                item = self.doc["paths"][template]
                if not isinstance(item.get(method), dict):
                    return None
                self._operations[key] = self._compile(template, method, item)
            return self._operations[key]

    def _compile(self, template: str, method: str, item: dict[str, Any]) -> _Operation:
        operation = item[method]
        base = f"#/paths/{_escape_pointer(template)}"
        params: dict[tuple[str, str], _Param] = {}
        sources = [(item.get("parameters") or [], f"{base}/parameters")]
        sources.append((operation.get("parameters") or [], f"{base}/{method}/parameters"))
        for declared, prefix in sources:  # operation-level parameters override path-level ones
            for index, raw in enumerate(declared):
                param, pointer = self.resolve(raw, f"{prefix}/{index}")
                if not isinstance(param, dict) or param.get("in") not in {
                    "path",
                    "query",
                    "header",
                }:
                    continue
                compiled = self._compile_param(param, pointer)
                name = compiled.name.lower() if compiled.location == "header" else compiled.name
                params[(compiled.location, name)] = compiled

        body_validate = None
        body_fast = None
        media_types: list[str] = []
        body_required = False
        body, body_pointer = self.resolve(
            operation.get("requestBody"), f"{base}/{method}/requestBody"
        )
        has_body = isinstance(body, dict)
        if has_body:
            body_required = bool(body.get("required", False))
            content = body.get("content") or {}
            media_types = list(content)
            for media_type, media in content.items():
                if _is_json(media_type) and isinstance(media, dict) and "schema" in media:
                    schema_pointer = f"{body_pointer}/content/{_escape_pointer(media_type)}/schema"
                    body_validate = self.validator_at(schema_pointer)
                    body_fast = self.fast.top(schema_pointer)
                    break
        security = operation.get("security", self.security)
        return _Operation(
            server=self.server,
            method=method.upper(),
            template=template,
            operation_id=str(operation.get("operationId") or operation.get("summary") or ""),
            params=params,
            body_required=body_required,
            body_media_types=media_types,
            body_validate=body_validate,
            body_fast=body_fast,
            has_body=has_body,
            needs_auth=bool(security) and all(bool(requirement) for requirement in security),
        )

    def _compile_param(self, param: dict[str, Any], pointer: str) -> _Param:
        location = param["in"]
        schema_node, schema_pointer = self.resolve(param.get("schema") or {}, f"{pointer}/schema")
        schema = schema_node if isinstance(schema_node, dict) else {}
        name = str(param["name"])
        declared_array = "array" in _types_of(schema)
        style = param.get("style", "form" if location == "query" else "simple")
        explode = bool(param.get("explode", style == "form"))
        fast = self.fast.top(schema_pointer)
        if declared_array:
            validate = self.validator_at(schema_pointer)
            is_array = True
        elif location == "query" and name.endswith("[]"):
            # PagerDuty types many `x[]` parameters as a bare string (with the enum): the values
            # are validated one by one against that schema.
            wrapper: dict[str, Any] = {
                "type": "array",
                "items": {"$ref": self.uri + schema_pointer},
            }
            if schema.get("uniqueItems"):
                wrapper["uniqueItems"] = True
            validate = self.validator(wrapper)
            is_array = True
            item_fast = fast
            unique = bool(schema.get("uniqueItems"))

            def fast(values: Any) -> bool:
                if item_fast is None or (unique and not _json_unique(values)):
                    return False
                return all(item_fast(value) for value in values)

        else:
            validate = self.validator_at(schema_pointer)
            is_array = False
        return _Param(
            name=name,
            location=location,
            required=bool(param.get("required", location == "path")),
            schema=schema,
            is_array=is_array,
            explode=explode,
            validate=validate,
            fast=fast,
        )


def _is_json(media_type: str) -> bool:
    media_type = media_type.split(";", maxsplit=1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


_SPEC_ERRORS = (UnknownType, Unresolvable, re.error)


def _run(validate: Callable[[Any], Iterator[ValidationError]], value: Any, where: str) -> list[str]:
    """jsonschema's complaints as lines; a broken spec is reported, not raised."""
    try:
        errors = sorted(validate(value), key=lambda e: [str(p) for p in e.absolute_path])
    except _SPEC_ERRORS as error:
        return [f"{where}: cannot be validated, the spec itself is broken here ({error!r})"]
    return [_describe(error, where) for error in errors]


def _check_value(param: _Param, raw: list[str]) -> list[str]:
    where = f"{param.location} {param.name}"
    if param.is_array:
        values = raw
        if not param.explode and len(raw) == 1:
            values = raw[0].split(",")
        items = param.schema.get("items") if isinstance(param.schema.get("items"), dict) else None
        item_schema = items if items is not None else param.schema
        value: Any = [_coerce(v, item_schema) for v in values]
    else:
        if len(raw) > 1:
            return [f"{where}: given {len(raw)} times but it is not an array parameter"]
        value = _coerce(raw[0], param.schema)
    if param.fast is not None and param.fast(value):
        return []
    return _run(param.validate, value, where)


def _check_headers(op: _Operation, headers: dict[str, str], body: bytes) -> list[str]:
    problems = []
    # Authorization, by hand: OpenAPI tools do not look at security schemes.
    if op.needs_auth:
        auth = headers.get("authorization")
        if auth is None:
            problems.append("header Authorization: missing")
        elif op.server == "pagerduty" and not _PAGERDUTY_AUTH.fullmatch(auth):
            problems.append(
                "header Authorization: PagerDuty wants `Token token=<key>` or `Bearer <token>`"
            )
        elif op.server == "port" and not _BEARER_AUTH.fullmatch(auth):
            problems.append("header Authorization: Port wants `Bearer <access token>`")
    # Accept, by hand: PagerDuty REST versions its API through it.
    if op.server == "pagerduty":
        accept = headers.get("accept")
        wanted = PAGERDUTY_ACCEPT.replace(" ", "").lower()
        if accept is None:
            problems.append(f"header Accept: missing (must be {PAGERDUTY_ACCEPT})")
        elif wanted not in {part.replace(" ", "").lower() for part in accept.split(",")}:
            problems.append(f"header Accept: {accept!r} is not {PAGERDUTY_ACCEPT!r}")
    # Content-Type: required with a body (the PagerDuty spec also marks it required on GETs,
    # which the API does not enforce and this checker does not either).
    if body:
        content_type = headers.get("content-type")
        if content_type is None:
            problems.append("header Content-Type: missing on a request with a body")
        elif op.body_media_types and content_type.split(";")[0].strip().lower() not in {
            m.lower() for m in op.body_media_types
        }:
            problems.append(
                f"header Content-Type: {content_type!r} is not one of {op.body_media_types}"
            )
    # Every other declared header parameter (From, X-EARLY-ACCESS, ...).
    for (location, name), param in op.params.items():
        if location != "header" or name in _HAND_CHECKED_HEADERS:
            continue
        if name not in headers:
            if param.required:
                problems.append(f"header {param.name}: required by this operation, missing")
            continue
        problems.extend(_check_value(param, [headers[name]]))
    return problems


def _events_documented_rules(body: Any) -> list[str]:
    """Rules of the Events v2 docs (contracts/pagerduty/docs) that the spec does not encode."""
    if not isinstance(body, dict):
        return []
    problems = []
    action = body.get("event_action")
    if action == "trigger" and "payload" not in body:
        problems.append("body#: 'payload' is required for a trigger event (Events v2 docs)")
    if action in {"acknowledge", "resolve"} and not body.get("dedup_key"):
        problems.append(f"body#: 'dedup_key' is required to {action} (Events v2 docs)")
    dedup_key = body.get("dedup_key")
    if isinstance(dedup_key, str) and len(dedup_key) > 255:
        problems.append("body#/dedup_key: longer than 255 characters (Events v2 docs)")
    payload = body.get("payload")
    summary = payload.get("summary") if isinstance(payload, dict) else None
    if isinstance(summary, str) and len(summary) > 1024:
        problems.append("body#/payload/summary: longer than 1024 characters (Events v2 docs)")
    return problems


def _check_operation(op: _Operation, request: Any, path_values: dict[str, str]) -> list[str]:
    problems: list[str] = []
    for name, raw in path_values.items():
        param = op.params.get(("path", name))
        if param is None:  # a few Port operations leave their path parameters undeclared
            continue
        problems.extend(_check_value(param, [unquote(raw)]))

    query: dict[str, list[str]] = request.query or {}
    for name, values in query.items():
        param = op.params.get(("query", name))
        if param is None:
            declared = sorted(n for loc, n in op.params if loc == "query")
            problems.append(f"query {name}: not a parameter of this operation ({declared=})")
            continue
        problems.extend(_check_value(param, list(values)))
    for (location, name), param in op.params.items():
        if location == "query" and param.required and name not in query:
            problems.append(f"query {name}: required, missing")

    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    body: bytes = request.body or b""
    problems.extend(_check_headers(op, headers, body))

    if not body:
        if op.body_required:
            problems.append("body: required by this operation, but the request has none")
        return problems
    if not op.has_body:
        problems.append(f"body: the operation takes no request body, got {len(body)} bytes")
        return problems
    if op.body_validate is None:
        return problems  # a non-JSON media type only: nothing to validate against
    try:
        document = json.loads(body)
    except ValueError as error:
        problems.append(f"body: not valid JSON ({error})")
        return problems
    if op.body_fast is None or not op.body_fast(document):
        problems.extend(_run(op.body_validate, document, "body"))
    if op.server == "events" and op.template == "/enqueue":
        problems.extend(_events_documented_rules(document))
    if op.server == "events" and len(body) > 512 * 1024:
        problems.append(f"body: {len(body)} bytes is over the Events API's 512 KB limit")
    return problems


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------

_CACHE: dict[tuple[Path, str], _Api] = {}
_CACHE_LOCK = threading.Lock()


class ContractChecker:
    """Validates `RecordedRequest`s against the official specs in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def load(cls, directory: Path | None = None) -> ContractChecker:
        """A checker for `directory` (default: `contracts_dir()`); FileNotFoundError if absent.

        Specs are parsed lazily, once per process, the first time a request for their server is
        checked (or all at once by `preload()`).
        """
        expected = Path(directory) if directory is not None else repo_root().parent / "shared"
        if directory is None:
            directory = contracts_dir()
            expected = expected / "contracts"
        if directory is None or not Path(directory).is_dir():
            raise FileNotFoundError(f"no contracts folder at {expected}")
        missing = [f for f in SPEC_FILES.values() if not (Path(directory) / f).is_file()]
        if missing:
            raise FileNotFoundError(f"specs missing from {directory}: {missing}")
        return cls(Path(directory))

    @classmethod
    def load_or_skip(cls, directory: Path | None = None) -> ContractChecker:
        """`load()`, or `pytest.skip()` the calling test when the specs are not there."""
        try:
            return cls.load(directory)
        except FileNotFoundError as error:
            skip_or_fail(f"official API specs not available: {error}")
            raise  # unreachable: skip_or_fail raises

    def preload(self) -> ContractChecker:
        """Parse and patch every spec now (about a second, mostly Port's YAML)."""
        for server in SPEC_FILES:
            self._api(server)
        return self

    def patches(self) -> dict[str, list[str]]:
        """The in-memory fixes applied to each (loaded) spec."""
        return {server: self._api(server).patches for server in SPEC_FILES}

    def _api(self, server: str) -> _Api:
        key = (self.directory.resolve(), server)
        with _CACHE_LOCK:
            api = _CACHE.get(key)
            if api is None:
                doc = _read_spec(self.directory / SPEC_FILES[server])
                patches = _PATCHERS[server](doc)
                api = _CACHE[key] = _Api(server, doc, patches)
            return api

    def operation(self, request: Any) -> tuple[str, str] | None:
        """(path template, operationId or summary) the request maps to, or None."""
        if request.server not in SPEC_FILES:
            return None
        found = self._api(request.server).find(request.path, request.method.lower())
        if found is None or found[2] is None:
            return None
        return found[2].template, found[2].operation_id

    def check(self, request: Any) -> list[str]:
        """Every way `request` departs from its spec, as readable lines ([] when it is valid)."""
        label = f"{request.server} {request.method} {request.path}"
        if request.server not in SPEC_FILES:
            return [f"{label}: unknown server {request.server!r} (expected {list(SPEC_FILES)})"]
        api = self._api(request.server)
        found = api.find(request.path, request.method.lower())
        if found is None:
            return [f"{label}: no path in the {request.server} spec matches"]
        template, path_values, op = found
        if op is None:
            allowed = [
                m.upper() for m in _METHODS if isinstance(api.doc["paths"][template].get(m), dict)
            ]
            return [f"{label}: {template} has no {request.method} operation (spec has {allowed})"]
        prefix = f"{label} [{template}]"
        return [f"{prefix}: {problem}" for problem in _check_operation(op, request, path_values)]

    def check_all(
        self, requests: Iterable[Any], *, ignore: Callable[[Any], bool] | None = None
    ) -> list[str]:
        """`check()` over many requests, skipping those `ignore(request)` is true for."""
        problems: list[str] = []
        for request in requests:
            if ignore is not None and ignore(request):
                continue
            problems.extend(self.check(request))
        return problems

    def assert_valid(
        self, requests: Iterable[Any], *, ignore: Callable[[Any], bool] | None = None
    ) -> int:
        """Raise AssertionError listing every violation; returns how many requests were checked.

        `ignore` excludes requests a test sends invalid on purpose. Identical lines (the same
        violation on the same method and path) are listed once with a count.
        """
        checked = 0
        problems: list[str] = []
        for request in requests:
            if ignore is not None and ignore(request):
                continue
            checked += 1
            problems.extend(self.check(request))
        if problems:
            counts = Counter(problems)
            lines = [p if n == 1 else f"{p}  (x{n})" for p, n in counts.items()]
            raise AssertionError(
                f"{len(problems)} contract violation(s) in {checked} request(s):\n  "
                + "\n  ".join(lines)
            )
        return checked
