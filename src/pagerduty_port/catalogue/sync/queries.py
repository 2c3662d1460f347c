"""What a sync asks PagerDuty: `apiQueryParams` as query parameters, time windows, and the
paginated lists every read goes through, counted for the request budget."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from ...clients.pagerduty import PagerDutyClient
from ...errors import InputError

MAX_WINDOW = timedelta(days=179)  # PagerDuty accepts at most 6 months per incidents query
SLICE_TARGET = 8_000  # aim below the cap so a slice that grows during the read still fits
DEFAULT_INCIDENT_DAYS = 30
ONCALL_MONTHS_AHEAD = 3  # Ocean's default oncalls window: now to 3 x 30 days ahead
MIN_SLICE = timedelta(seconds=2)
FUTURE = timedelta(minutes=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 date or date-time (naive means UTC); None when it is not one."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def query_params(params: dict[str, Any], *, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """`apiQueryParams` as PagerDuty query parameters: lists as `name[]`, booleans lower-case."""
    out: list[tuple[str, Any]] = []
    for key, value in params.items():
        if key in skip or value is None:
            continue
        if isinstance(value, list | tuple):
            name = key if key.endswith("[]") else f"{key}[]"
            out += [(name, _scalar(v)) for v in value]
        else:
            out.append((key, _scalar(value)))
    return out


def oncall_params(params: dict[str, Any], now: datetime) -> list[tuple[str, Any]]:
    """The /oncalls query with Ocean's window: from now to three months ahead by default, as
    Ocean's integration reads it, so Port shows who is on call next week, not only now.

    `since`/`until` in apiQueryParams set another window, as Ocean's whole months (30 days:
    `since` back, `until` ahead, from now) or as ISO 8601 date-times.
    """
    window = []
    for name, months, sign in (("since", 0, -1), ("until", ONCALL_MONTHS_AHEAD, 1)):
        value = params.get(name, months)
        moment: datetime | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            moment = now + sign * timedelta(days=30 * value)
        elif isinstance(value, str):
            moment = parse_time(value)
        if moment is None:
            raise InputError(
                "mapping",
                f"oncalls apiQueryParams.{name} is {value!r}; expected whole months "
                "(as in Ocean: since back, until ahead) or an ISO 8601 date-time.",
            )
        window.append((name, iso(moment)))
    return [*query_params(params, skip=("since", "until")), *window]


def _scalar(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def split_window(since: datetime, until: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    """`parts` equal consecutive windows covering [since, until)."""
    step = (until - since) / parts
    edges = [since + step * i for i in range(parts)] + [until]
    edges = [e.replace(microsecond=0) for e in edges[:-1]] + [until]
    windows = [(a, b) for a, b in itertools.pairwise(edges) if b > a]
    return windows or [(since, until)]


def param_time(params: dict[str, Any], name: str) -> datetime | None:
    value = params.get(name)
    return parse_time(str(value)) if value else None


def six_month_windows(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    parts = max(1, math.ceil((until - since) / MAX_WINDOW))
    return split_window(since, until, parts)


@dataclass
class ReadStats:
    """Request counts by purpose, so tests and the summary can check the request budget."""

    list_requests: dict[str, int] = field(default_factory=dict)
    enrichment_requests: int = 0
    slices: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)  # totals PagerDuty reported
    # The whole read's total, known before it starts (incidents: every window's first page);
    # for the time left. `expected` grows with each list read and is what the read is checked
    # against.
    planned: dict[str, int] = field(default_factory=dict)

    def count_list(self, kind: str) -> None:
        self.list_requests[kind] = self.list_requests.get(kind, 0) + 1

    def expect(self, kind: str, total: int) -> None:
        """PagerDuty said one more list of `kind` holds `total` items."""
        self.expected[kind] = self.expected.get(kind, 0) + total


class ListReader:
    """The paginated lists of one sync, on one client, counted in `stats`."""

    # Set by PagerDutyReader.__init__.
    client: PagerDutyClient
    stats: ReadStats
    incidents_since: datetime | None
    incidents_until: datetime | None
    now: Callable[[], datetime]
    warn: Callable[[str], None]

    def _list(
        self,
        kind: str,
        params: list[tuple[str, Any]],
        *,
        purpose: str | None = None,
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """A classic paginated list; raises (never stops silently) at the offset cap.

        The kind's own reads (not enrichments) record the total PagerDuty reports, which the
        sync compares with what it read before deleting anything.
        """
        if on_total is None and purpose is None:
            on_total = partial(self.stats.expect, kind)
        for page in self.client.iter_pages(f"/{kind}", kind, params, on_total=on_total):
            if purpose is None:
                self.stats.count_list(kind)
            else:
                self.stats.enrichment_requests += 1
            yield page
