"""The enrichments Ocean mappings expect on PagerDuty items (`__oncall_user`,
`__oncall_users`, `__email`, `__analytics`), each one call per page of items, not per item."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...errors import PagerDutyError
from ..mapping import Resource
from .queries import ListReader, iso

_ANALYTICS_REFUSED = (401, 402, 403)


class Enrichments(ListReader):
    """Adds what a resource's mapping reads beyond the listed item itself."""

    _users: list[dict[str, Any]] | None
    _users_total: int | None
    _analytics_refused: bool

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


def _unique(values: Any) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]
