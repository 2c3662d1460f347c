"""One jq program per resource: it maps a whole page of PagerDuty items into entities in a
single call, because converting an item into jq's representation is the expensive part and a
program per field pays it once per field (see notes/performance.md).

Every program runs with `env` and `$ENV` shadowed by `{}`: the process environment holds the
PagerDuty token and the Port secret, and a mapping file must not be able to read them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jq

from ...errors import InputError
from .config import OPTIONAL_KEYS, EntityMapping, ResourceSpec

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


def _first(expression: str) -> str:
    """The expression's first output, or null: one value per field, as Ocean takes it."""
    return f"([({expression})][0])"


def entity_expression(mapping: EntityMapping) -> str:
    """A jq object constructor building the whole entity (blueprint included) from an item."""
    parts = [
        f"identifier: {_first(mapping.identifier)}",
        f"blueprint: {_first(mapping.blueprint)}",
    ]
    parts += [f"{k}: {_first(v)}" for k in OPTIONAL_KEYS if (v := getattr(mapping, k)) is not None]
    props = ", ".join(f"{_literal(k)}: {_first(v)}" for k, v in mapping.properties.items())
    rels = ", ".join(f"{_literal(k)}: {_first(v)}" for k, v in mapping.relations.items())
    parts += [f"properties: {{{props}}}", f"relations: {{{rels}}}"]
    return "{" + ", ".join(parts) + "}"


def page_program(spec: ResourceSpec) -> str:
    """`[item] -> [[outcome]]`: per item, a list of {e: entity} / {x: error} / nothing."""
    selected = (
        f"{_first(spec.query)} as $__s | "
        f"if $__s == true then {{e: {entity_expression(spec.mapping)}}} "
        f'elif $__s == false then empty else {{x: "selector"}} end'
    )
    if spec.items_to_parse is None:
        per_item = f"[{selected}]"
    else:
        per_item = (
            f"[({_first(spec.items_to_parse)} // [])[] as $__i | (. + {{item: $__i}}) | {selected}]"
        )
    return SANDBOX_PREFIX + f"map(try {per_item} catch [{{x: .}}])"


def compile_resource(spec: ResourceSpec) -> Any:
    """The resource's page program. Only when it does not compile are the expressions compiled
    one by one, to name the one at fault: compiling each up front costs ~1 ms apiece."""
    try:
        return jq.compile(page_program(spec))
    except ValueError:
        for name, expression in spec.expressions():
            compile_jq(expression, where=f"{spec.where} {name}", input_name=spec.input_name)
        raise InputError(
            spec.input_name, f"{spec.where}: the expressions do not compile together."
        ) from None
