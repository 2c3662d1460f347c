"""The incidents of a sync, sliced by time: no query passes PagerDuty's 10,000-offset cap or
its 6-month window, and a slice too full to read is split again."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from ...clients.pagerduty import OFFSET_CAP, PAGE_LIMIT
from ...errors import PagerDutyError
from ..mapping import Resource
from .queries import (
    DEFAULT_INCIDENT_DAYS,
    FUTURE,
    MIN_SLICE,
    SLICE_TARGET,
    ListReader,
    iso,
    param_time,
    parse_time,
    query_params,
    six_month_windows,
    split_window,
)


class IncidentSlices(ListReader):
    """Pages of incidents in time slices, each small enough to read past no cap."""

    def incident_window(self, resource: Resource) -> tuple[datetime, datetime] | None:
        """[since, until) for a resource: inputs first, then apiQueryParams, else 30 days."""
        params = resource.api_query_params
        # `until` is exclusive: reach past now so an incident opened this second is included.
        until = self.incidents_until or param_time(params, "until") or self.now() + FUTURE
        since = self.incidents_since or param_time(params, "since")
        if since is None:
            if params.get("date_range") == "all":
                return None
            since = until - timedelta(days=DEFAULT_INCIDENT_DAYS)
        return since, until

    def _incident_pages(self, resource: Resource) -> Iterator[list[dict[str, Any]]]:
        base = query_params(resource.api_query_params, skip=("since", "until", "date_range"))
        window = self.incident_window(resource)
        if window is None:
            window = self._whole_history(base)
            if window is None:
                return
        since, until = window
        if since >= until:
            return
        pending = deque(six_month_windows(since, until))
        firsts = self._first_pages(base, list(pending))
        while pending:
            start, end = pending.popleft()
            self.stats.slices["incidents"] = self.stats.slices.get("incidents", 0) + 1
            params = [*base, ("since", iso(start)), ("until", iso(end))]
            first = firsts.pop((start, end), None) or self._incident_request(
                [*params, ("total", "true")], 0
            )
            total = first.get("total")
            if isinstance(total, int) and total + PAGE_LIMIT > OFFSET_CAP:
                if end - start <= MIN_SLICE:
                    raise PagerDutyError(
                        f"more than {OFFSET_CAP} incidents were created between {iso(start)} and "
                        f"{iso(end)}; they cannot be read past PagerDuty's offset cap",
                        code=2002,
                        method="GET",
                        path="/incidents",
                    )
                parts = max(2, math.ceil(total / SLICE_TARGET))
                pending.extendleft(reversed(split_window(start, end, parts)))
                continue
            if isinstance(total, int):
                self.stats.expect("incidents", total)
            yield from self._rest_of_window(params, first)

    def _first_pages(
        self, base: list[tuple[str, Any]], windows: list[tuple[datetime, datetime]]
    ) -> dict[tuple[datetime, datetime], dict[str, Any]]:
        """The first page of each six-month window, read up front: their totals add up to the
        whole read, so the time left covers all of it, not only the current slice."""
        firsts = {}
        for start, end in windows:
            params = [*base, ("since", iso(start)), ("until", iso(end)), ("total", "true")]
            firsts[start, end] = self._incident_request(params, 0)
        totals = [f.get("total") for f in firsts.values()]
        if totals and all(isinstance(t, int) for t in totals):
            self.stats.planned["incidents"] = sum(t for t in totals if isinstance(t, int))
        return firsts

    def _rest_of_window(
        self, params: list[tuple[str, Any]], first: dict[str, Any]
    ) -> Iterator[list[dict[str, Any]]]:
        page = first
        offset = 0
        while True:
            items = page.get("incidents") or []
            yield items
            if not page.get("more") or not items:
                return
            offset += len(items)
            if offset + PAGE_LIMIT > OFFSET_CAP:
                raise PagerDutyError(
                    f"the incidents between {params[-2][1]} and {params[-1][1]} grew past "
                    f"{OFFSET_CAP} while being read; run the sync again",
                    code=2002,
                    method="GET",
                    path="/incidents",
                )
            page = self._incident_request(params, offset)

    def _incident_request(self, params: list[tuple[str, Any]], offset: int) -> dict[str, Any]:
        self.stats.count_list("incidents")
        page = self.client.request(
            "GET", "/incidents", params=[*params, ("limit", PAGE_LIMIT), ("offset", offset)]
        )
        return page if isinstance(page, dict) else {}

    def _whole_history(self, base: list[tuple[str, Any]]) -> tuple[datetime, datetime] | None:
        """`date_range: all`: start the slices at the oldest matching incident."""
        self.stats.count_list("incidents")
        page = self.client.request(
            "GET",
            "/incidents",
            params=[*base, ("date_range", "all"), ("sort_by", "created_at:asc"), ("limit", 1)],
        )
        items = (page or {}).get("incidents") or []
        if not items:
            return None
        oldest = parse_time(str(items[0].get("created_at") or ""))
        if oldest is None:
            raise PagerDutyError(
                "the oldest incident has no readable created_at", method="GET", path="/incidents"
            )
        return oldest, self.incidents_until or self.now() + FUTURE
