"""Local simulators of PagerDuty's REST and Events APIs and of Port's API, for tests and demos.

    from pagerduty_port_sandbox import Sandbox

    with Sandbox() as sb:             # three HTTP servers on 127.0.0.1, ephemeral ports
        requests.get(sb.pagerduty_url + "/incidents", headers=...)
        sb.inject("port", "POST", r"/entities/bulk$", 429, headers={"Retry-After": "1"})
        assert sb.requests.filter(server="port", method="POST")

They behave like the real services where clients are likely to get things wrong (auth, headers,
validation, pagination caps, rate limits, asynchronous event processing), record every request,
and can be told to fail on demand. A handler that crashes answers 500 and keeps its traceback in
`sb.errors`; `Sandbox.watch(callback)` hands over every sandbox started meanwhile, so a test
harness can check them all (tests/conftest.py does, for every test).

Where no public source settled the real behaviour, the simulators make a choice; change them
here when the real API is seen to differ:
- PagerDuty: a missing `Accept` header is a 406 (the real API may serve a default version);
  a missing `From` is 400 code 2016, an unknown `From` user 2001 "Requester User Not Found";
  a duplicate open `incident_key` is 2001 "Open incident with key '<k>' already exists";
  changing a resolved incident is 400 "Incident Already Resolved", except setting its status to
  `acknowledged` (or `triggered`), which reopens it as PagerDuty's reference says (acknowledged:
  assigned to the requester); `triggered` on an open incident is 400.
- PagerDuty notes: `GET /incidents/{id}/notes` answers `{"notes": [...]}` unpaginated, oldest
  first; `POST` needs `From` and answers 201 `{"note": {...}}`; content over 25,000 characters
  is 400. Notes on resolved incidents are accepted.
- PagerDuty overrides: `GET /schedules/{id}/overrides` returns those overlapping [since, until);
  `POST` with `overrides: [...]` answers 201 with one `{status, override, errors}` per item (an
  unknown user, an end not after start or a window over `max_override_length`, 90 days, is a
  per-item 400: PagerDuty documents no limit). Each override adds on-call entries on every
  policy level that targets the schedule.
- `POST /services`: a name already taken (case-insensitive) is 400 code 2001 with errors
  ["Name has already been taken"]; an unknown escalation policy is 400 "Escalation policy not
  found"; timeouts of 0 or null are stored as null (disabled).
- `GET /users?query=` (and every `query`) matches a case-insensitive substring of name or email.
- PagerDuty /oncalls: `since` and `until` default to now (the spec) and every on-call that
  overlaps [since, until) is returned: one entry per turn of each schedule per escalation
  policy level, plus permanent ones (user targets, start/end null). Guesses: a turn's start
  and end are the turn's own bounds, not clipped to the window; `until` past 90 days ahead is
  clipped to 90 days (the spec says shifts are "limited to 90 days in the future") rather than
  refused; the order (permanent entries first, then each policy level's turns by start) is
  ours. Simulated schedules are one
  layer of fixed-length turns (a day by default) starting at 00:00 UTC on the day they are
  created.
- Events API: an unknown routing key and a body over 512 KB are 400 (not 413).
- Port: only the `not_found` error id is confirmed (from Port's own Ocean client);
  `unauthorized`, `identifier_taken`, `invalid_request`, `payload_too_large`, `has_dependents`
  and `run_exhausted` are ours. An entity write tied to a finished run is refused
  (`run_exhausted`), and unset blueprint properties come back as null. A relation to an
  entity Port does not hold is refused unless `create_missing_related_entities=true` (as Port
  documents); the 404 `not_found` status, and in a bulk write a 207 listing the entity, are ours.
- PagerDuty v3 webhooks: a subscription's `delivery_method.url` may be http (the real API likely
  wants https); create answers 200 (as the spec says) with the secret, GET never shows it and
  shows custom header values as "redacted"; PUT refuses a `delivery_method` change. Events are
  emitted on create (incident.triggered), status changes (acknowledged/resolved),
  reassignment/escalation, priority changes, a move to another service
  (`PagerDutyState.move_incident`: incident.service_updated, matched against the new service's
  subscriptions, a guess) and service create/update/delete; title or urgency edits emit nothing
  (PagerDuty's documented v3 list has no event for them; its Slack connections list
  incident.title_updated / urgency_updated, webhook subscriptions do not). Event `data` is
  PagerDuty's documented v3 incident shape (`number`, `assignees` as user references, no
  `description`, `updated_at` or trigger log entry); for services we guess `{id, type, self,
  html_url, summary, name, description, teams}` (no `status`). `client` is null. Deliveries go
  one at a time, in order, from one thread; a failure (connection error, 5xx, 408, 429) is
  retried after 0.05, 0.2, 0.5 and 1 s, then dropped; other 4xx are not retried. One signature
  per delivery (no rotation overlap).
- Port webhooks: create answers 201 and every answer wraps the webhook in `integration`, with
  `webhookKey` and `url` (`<port>/ingest/<key>`; the real one is https://ingest.getport.io/<key>).
  Ingest answers 202 and maps synchronously (Port maps asynchronously); a bad signature is 401
  and changes nothing; a signature header holding several comma-separated values passes when
  any one matches; a request id seen before is answered 202 and skipped. Entities are upserted
  with merge (only the mapped fields change) and missing related entities created; a mapping
  that fails is logged in `port.webhooks.log`, not reported to the sender.
- Port webhook reads and `security.secret`: Port's spec documents no success response for
  `/v1/webhooks` and its docs say only that answers hold "the complete configuration". By
  default answers show the secret, a guess resting on Port's own Terraform provider
  (`port_webhook`), which reads `security.secret` back into state as a plain, non-sensitive
  attribute and would show a change on every plan if Port hid it (its acceptance tests never
  set a secret, so nothing confirms it). `port.webhooks.secret_on_read` makes answers leave
  it out ("absent"), null it ("null") or mask it ("masked": "********") instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, ClassVar

from pagerduty_port_sandbox.events import EventsApi
from pagerduty_port_sandbox.httpserver import Api, Fault, FaultQueue, SimulatorServer
from pagerduty_port_sandbox.pagerduty import PagerDutyApi
from pagerduty_port_sandbox.pagerduty_state import PagerDutyState
from pagerduty_port_sandbox.port import PortApi
from pagerduty_port_sandbox.port_state import PortState
from pagerduty_port_sandbox.recording import RecordedRequest, RequestLog

__all__ = ["SERVERS", "PagerDutyState", "PortState", "RecordedRequest", "RequestLog", "Sandbox"]

SERVERS = ("pagerduty", "events", "port")


class Sandbox:
    """The three simulators, a seeded PagerDuty account and a Port organisation.

    Seeded PagerDuty objects: a team, three users (`user_email` is Alice, an admin), a schedule
    (Bob on call), an escalation policy (level 1: the schedule, level 2: Carol), a service with an
    Events API v2 integration (`routing_key`) and the priorities P1..P5 (`priority_id` is P1).
    `port_blueprints="default"` creates the project's PagerDuty blueprints in Port; None creates
    none.
    """

    # Called with every sandbox as it starts: how a test harness finds them all to check
    # `errors`, including sandboxes a test opens itself.
    _watchers: ClassVar[list[Callable[[Sandbox], None]]] = []
    _watchers_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        port_blueprints: str | None = "default",
        *,
        host: str = "127.0.0.1",
        seed: int = 0,
        ports: dict[str, int] | None = None,
    ) -> None:
        if port_blueprints not in ("default", None):
            raise ValueError("port_blueprints must be 'default' or None")
        self.requests = RequestLog()
        self.pagerduty = PagerDutyState(seed=seed)
        self.port = PortState()
        self._faults = {name: FaultQueue() for name in SERVERS}
        self._apis: dict[str, Api] = {
            "pagerduty": PagerDutyApi(self.pagerduty),
            "events": EventsApi(self.pagerduty),
            "port": PortApi(self.port),
        }
        chosen = ports or {}
        self._servers: dict[str, SimulatorServer] = {}
        try:
            for name in SERVERS:
                self._servers[name] = SimulatorServer(
                    self._apis[name], self.requests, self._faults[name], host, chosen.get(name, 0)
                )
        except OSError:
            self.stop()
            raise
        self.pagerduty.api_url = self.pagerduty_url  # `self` links point back at the sandbox
        self.port.webhooks.ingest_url = self.port_url + "/ingest"
        self._seed_pagerduty()
        if port_blueprints == "default":
            self.port.load_default_blueprints()
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    @contextmanager
    def watch(cls, callback: Callable[[Sandbox], None]) -> Iterator[None]:
        """Call `callback(sandbox)` for every sandbox started inside this block."""
        with cls._watchers_lock:
            cls._watchers.append(callback)
        try:
            yield
        finally:
            with cls._watchers_lock:
                cls._watchers.remove(callback)

    def start(self) -> Sandbox:
        if not self._started:
            with self._watchers_lock:
                watchers = list(self._watchers)
            for watcher in watchers:
                watcher(self)
            for server in self._servers.values():
                server.start()
            self._started = True
        return self

    def stop(self) -> None:
        self.pagerduty.webhooks.stop()  # first: no delivery may outlive the servers
        # Stop the servers in parallel: each shutdown waits for its poll loop to notice.
        stoppers = [
            threading.Thread(target=server.stop, daemon=True) for server in self._servers.values()
        ]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ URLs and credentials
    @property
    def pagerduty_url(self) -> str:
        return self._servers["pagerduty"].url

    @property
    def events_url(self) -> str:
        return self._servers["events"].url

    @property
    def port_url(self) -> str:
        return self._servers["port"].url

    @property
    def port_client_id(self) -> str:
        return self.port.client_id

    @property
    def port_client_secret(self) -> str:
        return self.port.client_secret

    def _seed_pagerduty(self) -> None:
        pd = self.pagerduty
        self.team_id = pd.add_team("Platform", "Runs the checkout platform")
        self.user_id = pd.add_user(
            "Alice Admin", "alice@example.com", role="admin", team_ids=[self.team_id]
        )
        self.user_email = "alice@example.com"
        self.responder_id = pd.add_user(
            "Bob Responder", "bob@example.com", job_title="SRE", team_ids=[self.team_id]
        )
        self.escalation_user_id = pd.add_user(
            "Carol Escalation", "carol@example.com", role="limited_user", team_ids=[self.team_id]
        )
        self.schedule_id = pd.add_schedule(
            "Primary On-Call",
            [self.responder_id, self.user_id],
            description="Weekly primary rotation",
        )
        self.escalation_policy_id = pd.add_escalation_policy(
            "Default Escalation Policy",
            [[self.schedule_id], [self.escalation_user_id]],
            description="Page the on-call engineer, then Carol",
        )
        self.service_id = pd.add_service(
            "Checkout API",
            self.escalation_policy_id,
            description="Takes payments",
            team_ids=[self.team_id],
        )
        self.routing_key = pd.routing_key_for(self.service_id)
        priorities = [
            pd.add_priority(f"P{n}", description)
            for n, description in enumerate(
                ("Critical", "High", "Moderate", "Low", "Informational"), start=1
            )
        ]
        self.priority_id = priorities[0]
        self.pagerduty_token = pd.new_api_key()
        self.pagerduty_oauth_token = pd.new_oauth_token()

    def action_inputs(self) -> dict[str, str]:
        """The inputs that point an action at this sandbox: PagerDuty and Port URLs and keys."""
        return {
            "pagerduty_token": self.pagerduty_token,
            "pagerduty_api_url": self.pagerduty_url,
            "port_client_id": self.port_client_id,
            "port_client_secret": self.port_client_secret,
            "port_base_url": self.port_url,
        }

    def credentials(self) -> dict[str, Any]:
        """URLs, credentials and seeded ids as one JSON-ready dict (what `serve` prints)."""
        return {
            "pagerduty_url": self.pagerduty_url,
            "events_url": self.events_url,
            "port_url": self.port_url,
            "pagerduty_token": self.pagerduty_token,
            "pagerduty_oauth_token": self.pagerduty_oauth_token,
            "routing_key": self.routing_key,
            "port_client_id": self.port_client_id,
            "port_client_secret": self.port_client_secret,
            "service_id": self.service_id,
            "user_email": self.user_email,
            "user_id": self.user_id,
            "escalation_policy_id": self.escalation_policy_id,
            "schedule_id": self.schedule_id,
            "priority_id": self.priority_id,
            "team_id": self.team_id,
        }

    # ------------------------------------------------------------------ fault injection
    def inject(  # noqa: PLR0917 - the documented positional signature
        self,
        server: str,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        *,
        after: int = 0,
        process: bool = False,
        drop: bool = False,
        hold: float = 0.0,
    ) -> None:
        """Answer the next `times` requests matching `method` and `path_regex` with `status`.

        `path_regex` is searched (`re.search`) in the path without its query string; `method`
        may be `"*"`. A None `body` gets the service's own error shape for that status (e.g.
        PagerDuty's rate-limit body for 429); dicts and lists are sent as JSON, str/bytes as
        they are. Only the given `headers` are added: no rate-limit headers unless you pass them.
        Faults are consumed first-in first-out and the requests are recorded as usual.

        `after` lets that many matching requests through first, to fail a read or a write
        part-way (e.g. `after=3`: the fourth matching request fails). With `process=True` the
        simulator still handles the request (an incident is created, an entity written...) and
        only the answer is replaced: a response lost on the way back.

        Faults without an HTTP answer: `drop=True` closes the connection without answering (a
        dropped connection; `status` is unused and the request is recorded with status 0).
        `hold` keeps the request that many seconds before answering with `status`, or before
        dropping it; a `hold` longer than the client's read timeout is an answer that never
        comes. A held request is recorded when it arrives, and gives up at once when the
        sandbox stops. For a refused connection, point the client at a port nothing listens on.
        """
        if server not in SERVERS:
            raise ValueError(f"server must be one of {SERVERS}, not {server!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if hold < 0:
            raise ValueError("hold must be at least 0 seconds")
        self._faults[server].add(
            Fault(
                method=method.upper(),
                path=re.compile(path_regex),
                status=status,
                body=body,
                headers=dict(headers or {}),
                remaining=times,
                skip=after,
                process=process,
                drop=drop,
                hold=hold,
            )
        )

    def set_latency(self, seconds: float, server: str | None = None) -> None:
        """Delay every answer of `server` (default: all three) by `seconds`, like a network."""
        for name in [server] if server else list(SERVERS):
            self._servers[name].latency = seconds

    def pending_faults(self, server: str | None = None) -> list[Fault]:
        names = [server] if server else list(SERVERS)
        return [fault for name in names for fault in self._faults[name].pending()]

    def clear_faults(self) -> None:
        for queue in self._faults.values():
            queue.clear()

    @property
    def errors(self) -> list[str]:
        """Tracebacks of simulator crashes (answered as 500s); empty in a healthy run."""
        traces = [trace for api in self._apis.values() for trace in api.errors]
        return traces + list(self.pagerduty.webhooks.errors)

    def wait_deliveries(self, timeout: float = 10.0) -> bool:
        """Wait (bounded) until every queued webhook delivery has been attempted."""
        return self.pagerduty.webhooks.wait_idle(timeout)
