"""PagerDuty's v3 webhook subscriptions and their deliveries, as the simulator holds them.

`PagerDutyState` calls `emit(...)` on every incident or service change (REST, Events v2, or a
test calling the state directly). Each matching active subscription gets a signed v3 event,
queued and POSTed by one delivery thread, in order, retried on failure with a short backoff.
The thread starts with the first delivery and `stop()` ends it (the Sandbox calls it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

#: Event types the simulator emits (a subset of PagerDuty's v3 list).
INCIDENT_EVENTS = (
    "incident.acknowledged",
    "incident.escalated",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.service_updated",
    "incident.triggered",
    "incident.unacknowledged",
)
SERVICE_EVENTS = ("service.created", "service.updated", "service.deleted")
#: Every v3 event type a subscription may name (PagerDuty's documented list, abridged).
KNOWN_EVENTS = frozenset(
    {
        *INCIDENT_EVENTS,
        *SERVICE_EVENTS,
        "incident.annotated",
        "incident.conference_bridge.updated",
        "incident.custom_field_values.updated",
        "incident.delegated",
        "incident.incident_type.changed",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.status_update_published",
        "incident.workflow.started",
        "incident.workflow.completed",
        "pagey.ping",
    }
)
RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0)  # then the delivery is dropped (PagerDuty: "retried")
DELIVERY_TIMEOUT = 5.0


@dataclass
class Delivery:
    """One event for one subscription, and what became of it."""

    subscription_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    event_id: str
    event_type: str
    attempts: list[int | str] = field(default_factory=list)  # status codes or error names
    delivered: bool = False


def _reference(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    if not obj:
        return None
    return {
        "html_url": obj.get("html_url"),
        "id": obj.get("id"),
        "self": obj.get("self"),
        "summary": obj.get("summary"),
        "type": f"{kind}_reference",
    }


def incident_data(incident: dict[str, Any]) -> dict[str, Any]:
    """The `data` of an incident event: PagerDuty's v3 incident shape, not the REST one
    (`number`, `assignees` as user references, no `assignments`, `description`, `updated_at`
    or trigger log entry)."""
    return {
        "id": incident["id"],
        "type": "incident",
        "self": incident["self"],
        "html_url": incident["html_url"],
        "number": incident["incident_number"],
        "status": incident["status"],
        "incident_key": incident["incident_key"],
        "created_at": incident["created_at"],
        "title": incident["title"],
        "service": _reference(incident["service"], "service"),
        "assignees": [_reference(a["assignee"], "user") for a in incident.get("assignments") or []],
        "escalation_policy": _reference(incident["escalation_policy"], "escalation_policy"),
        "teams": [_reference(t, "team") for t in incident.get("teams") or []],
        "priority": _reference(incident.get("priority"), "priority"),
        "urgency": incident["urgency"],
        "conference_bridge": incident.get("conference_bridge"),
        "resolve_reason": incident.get("resolve_reason"),
    }


def service_data(service: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a service event: a summary of the service (no status, integrations,
    escalation policy or on-call)."""
    return {
        "id": service["id"],
        "type": "service",
        "self": service.get("self"),
        "html_url": service.get("html_url"),
        "summary": service.get("summary") or service.get("name"),
        "name": service.get("name"),
        "description": service.get("description"),
        "teams": [_reference(t, "team") for t in service.get("teams") or []],
    }


