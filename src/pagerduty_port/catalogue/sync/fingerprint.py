"""Small digests of entity content, so a sync can tell that Port already holds an entity as
mapped and skip the write, without keeping every entity Port holds in memory.

Writes use `merge=true`, so only the fields a mapping sends can change; a digest covers exactly
those (a `Keyset`). Values are compared the way Port stores them: a null property or relation is
the same as an absent one (so is an empty relation list), a team is a list, and date-times are
compared as instants.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..mapping import EntityMapping

_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class Keyset:
    """Which parts of an entity a resource's mapping writes."""

    title: bool
    icon: bool
    team: bool
    properties: tuple[str, ...]
    relations: tuple[str, ...]

    @classmethod
    def of(cls, mapping: EntityMapping) -> Keyset:
        return cls(
            title=mapping.title is not None,
            icon=mapping.icon is not None,
            team=mapping.team is not None,
            properties=tuple(sorted(mapping.properties)),
            relations=tuple(sorted(mapping.relations)),
        )


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        if _DATETIME_RE.match(value):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return value
            return moment.astimezone(UTC).isoformat()
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _team(value: Any) -> list[Any]:
    if value is None:
        return []
    return sorted(value) if isinstance(value, list) else [value]


def digest(entity: dict[str, Any], keys: Keyset) -> bytes:
    """A 12-byte digest of the parts of `entity` that `keys` covers."""
    properties = entity.get("properties") or {}
    relations = entity.get("relations") or {}
    content = [
        entity.get("title") if keys.title else None,
        entity.get("icon") if keys.icon else None,
        _team(entity.get("team")) if keys.team else None,
        {
            k: _canonical(properties.get(k))
            for k in keys.properties
            if properties.get(k) is not None
        },
        {
            k: _canonical(relations.get(k))
            for k in keys.relations
            if relations.get(k) not in (None, [])
        },
    ]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).digest()
