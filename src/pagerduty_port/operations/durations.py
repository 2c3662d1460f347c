"""Durations and instants as Port users type them: `4h`, `2d`, `90m`, `off`, ISO 8601, `now`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import InputError

_DURATION_RE = re.compile(r"^(\d+)\s*([smhdw]?)$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_EXAMPLES = "such as 30m, 4h or 2d (s, m, h, d or w; a bare number is seconds)"


def parse_duration(name: str, value: str) -> timedelta:
    match = _DURATION_RE.match(value.strip())
    if match is None:
        raise InputError(name, f"got {value!r}; expected a duration {DURATION_EXAMPLES}.")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2].lower()])


def parse_instant(name: str, value: str, now: datetime) -> datetime:
    """An ISO 8601 date-time with a time zone (or `Z`), or `now`."""
    text = value.strip()
    if text.lower() == "now":
        return now.astimezone(UTC).replace(microsecond=0)
    candidate = text[:-1] + "+00:00" if text.endswith(("z", "Z")) else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InputError(
            name,
            f"got {value!r}; expected 'now' or an ISO 8601 date-time with a time zone, such as "
            "2026-03-01T09:00:00Z.",
        )
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
