"""Port's entity search language (`{combinator, rules}`) and its include/exclude projection.

Supported: nested `and`/`or`; property, meta-property (`$identifier`, `$title`, `$blueprint`,
`$team`, `$createdAt`, ...) and relation rules with `=`, `!=`, `in`, `notIn`, `contains`,
`doesNotContains`, `containsAny`, `beginsWith`, `doesNotBeginsWith`, `endsWith`,
`doesNotEndsWith`, `isEmpty`, `isNotEmpty`, `>`, `>=`, `<`, `<=`, `between`, `notBetween`; and
`relatedTo` (one hop, `upstream`/`downstream` or both). Anything else is a 422, as a typo in a
real query would be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from pagerduty_port_sandbox.common import parse_iso, utcnow
from pagerduty_port_sandbox.port_schema import invalid

Entity = dict[str, Any]
Key = tuple[str, str]
Predicate = Callable[[Entity], bool]

META = {
    "$identifier": "identifier",
    "$title": "title",
    "$icon": "icon",
    "$blueprint": "blueprint",
    "$team": "team",
    "$createdAt": "createdAt",
    "$updatedAt": "updatedAt",
    "$createdBy": "createdBy",
    "$updatedBy": "updatedBy",
}
_PRESETS = {
    "today": timedelta(days=1),
    "lastDay": timedelta(days=1),
    "lastWeek": timedelta(days=7),
    "last2Weeks": timedelta(days=14),
    "lastMonth": timedelta(days=30),
    "last3Months": timedelta(days=91),
    "last6Months": timedelta(days=182),
    "last12Months": timedelta(days=365),
}


def value_of(entity: Entity, name: str) -> Any:
    if name in META:
        return entity.get(META[name])
    if name in entity.get("properties", {}):
        return entity["properties"][name]
    return entity.get("relations", {}).get(name)


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        moment = parse_iso(value) if "T" in value or len(value) == 10 else None
        if moment is not None:
            return moment.timestamp()
    return value


def _empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _compare(operator: str, actual: Any, expected: Any) -> bool:
    if operator == "=":
        return actual == expected or (isinstance(actual, list) and expected in actual)
    if operator == "!=":
        return not _compare("=", actual, expected)
    if operator in ("in", "notIn"):
        if not isinstance(expected, list):
            raise invalid(f'the value of an "{operator}" rule must be an array')
        hit = any(a in expected for a in _as_list(actual))
        return hit if operator == "in" else not hit
    if operator in ("contains", "doesNotContains"):
        if isinstance(actual, list):
            hit = expected in actual
        else:
            hit = isinstance(actual, str) and str(expected) in actual
        return hit if operator == "contains" else not hit
    if operator == "containsAny":
        return any(e in _as_list(actual) for e in _as_list(expected))
    if operator in ("beginsWith", "doesNotBeginsWith", "endsWith", "doesNotEndsWith"):
        text = actual if isinstance(actual, str) else ""
        begins = operator in ("beginsWith", "doesNotBeginsWith")
        hit = isinstance(actual, str) and (
            text.startswith(str(expected)) if begins else text.endswith(str(expected))
        )
        return not hit if operator.startswith("doesNot") else hit
    if operator in (">", ">=", "<", "<="):
        left, right = _comparable(actual), _comparable(expected)
        numbers = isinstance(left, int | float) and isinstance(right, int | float)
        if left is None or (type(left) is not type(right) and not numbers):
            return False
        outcomes: dict[str, bool] = {
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }
        return outcomes[operator]
    if operator in ("between", "notBetween"):
        if not isinstance(expected, dict):
            raise invalid(f'the value of a "{operator}" rule must be an object')
        if "preset" in expected:
            span = _PRESETS.get(expected["preset"])
            if span is None:
                raise invalid(f"unknown date preset {expected['preset']!r}")
            end = utcnow()
            start_ts, end_ts = (end - span).timestamp(), end.timestamp()
        else:
            start, end_moment = (
                parse_iso(expected.get("from", "")),
                parse_iso(expected.get("to", "")),
            )
            if start is None or end_moment is None:
                raise invalid(f'a "{operator}" rule needs ISO "from" and "to" dates')
            start_ts, end_ts = start.timestamp(), end_moment.timestamp()
        moment = _comparable(actual)
        hit = isinstance(moment, float) and start_ts <= moment <= end_ts
        return hit if operator == "between" else not hit
    raise invalid(f"unsupported search operator {operator!r}")


def compile_query(query: Any, entities: Mapping[Key, Entity]) -> Predicate:
    """A predicate for a `{combinator, rules}` query; raises a 422 PortError when it is invalid."""
    if query is None:
        return lambda entity: True
    if not isinstance(query, dict) or "rules" not in query:
        raise invalid("query must be an object with a combinator and rules")
    combinator = query.get("combinator", "and")
    if combinator not in ("and", "or"):
        raise invalid("query/combinator must be equal to one of the allowed values: and, or")
    rules = query["rules"]
    if not isinstance(rules, list):
        raise invalid("query/rules must be array")
    predicates = [_compile_rule(rule, entities) for rule in rules]
    if combinator == "and":
        return lambda entity: all(p(entity) for p in predicates)
    return lambda entity: any(p(entity) for p in predicates)


def _compile_rule(rule: Any, entities: Mapping[Key, Entity]) -> Predicate:
    if not isinstance(rule, dict):
        raise invalid("every rule must be an object")
    if "combinator" in rule:
        return compile_query(rule, entities)
    operator = rule.get("operator")
    if operator == "relatedTo":
        return _related_to(rule, entities)
    if "relation" in rule:
        name = rule["relation"]

        def read(entity: Entity) -> Any:
            return entity.get("relations", {}).get(name)
    elif isinstance(rule.get("property"), str):
        name = rule["property"]

        def read(entity: Entity) -> Any:
            return value_of(entity, name)
    else:
        raise invalid("a rule needs a property, a relation or a combinator")
    if operator in ("isEmpty", "isNotEmpty"):
        want_empty = operator == "isEmpty"
        return lambda entity: _empty(read(entity)) == want_empty
    if operator is None:
        raise invalid("a rule needs an operator")
    if "value" not in rule:
        raise invalid(f'a "{operator}" rule needs a value')
    expected = rule["value"]
    _compare(operator, None, expected)  # reject unknown operators and malformed values up front
    return lambda entity: _compare(operator, read(entity), expected)


def _related_to(rule: dict[str, Any], entities: Mapping[Key, Entity]) -> Predicate:
    blueprint = rule.get("blueprint")
    targets = set(_as_list(rule.get("value")))
    direction = rule.get("direction")
    if not isinstance(blueprint, str) or not targets:
        raise invalid('a "relatedTo" rule needs a blueprint and a value')
    if direction not in (None, "upstream", "downstream"):
        raise invalid('"direction" must be "upstream" or "downstream"')
    upstream: set[str] = set()  # identifiers the targets point to
    for target in targets:
        entity = entities.get((blueprint, target))
        if entity is not None:
            for relation_values in entity.get("relations", {}).values():
                upstream.update(i for i in _as_list(relation_values) if i is not None)

    def related(entity: Entity) -> bool:
        if direction in (None, "downstream"):
            for value in entity.get("relations", {}).values():
                if any(v in targets for v in _as_list(value)):
                    return True
        if direction in (None, "upstream"):
            return entity["identifier"] in upstream
        return False

    return related


def project(entity: Entity, include: list[str] | None, exclude: list[str] | None) -> Entity:
    """Apply Port's `include`/`exclude` lists (`$meta`, property and relation identifiers)."""
    if not include and not exclude:
        return entity

    def locate(name: str) -> tuple[str | None, str]:
        if name in META:
            return None, META[name]
        if name in META.values():
            return None, name
        for section in ("properties", "relations"):
            prefix = section + "."
            if name.startswith(prefix):
                return section, name[len(prefix) :]
        if name in entity.get("relations", {}) and name not in entity.get("properties", {}):
            return "relations", name
        return "properties", name

    if include:
        out: Entity = {}
        for name in include:
            section, key = locate(name)
            if section is None:
                if key in entity:
                    out[key] = entity[key]
            elif key in entity.get(section, {}):
                out.setdefault(section, {})[key] = entity[section][key]
        return out
    out = {**entity, "properties": dict(entity.get("properties", {}))}
    out["relations"] = dict(entity.get("relations", {}))
    for name in exclude or []:
        section, key = locate(name)
        if section is None:
            out.pop(key, None)
        else:
            out[section].pop(key, None)
    return out
