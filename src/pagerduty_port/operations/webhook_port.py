"""The Port half of connect-webhooks: Port webhook data sources, read, built and masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..catalogue.realtime.derive import Derived
from ..clients.port import PortClient
from .runtime import Runtime
from .webhook_scope import DESCRIPTION, SIGNATURE_HEADER, TITLE, ConnectSettings


def _q(value: str) -> str:
    return quote(value, safe="")


def port_webhooks(port: PortClient, base: str) -> dict[str, dict[str, Any]]:
    """Our webhooks: `base` and `base-service-*` / `base-team-*`."""
    _, data = port.request("GET", "/v1/webhooks")
    found = {}
    for webhook in (data or {}).get("integrations") or []:
        identifier = str(webhook.get("identifier") or "")
        if identifier == base or identifier.startswith((f"{base}-service-", f"{base}-team-")):
            found[identifier] = webhook
    return found


def blueprint_properties(port: PortClient, derived: Derived) -> dict[str, set[str]]:
    found = {}
    for blueprint in derived.incident_blueprints:
        _, data = port.request("GET", f"/v1/blueprints/{_q(blueprint)}")
        schema = ((data or {}).get("blueprint") or {}).get("schema") or {}
        found[blueprint] = set(schema.get("properties") or {})
    return found


def mask_webhook(runtime: Runtime, webhook: dict[str, Any]) -> None:
    for value in (
        webhook.get("webhookKey"),
        (webhook.get("security") or {}).get("secret"),
    ):
        if value:
            runtime.reporter.mask(str(value))


def desired_webhook(
    settings: ConnectSettings, identifier: str, secret: str | None
) -> dict[str, Any]:
    security: dict[str, Any] = {
        "signatureHeaderName": SIGNATURE_HEADER,
        "signatureAlgorithm": "sha256",
        "signaturePrefix": "v1=",
        "requestIdentifierPath": ".body.event.id",
    }
    if secret is not None:
        security["secret"] = secret
    return {
        "identifier": identifier,
        "title": TITLE[:30],
        "description": DESCRIPTION,
        "icon": "pagerduty",
        "enabled": secret is not None,
        "mappings": settings.derived.mappings,
        "security": security,
    }
