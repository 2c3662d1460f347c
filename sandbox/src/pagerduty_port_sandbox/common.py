"""Small helpers the simulators share: timestamps in the APIs' formats and PagerDuty-style ids."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta

_ID_ALPHABET = string.ascii_uppercase + string.digits


def utcnow() -> datetime:
    """The current time, timezone-aware, so arithmetic never mixes naive and aware values."""
    return datetime.now(UTC)


def iso_seconds(moment: datetime) -> str:
    """PagerDuty's timestamp format: UTC, whole seconds, `Z` suffix."""
    m = moment.astimezone(UTC)  # formatted by hand: strftime dominates bulk seeding otherwise
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def iso_millis(moment: datetime) -> str:
    """Port's timestamp format: UTC with milliseconds, `Z` suffix."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime | None:
    """Parse an ISO 8601 date or date-time the way the APIs accept it; None when it is not one.

    A bare date means midnight UTC, and a time without an offset is taken as UTC, as PagerDuty does
    when no `time_zone` is given.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    candidate = text.strip()
    if candidate.endswith(("z", "Z")):
        candidate = candidate[:-1] + "+00:00"
    # `+0000` (no colon) is common in monitoring tools; fromisoformat wants `+00:00`.
    if (
        len(candidate) > 5
        and candidate[-5] in "+-"
        and candidate[-4:].isdigit()
        and "T" in candidate
    ):
        candidate = candidate[:-2] + ":" + candidate[-2:]
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar-month arithmetic (clamping the day), used for PagerDuty's six-month window rule."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment + timedelta(days=30 * months)  # pragma: no cover - unreachable


class IdFactory:
    """Deterministic, unique, PagerDuty-looking ids (`P` + 6 characters, incidents `Q` + 13).

    A seeded generator keeps runs reproducible, so a failing test shows the same ids every time.
    """

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._used: set[str] = set()
        self._counters: dict[str, int] = {}

    def make(self, prefix: str = "P", length: int = 6) -> str:
        choices = self._random.choices
        while True:
            candidate = prefix + "".join(choices(_ID_ALPHABET, k=length))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def sequence(self, prefix: str, length: int) -> str:
        """A unique id from a scrambled counter: as random-looking as `make`, much faster.

        Multiplying by an odd number permutes the hexadecimal id space, so ids never repeat.
        """
        counter = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = counter
        value = (counter * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % (16**length)
        return f"{prefix}{value:0{length}X}"

    def reserve(self, identifier: str) -> None:
        """Mark an id chosen by the caller as taken."""
        self._used.add(identifier)
