"""Reading PagerDuty for a sync, one resource at a time: incidents in time slices
(`incidents`), other kinds as plain lists, each enriched as its mapping needs (`enrich`).

Pages are yielded as they arrive, so a sync streams from PagerDuty to Port instead of collecting
everything first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from ...clients.pagerduty import PAGE_LIMIT, PagerDutyClient
from ..mapping import Resource
from .enrich import Enrichments
from .incidents import IncidentSlices
from .queries import ReadStats, oncall_params, query_params

log = logging.getLogger(__name__)


class PagerDutyReader(IncidentSlices, Enrichments):
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
            self.enrich(resource, page)
            yield page

    def enrich(self, resource: Resource, page: list[dict[str, Any]]) -> None:
        """Add to `page` (items of `resource.kind`, in place) what its mapping reads beyond the
        item itself. The sync does it for each listed page; an action does it for the one
        object it holds, so both map the same data into the same entity."""
        kind = resource.kind
        if kind == "services":
            self._enrich_services(page, resource)
        elif kind == "escalation_policies":
            self._enrich_policies(page, resource)
        elif kind == "schedules" and resource.uses("__email"):
            self._enrich_schedules(page)


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
