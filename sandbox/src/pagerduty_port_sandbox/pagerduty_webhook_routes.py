"""`/webhook_subscriptions` of the PagerDuty simulator: create, list, get, update, delete.

Validation follows the REST spec's `WebhookSubscription` / `WebhookSubscriptionUpdate`: a
`delivery_method` of type `http_delivery_method` with a `url`, at least one known event type,
and a `filter` on the account, a service or a team that exists. The signing secret is in the
create response only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pagerduty_port_sandbox.httpserver import Request, Response
from pagerduty_port_sandbox.pagerduty_state import PagerDutyError
from pagerduty_port_sandbox.pagerduty_webhooks import KNOWN_EVENTS

if TYPE_CHECKING:
    from pagerduty_port_sandbox.pagerduty import PagerDutyApi

FILTER_TYPES = ("account_reference", "service_reference", "team_reference")
_ID = r"/webhook_subscriptions/(?P<id>[^/]+)"


def _invalid(*details: str) -> PagerDutyError:
    return PagerDutyError(400, 2001, "Invalid Input Provided", details)


class WebhookRoutes:
    """Registers the subscription routes on a `PagerDutyApi`."""

    def __init__(self, api: PagerDutyApi) -> None:
        self.api = api
        self.state = api.state
        api.route("GET", r"/webhook_subscriptions", self.list)
        api.route("POST", r"/webhook_subscriptions", self.create)
        api.route("GET", _ID, self.get)
        api.route("PUT", _ID, self.update)
        api.route("DELETE", _ID, self.delete)

    def _subscription(self, request: Request) -> dict[str, Any]:
        found = self.state.webhooks.subscriptions.get(request.params["id"])
        if found is None:
            raise PagerDutyError(404, 2100, "Not Found")
        return found

    def _events(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise _invalid("events must be a non-empty array of event types")
        if len(set(map(str, value))) != len(value):
            raise _invalid("events must not repeat an event type")
        unknown = [e for e in value if e not in KNOWN_EVENTS]
        if unknown:
            raise _invalid(f"Unknown event types: {unknown}")
        return [str(e) for e in value]

    def _filter(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or value.get("type") not in FILTER_TYPES:
            raise _invalid(f"filter.type must be one of {list(FILTER_TYPES)}")
        kind = value["type"]
        if kind == "account_reference":
            return {"type": kind}
        store = self.state.services if kind == "service_reference" else self.state.teams
        if not isinstance(value.get("id"), str) or value["id"] not in store:
            raise _invalid(f"filter.id {value.get('id')!r} is not a {kind[: -len('_reference')]}")
        return {"type": kind, "id": value["id"]}

    def create(self, request: Request) -> Response:
        body = self.api._body(request)
        data = body.get("webhook_subscription") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _invalid("webhook_subscription is required and must be an object")
        if data.get("type", "webhook_subscription") != "webhook_subscription":
            raise _invalid("webhook_subscription.type must be 'webhook_subscription'")
        method = data.get("delivery_method")
        if not isinstance(method, dict) or method.get("type") != "http_delivery_method":
            raise _invalid("delivery_method.type must be 'http_delivery_method'")
        url = method.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise _invalid("delivery_method.url must be an http(s) URL")
        headers = method.get("custom_headers") or []
        if not isinstance(headers, list) or not all(
            isinstance(h, dict) and isinstance(h.get("name"), str) for h in headers
        ):
            raise _invalid("delivery_method.custom_headers must be a list of {name, value}")
        checked = {
            **data,
            "events": self._events(data.get("events")),
            "filter": self._filter(data.get("filter")),
            "active": bool(data.get("active", True)),
        }
        subscription = self.state.webhooks.add(checked, self.state.ids.make())
        return Response(200, {"webhook_subscription": subscription})

    def list(self, request: Request) -> Response:
        hub = self.state.webhooks
        items = [hub.view(s) for s in hub.subscriptions.values()]
        filter_type = request.arg("filter_type")
        if filter_type:
            items = [s for s in items if s["filter"]["type"] == filter_type]
        filter_id = request.arg("filter_id")
        if filter_id:
            items = [s for s in items if s["filter"].get("id") == filter_id]
        return self.api._paginate("webhook_subscriptions", items, request)

    def get(self, request: Request) -> Response:
        subscription = self.state.webhooks.view(self._subscription(request))
        return Response(200, {"webhook_subscription": subscription})

    def update(self, request: Request) -> Response:
        subscription = self._subscription(request)
        body = self.api._body(request)
        data = body.get("webhook_subscription") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise _invalid("webhook_subscription is required and must be an object")
        if "delivery_method" in data:
            raise _invalid("delivery_method cannot be changed; create a new subscription")
        changes: dict[str, Any] = {}
        if "events" in data:
            changes["events"] = self._events(data["events"])
        if "filter" in data:
            changes["filter"] = self._filter(data["filter"])
        if "active" in data:
            changes["active"] = bool(data["active"])
        if "description" in data:
            changes["description"] = str(data["description"])
        subscription.update(changes)
        return Response(200, {"webhook_subscription": self.state.webhooks.view(subscription)})

    def delete(self, request: Request) -> Response:
        subscription = self._subscription(request)
        del self.state.webhooks.subscriptions[subscription["id"]]
        self.state.webhooks.secrets.pop(subscription["id"], None)
        return Response(204)
