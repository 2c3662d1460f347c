"""PagerDuty's directory objects: users, teams, schedules, escalation policies, services,
priorities and on-calls, stored as the REST API returns them (plain dicts keyed by id).

`PagerDutyState` builds the incident side on top of this class.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pagerduty_port_sandbox.common import IdFactory, iso_seconds, parse_iso, utcnow

_PATHS = {
    "user": ("users", "users"),
    "service": ("services", "service-directory"),
    "schedule": ("schedules", "schedules"),
    "escalation_policy": ("escalation_policies", "escalation_policies"),
    "team": ("teams", "teams"),
    "priority": ("priorities", None),
}


class PagerDutyError(Exception):
    """A failure to report in PagerDuty's error shape `{"error": {message, code, errors}}`."""

    def __init__(
        self, status: int, code: int, message: str, errors: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors or [])


class PagerDutyDirectory:
    """The account's objects and the helpers that create them (ids are seeded, so repeatable)."""

    def __init__(
        self,
        api_url: str = "https://api.pagerduty.com",
        web_url: str = "https://sandbox.pagerduty.com",
        seed: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.api_url = api_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self.clock: Callable[[], datetime] = utcnow
        self.ids = IdFactory(seed)
        self.users: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.escalation_policies: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.priorities: dict[str, dict[str, Any]] = {}
        self.oncalls: list[dict[str, Any]] = []  # permanent and hand-added on-calls
        # (policy id, level, schedule id): a schedule's rotation on call at that level.
        self.schedule_levels: list[tuple[str, int, str]] = []
        self.rotations: dict[str, tuple[datetime, timedelta]] = {}  # schedule: (origin, turn)
        self.routing_keys: dict[str, str] = {}  # Events API integration key -> service id
        self.api_keys: set[str] = set()
        self.oauth_tokens: set[str] = set()

    # ------------------------------------------------------------------ time, ids and references
    def now(self) -> datetime:
        return self.clock()

    def new_api_key(self) -> str:
        key = "u+" + secrets.token_urlsafe(14)[:18]
        self.api_keys.add(key)
        return key

    def new_oauth_token(self) -> str:
        token = "pdus+_0X" + secrets.token_urlsafe(24)
        self.oauth_tokens.add(token)
        return token

    def self_url(self, kind: str, obj_id: str) -> str:
        return f"{self.api_url}/{_PATHS[kind][0]}/{obj_id}"

    def html_url(self, kind: str, obj_id: str) -> str | None:
        web_path = _PATHS[kind][1]
        return f"{self.web_url}/{web_path}/{obj_id}" if web_path else None

    def ref(self, kind: str, obj_id: str) -> dict[str, Any]:
        """A `<kind>_reference` object, as PagerDuty embeds related objects."""
        store = self.store(kind)
        summary = store[obj_id]["summary"] if obj_id in store else None
        reference = {
            "id": obj_id,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": self.self_url(kind, obj_id),
        }
        html = self.html_url(kind, obj_id)
        if html is not None:
            reference["html_url"] = html
        return reference

    def store(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            "user": self.users,
            "service": self.services,
            "schedule": self.schedules,
            "escalation_policy": self.escalation_policies,
            "team": self.teams,
            "priority": self.priorities,
        }[kind]

    def _base(self, kind: str, obj_id: str, name: str) -> dict[str, Any]:
        obj = {
            "id": obj_id,
            "type": kind,
            "summary": name,
            "self": self.self_url(kind, obj_id),
        }
        html = self.html_url(kind, obj_id)
        if html is not None:
            obj["html_url"] = html
        obj["name"] = name
        return obj

    def _new_id(self, given: str | None) -> str:
        if given is None:
            return self.ids.make()
        self.ids.reserve(given)
        return given

    # ------------------------------------------------------------------ account objects
    def add_team(self, name: str, description: str = "", team_id: str | None = None) -> str:
        team_id = self._new_id(team_id)
        team = self._base("team", team_id, name)
        team["description"] = description
        self.teams[team_id] = team
        return team_id

    def add_user(
        self,
        name: str,
        email: str,
        *,
        role: str = "user",
        time_zone: str = "Etc/UTC",
        job_title: str | None = None,
        team_ids: Iterable[str] = (),
        user_id: str | None = None,
    ) -> str:
        user_id = self._new_id(user_id)
        user = self._base("user", user_id, name)
        user.update(
            {
                "email": email,
                "time_zone": time_zone,
                "color": "purple",
                "role": role,
                "avatar_url": "https://secure.gravatar.com/avatar/sandbox.png?d=mm&r=PG",
                "description": None,
                "invitation_sent": False,
                "job_title": job_title,
                "teams": [self.ref("team", t) for t in team_ids],
                "contact_methods": [],
                "notification_rules": [],
            }
        )
        self.users[user_id] = user
        return user_id

    def add_schedule(
        self,
        name: str,
        user_ids: Sequence[str],
        *,
        time_zone: str = "Etc/UTC",
        description: str = "",
        schedule_id: str | None = None,
        turn_length: timedelta = timedelta(days=1),
    ) -> str:
        """A schedule whose rotation is `user_ids`, one turn of `turn_length` each, starting
        with the first one at 00:00 UTC today and repeating for ever."""
        schedule_id = self._new_id(schedule_id)
        schedule = self._base("schedule", schedule_id, name)
        schedule.update(
            {
                "time_zone": time_zone,
                "description": description,
                "users": [self.ref("user", u) for u in user_ids],
                "escalation_policies": [],
                "teams": [],
            }
        )
        start = self.now().replace(hour=0, minute=0, second=0, microsecond=0)
        self.rotations[schedule_id] = (start, turn_length)
        self.schedules[schedule_id] = schedule
        return schedule_id

    def add_escalation_policy(
        self,
        name: str,
        levels: Sequence[Sequence[str]],
        *,
        description: str = "",
        num_loops: int = 0,
        escalation_delay_in_minutes: int = 30,
        policy_id: str | None = None,
    ) -> str:
        """A policy with one rule per level; each target id is a user or a schedule id.

        On-call entries are derived: a user target is on call permanently (start/end null), a
        schedule target contributes its first user for the current day.
        """
        policy_id = self._new_id(policy_id)
        policy = self._base("escalation_policy", policy_id, name)
        rules: list[dict[str, Any]] = []
        for level_targets in levels:
            targets = []
            for target in level_targets:
                kind = "schedule" if target in self.schedules else "user"
                if kind == "user" and target not in self.users:
                    raise KeyError(f"escalation target {target!r} is neither a user nor a schedule")
                targets.append(self.ref(kind, target))
            rules.append(
                {
                    "id": self.ids.make(),
                    "escalation_delay_in_minutes": escalation_delay_in_minutes,
                    "targets": targets,
                }
            )
        policy.update(
            {
                "description": description,
                "on_call_handoff_notifications": "if_has_services",
                "num_loops": num_loops,
                "escalation_rules": rules,
                "services": [],
                "teams": [],
            }
        )
        self.escalation_policies[policy_id] = policy
        for level, rule in enumerate(rules, start=1):
            for target in rule["targets"]:
                if target["type"] == "schedule_reference":
                    schedule = self.schedules[target["id"]]
                    schedule["escalation_policies"].append(self.ref("escalation_policy", policy_id))
                    self.schedule_levels.append((policy_id, level, target["id"]))
                else:
                    self.add_oncall(target["id"], policy_id, level)
        return policy_id

    def add_oncall(
        self,
        user_id: str,
        escalation_policy_id: str,
        escalation_level: int,
        *,
        schedule_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[str, Any]:
        entry = {
            "escalation_policy": self.ref("escalation_policy", escalation_policy_id),
            "escalation_level": escalation_level,
            "schedule": self.ref("schedule", schedule_id) if schedule_id else None,
            "user": self.ref("user", user_id),
            "start": iso_seconds(start) if start else None,
            "end": iso_seconds(end) if end else None,
        }
        self.oncalls.append(entry)
        return entry

    def shifts(
        self, schedule_id: str, since: datetime, until: datetime
    ) -> list[tuple[str, datetime, datetime]]:
        """(user id, start, end) of each turn of the schedule that overlaps [since, until)
        (with since == until: the turn on call at that instant)."""
        users = [u["id"] for u in self.schedules[schedule_id]["users"]]
        if not users:
            return []
        origin, turn = self.rotations[schedule_id]
        number = max(0, math.floor((since - origin) / turn))
        found = []
        while (start := origin + turn * number) < until or start <= since:
            if start + turn > since:
                found.append((users[number % len(users)], start, start + turn))
            number += 1
        return found

    def oncalls_between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every on-call that overlaps [since, until]: one entry per schedule turn per policy
        level, plus the permanent ones (start/end null) and those added by hand."""

        def overlaps(entry: dict[str, Any]) -> bool:
            start = parse_iso(entry["start"]) if entry["start"] else None
            end = parse_iso(entry["end"]) if entry["end"] else None
            return (start is None or start <= until) and (end is None or end > since)

        entries = [e for e in self.oncalls if overlaps(e)]
        for policy_id, level, schedule_id in self.schedule_levels:
            for user_id, start, end in self.shifts(schedule_id, since, until):
                entries.append(
                    {
                        "escalation_policy": self.ref("escalation_policy", policy_id),
                        "escalation_level": level,
                        "schedule": self.ref("schedule", schedule_id),
                        "user": self.ref("user", user_id),
                        "start": iso_seconds(start),
                        "end": iso_seconds(end),
                    }
                )
        return entries

    def add_service(
        self,
        name: str,
        escalation_policy_id: str,
        *,
        description: str = "",
        status: str = "active",
        team_ids: Iterable[str] = (),
        routing_key: str | None = None,
        service_id: str | None = None,
    ) -> str:
        """A service with an Events API v2 integration (its routing key is in `routing_keys`)."""
        service_id = self._new_id(service_id)
        routing_key = routing_key or secrets.token_hex(16)
        integration_id = self.ids.make()
        integration_path = f"/services/{service_id}/integrations/{integration_id}"
        service = self._base("service", service_id, name)
        service.update(
            {
                "description": description,
                "auto_resolve_timeout": 14400,
                "acknowledgement_timeout": 600,
                "created_at": iso_seconds(self.now()),
                "status": status,
                "last_incident_timestamp": None,
                "alert_creation": "create_alerts_and_incidents",
                "escalation_policy": self.ref("escalation_policy", escalation_policy_id),
                "teams": [self.ref("team", t) for t in team_ids],
                "integrations": [
                    {
                        "id": integration_id,
                        "type": "events_api_v2_inbound_integration_reference",
                        "summary": "Events API v2",
                        "self": self.api_url + integration_path,
                        "html_url": self.web_url + integration_path,
                    }
                ],
                "incident_urgency_rule": {"type": "constant", "urgency": "high"},
                "support_hours": None,
                "scheduled_actions": [],
            }
        )
        self.services[service_id] = service
        self.routing_keys[routing_key] = service_id
        self.escalation_policies[escalation_policy_id]["services"].append(
            self.ref("service", service_id)
        )
        return service_id

    def add_priority(self, name: str, description: str = "", priority_id: str | None = None) -> str:
        priority_id = self._new_id(priority_id)
        priority = {
            "id": priority_id,
            "type": "priority",
            "summary": name,
            "self": self.self_url("priority", priority_id),
            "name": name,
            "description": description,
        }
        self.priorities[priority_id] = priority
        return priority_id

    def routing_key_for(self, service_id: str) -> str:
        for key, owner in self.routing_keys.items():
            if owner == service_id:
                return key
        raise KeyError(service_id)

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        for user in self.users.values():
            if user["email"].lower() == wanted:
                return user
        return None

    def assignees_for(self, policy_id: str, level: int) -> list[str]:
        """The users an incident at `level` of a policy is assigned to (via on-call schedules)."""
        rules = self.escalation_policies[policy_id]["escalation_rules"]
        if not rules:
            return []
        rule = rules[min(level, len(rules)) - 1]
        users: list[str] = []
        for target in rule["targets"]:
            if target["type"] == "user_reference":
                candidates = [target["id"]]
            else:
                now = self.now()
                candidates = [user for user, _, _ in self.shifts(target["id"], now, now)][:1]
            users.extend(u for u in candidates if u not in users)
        return users

    # ------------------------------------------------------------------ bulk seeding
    def seed_users(self, n: int, *, domain: str = "example.com") -> list[str]:
        start = len(self.users)
        return [
            self.add_user(f"Seeded User {i}", f"seeded.user{i}@{domain}")
            for i in range(start + 1, start + n + 1)
        ]

    def seed_schedules(self, n: int, user_ids: Sequence[str] | None = None) -> list[str]:
        users = list(user_ids or self.users)
        start = len(self.schedules)
        result = []
        for i in range(n):
            rotation = users[i % len(users) :] + users[: i % len(users)] if users else []
            result.append(
                self.add_schedule(
                    f"Seeded Schedule {start + i + 1}",
                    rotation[:3],
                    description=f"Seeded rotation {start + i + 1}",
                )
            )
        return result

    def seed_escalation_policies(
        self, n: int, schedule_ids: Sequence[str] | None = None
    ) -> list[str]:
        schedules = list(schedule_ids or self.schedules) or self.seed_schedules(1)
        start = len(self.escalation_policies)
        return [
            self.add_escalation_policy(
                f"Seeded Escalation Policy {start + i + 1}", [[schedules[i % len(schedules)]]]
            )
            for i in range(n)
        ]

    def seed_services(self, n: int, escalation_policy_id: str | None = None) -> list[str]:
        policies = (
            [escalation_policy_id] if escalation_policy_id else list(self.escalation_policies)
        )
        if not policies:
            policies = self.seed_escalation_policies(1)
        start = len(self.services)
        return [
            self.add_service(
                f"Seeded Service {start + i + 1}", policies[i % len(policies)], description="seeded"
            )
            for i in range(n)
        ]