class WebhookHub:
    """Subscriptions (as the REST API shows them), their secrets and the delivery queue."""

    def __init__(self, now: Callable[[], str]) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        self.deliveries: list[Delivery] = []
        self.errors: list[str] = []  # delivery-thread crashes (simulator bugs)
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self._now = now
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0

    # ------------------------------------------------------------------ subscriptions
    def add(self, data: dict[str, Any], new_id: str) -> dict[str, Any]:
        """Store a validated subscription; the answer (only this one) carries the secret."""
        secret = secrets.token_urlsafe(48)
        method = data["delivery_method"]
        subscription = {
            "id": new_id,
            "type": "webhook_subscription",
            "active": data.get("active", True),
            "delivery_method": {
                "id": "D" + new_id,
                "type": "http_delivery_method",
                "url": method["url"],
                "custom_headers": [dict(h) for h in method.get("custom_headers") or []],
                "temporarily_disabled": False,
                "secret": None,
            },
            "description": data.get("description", ""),
            "events": list(data["events"]),
            "filter": dict(data["filter"]),
        }
        self.subscriptions[new_id] = subscription
        self.secrets[new_id] = secret
        shown = self.view(subscription)
        shown["delivery_method"]["secret"] = secret
        return shown

    @staticmethod
    def view(subscription: dict[str, Any]) -> dict[str, Any]:
        """A subscription as GET shows it: no secret, custom header values redacted."""
        shown: dict[str, Any] = json.loads(json.dumps(subscription))
        shown["delivery_method"]["secret"] = None
        for header in shown["delivery_method"]["custom_headers"]:
            header["value"] = "redacted"
        return shown

    # ------------------------------------------------------------------ events
    def emit(
        self,
        event_type: str,
        resource_type: str,
        data: dict[str, Any],
        *,
        agent: dict[str, Any] | None,
        service_id: str | None,
        team_ids: list[str],
    ) -> None:
        """Queue a signed v3 event for each active subscription that wants it."""
        for subscription in self.subscriptions.values():
            if not subscription["active"] or event_type not in subscription["events"]:
                continue
            flt = subscription["filter"]
            if flt["type"] == "service_reference" and flt.get("id") != service_id:
                continue
            if flt["type"] == "team_reference" and flt.get("id") not in team_ids:
                continue
            event_id = str(uuid.uuid4())
            payload = {
                "event": {
                    "id": event_id,
                    "event_type": event_type,
                    "resource_type": resource_type,
                    "occurred_at": self._now(),
                    "agent": agent,
                    "client": None,
                    "data": data,
                }
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            secret = self.secrets[subscription["id"]]
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "PagerDuty-Webhook/V3.0",
                "X-Webhook-Id": event_id,
                "X-Webhook-Subscription": subscription["id"],
                "X-PagerDuty-Signature": f"v1={signature}",
            }
            for custom in subscription["delivery_method"]["custom_headers"]:
                headers[str(custom["name"])] = str(custom["value"])
            self._enqueue(
                Delivery(
                    subscription["id"],
                    subscription["delivery_method"]["url"],
                    body,
                    headers,
                    event_id,
                    event_type,
                )
            )

    def _enqueue(self, delivery: Delivery) -> None:
        with self._idle:
            self._pending += 1
        self.deliveries.append(delivery)
        self._queue.put(delivery)
        with self._thread_lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(
                    target=self._work, name="sandbox-pagerduty-webhooks", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        session = requests.Session()
        try:
            while True:
                delivery = self._queue.get()
                if delivery is None:
                    return
                try:
                    if self._stopping.is_set():
                        continue
                    self._deliver(session, delivery)
                except Exception:  # a simulator bug: keep it for the crash check
                    self.errors.append(traceback.format_exc())
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()
        finally:
            session.close()

    def _deliver(self, session: requests.Session, delivery: Delivery) -> None:
        for delay in (0.0, *self.retry_delays):
            if delay and self._stopping.wait(delay):
                return
            try:
                response = session.post(
                    delivery.url,
                    data=delivery.body,
                    headers=delivery.headers,
                    timeout=DELIVERY_TIMEOUT,
                )
            except requests.RequestException as exc:
                delivery.attempts.append(type(exc).__name__)
                continue
            delivery.attempts.append(response.status_code)
            if 200 <= response.status_code < 300:
                delivery.delivered = True
                return
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                return  # refused: PagerDuty does not retry a rejection

    def wait_idle(self, timeout: float) -> bool:
        """Block until every queued delivery has been attempted (True) or `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self) -> None:
        """End the delivery thread (pending deliveries are dropped)."""
        self._stopping.set()
        with self._thread_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)
