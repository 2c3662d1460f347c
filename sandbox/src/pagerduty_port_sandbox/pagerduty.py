"""A local PagerDuty REST API v2: the incident, directory, on-call and analytics endpoints.

It enforces what the real API enforces and clients get wrong: the `Token`/`Bearer` auth header,
the versioned `Accept` header, `From` on incident writes, body validation, `incident_key`
de-duplication, classic pagination with its 10,000-record cap, the six-month `since`/`until`
window and per-token rate limits with `ratelimit-*` headers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from pagerduty_port_sandbox.common import add_months, parse_iso
from pagerduty_port_sandbox.httpserver import Api, Request, Response, json_body
from pagerduty_port_sandbox.pagerduty_lifecycle import register as register_lifecycle
from pagerduty_port_sandbox.pagerduty_state import PagerDutyError, PagerDutyState
from pagerduty_port_sandbox.pagerduty_webhook_routes import WebhookRoutes

ACCEPT = "application/vnd.pagerduty+json;version=2"
MAX_RECORDS = 10_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 25
INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
_DEFAULT_CODES = {400: 2001, 401: 2006, 403: 2010, 404: 2100, 429: 2020}
# On-call shifts are known up to 90 days ahead (the /oncalls `since`/`until` docs).
ONCALL_HORIZON = timedelta(days=90)
_MESSAGES = {
    2001: "Invalid Input Provided",
    2002: "Arguments Caused Error",
    2004: "Invalid time values in 'since' and/or 'until' parameters",
    2005: "Invalid Query Date Range",
    2006: "Authentication failed",
    2100: "Not Found",
}
FROM_REQUIRED = (
    'You must specify a user\'s email address in the "From" header to perform this action'
)


def invalid(*details: str) -> PagerDutyError:
    """A 400 'Invalid Input Provided' (code 2001) with human-readable details."""
    return PagerDutyError(400, 2001, _MESSAGES[2001], details)


def not_found() -> PagerDutyError:
    return PagerDutyError(404, 2100, _MESSAGES[2100])


class PagerDutyApi(Api):
    """Routes of the REST API; all state lives in the shared `PagerDutyState`."""

    name = "pagerduty"

    def __init__(self, state: PagerDutyState) -> None:
        super().__init__(state.lock)
        self.state = state
        self.route("GET", r"/incidents", self.list_incidents)
        self.route("POST", r"/incidents", self.create_incident)
        self.route("GET", r"/incidents/(?P<id>[^/]+)", self.get_incident)
        self.route("PUT", r"/incidents/(?P<id>[^/]+)", self.update_incident)
        for collection, kind in (
            ("services", "service"),
            ("users", "user"),
            ("schedules", "schedule"),
            ("escalation_policies", "escalation_policy"),
            ("teams", "team"),
            ("priorities", "priority"),
        ):
            self.route("GET", rf"/{collection}", self._lister(collection))
            self.route("GET", rf"/{collection}/(?P<id>[^/]+)", self._getter(collection, kind))
        self.route("GET", r"/oncalls", self.list_oncalls)
        self.route("POST", r"/analytics/metrics/incidents/services", self.service_analytics)
        register_lifecycle(self)
        WebhookRoutes(self)

    # ------------------------------------------------------------------ conventions
    def error(
        self, status: int, message: str, code: int | None = None, errors: list[str] | None = None
    ) -> Response:
        default = _DEFAULT_CODES.get(status, 2000 if status >= 500 else 2001)
        error: dict[str, Any] = {"message": message, "code": code or default}
        if status == 429:
            error = {"message": "Rate Limit Exceeded", "code": 2020}
        if errors:
            error["errors"] = errors
        return Response(status, {"error": error})

    def _fail(self, exc: PagerDutyError) -> Response:
        return self.error(exc.status, exc.message, exc.code, exc.errors or None)

    def _rate_headers(self, remaining: int) -> dict[str, str]:
        return {
            "ratelimit-limit": str(self.state.rate_limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(self.state.rate_limit_reset),
        }

    def _token(self, request: Request) -> str | None:
        header = request.header("authorization").strip()
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "token" and credentials.startswith("token="):
            key = credentials[len("token=") :].strip().strip('"')
            return key if key in self.state.api_keys else None
        if scheme.lower() == "bearer" and credentials in self.state.oauth_tokens:
            return credentials
        return None

    def handle(self, request: Request) -> Response:
        state = self.state
        token = self._token(request)
        if token is None:
            response = self.error(401, "Authentication failed", 2006)
            response.headers.update(self._rate_headers(state.rate_limit))
            return response
        allowed, remaining = state.consume(token)
        if not allowed:
            response = self.error(429, "Rate Limit Exceeded")
            response.headers.update(self._rate_headers(0))
            return response
        accept = request.header("accept").replace(" ", "").lower()
        if state.require_accept_header and ACCEPT not in accept:
            response = self.error(
                406,
                "Not Acceptable",
                2001,
                [f"The Accept header must be '{ACCEPT}' (got {request.header('accept')!r})"],
            )
        elif request.method in ("POST", "PUT") and not request.header(
            "content-type"
        ).lower().startswith("application/json"):
            response = self.error(
                415, "Unsupported Media Type", 2001, ["Content-Type must be application/json"]
            )
        else:
            try:
                response = self.dispatch(request)
            except PagerDutyError as exc:
                response = self._fail(exc)
        response.headers.update(self._rate_headers(remaining))
        return response

    def dispatch(self, request: Request) -> Response:
        try:
            return super().dispatch(request)
        except PagerDutyError as exc:
            return self._fail(exc)

    def _body(self, request: Request) -> Any:
        return json_body(request, lambda message: self.error(400, _MESSAGES[2001], 2001, [message]))

    def _requester(self, request: Request) -> dict[str, Any]:
        sender = request.header("from").strip()
        if not sender:
            raise PagerDutyError(400, 2016, FROM_REQUIRED)
        user = self.state.user_by_email(sender)
        if user is None:
            raise invalid("Requester User Not Found", f"No user has the email {sender!r}")
        return user

    # ------------------------------------------------------------------ pagination
    def _page_args(self, request: Request) -> tuple[int, int, bool]:
        def integer(name: str, default: int) -> int:
            raw = request.arg(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise invalid(f"{name} must be an integer") from None

        limit = integer("limit", DEFAULT_LIMIT)
        offset = integer("offset", 0)
        if limit < 1 or offset < 0:
            raise invalid("limit must be positive and offset must not be negative")
        limit = min(limit, MAX_LIMIT)
        if offset + limit > MAX_RECORDS:
            raise PagerDutyError(
                400,
                2002,
                _MESSAGES[2002],
                [f"Offset + limit must be no more than {MAX_RECORDS} (got {offset} + {limit})"],
            )
        return limit, offset, (request.arg("total") or "false").lower() == "true"

    def _paginate(
        self,
        key: str,
        items: Iterable[dict[str, Any]],
        request: Request,
        render: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> Response:
        """Classic pagination; only the returned page is rendered (include[] expansions)."""
        limit, offset, want_total = self._page_args(request)
        total = None
        if want_total:
            everything = list(items)
            total = len(everything)
            page = everything[offset : offset + limit]
            more = offset + limit < total
        else:
            page = list(itertools.islice(items, offset, offset + limit + 1))
            more = len(page) > limit
            page = page[:limit]
        if render is not None:
            page = [render(item) for item in page]
        return Response(
            200, {key: page, "limit": limit, "offset": offset, "more": more, "total": total}
        )

    # ------------------------------------------------------------------ incidents
    def _window(self, request: Request) -> tuple[float | None, float | None]:
        if request.arg("date_range") == "all":
            return None, None
        raw_since, raw_until = request.arg("since"), request.arg("until")
        since = parse_iso(raw_since) if raw_since else None
        until = parse_iso(raw_until) if raw_until else None
        if (raw_since and since is None) or (raw_until and until is None):
            raise PagerDutyError(400, 2004, _MESSAGES[2004])
        if until is None:
            until = self.state.now()
        if since is None:
            since = until - timedelta(days=30)
        if since > until:
            raise PagerDutyError(400, 2005, _MESSAGES[2005], ["'since' must be before 'until'"])
        if until > add_months(since, 6):
            raise PagerDutyError(
                400,
                2005,
                _MESSAGES[2005],
                ["The maximum range between since and until is 6 months"],
            )
        # `until` is exclusive, so adjacent windows never return an incident twice.
        return since.timestamp(), until.timestamp()

    def _incident_filter(self, request: Request) -> Callable[[dict[str, Any]], bool]:
        statuses = set(request.args("statuses"))
        if statuses - set(INCIDENT_STATUSES):
            raise invalid(f"Invalid statuses: {sorted(statuses - set(INCIDENT_STATUSES))}")
        urgencies = set(request.args("urgencies"))
        if urgencies - set(URGENCIES):
            raise invalid(f"Invalid urgencies: {sorted(urgencies - set(URGENCIES))}")
        service_ids = set(request.args("service_ids"))
        user_ids = set(request.args("user_ids"))
        team_ids = set(request.args("team_ids"))
        services = self.state.services

        def keep(incident: dict[str, Any]) -> bool:
            if statuses and incident["status"] not in statuses:
                return False
            if urgencies and incident["urgency"] not in urgencies:
                return False
            if service_ids and incident["service"]["id"] not in service_ids:
                return False
            if user_ids and not any(
                a["assignee"]["id"] in user_ids for a in incident["assignments"]
            ):
                return False
            if team_ids:
                service = services.get(incident["service"]["id"], {})
                if not any(t["id"] in team_ids for t in service.get("teams", [])):
                    return False
            return True

        return keep

    def render_incident(
        self, incident: dict[str, Any], includes: set[str], with_body: bool = False
    ) -> dict[str, Any]:
        """The incident as the API shows it, expanded by `include[]` values."""
        if not includes and not with_body:
            return incident
        state = self.state
        out = dict(incident)
        if includes & {"assignees", "users"}:
            out["assignments"] = [
                {**a, "assignee": state.users.get(a["assignee"]["id"], a["assignee"])}
                for a in incident["assignments"]
            ]
        if includes & {"acknowledgers", "users"}:
            out["acknowledgements"] = [
                {**a, "acknowledger": state.users.get(a["acknowledger"]["id"], a["acknowledger"])}
                for a in incident.get("acknowledgements", [])
            ]
        if "services" in includes:
            out["service"] = state.services.get(incident["service"]["id"], incident["service"])
        if "escalation_policies" in includes:
            policy = incident["escalation_policy"]
            out["escalation_policy"] = state.escalation_policies.get(policy["id"], policy)
        if "priorities" in includes and incident["priority"]:
            out["priority"] = state.priorities.get(incident["priority"]["id"], incident["priority"])
        if "teams" in includes:
            out["teams"] = [state.teams.get(t["id"], t) for t in incident.get("teams", [])]
        if "first_trigger_log_entries" in includes:
            out["first_trigger_log_entry"] = state.trigger_entry_of(incident["id"])
        if with_body:
            out["body"] = state.body_of(incident["id"])
        return out

    def list_incidents(self, request: Request) -> Response:
        since, until = self._window(request)
        sort_by = (request.args("sort_by") or ["created_at:asc"])[0]
        field_name, _, direction = sort_by.partition(":")
        if field_name not in ("created_at", "incident_number", "resolved_at", "urgency") or (
            direction not in ("", "asc", "desc")
        ):
            raise invalid(f"Invalid sort_by value {sort_by!r}")
        descending = direction == "desc"
        includes = set(request.args("include"))
        matches = self.state.query_incidents(
            since=since,
            until=until,
            predicate=self._incident_filter(request),
            incident_key=request.arg("incident_key"),
            descending=descending and field_name == "created_at",
        )
        if field_name != "created_at":
            key_of: dict[str, Callable[[dict[str, Any]], Any]] = {
                "incident_number": lambda i: i["incident_number"],
                "resolved_at": lambda i: (i["resolved_at"] or "", i["incident_number"]),
                "urgency": lambda i: (i["urgency"], i["incident_number"]),
            }
            matches = iter(sorted(matches, key=key_of[field_name], reverse=descending))
        return self._paginate(
            "incidents", matches, request, lambda i: self.render_incident(i, includes)
        )

    def _visible_incident(self, incident_id: str) -> dict[str, Any]:
        if not self.state.is_visible(incident_id):
            raise not_found()
        return self.state.incidents[incident_id]

    def get_incident(self, request: Request) -> Response:
        incident = self._visible_incident(request.params["id"])
        includes = set(request.args("include"))
        return Response(200, {"incident": self.render_incident(incident, includes, True)})

    def _reference(self, value: Any, field: str, kind: str) -> str:
        """The id of a `{id, type}` reference to an existing object, or a 400."""
        if not isinstance(value, dict) or not isinstance(value.get("id"), str):
            raise invalid(f"{field} must be an object with an id")
        expected = f"{kind}_reference"
        if value.get("type") not in (None, expected, kind):
            raise invalid(f"{field}.type must be {expected!r}")
        store = self.state.store(kind)
        reference: str = value["id"]
        if reference not in store:
            raise invalid(f"{field} {reference!r} not found")
        return reference

    def _assignees(self, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise invalid("assignments must be an array")
        ids = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise invalid(f"assignments[{index}] must be an object with an assignee")
            ids.append(
                self._reference(item.get("assignee"), f"assignments[{index}].assignee", "user")
            )
        return ids

    def create_incident(self, request: Request) -> Response:
        requester = self._requester(request)
        body = self._body(request)
        data = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise invalid("incident is required and must be an object")
        if data.get("type") != "incident":
            raise invalid("incident.type must be 'incident'")
        title = data.get("title")
        if not isinstance(title, str) or not title.strip():
            raise invalid("incident.title is required")
        service_id = self._reference(data.get("service"), "incident.service", "service")
        urgency = data.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise invalid(f"incident.urgency must be one of {list(URGENCIES)} (got {urgency!r})")
        incident_body = data.get("body")
        if incident_body is not None:
            if not isinstance(incident_body, dict) or incident_body.get("type") not in (
                None,
                "incident_body",
            ):
                raise invalid("incident.body must be an object of type 'incident_body'")
            if not isinstance(incident_body.get("details", ""), str):
                raise invalid("incident.body.details must be a string")
            incident_body = {"type": "incident_body", "details": incident_body.get("details")}
        incident_key = data.get("incident_key")
        if incident_key is not None and (
            not isinstance(incident_key, str) or len(incident_key) > 255
        ):
            raise invalid("incident.incident_key must be a string of at most 255 characters")
        priority_id = None
        if data.get("priority") is not None:
            priority_id = self._reference(data["priority"], "incident.priority", "priority")
        policy_id = None
        if data.get("escalation_policy") is not None:
            policy_id = self._reference(
                data["escalation_policy"], "incident.escalation_policy", "escalation_policy"
            )
        assignees = self._assignees(data["assignments"]) if data.get("assignments") else None
        if assignees and policy_id:
            raise invalid("Incident cannot be assigned to both an escalation policy and users")
        bridge = data.get("conference_bridge")
        if bridge is not None and not isinstance(bridge, dict):
            raise invalid("incident.conference_bridge must be an object")
        if incident_key and self.state.find_open(service_id, incident_key) is not None:
            raise invalid(f"Open incident with key '{incident_key}' already exists")
        incident = self.state.create_incident(
            service_id=service_id,
            title=title,
            urgency=urgency,
            incident_key=incident_key,
            body=incident_body,
            priority_id=priority_id,
            escalation_policy_id=policy_id,
            assignee_ids=assignees,
            requester_id=requester["id"],
            conference_bridge=bridge,
        )
        return Response(201, {"incident": incident})

    def update_incident(self, request: Request) -> Response:
        requester = self._requester(request)
        incident = self._visible_incident(request.params["id"])
        body = self._body(request)
        data = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise invalid("incident is required and must be an object")
        if data.get("type") not in ("incident", "incident_reference"):
            raise invalid("incident.type must be 'incident_reference'")
        state = self.state
        status = data.get("status")
        if status is not None and status not in ("acknowledged", "resolved", "triggered"):
            raise invalid(
                f"incident.status must be 'acknowledged', 'resolved' or 'triggered' "
                f"(got {status!r})"
            )
        # A resolved incident only changes by being reopened (status acknowledged/triggered).
        reopening = incident["status"] == "resolved" and status in ("acknowledged", "triggered")
        if incident["status"] == "resolved" and not reopening:
            raise invalid("Incident Already Resolved")
        if status == "triggered" and not reopening:
            raise invalid("Incident cannot be set back to triggered unless it is resolved")
        urgency = data.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise invalid(f"incident.urgency must be one of {list(URGENCIES)} (got {urgency!r})")
        title = data.get("title")
        if title is not None and (not isinstance(title, str) or not title.strip()):
            raise invalid("incident.title must be a non-empty string")
        resolution = data.get("resolution")
        if resolution is not None and not isinstance(resolution, str):
            raise invalid("incident.resolution must be a string")
        policy_id = None
        if data.get("escalation_policy") is not None:
            policy_id = self._reference(
                data["escalation_policy"], "incident.escalation_policy", "escalation_policy"
            )
        assignees = self._assignees(data["assignments"]) if "assignments" in data else None
        if assignees is not None and policy_id is not None:
            raise invalid("Incident cannot be assigned to both an escalation policy and users")
        level = data.get("escalation_level")
        if level is not None:
            target_policy = policy_id or incident["escalation_policy"]["id"]
            levels = len(state.escalation_policies[target_policy]["escalation_rules"])
            if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= levels:
                raise invalid(
                    f"incident.escalation_level must be an integer between 1 and {levels} "
                    f"(got {level!r})"
                )
        priority_given = "priority" in data
        priority_id = None
        if priority_given and data["priority"] is not None:
            priority_id = self._reference(data["priority"], "incident.priority", "priority")
        actor = state.ref("user", requester["id"])
        if reopening:
            state.reopen(incident, str(status), actor)
        if policy_id is not None or level is not None:
            state.reassign(incident, policy_id=policy_id, level=level)
        if assignees is not None:
            state.reassign(incident, assignee_ids=assignees)
        if urgency is not None:
            incident["urgency"] = urgency
        if title is not None:
            incident["title"] = incident["description"] = title
            incident["summary"] = f"[#{incident['incident_number']}] {title}"
        if priority_given:
            incident["priority"] = state.ref("priority", priority_id) if priority_id else None
            state.emit_incident(incident, "incident.priority_updated", actor)
        if status in ("acknowledged", "resolved"):
            state.set_status(incident, status, actor, resolution)
        state.touch(incident)
        return Response(200, {"incident": incident})

    # ------------------------------------------------------------------ directory objects
    def _lister(self, collection: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            store: dict[str, dict[str, Any]] = getattr(self.state, collection)
            items: Iterable[dict[str, Any]] = store.values()
            query = (request.arg("query") or "").lower()
            if query:
                items = [
                    o
                    for o in items
                    if query in o.get("name", "").lower() or query in o.get("email", "").lower()
                ]
            team_ids = set(request.args("team_ids"))
            if team_ids:
                items = [o for o in items if any(t["id"] in team_ids for t in o.get("teams", []))]
            user_ids = set(request.args("user_ids"))
            if user_ids and collection == "escalation_policies":
                items = [o for o in items if user_ids & self._policy_users(o)]
            if collection != "priorities":
                items = sorted(items, key=lambda o: (o.get("name", "").lower(), o["id"]))
            includes = set(request.args("include"))
            return self._paginate(collection, items, request, lambda o: self._expand(o, includes))

        return handler

    def _policy_users(self, policy: dict[str, Any]) -> set[str]:
        users = set()
        for rule in policy["escalation_rules"]:
            for target in rule["targets"]:
                if target["type"] == "user_reference":
                    users.add(target["id"])
                else:
                    schedule = self.state.schedules.get(target["id"], {})
                    users.update(u["id"] for u in schedule.get("users", []))
        return users

    def _expand(self, obj: dict[str, Any], includes: set[str]) -> dict[str, Any]:
        if not includes:
            return obj
        state = self.state
        out = dict(obj)
        if "escalation_policies" in includes and "escalation_policy" in obj:
            policy = obj["escalation_policy"]
            out["escalation_policy"] = state.escalation_policies.get(policy["id"], policy)
        if "teams" in includes and "teams" in obj:
            out["teams"] = [state.teams.get(t["id"], t) for t in obj["teams"]]
        if "services" in includes and "services" in obj:
            out["services"] = [state.services.get(s["id"], s) for s in obj["services"]]
        return out

    def _getter(self, collection: str, kind: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            store: dict[str, dict[str, Any]] = getattr(self.state, collection)
            obj = store.get(request.params["id"])
            if obj is None:
                raise not_found()
            return Response(200, {kind: self._expand(obj, set(request.args("include")))})

        return handler

    def list_oncalls(self, request: Request) -> Response:
        state = self.state
        policy_ids = set(request.args("escalation_policy_ids"))
        schedule_ids = set(request.args("schedule_ids"))
        user_ids = set(request.args("user_ids"))
        includes = set(request.args("include"))
        # since and until both default to now; shifts are known up to 90 days ahead.
        now = state.now()
        raw_since, raw_until = request.arg("since"), request.arg("until")
        since = parse_iso(raw_since) if raw_since else now
        until = parse_iso(raw_until) if raw_until else now
        if since is None or until is None:
            raise PagerDutyError(400, 2004, _MESSAGES[2004])
        if until < since:
            raise PagerDutyError(400, 2005, _MESSAGES[2005], ["'since' must be before 'until'"])
        until = min(until, now + ONCALL_HORIZON)
        entries = [
            e
            for e in state.oncalls_between(since, until)
            if (not policy_ids or e["escalation_policy"]["id"] in policy_ids)
            and (not schedule_ids or (e["schedule"] and e["schedule"]["id"] in schedule_ids))
            and (not user_ids or e["user"]["id"] in user_ids)
        ]
        if (request.arg("earliest") or "false").lower() == "true":
            seen: set[tuple[str, str, int]] = set()
            earliest = []
            for entry in sorted(entries, key=lambda e: e["start"] or ""):
                key = (
                    entry["user"]["id"],
                    entry["escalation_policy"]["id"],
                    entry["escalation_level"],
                )
                if key not in seen:
                    seen.add(key)
                    earliest.append(entry)
            entries = earliest

        def render(entry: dict[str, Any]) -> dict[str, Any]:
            if not includes:
                return entry
            out = dict(entry)
            if "users" in includes:
                out["user"] = state.users.get(entry["user"]["id"], entry["user"])
            if "schedules" in includes and entry["schedule"]:
                out["schedule"] = state.schedules.get(entry["schedule"]["id"], entry["schedule"])
            if "escalation_policies" in includes:
                policy = entry["escalation_policy"]
                out["escalation_policy"] = state.escalation_policies.get(policy["id"], policy)
            return out

        return self._paginate("oncalls", entries, request, render)

    # ------------------------------------------------------------------ analytics
    def service_analytics(self, request: Request) -> Response:
        body = self._body(request)
        if not isinstance(body, dict):
            raise invalid("Request body must be an object")
        filters = body.get("filters", {})
        if not isinstance(filters, dict):
            raise invalid("filters must be an object")
        service_ids = filters.get("service_ids")
        if service_ids is not None and (
            not isinstance(service_ids, list) or not all(isinstance(s, str) for s in service_ids)
        ):
            raise invalid("filters.service_ids must be an array of strings")
        bounds = []
        for name in ("created_at_start", "created_at_end"):
            raw = filters.get(name)
            moment = parse_iso(raw) if raw is not None else None
            if raw is not None and moment is None:
                raise invalid(f"filters.{name} must be an ISO 8601 date-time")
            bounds.append(moment.timestamp() if moment else None)
        data = self.state.service_metrics(service_ids, bounds[0], bounds[1])
        result: dict[str, Any] = {
            "data": data,
            "filters": filters,
            "time_zone": body.get("time_zone", "Etc/UTC"),
        }
        if body.get("aggregate_unit"):
            result["aggregate_unit"] = body["aggregate_unit"]
        return Response(200, result)
