"""Reading PagerDuty for a sync: pages of 100, incidents sliced by time so no query passes the
10,000-offset cap or the 6-month window, and the enrichments Ocean mappings expect
(`__oncall_user`, `__oncall_users`, `__email`, `__analytics`), each one call per page of items.

Pages are yielded as they arrive, so a sync streams from PagerDuty to Port instead of collecting
everything first.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from ...clients.pagerduty import OFFSET_CAP, PAGE_LIMIT, PagerDutyClient
from ...errors import InputError, PagerDutyError
from ..mapping import Resource

log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=179)  # PagerDuty accepts at most 6 months per incidents query
SLICE_TARGET = 8_000  # aim below the cap so a slice that grows during the read still fits
DEFAULT_INCIDENT_DAYS = 30
ONCALL_MONTHS_AHEAD = 3  # Ocean's default oncalls window: now to 3 x 30 days ahead
_MIN_SLICE = timedelta(seconds=2)
_FUTURE = timedelta(minutes=1)
_ANALYTICS_REFUSED = (401, 402, 403)


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


class PagerDutyReader:
    """Pages of PagerDuty items for one resource, enriched as its mapping needs."""

    def __init__(
        self,
        client: PagerDutyClient,
        *,
        incidents_since: datetime | None,
        incidents_until: datetime | None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        warn: Callable[[str], None] = log.warning,
    ) -> None:
        self.client = client
        self.incidents_since = incidents_since
        self.incidents_until = incidents_until
        self.now = now
        self.warn = warn
        self.stats = ReadStats()
        self._users: list[dict[str, Any]] | None = None
        self._users_total: int | None = None
        self._analytics_refused = False

    # Entry point --------------------------------------------------------------------------
    def pages(self, resource: Resource) -> Iterator[list[dict[str, Any]]]:
        kind = resource.kind
        if kind == "incidents":
            yield from self._incident_pages(resource)
            return
        if kind == "users" and not resource.api_query_params:
            users = self.users()
            if self._users_total is not None:
                self.stats.expect("users", self._users_total)
            yield from _chunks(users, PAGE_LIMIT)
            return
        params = query_params(resource.api_query_params)
        if kind == "oncalls":
            params = oncall_params(resource.api_query_params, self.now())
        for page in self._list(kind, params):
            if kind == "services":
                self._enrich_services(page, resource)
            elif kind == "escalation_policies":
                self._enrich_policies(page, resource)
            elif kind == "schedules" and resource.uses("__email"):
                self._enrich_schedules(page)
            yield page

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

    # Incidents ----------------------------------------------------------------------------
    def incident_window(self, resource: Resource) -> tuple[datetime, datetime] | None:
        """[since, until) for a resource: inputs first, then apiQueryParams, else 30 days."""
        params = resource.api_query_params
        # `until` is exclusive: reach past now so an incident opened this second is included.
        until = self.incidents_until or _param_time(params, "until") or self.now() + _FUTURE
        since = self.incidents_since or _param_time(params, "since")
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
        pending = deque(_six_month_windows(since, until))
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
                if end - start <= _MIN_SLICE:
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
        return oldest, self.incidents_until or self.now() + _FUTURE

    # Enrichments --------------------------------------------------------------------------
    def _oncalls_by_policy(self, policy_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """Who is on call for these escalation policies: one /oncalls read for the whole page."""
        found: dict[str, list[dict[str, Any]]] = {p: [] for p in policy_ids}
        if not policy_ids:
            return found
        params = [("include[]", "users"), *(("escalation_policy_ids[]", p) for p in policy_ids)]
        for page in self._list("oncalls", params, purpose="enrichment"):
            for oncall in page:
                policy = (oncall.get("escalation_policy") or {}).get("id")
                if policy in found:
                    found[policy].append(oncall)
        return found

    def _enrich_services(self, page: list[dict[str, Any]], resource: Resource) -> None:
        if resource.uses("__oncall_user"):
            policies = _unique((s.get("escalation_policy") or {}).get("id") for s in page)
            oncalls = self._oncalls_by_policy(policies)
            for service in page:
                policy = (service.get("escalation_policy") or {}).get("id")
                service["__oncall_user"] = list(oncalls.get(policy, [])) if policy else []
        analytics = resource.selector.get("serviceAnalytics")
        wanted = (
            (str(analytics).lower() == "true")
            if analytics is not None
            else resource.uses("__analytics")
        )
        if wanted and not self._analytics_refused and page:
            months = int(resource.selector.get("analyticsMonthsPeriod") or 3)
            self._enrich_analytics(page, months)

    def _enrich_analytics(self, page: list[dict[str, Any]], months: int) -> None:
        """Mean seconds to resolve / first ack / engage: one analytics call per page."""
        end = self.now()
        body = {
            "filters": {
                "created_at_start": iso(end - timedelta(days=30 * months)),
                "created_at_end": iso(end),
                "service_ids": [s["id"] for s in page if s.get("id")],
            },
        }
        self.stats.enrichment_requests += 1
        try:
            data = self.client.request("POST", "/analytics/metrics/incidents/services", body=body)
        except PagerDutyError as exc:
            if exc.status in _ANALYTICS_REFUSED:
                self._analytics_refused = True
                self.warn(
                    f"PagerDuty refused service analytics ({exc}); services are synced "
                    "without __analytics."
                )
                return
            raise
        rows = {r.get("service_id"): r for r in (data or {}).get("data") or []}
        for service in page:
            service["__analytics"] = rows.get(service.get("id"), {})

    def _enrich_policies(self, page: list[dict[str, Any]], resource: Resource) -> None:
        attach = str(resource.selector.get("attachOncallUsers", True)).lower() == "true"
        if not attach or not resource.uses("__oncall_users"):
            return
        oncalls = self._oncalls_by_policy(_unique(p.get("id") for p in page))
        for policy in page:
            policy_id = policy.get("id")
            policy["__oncall_users"] = list(oncalls.get(policy_id, [])) if policy_id else []

    def users(self) -> list[dict[str, Any]]:
        """Every user, read once per run (schedules and the users kind share it)."""
        if self._users is None:
            users: list[dict[str, Any]] = []
            totals: list[int] = []  # recorded by `pages` when the users kind is synced
            for page in self._list("users", [], on_total=totals.append):
                users.extend(page)
            self._users = users
            self._users_total = totals[0] if totals else None
        return self._users

    def _enrich_schedules(self, page: list[dict[str, Any]]) -> None:
        emails = {u.get("id"): u.get("email") for u in self.users()}
        for schedule in page:
            for user in schedule.get("users") or []:
                email = emails.get(user.get("id"))
                if email:
                    user["__email"] = email


def _param_time(params: dict[str, Any], name: str) -> datetime | None:
    value = params.get(name)
    return parse_time(str(value)) if value else None


def _six_month_windows(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    parts = max(1, math.ceil((until - since) / MAX_WINDOW))
    return split_window(since, until, parts)


def _unique(values: Any) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
