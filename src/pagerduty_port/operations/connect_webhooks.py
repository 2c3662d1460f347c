"""connect-webhooks: PagerDuty v3 webhook subscriptions delivering into Port webhook data
sources, so the catalogue follows PagerDuty in real time with nothing to host.

One Port webhook per scope item (a Port webhook verifies one signing secret, and PagerDuty
gives each subscription its own), found again by identifier; its subscription is found by the
webhook's ingest URL. A second run with the same inputs sends no write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..catalogue.realtime.derive import add_event_properties, derive
from ..clients.pagerduty import PagerDutyClient
from ..clients.port import PortClient
from ..errors import ActionError, InputError
from .common import CommonSettings
from .protocols import InputSource
from .runtime import Runtime
from .webhook_port import (
    blueprint_properties,
    desired_webhook,
    mask_webhook,
    port_webhooks,
    security_state,
    shown_secret,
)
from .webhook_scope import IDENTIFIER_RE, MAX_IDENTIFIER, ConnectSettings, Scope, parse_scope
from .webhook_subscriptions import create_subscription, list_subscriptions, update_subscription


def _q(value: str) -> str:
    return quote(value, safe="")


def _check_hidden_secret(
    webhook: dict[str, Any], identifier: str, subscription: dict[str, Any]
) -> None:
    """Port's read shows no secret for a webhook whose subscription exists: connected if our
    security settings are in place (Port may hide secrets on read), else the secret is lost."""
    state = security_state(webhook)
    if state == "in place":
        return
    why = (
        "Port no longer holds its signing secret (the webhook has no security settings)"
        if state == "none"
        else "the Port webhook's security settings differ from the ones wanted, and Port "
        "does not show the secret to send them again with"
    )
    raise ActionError(
        f"PagerDuty subscription {subscription['id']} delivers to Port webhook {identifier}, "
        f"but {why}; PagerDuty shows a secret only once. Run again with input "
        "'rotate_secret: true' to replace the subscription."
    )


class ConnectWebhooks:
    name = "connect-webhooks"

    def parse(self, inputs: InputSource, common: CommonSettings) -> ConnectSettings:
        base = inputs.text("webhook_identifier") or "pagerduty"
        if not IDENTIFIER_RE.match(base):
            raise InputError(
                "webhook_identifier",
                f"got {base!r}; expected a Port identifier (letters, digits and @_.+:/=-).",
            )
        scopes = parse_scope(inputs.text("scope"))
        for scope in scopes:
            identifier = scope.identifier(base)
            if len(identifier) > MAX_IDENTIFIER:
                raise InputError(
                    "webhook_identifier",
                    f"makes the Port webhook identifier {identifier!r} for scope {scope}, longer "
                    f"than Port's {MAX_IDENTIFIER} characters; choose a shorter one.",
                )
        rotate = inputs.boolean("rotate_secret", default=False)
        disconnect = inputs.boolean("disconnect", default=False)
        if rotate and disconnect:
            raise InputError("rotate_secret", "cannot be combined with disconnect: true.")
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        if common.port is None:
            raise InputError(
                "port_client_id", "is required (with port_client_secret): the webhook is in Port."
            )
        return ConnectSettings(base, scopes, rotate, disconnect, derive(common.mapping))

    # ------------------------------------------------------------------ run
    def run(self, settings: ConnectSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        port = runtime.port
        assert port is not None  # parse checked the credentials
        client = runtime.pagerduty()
        verb = "Disconnecting" if settings.disconnect else "Connecting"
        reporter.start(f"{verb} PagerDuty webhooks and Port ({settings.base}).")
        existing = port_webhooks(port, settings.base)
        for webhook in existing.values():
            mask_webhook(runtime, webhook)
        subscriptions = list_subscriptions(client)
        if settings.disconnect:
            self._disconnect(runtime, client, port, existing.values(), subscriptions)
            return
        derived = settings.derived
        add_event_properties(derived, blueprint_properties(port, derived))
        wanted = {s.identifier(settings.base): s for s in settings.scopes}
        stale = [w for i, w in existing.items() if i not in wanted]
        urls, ids, changes = [], [], 0
        for identifier, scope in wanted.items():
            url, sub_id, changed = self._connect(
                runtime,
                client,
                port,
                settings,
                identifier,
                scope,
                existing.get(identifier),
                subscriptions,
            )
            urls.append(url)
            ids.append(sub_id)
            changes += changed
        if stale:
            reporter.progress(f"Removing {len(stale)} webhook(s) for a scope no longer asked for.")
            self._disconnect(runtime, client, port, stale, subscriptions, finish=False)
            changes += len(stale)
        reporter.set_outputs(
            {
                "webhook_url": ",".join(urls),
                "subscription_id": ",".join(ids),
                "events": ",".join(derived.events),
            }
        )
        reporter.summary(self._summary(settings, urls, ids, changes))
        reporter.succeed("Connected" if changes else "Already connected; nothing changed")

    def _connect(  # noqa: PLR0917 - one scope item's whole state
        self,
        runtime: Runtime,
        client: PagerDutyClient,
        port: PortClient,
        settings: ConnectSettings,
        identifier: str,
        scope: Scope,
        webhook: dict[str, Any] | None,
        subscriptions: list[dict[str, Any]],
    ) -> tuple[str, str, int]:
        reporter = runtime.reporter
        changes = 0
        if webhook is None:
            body = desired_webhook(settings, identifier, None)
            _, data = port.request("POST", "/v1/webhooks", body=body)
            webhook = (data or {}).get("integration") or {}
            mask_webhook(runtime, webhook)
            reporter.progress(f"Created the Port webhook {identifier} (disabled until signed).")
            changes += 1
        url = str(webhook.get("url") or "")
        if not url:
            raise ActionError(f"Port did not return an ingest URL for webhook {identifier}.")
        mine = [s for s in subscriptions if (s.get("delivery_method") or {}).get("url") == url]
        for extra in mine[1:]:  # a duplicate left by an interrupted run: keep one only
            client.request("DELETE", f"/webhook_subscriptions/{_q(extra['id'])}")
            reporter.progress(f"Deleted duplicate subscription {extra['id']}.")
            changes += 1
        subscription = mine[0] if mine else None
        secret = shown_secret(webhook)
        unseen = False  # Port hides the secret but holds the settings made with it
        replaced: dict[str, Any] | None = None
        if subscription is not None and settings.rotate_secret:
            replaced, subscription = subscription, None
        elif subscription is not None and secret is None:
            _check_hidden_secret(webhook, identifier, subscription)
            unseen = True
        if subscription is None:
            subscription, secret = create_subscription(runtime, client, settings, url, scope)
            changes += 1
        else:
            changes += update_subscription(runtime, client, settings, subscription, scope)
        desired = desired_webhook(settings, identifier, secret)
        if unseen:  # security is left as it is: sent without the secret it would drop it
            desired["enabled"] = True
        patch = {k: v for k, v in desired.items() if k != "identifier" and webhook.get(k) != v}
        if patch:
            port.request("PATCH", f"/v1/webhooks/{_q(identifier)}", body=patch)
            reporter.progress(f"Updated the Port webhook {identifier}: {', '.join(sorted(patch))}.")
            changes += 1
        if replaced is not None:
            client.request("DELETE", f"/webhook_subscriptions/{_q(replaced['id'])}")
            reporter.progress(f"Replaced subscription {replaced['id']} (new signing secret).")
        return url, str(subscription["id"]), changes

    def _disconnect(  # noqa: PLR0917
        self,
        runtime: Runtime,
        client: PagerDutyClient,
        port: PortClient,
        webhooks: Any,
        subscriptions: list[dict[str, Any]],
        finish: bool = True,
    ) -> None:
        reporter = runtime.reporter
        removed = 0
        for webhook in list(webhooks):
            url = webhook.get("url")
            for sub in subscriptions:
                if url and (sub.get("delivery_method") or {}).get("url") == url:
                    client.request("DELETE", f"/webhook_subscriptions/{_q(sub['id'])}")
                    reporter.progress(f"Deleted PagerDuty subscription {sub['id']}.")
                    removed += 1
            port.request("DELETE", f"/v1/webhooks/{_q(str(webhook['identifier']))}", allow=(404,))
            reporter.progress(f"Deleted the Port webhook {webhook['identifier']}.")
            removed += 1
        if finish:
            reporter.set_outputs({"webhook_url": "", "subscription_id": "", "events": ""})
            reporter.summary(
                "## PagerDuty webhooks disconnected\n\n"
                + (
                    f"Removed {removed} webhook(s) and subscription(s).\n"
                    if removed
                    else "Nothing was connected.\n"
                )
            )
            reporter.succeed("Disconnected" if removed else "Nothing to disconnect")

    @staticmethod
    def _summary(settings: ConnectSettings, urls: list[str], ids: list[str], changes: int) -> str:
        derived = settings.derived
        lines = [
            "## PagerDuty webhooks connected to Port",
            "",
            "Nothing changed: both halves were already as asked."
            if not changes
            else f"{changes} change(s) made.",
            "",
            "| Scope | Port webhook | PagerDuty subscription |",
            "|---|---|---|",
        ]
        for scope, url, sub_id in zip(settings.scopes, urls, ids, strict=True):
            lines.append(f"| {scope} | {scope.identifier(settings.base)} ({url}) | {sub_id} |")
        lines += ["", f"Events: {', '.join(derived.events)}", "", "### Real time vs sync only", ""]
        for mapping in derived.mappings:
            if mapping.get("operation"):
                continue
            entity = mapping["entity"]
            fresh = [k for k in ("title", "icon", "team") if k in entity]
            fresh += list(entity["properties"]) + [f"relations.{k}" for k in entity["relations"]]
            lagging = derived.lagging.get(mapping["blueprint"], [])
            fresh = [name for name in fresh if name not in lagging]
            lines.append(f"- **{mapping['blueprint']}** real time: {', '.join(fresh) or 'none'}")
            if lagging:
                lines.append(
                    f"- **{mapping['blueprint']}** written with every incident event, but "
                    "PagerDuty sends no event when only these change, so such an edit waits "
                    f"for the next event or sync: {', '.join(lagging)}"
                )
        for label, names in derived.sync_only.items():
            lines.append(f"- **{label}** sync only: {', '.join(names) or 'none'}")
        lines += [f"- {note}" for note in derived.notes]
        return "\n".join(lines) + "\n"


OPERATION = ConnectWebhooks()
