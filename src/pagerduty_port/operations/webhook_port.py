"""The Port half of connect-webhooks: Port webhook data sources, read, built and masked."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..catalogue.realtime.derive import Derived
from ..clients.port import PortClient
from .runtime import Runtime
from .webhook_scope import DESCRIPTION, SIGNATURE_HEADER, TITLE, ConnectSettings

#: The security settings besides the secret; Port may hide the secret on read, not these.
SECURITY_SETTINGS = {
    "signatureHeaderName": SIGNATURE_HEADER,
    "signatureAlgorithm": "sha256",
    "signaturePrefix": "v1=",
    "requestIdentifierPath": ".body.event.id",
}
_MASK_CHARS = set("*\u2022")
_MASK_WORDS = {"redacted", "hidden", "masked", "secret"}


def _q(value: str) -> str:
    return quote(value, safe="")


def shown_secret(webhook: dict[str, Any]) -> str | None:
    """The signing secret as Port's read shows it; None when absent, null or masked (Port
    documents no read response, so a hidden secret is not taken to be a lost one)."""
    value = (webhook.get("security") or {}).get("secret")
    if not isinstance(value, str) or not value.strip():
        return None
    if set(value) <= _MASK_CHARS or value.strip("[]<>() ").lower() in _MASK_WORDS:
        return None
    return value


def security_state(webhook: dict[str, Any]) -> str:
    """ "in place" (our settings as wanted), "none" (no security at all) or "different"."""
    security = webhook.get("security") or {}
    if all(security.get(k) == v for k, v in SECURITY_SETTINGS.items()):
        return "in place"
    if not any(security.get(k) for k in (*SECURITY_SETTINGS, "secret")):
        return "none"
    return "different"


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
    for value in (webhook.get("webhookKey"), shown_secret(webhook)):
        if value:
            runtime.reporter.mask(str(value))


def desired_webhook(
    settings: ConnectSettings, identifier: str, secret: str | None
) -> dict[str, Any]:
    """The webhook as wanted. Security goes only with its secret: settings stored without one
    would later read as a webhook whose (hidden) secret is in place."""
    body: dict[str, Any] = {
        "identifier": identifier,
        "title": TITLE[:30],
        "description": DESCRIPTION,
        "icon": "pagerduty",
        "enabled": secret is not None,
        "mappings": settings.derived.mappings,
    }
    if secret is not None:
        body["security"] = {**SECURITY_SETTINGS, "secret": secret}
    return body
