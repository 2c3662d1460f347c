"""The PagerDuty half of connect-webhooks: v3 webhook subscriptions, listed, created (their
signing secret masked at once) and brought in line with the scope and events wanted."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..clients.pagerduty import PagerDutyClient
from ..errors import ActionError
from .runtime import Runtime
from .webhook_scope import DESCRIPTION, ConnectSettings, Scope


def _q(value: str) -> str:
    return quote(value, safe="")


def list_subscriptions(client: PagerDutyClient) -> list[dict[str, Any]]:
    return [
        s
        for page in client.iter_pages("/webhook_subscriptions", "webhook_subscriptions")
        for s in page
    ]


def create_subscription(
    runtime: Runtime,
    client: PagerDutyClient,
    settings: ConnectSettings,
    url: str,
    scope: Scope,
) -> tuple[dict[str, Any], str]:
    body = {
        "webhook_subscription": {
            "type": "webhook_subscription",
            "active": True,
            "description": DESCRIPTION,
            "delivery_method": {"type": "http_delivery_method", "url": url},
            "events": list(settings.derived.events),
            "filter": scope.filter(),
        }
    }
    data = client.request("POST", "/webhook_subscriptions", body=body)
    subscription = (data or {}).get("webhook_subscription") or {}
    secret = (subscription.get("delivery_method") or {}).get("secret")
    if not secret:
        raise ActionError(
            f"PagerDuty created subscription {subscription.get('id')} without a signing "
            "secret; delete it and run again."
        )
    runtime.reporter.mask(str(secret))
    runtime.reporter.progress(
        f"Created PagerDuty subscription {subscription.get('id')} for {scope}."
    )
    return subscription, str(secret)


def update_subscription(
    runtime: Runtime,
    client: PagerDutyClient,
    settings: ConnectSettings,
    subscription: dict[str, Any],
    scope: Scope,
) -> int:
    changes: dict[str, Any] = {}
    if sorted(subscription.get("events") or []) != sorted(settings.derived.events):
        changes["events"] = list(settings.derived.events)
    current = subscription.get("filter") or {}
    if {k: v for k, v in current.items() if v is not None} != scope.filter():
        changes["filter"] = scope.filter()
    if subscription.get("active") is False:
        changes["active"] = True
    if not changes:
        return 0
    client.request(
        "PUT",
        f"/webhook_subscriptions/{_q(subscription['id'])}",
        body={"webhook_subscription": changes},
    )
    runtime.reporter.progress(
        f"Updated subscription {subscription['id']}: {', '.join(sorted(changes))}."
    )
    return 1
