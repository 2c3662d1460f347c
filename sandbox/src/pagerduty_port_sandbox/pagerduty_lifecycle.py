"""The incident-lifecycle endpoints of the simulated PagerDuty REST API: incident notes, schedule
overrides and service creation (the incident PUT itself lives in `pagerduty.py`).

Kept apart from `PagerDutyApi` so each module stays about one family of endpoints; `register`
adds these routes to an API instance and shares its state, auth and error shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pagerduty_port_sandbox.common import parse_iso
from pagerduty_port_sandbox.httpserver import Request, Response
from pagerduty_port_sandbox.pagerduty_directory import PagerDutyError

if TYPE_CHECKING:
    from pagerduty_port_sandbox.pagerduty import PagerDutyApi

NOTE_MAX_LENGTH = 25_000  # guess: PagerDuty's UI refuses longer notes
NAME_TAKEN = "Name has already been taken"
SERVICE_URGENCIES = ("high", "low", "severity_based")


def invalid(*details: str) -> PagerDutyError:
    return PagerDutyError(400, 2001, "Invalid Input Provided", details)


def register(api: PagerDutyApi) -> None:
    routes = LifecycleRoutes(api)
    api.route("GET", r"/incidents/(?P<id>[^/]+)/notes", routes.list_notes)
    api.route("POST", r"/incidents/(?P<id>[^/]+)/notes", routes.create_note)
    api.route("GET", r"/schedules/(?P<id>[^/]+)/overrides", routes.list_overrides)
    api.route("POST", r"/schedules/(?P<id>[^/]+)/overrides", routes.create_overrides)
    api.route("POST", r"/services", routes.create_service)


class LifecycleRoutes:
    def __init__(self, api: PagerDutyApi) -> None:
        self.api = api
        self.state = api.state

    # ------------------------------------------------------------------ notes
    def list_notes(self, request: Request) -> Response:
        incident = self.api._visible_incident(request.params["id"])
        return Response(200, {"notes": list(self.state.notes.get(incident["id"], []))})

    def create_note(self, request: Request) -> Response:
        requester = self.api._requester(request)
        incident = self.api._visible_incident(request.params["id"])
        body = self.api._body(request)
        note = body.get("note") if isinstance(body, dict) else None
        content = note.get("content") if isinstance(note, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise invalid("note.content is required and must be a non-empty string")
        if len(content) > NOTE_MAX_LENGTH:
            raise invalid(f"note.content must be at most {NOTE_MAX_LENGTH} characters")
        created = self.state.add_note(incident["id"], content, requester["id"])
        return Response(201, {"note": created})

    # ------------------------------------------------------------------ overrides
    def _schedule(self, request: Request) -> dict[str, Any]:
        schedule = self.state.schedules.get(request.params["id"])
        if schedule is None:
            raise PagerDutyError(404, 2100, "Not Found")
        return schedule

    def list_overrides(self, request: Request) -> Response:
        schedule = self._schedule(request)
        since = parse_iso(request.arg("since") or "")
        until = parse_iso(request.arg("until") or "")
        if since is None or until is None:
            raise invalid("since and until are required ISO 8601 date-times")
        # operator: parse_iso may return None, but not for a stored override (_one_override
        # stores only those with a valid start and end).
        found = [
            o
            for o in self.state.overrides.get(schedule["id"], [])
            if parse_iso(o["start"]) < until and parse_iso(o["end"]) > since  # type: ignore[operator]
        ]
        return Response(200, {"overrides": found})

    def create_overrides(self, request: Request) -> Response:
        schedule = self._schedule(request)
        body = self.api._body(request)
        if isinstance(body, dict) and isinstance(body.get("overrides"), list):
            results = [self._one_override(schedule["id"], item) for item in body["overrides"]]
            if not results:
                raise invalid("overrides must not be empty")
            return Response(201, results)
        if isinstance(body, dict) and isinstance(body.get("override"), dict):
            # The deprecated single-override form answers with the override itself.
            result = self._one_override(schedule["id"], body["override"])
            if result["status"] != 201:
                raise invalid(*result["errors"])
            return Response(201, {"override": result["override"]})
        raise invalid("overrides is required and must be an array")

    def _one_override(self, schedule_id: str, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return {"status": 400, "errors": ["Override must be an object"], "override": item}
        start = parse_iso(item.get("start") or "")
        end = parse_iso(item.get("end") or "")
        user = item.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        errors = []
        if start is None or end is None:
            errors.append("Override must have a start and an end")
        elif end <= start:
            errors.append("Override must end after its start")
        elif end - start > self.state.max_override_length:
            errors.append("Override is too long")
        if user_id not in self.state.users:
            errors.append("User not found")
        if errors:
            return {"status": 400, "errors": errors, "override": item}
        assert start is not None
        assert end is not None
        assert isinstance(user_id, str)
        override = self.state.add_override(schedule_id, user_id, start, end)
        return {"status": 201, "override": override}

    # ------------------------------------------------------------------ services
    def create_service(self, request: Request) -> Response:
        body = self.api._body(request)
        data = body.get("service") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise invalid("service is required and must be an object")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise invalid("service.name is required")
        taken = {s["name"].casefold() for s in self.state.services.values()}
        if name.strip().casefold() in taken:
            raise invalid(NAME_TAKEN)
        policy = data.get("escalation_policy")
        policy_id = policy.get("id") if isinstance(policy, dict) else None
        if policy_id not in self.state.escalation_policies:
            raise invalid("Escalation policy not found")
        timeouts: dict[str, int | None] = {}
        for field in ("auto_resolve_timeout", "acknowledgement_timeout"):
            value = data.get(field)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise invalid(f"service.{field} must be a non-negative integer or null")
            # 0, null or unset disables the feature; PagerDuty shows it as null.
            timeouts[field] = value or None
        rule = data.get("incident_urgency_rule")
        if rule is not None and (
            not isinstance(rule, dict)
            or rule.get("type") not in (None, "constant")
            or rule.get("urgency") not in SERVICE_URGENCIES
        ):
            raise invalid(
                "service.incident_urgency_rule must be constant high, low or severity_based"
            )
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid("service.description must be a string")
        service_id = self.state.add_service(name.strip(), policy_id, description=description or "")
        service = self.state.services[service_id]
        service.update(timeouts)
        if rule is not None:
            service["incident_urgency_rule"] = {"type": "constant", "urgency": rule["urgency"]}
        return Response(201, {"service": service})
