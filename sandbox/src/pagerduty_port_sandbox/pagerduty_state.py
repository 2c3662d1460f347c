"""The simulated PagerDuty account: its directory plus incidents and the knobs tests turn.

The REST and Events simulators both work on one `PagerDutyState`, so an event really becomes an
incident the REST API can list. Incidents are stored as the API returns them (plain dicts keyed by
id), which lets tests read and even edit them directly; bookkeeping the API does not show
(escalation level, hidden-until-polled counters, timings) lives in `_IncidentMeta`.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from pagerduty_port_sandbox.common import iso_millis, iso_seconds
from pagerduty_port_sandbox.pagerduty_directory import PagerDutyDirectory, PagerDutyError
from pagerduty_port_sandbox.pagerduty_webhooks import WebhookHub, incident_data, service_data

__all__ = ["OPEN_STATUSES", "PagerDutyError", "PagerDutyState"]

OPEN_STATUSES = ("triggered", "acknowledged")


class _IncidentMeta:
    """What PagerDuty knows about an incident but does not return as a field."""

    __slots__ = (
        "acknowledged_at",
        "agent",
        "body",
        "channel",
        "created_ts",
        "escalations",
        "hidden_polls",
        "level",
        "resolved_ts",
    )

    def __init__(
        self,
        created_ts: float,
        body: dict[str, Any] | None,
        agent: dict[str, Any],
        channel: str,
    ) -> None:
        self.created_ts = created_ts
        self.level = 1
        self.body = body
        self.agent = agent  # who triggered it, shown by include[]=first_trigger_log_entries
        self.channel = channel
        self.hidden_polls = 0
        self.acknowledged_at: float | None = None
        self.resolved_ts: float | None = None
        self.escalations = 0


class PagerDutyState(PagerDutyDirectory):
    """The directory plus incidents, the Events API's effects, rate limits and analytics.

    Knobs (plain attributes, change them at any time):
    - `rate_limit`: REST requests allowed per token per window (default generous);
      `reset_rate_limit()` starts a new window; `rate_limit_reset` is the `ratelimit-reset` value
      (seconds) reported; `rate_limit_resets_after_429s` (None = never) reopens the window by
      itself after that many 429 answers, as if the client's wait had let the window pass.
    - `event_visibility_polls`: how many matching `GET /incidents` queries miss an incident created
      by an event before it shows up (the Events API is asynchronous in real life).
    - `events_rate_limit`: events accepted per routing key per window (None = unlimited).
    - `require_accept_header`: reject REST calls without PagerDuty's versioned Accept header.
    - `max_override_length`: the longest schedule override accepted.
    """

    def __init__(
        self,
        api_url: str = "https://api.pagerduty.com",
        web_url: str = "https://sandbox.pagerduty.com",
        seed: int = 0,
    ) -> None:
        super().__init__(api_url, web_url, seed)
        self.incidents: dict[str, dict[str, Any]] = {}
        self.analytics: dict[str, dict[str, Any]] = {}  # per-service metric overrides
        self.notes: dict[str, list[dict[str, Any]]] = {}  # incident id -> its notes, oldest first
        self.overrides: dict[str, list[dict[str, Any]]] = {}  # schedule id -> its overrides
        self.max_override_length = timedelta(days=90)  # a guess: see the package docstring

        self.rate_limit = 100_000
        self.rate_limit_reset = 1
        self.rate_limit_resets_after_429s: int | None = None
        self.event_visibility_polls = 0
        self.events_rate_limit: int | None = None
        self.require_accept_header = True

        self._meta: dict[str, _IncidentMeta] = {}
        self._by_key: dict[str, list[str]] = {}
        self._hidden: set[str] = set()
        self._order: list[tuple[float, str]] = []
        self._order_sorted = True
        self._incident_number = 0
        self._usage: dict[str, int] = {}
        self._throttled: dict[str, int] = {}
        self._event_usage: dict[str, int] = {}
        # v3 webhook subscriptions; every incident/service change below is emitted to them.
        self.webhooks = WebhookHub(lambda: iso_millis(self.now()))

    # ------------------------------------------------------------------ webhook events
    def emit_incident(
        self, incident: dict[str, Any], event_type: str, agent: dict[str, Any] | None = None
    ) -> None:
        """Send `event_type` about `incident` to matching subscriptions (tests may call it
        after editing an incident by hand)."""
        if not self.webhooks.subscriptions:
            return
        service_id = incident["service"]["id"]
        service = self.services.get(service_id, {})
        self.webhooks.emit(
            event_type,
            "incident",
            incident_data(incident),
            agent=agent or incident.get("last_status_change_by"),
            service_id=service_id,
            team_ids=[t["id"] for t in service.get("teams", [])],
        )

    def emit_service(self, service: dict[str, Any], event_type: str) -> None:
        if not self.webhooks.subscriptions:
            return
        self.webhooks.emit(
            event_type,
            "service",
            service_data(service),
            agent=None,
            service_id=service["id"],
            team_ids=[t["id"] for t in service.get("teams", [])],
        )

    def add_service(self, name: str, escalation_policy_id: str, **kwargs: Any) -> str:
        service_id = super().add_service(name, escalation_policy_id, **kwargs)
        self.emit_service(self.services[service_id], "service.created")
        return service_id

    def update_service(self, service_id: str, **changes: Any) -> dict[str, Any]:
        """Change a service's fields (name, description, status...) and emit service.updated."""
        with self.lock:
            service = self.services[service_id]
            service.update(changes)
            if "name" in changes:
                service["summary"] = changes["name"]
            self.emit_service(service, "service.updated")
            return service

    def move_incident(
        self, incident_id: str, service_id: str, agent: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Move an incident to another service (PagerDuty's web app does; REST cannot) and
        emit incident.service_updated, matched against the new service's subscriptions."""
        with self.lock:
            incident = self.incidents[incident_id]
            if service_id not in self.services:
                raise KeyError(f"no service {service_id}")
            incident["service"] = self.ref("service", service_id)
            self.touch(incident)
            self.emit_incident(incident, "incident.service_updated", agent)
            return incident

    def delete_service(self, service_id: str) -> None:
        """Remove a service (not its incidents) and emit service.deleted."""
        with self.lock:
            service = self.services.pop(service_id)
            self.routing_keys = {k: v for k, v in self.routing_keys.items() if v != service_id}
            self.emit_service(service, "service.deleted")

    def seed_incidents_over_services(
        self,
        service_ids: Sequence[str],
        n: int,
        *,
        status: str | Sequence[str] = "resolved",
    ) -> None:
        """`n` incidents dealt round-robin over `service_ids`, one minute apart and oldest
        first, so every page of incidents names many services (a sync's relations then point
        at many service entities at once)."""
        start = self.now() - timedelta(minutes=n + 5)
        for offset, service in enumerate(service_ids):
            count = len(range(offset, n, len(service_ids)))
            if count:
                self.seed_incidents(
                    count,
                    service,
                    start=start + timedelta(minutes=offset),
                    spacing=timedelta(minutes=len(service_ids)),
                    status=status,
                )

    def seed_incidents(
        self,
        n: int,
        service_id: str | None = None,
        *,
        start: datetime | None = None,
        spacing: timedelta = timedelta(minutes=5),
        status: str | Sequence[str] = "resolved",
        urgency: str = "high",
        title: str = "Seeded incident",
        ack_after: timedelta = timedelta(minutes=4),
        resolve_after: timedelta = timedelta(minutes=30),
    ) -> list[str]:
        """Create `n` incidents fast (about 20,000 a second), oldest first.

        They start at `start` (default: `n * spacing` before now, so the newest is just past) and
        are `spacing` apart. `status` may be a sequence, cycled over the incidents. Resolved ones
        get `resolved_at = created_at + resolve_after` and no assignments, as PagerDuty does.
        """
        with self.lock:  # a request in flight must not see a half-built index
            service_id = service_id or next(iter(self.services))
            service = self.services[service_id]
            now = self.now()
            first = (start if start is not None else now - spacing * n).replace(microsecond=0)
            statuses = itertools.cycle([status] if isinstance(status, str) else list(status))
            policy_id = service["escalation_policy"]["id"]
            service_ref = self.ref("service", service_id)
            policy_ref = self.ref("escalation_policy", policy_id)
            assignee_refs = [self.ref("user", u) for u in self.assignees_for(policy_id, 1)]
            agent = dict(service_ref)
            created_ids = []
            for i in range(n):
                created = first + spacing * i
                created_at = iso_seconds(created)
                current = next(statuses)
                incident = self._build_incident(
                    service_ref=service_ref,
                    policy_ref=policy_ref,
                    title=f"{title} {self._incident_number + 1}",
                    urgency=urgency,
                    incident_key=None,
                    created_at=created_at,
                    assignments=[{"at": created_at, "assignee": a} for a in assignee_refs],
                    assigned_via="escalation_policy",
                    priority=None,
                )
                meta = self._register(incident, created.timestamp(), None, agent, "api")
                if current == "acknowledged":
                    acked = created + ack_after
                    acked_at = iso_seconds(acked)
                    meta.acknowledged_at = acked.timestamp()
                    incident["status"] = current
                    incident["last_status_change_at"] = incident["updated_at"] = acked_at
                    if assignee_refs:
                        incident["acknowledgements"] = [
                            {"at": acked_at, "acknowledger": assignee_refs[0]}
                        ]
                elif current == "resolved":
                    resolved = created + resolve_after
                    resolved_at = iso_seconds(resolved)
                    meta.acknowledged_at = (created + ack_after).timestamp()
                    meta.resolved_ts = resolved.timestamp()
                    incident["status"] = current
                    incident["resolved_at"] = resolved_at
                    incident["last_status_change_at"] = incident["updated_at"] = resolved_at
                    incident["assignments"] = []
                    incident["alert_counts"] = {"all": 1, "triggered": 0, "resolved": 1}
                created_ids.append(incident["id"])
            return created_ids

    # ------------------------------------------------------------------ incidents
    def _build_incident(
        self,
        *,
        service_ref: dict[str, Any],
        policy_ref: dict[str, Any],
        title: str,
        urgency: str,
        incident_key: str | None,
        created_at: str,
        assignments: list[dict[str, Any]],
        assigned_via: str,
        priority: dict[str, Any] | None,
    ) -> dict[str, Any]:
        self._incident_number += 1
        number = self._incident_number
        incident_id = self.ids.sequence("Q", 13)
        entry_id = self.ids.sequence("R", 25)
        self_url = f"{self.api_url}/incidents/{incident_id}"
        html_url = f"{self.web_url}/incidents/{incident_id}"
        return {
            "id": incident_id,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": self_url,
            "html_url": html_url,
            "incident_number": number,
            "title": title,
            "description": title,
            "created_at": created_at,
            "updated_at": created_at,
            "status": "triggered",
            "incident_key": incident_key,
            "service": service_ref,
            "assignments": assignments,
            "assigned_via": assigned_via,
            "last_status_change_at": created_at,
            "last_status_change_by": service_ref,
            "resolved_at": None,
            "first_trigger_log_entry": {
                "id": entry_id,
                "type": "trigger_log_entry_reference",
                "summary": "Triggered through the API",
                "self": f"{self.api_url}/log_entries/{entry_id}",
                "html_url": f"{html_url}/log_entries/{entry_id}",
            },
            "alert_counts": {"all": 1, "triggered": 1, "resolved": 0},
            "is_mergeable": True,
            "incident_type": {"name": "incident_default"},
            "escalation_policy": policy_ref,
            "teams": [],
            "pending_actions": [],
            "acknowledgements": [],
            "alert_grouping": None,
            "priority": priority,
            "resolve_reason": None,
            "conference_bridge": None,
            "incidents_responders": [],
            "responder_requests": [],
            "urgency": urgency,
        }

    def _register(
        self,
        incident: dict[str, Any],
        created_ts: float,
        body: dict[str, Any] | None,
        agent: dict[str, Any],
        channel: str,
    ) -> _IncidentMeta:
        incident_id = incident["id"]
        self.incidents[incident_id] = incident
        created_ts = float(int(created_ts))  # whole seconds, like `created_at`
        meta = _IncidentMeta(created_ts, body, agent, channel)
        self._meta[incident_id] = meta
        if incident["incident_key"]:
            self._by_key.setdefault(incident["incident_key"], []).append(incident_id)
        if self._order and (created_ts, incident_id) < self._order[-1]:
            self._order_sorted = False
        self._order.append((created_ts, incident_id))
        service = self.services.get(incident["service"]["id"])
        if service is not None:
            service["last_incident_timestamp"] = incident["created_at"]
        return meta

    def create_incident(
        self,
        *,
        service_id: str,
        title: str,
        urgency: str | None = None,
        incident_key: str | None = None,
        body: dict[str, Any] | None = None,
        priority_id: str | None = None,
        escalation_policy_id: str | None = None,
        assignee_ids: Sequence[str] | None = None,
        requester_id: str | None = None,
        conference_bridge: dict[str, Any] | None = None,
        hidden_polls: int = 0,
        agent: dict[str, Any] | None = None,
        channel: str = "api",
    ) -> dict[str, Any]:
        """Create a triggered incident (no validation: the REST layer validates requests)."""
        service = self.services[service_id]
        policy_id = escalation_policy_id or service["escalation_policy"]["id"]
        now = self.now()
        created_at = iso_seconds(now)
        if assignee_ids:
            assigned = list(assignee_ids)
            assigned_via = "direct_assignment"
        else:
            assigned = self.assignees_for(policy_id, 1)
            assigned_via = "escalation_policy"
        service_ref = self.ref("service", service_id)
        incident = self._build_incident(
            service_ref=service_ref,
            policy_ref=self.ref("escalation_policy", policy_id),
            title=title,
            urgency=urgency or service["incident_urgency_rule"].get("urgency", "high"),
            incident_key=incident_key,
            created_at=created_at,
            assignments=[{"at": created_at, "assignee": self.ref("user", u)} for u in assigned],
            assigned_via=assigned_via,
            priority=self.ref("priority", priority_id) if priority_id else None,
        )
        if requester_id:
            incident["last_status_change_by"] = self.ref("user", requester_id)
        incident["conference_bridge"] = conference_bridge
        if agent is None:
            agent = self.ref("user", requester_id) if requester_id else service_ref
        meta = self._register(incident, now.timestamp(), body, agent, channel)
        meta.hidden_polls = hidden_polls
        if hidden_polls > 0:
            self._hidden.add(incident["id"])
        self.emit_incident(incident, "incident.triggered", agent)
        return incident

    def find_open(self, service_id: str, incident_key: str) -> dict[str, Any] | None:
        """The open incident of a service with this key, if any (PagerDuty's de-duplication)."""
        for incident_id in self._by_key.get(incident_key, ()):
            incident = self.incidents.get(incident_id)
            if (
                incident is not None
                and incident["service"]["id"] == service_id
                and incident["status"] in OPEN_STATUSES
            ):
                return incident
        return None

    def is_visible(self, incident_id: str) -> bool:
        meta = self._meta.get(incident_id)
        return incident_id in self.incidents and (meta is None or meta.hidden_polls <= 0)

    def level_of(self, incident_id: str) -> int:
        return self._meta[incident_id].level

    def body_of(self, incident_id: str) -> dict[str, Any]:
        body = self._meta[incident_id].body
        return body if body is not None else {"type": "incident_body", "details": None}

    def trigger_entry_of(self, incident_id: str) -> dict[str, Any]:
        """The full trigger log entry (built on demand: most incidents never need it)."""
        incident = self.incidents[incident_id]
        meta = self._meta[incident_id]
        reference = incident["first_trigger_log_entry"]
        return {
            "id": reference["id"],
            "type": "trigger_log_entry",
            "summary": reference["summary"],
            "self": reference["self"],
            "html_url": reference["html_url"],
            "created_at": incident["created_at"],
            "agent": meta.agent,
            "channel": {"type": meta.channel},
            "service": incident["service"],
            "incident": {
                "id": incident_id,
                "type": "incident_reference",
                "summary": incident["summary"],
                "self": incident["self"],
                "html_url": incident["html_url"],
            },
            "teams": [],
            "contexts": [],
            "event_details": {"description": incident["title"]},
        }

    def set_status(
        self,
        incident: dict[str, Any],
        status: str,
        actor: dict[str, Any],
        resolution: str | None = None,
    ) -> None:
        now = self.now()
        stamp = iso_seconds(now)
        meta = self._meta[incident["id"]]
        if status == "acknowledged":
            if meta.acknowledged_at is None:
                meta.acknowledged_at = float(int(now.timestamp()))
            incident["acknowledgements"] = [
                *incident.get("acknowledgements", []),
                {"at": stamp, "acknowledger": actor},
            ]
        elif status == "resolved":
            meta.resolved_ts = float(int(now.timestamp()))
            incident["resolved_at"] = stamp
            incident["assignments"] = []
            incident["acknowledgements"] = []
            incident["alert_counts"] = {"all": 1, "triggered": 0, "resolved": 1}
            if resolution:
                meta.body = {"type": "incident_body", "details": resolution}
        previous = incident["status"]
        incident["status"] = status
        incident["last_status_change_at"] = stamp
        incident["last_status_change_by"] = actor
        incident["updated_at"] = stamp
        if status != previous:
            self.emit_incident(incident, f"incident.{status}", actor)

    def reassign(
        self,
        incident: dict[str, Any],
        *,
        policy_id: str | None = None,
        level: int | None = None,
        assignee_ids: Sequence[str] | None = None,
    ) -> None:
        """Recompute assignments after an escalation, a policy change or a direct assignment."""
        stamp = iso_seconds(self.now())
        meta = self._meta[incident["id"]]
        if assignee_ids is not None:
            incident["assignments"] = [
                {"at": stamp, "assignee": self.ref("user", u)} for u in assignee_ids
            ]
            incident["assigned_via"] = "direct_assignment"
        else:
            if policy_id is not None:
                incident["escalation_policy"] = self.ref("escalation_policy", policy_id)
                meta.level = 1
            if level is not None:
                meta.level = level
                meta.escalations += 1
            users = self.assignees_for(incident["escalation_policy"]["id"], meta.level)
            incident["assignments"] = [
                {"at": stamp, "assignee": self.ref("user", u)} for u in users
            ]
            incident["assigned_via"] = "escalation_policy"
        incident["updated_at"] = stamp
        self.emit_incident(incident, "incident.escalated" if level else "incident.reassigned")

    def reopen(self, incident: dict[str, Any], status: str, actor: dict[str, Any]) -> None:
        """A resolved incident set back to `status`: acknowledged ones go to the requester."""
        meta = self._meta[incident["id"]]
        meta.resolved_ts = None
        incident["resolved_at"] = None
        incident["alert_counts"] = {"all": 1, "triggered": 1, "resolved": 0}
        stamp = iso_seconds(self.now())
        if status == "acknowledged":
            incident["assignments"] = [{"at": stamp, "assignee": actor}]
            incident["assigned_via"] = "direct_assignment"
        else:
            self.reassign(incident)
        incident["status"] = "triggered"
        self.emit_incident(incident, "incident.reopened", actor)

    def add_note(self, incident_id: str, content: str, user_id: str) -> dict[str, Any]:
        note = {
            "id": self.ids.sequence("N", 14),
            "user": self.ref("user", user_id),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": iso_seconds(self.now()),
        }
        self.notes.setdefault(incident_id, []).append(note)
        return note

    def add_override(
        self, schedule_id: str, user_id: str, start: datetime, end: datetime
    ) -> dict[str, Any]:
        """An override, and the on-call entries it creates on every policy using the schedule."""
        override = {
            "id": self.ids.sequence("V", 14),
            "start": iso_seconds(start),
            "end": iso_seconds(end),
            "user": self.ref("user", user_id),
        }
        self.overrides.setdefault(schedule_id, []).append(override)
        for policy in self.schedules[schedule_id]["escalation_policies"]:
            rules = self.escalation_policies[policy["id"]]["escalation_rules"]
            for level, rule in enumerate(rules, start=1):
                if any(t["id"] == schedule_id for t in rule["targets"]):
                    self.add_oncall(
                        user_id, policy["id"], level, schedule_id=schedule_id, start=start, end=end
                    )
        return override

    def touch(self, incident: dict[str, Any]) -> None:
        incident["updated_at"] = iso_seconds(self.now())

    # ------------------------------------------------------------------ incident queries
    def query_incidents(
        self,
        *,
        since: float | None,
        until: float | None,
        predicate: Callable[[dict[str, Any]], bool],
        incident_key: str | None = None,
        descending: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Visible incidents created in [since, until) matching `predicate`, by (created_at, id).

        Incidents an event created and that are still hidden count this query as one poll.
        """

        def in_window(incident_id: str) -> bool:
            created = self._meta[incident_id].created_ts
            return (since is None or created >= since) and (until is None or created < until)

        skipped = set()
        for incident_id in list(self._hidden):
            incident = self.incidents.get(incident_id)
            meta = self._meta.get(incident_id)
            if incident is None or meta is None:
                self._hidden.discard(incident_id)
                continue
            if (
                in_window(incident_id)
                and predicate(incident)
                and (incident_key is None or incident["incident_key"] == incident_key)
            ):
                skipped.add(incident_id)
                meta.hidden_polls -= 1
                if meta.hidden_polls <= 0:
                    self._hidden.discard(incident_id)
        if incident_key is not None:
            ids = sorted(
                (self._meta[i].created_ts, i)
                for i in self._by_key.get(incident_key, ())
                if i in self.incidents
            )
            candidates: Iterable[tuple[float, str]] = reversed(ids) if descending else ids
        else:
            order = self._sorted_order()
            lo = 0 if since is None else bisect.bisect_left(order, (since, ""))
            hi = len(order) if until is None else bisect.bisect_left(order, (until, ""))
            window = order[lo:hi]
            candidates = reversed(window) if descending else window
        for _, incident_id in candidates:
            if incident_id in skipped or incident_id in self._hidden:
                continue
            incident = self.incidents.get(incident_id)
            if incident is None or not in_window(incident_id) or not predicate(incident):
                continue
            yield incident

    def _sorted_order(self) -> list[tuple[float, str]]:
        if len(self._order) != len(self.incidents):  # a test added or removed incidents directly
            self._order = [(m.created_ts, i) for i, m in self._meta.items() if i in self.incidents]
            self._order_sorted = False
        if not self._order_sorted:
            self._order.sort()
            self._order_sorted = True
        return self._order

    def delete_incident(self, incident_id: str) -> None:
        """Forget an incident (not an API operation: for tests that need gaps)."""
        incident = self.incidents.pop(incident_id)
        self._meta.pop(incident_id, None)
        self._hidden.discard(incident_id)
        if incident["incident_key"]:
            self._by_key.get(incident["incident_key"], []).remove(incident_id)
        self._order = [(ts, i) for ts, i in self._order if i != incident_id]

    # ------------------------------------------------------------------ events API
    def apply_event(
        self, service_id: str, action: str, dedup_key: str, event: dict[str, Any]
    ) -> None:
        """What PagerDuty does with an accepted event (later, asynchronously, in real life)."""
        service_ref = self.ref("service", service_id)
        integration = self.services[service_id]["integrations"][0]
        agent = {
            "id": integration["id"],
            "type": integration["type"],
            "summary": integration["summary"],
            "self": integration["self"],
            "html_url": integration["html_url"],
        }
        open_incident = self.find_open(service_id, dedup_key)
        if action == "trigger":
            if open_incident is not None:
                counts = open_incident["alert_counts"]
                open_incident["alert_counts"] = {**counts, "all": counts["all"] + 1}
                return
            payload = event.get("payload") or {}
            details = payload.get("custom_details")
            incident = self.create_incident(
                service_id=service_id,
                title=str(payload.get("summary", "")),
                incident_key=dedup_key,
                body={
                    "type": "incident_body",
                    "details": json.dumps(details) if details is not None else None,
                },
                hidden_polls=self.event_visibility_polls,
                agent=agent,
                channel="events_api_v2",
            )
            incident["first_trigger_log_entry"]["summary"] = (
                f"Triggered through the API: {payload.get('summary', '')}"
            )[:1024]
            return
        if open_incident is None:
            return  # acknowledge/resolve without an open alert: accepted and dropped
        if action == "acknowledge" and open_incident["status"] == "triggered":
            self.set_status(open_incident, "acknowledged", service_ref)
        elif action == "resolve":
            self.set_status(open_incident, "resolved", service_ref)

    # ------------------------------------------------------------------ rate limits
    def consume(self, token: str) -> tuple[bool, int]:
        """Count one REST request for `token`; returns (allowed, remaining after it)."""
        used = self._usage.get(token, 0)
        if used >= self.rate_limit:
            throttled = self._throttled.get(token, 0) + 1
            self._throttled[token] = throttled
            limit_429s = self.rate_limit_resets_after_429s
            if limit_429s is not None and throttled >= limit_429s:
                self._usage[token] = 0
                self._throttled[token] = 0
            return False, 0
        self._usage[token] = used + 1
        return True, self.rate_limit - used - 1

    def remaining(self, token: str) -> int:
        return max(self.rate_limit - self._usage.get(token, 0), 0)

    def consume_event(self, routing_key: str) -> bool:
        if self.events_rate_limit is None:
            return True
        used = self._event_usage.get(routing_key, 0)
        if used >= self.events_rate_limit:
            return False
        self._event_usage[routing_key] = used + 1
        return True

    def reset_rate_limit(self) -> None:
        """Start a new rate-limit window for every token and routing key (no sleeping needed)."""
        with self.lock:
            self._usage.clear()
            self._throttled.clear()
            self._event_usage.clear()

    # ------------------------------------------------------------------ analytics
    def service_metrics(
        self, service_ids: Sequence[str] | None, start: float | None, end: float | None
    ) -> list[dict[str, Any]]:
        """Per-service incident metrics like `POST /analytics/metrics/incidents/services`."""
        wanted = set(service_ids) if service_ids else None
        buckets: dict[str, list[tuple[dict[str, Any], _IncidentMeta]]] = {}
        for incident_id, meta in self._meta.items():
            incident = self.incidents.get(incident_id)
            if incident is None:
                continue
            service_id = incident["service"]["id"]
            if wanted is not None and service_id not in wanted:
                continue
            if (start is not None and meta.created_ts < start) or (
                end is not None and meta.created_ts >= end
            ):
                continue
            buckets.setdefault(service_id, []).append((incident, meta))
        data = []
        for service_id in sorted(
            set(buckets) | (set(self.analytics) & (wanted or set(self.analytics)))
        ):
            items = buckets.get(service_id, [])
            resolve = [m.resolved_ts - m.created_ts for _, m in items if m.resolved_ts is not None]
            ack = [
                m.acknowledged_at - m.created_ts for _, m in items if m.acknowledged_at is not None
            ]
            service = self.services.get(service_id, {})
            teams = service.get("teams") or [{}]
            mean_ack = round(sum(ack) / len(ack)) if ack else None
            row: dict[str, Any] = {
                "service_id": service_id,
                "service_name": service.get("name"),
                "team_id": teams[0].get("id"),
                "team_name": teams[0].get("summary"),
                "mean_assignment_count": 1 if items else None,
                "mean_engaged_seconds": mean_ack,
                "mean_engaged_user_count": 1 if ack else None,
                "mean_seconds_to_engage": mean_ack,
                "mean_seconds_to_first_ack": mean_ack,
                "mean_seconds_to_mobilize": mean_ack,
                "mean_seconds_to_resolve": round(sum(resolve) / len(resolve)) if resolve else None,
                "mean_user_defined_engaged_seconds": mean_ack,
                "total_business_hour_interruptions": 0,
                "total_engaged_seconds": round(sum(ack)),
                "total_escalation_count": sum(m.escalations for _, m in items),
                "total_incident_count": len(items),
                "total_incidents_acknowledged": len(ack),
                "total_incidents_auto_resolved": 0,
                "total_incidents_manual_escalated": sum(1 for _, m in items if m.escalations),
                "total_incidents_reassigned": 0,
                "total_incidents_timeout_escalated": 0,
                "total_interruptions": len(items),
                "total_notifications": len(items),
                "total_off_hour_interruptions": 0,
                "total_sleep_hour_interruptions": 0,
                "total_snoozed_seconds": 0,
                "total_user_defined_engaged_seconds": round(sum(ack)),
                "up_time_pct": 100.0,
            }
            row.update(self.analytics.get(service_id, {}))
            data.append(row)
        return data
