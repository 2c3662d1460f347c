"""Port's webhook data sources in the simulator: `/v1/webhooks` CRUD and the ingest URL.

An ingested request is checked against the webhook's `security` (HMAC of the raw body in the
named header, with the prefix; any one of several comma-separated signatures may match),
de-duplicated on `requestIdentifierPath`, and mapped as Port does: each mapping's jq runs over
`{body, headers, queryParams}` (`filter`, then `itemsToParse` binding `.item`, then the
`entity` fields), and the entity is upserted with merge (only the mapped fields change) or, for
`operation: delete`, deleted. Mapping failures land in `PortWebhookStore.log`, not in errors.

`PortWebhookStore.secret_on_read` says how a read (every API answer) shows `security.secret`:
"shown" (the default), "absent" (no key), "null" or "masked" ("********"). Port does not
document it; see the package docstring for the evidence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any

import jq

from pagerduty_port_sandbox.httpserver import Request, Response
from pagerduty_port_sandbox.port_schema import PortError, invalid

if TYPE_CHECKING:
    from pagerduty_port_sandbox.port import PortApi
    from pagerduty_port_sandbox.port_state import PortState

INGEST_PREFIX = "/ingest/"
_TOP_KEYS = {
    "identifier",
    "title",
    "description",
    "icon",
    "enabled",
    "mappings",
    "security",
    "integrationType",
}
_SECURITY_KEYS = {
    "secret",
    "signatureHeaderName",
    "signatureAlgorithm",
    "signaturePrefix",
    "requestIdentifierPath",
}
_ENTITY_KEYS = {"identifier", "title", "icon", "team", "properties", "relations"}
_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
SECRET_ON_READ = ("shown", "absent", "null", "masked")
MASK = "********"


def not_found(message: str) -> PortError:
    return PortError(404, "not_found", message)


def _jq(expression: str, value: Any) -> Any:
    """The first output of `expression` on `value`, or None (Port takes one value per field)."""
    outputs = jq.compile(expression).input_value(value).all()
    return outputs[0] if outputs else None


class PortWebhookStore:
    """Webhooks by identifier, their keys, the request ids seen and a log of ingests."""

    def __init__(self, state: PortState) -> None:
        self.state = state
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}  # webhook key -> identifier
        self.seen: dict[str, set[str]] = {}
        self.log: list[dict[str, Any]] = []  # one record per ingested request
        self.ingest_url = "https://ingest.getport.io"
        self._read_mode = "shown"

    @property
    def secret_on_read(self) -> str:
        """How answers show `security.secret`: one of `SECRET_ON_READ`."""
        return self._read_mode

    @secret_on_read.setter
    def secret_on_read(self, value: str) -> None:
        if value not in SECRET_ON_READ:
            raise ValueError(f"secret_on_read must be one of {SECRET_ON_READ}, not {value!r}")
        self._read_mode = value

    def view(self, webhook: dict[str, Any]) -> dict[str, Any]:
        """A webhook as the API answers: with its key and ingest URL, and the secret as
        `secret_on_read` says (only a secret that is set is hidden)."""
        shown: dict[str, Any] = json.loads(json.dumps(webhook))
        security = shown.get("security") or {}
        if security.get("secret") and self._read_mode != "shown":
            if self._read_mode == "absent":
                del security["secret"]
            else:
                security["secret"] = None if self._read_mode == "null" else MASK
        return shown

    # ------------------------------------------------------------------ validation
    def check(self, data: Any, *, partial: bool) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise invalid("body must be object")
        extra = set(data) - _TOP_KEYS
        if extra:
            raise invalid(f"body must NOT have additional properties ({sorted(extra)[0]})")
        if not partial and not isinstance(data.get("title"), str):
            raise invalid("body must have required property 'title'")
        for key in ("identifier", "title"):
            if key in data and (not isinstance(data[key], str) or len(data[key]) > 30):
                raise invalid(f"body/{key} must be a string of at most 30 characters")
        if "enabled" in data and not isinstance(data["enabled"], bool):
            raise invalid("body/enabled must be boolean")
        security = data.get("security")
        if security is not None:
            if not isinstance(security, dict) or set(security) - _SECURITY_KEYS:
                raise invalid("body/security must NOT have additional properties")
            algorithm = security.get("signatureAlgorithm")
            if algorithm not in (None, "sha1", "sha256", "plain"):
                raise invalid("body/security/signatureAlgorithm must be sha1, sha256 or plain")
        mappings = data.get("mappings")
        if mappings is not None:
            if not isinstance(mappings, list):
                raise invalid("body/mappings must be array")
            for index, mapping in enumerate(mappings):
                self._check_mapping(mapping, f"body/mappings/{index}")
        return data

    @staticmethod
    def _check_mapping(mapping: Any, where: str) -> None:
        if not isinstance(mapping, dict):
            raise invalid(f"{where} must be object")
        if not isinstance(mapping.get("blueprint"), str):
            raise invalid(f"{where} must have required property 'blueprint'")
        entity = mapping.get("entity")
        if not isinstance(entity, dict) or not isinstance(entity.get("identifier"), str):
            raise invalid(f"{where}/entity must have required property 'identifier'")
        if set(entity) - _ENTITY_KEYS:
            raise invalid(f"{where}/entity must NOT have additional properties")
        expressions = [mapping.get("filter") or "true", entity["identifier"]]
        expressions += [v for k, v in entity.items() if k in ("title", "icon", "team")]
        for key in ("properties", "relations"):
            expressions += list((entity.get(key) or {}).values())
        if mapping.get("itemsToParse"):
            expressions.append(mapping["itemsToParse"])
        for expression in expressions:
            try:
                jq.compile(str(expression))
            except ValueError as exc:
                raise invalid(f"{where}: jq expression {expression!r} is invalid: {exc}") from None
        if mapping.get("operation") not in (None, "create", "delete") and not isinstance(
            mapping.get("operation"), dict
        ):
            raise invalid(f"{where}/operation must be create or delete")

    # ------------------------------------------------------------------ CRUD
    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        identifier = data.get("identifier") or "webhook_" + secrets.token_hex(6)
        if identifier in self.webhooks:
            raise PortError(409, "identifier_taken", f'Webhook "{identifier}" already exists')
        key = secrets.token_hex(16)
        stamp = self.state.now()
        webhook = {
            "identifier": identifier,
            "title": data["title"],
            "description": data.get("description"),
            "icon": data.get("icon"),
            "enabled": data.get("enabled", True),
            "mappings": data.get("mappings") or [],
            "security": data.get("security") or {},
            "integrationType": data.get("integrationType", "custom"),
            "webhookKey": key,
            "url": f"{self.ingest_url.rstrip('/')}/{key}",
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        self.webhooks[identifier] = webhook
        self.keys[key] = identifier
        return webhook

    def get(self, identifier: str) -> dict[str, Any]:
        webhook = self.webhooks.get(identifier)
        if webhook is None:
            raise not_found(f'Webhook with identifier "{identifier}" was not found')
        return webhook

    def patch(self, identifier: str, data: dict[str, Any], *, replace: bool) -> dict[str, Any]:
        webhook = self.get(identifier)
        if replace:
            for key in ("description", "icon"):
                webhook[key] = None
            webhook["mappings"], webhook["security"] = [], {}
        for key, value in data.items():
            if key != "identifier":
                webhook[key] = value
        webhook["updatedAt"] = self.state.now()
        return webhook

    def delete(self, identifier: str) -> None:
        webhook = self.get(identifier)
        del self.webhooks[identifier]
        self.keys.pop(webhook["webhookKey"], None)
        self.seen.pop(identifier, None)

    # ------------------------------------------------------------------ ingest
    def ingest(self, key: str, request: Request) -> Response:
        identifier = self.keys.get(key)
        if identifier is None:
            return Response(404, {"ok": False, "error": "not_found", "message": "Unknown webhook"})
        webhook = self.webhooks[identifier]
        record: dict[str, Any] = {"webhook": identifier, "status": None, "results": []}
        self.log.append(record)
        if not webhook["enabled"]:
            record["status"] = "disabled"
            return Response(202, {"ok": True})
        if not self._signed(webhook.get("security") or {}, request):
            record["status"] = "bad_signature"
            return Response(
                401, {"ok": False, "error": "unauthorized", "message": "Invalid signature"}
            )
        try:
            body = json.loads(request.body) if request.body else {}
        except ValueError:
            record["status"] = "bad_json"
            return Response(400, {"ok": False, "error": "bad_request", "message": "Invalid JSON"})
        context = {
            "body": body,
            "headers": dict(request.headers),
            "queryParams": {k: v[0] if len(v) == 1 else v for k, v in request.query.items()},
        }
        path = (webhook.get("security") or {}).get("requestIdentifierPath")
        if path:
            request_id = _jq(path, context)
            if request_id is not None:
                seen = self.seen.setdefault(identifier, set())
                if str(request_id) in seen:
                    record["status"] = "duplicate"
                    return Response(202, {"ok": True})
                seen.add(str(request_id))
        record["status"] = "processed"
        for mapping in webhook["mappings"]:
            record["results"] += self._apply(mapping, context)
        return Response(202, {"ok": True})

    @staticmethod
    def _signed(security: dict[str, Any], request: Request) -> bool:
        secret = security.get("secret")
        if not secret:
            return True
        header = request.header(str(security.get("signatureHeaderName") or ""))
        if not header:
            return False
        algorithm = security.get("signatureAlgorithm") or "sha256"
        prefix = security.get("signaturePrefix") or ""
        if algorithm == "plain":
            expected = prefix + secret
        else:
            digest = hmac.new(secret.encode(), request.body, _ALGORITHMS[algorithm]).hexdigest()
            expected = prefix + digest
        return any(hmac.compare_digest(part.strip(), expected) for part in header.split(","))

    def _apply(self, mapping: dict[str, Any], context: dict[str, Any]) -> list[str]:
        try:
            if _jq(mapping.get("filter") or "true", context) is not True:
                return []
            items_path = mapping.get("itemsToParse")
            if items_path:
                items = _jq(items_path, context) or []
                contexts = [{**context, "item": item} for item in items]
            else:
                contexts = [context]
            results = []
            for ctx in contexts:
                results.append(self._write(mapping, ctx))
            return results
        except (ValueError, PortError) as exc:
            return [f"error: {exc}"]

    def _write(self, mapping: dict[str, Any], context: dict[str, Any]) -> str:
        spec = mapping["entity"]
        blueprint = mapping["blueprint"]
        identifier = _jq(spec["identifier"], context)
        operation = mapping.get("operation")
        kind = operation.get("type") if isinstance(operation, dict) else operation
        if kind == "delete":
            if (blueprint, identifier) in self.state.entities:
                self.state.delete_entities(blueprint, [identifier], delete_dependents=False)
            return f"deleted {blueprint}/{identifier}"
        entity: dict[str, Any] = {"identifier": identifier}
        for key in ("title", "icon", "team"):
            if key in spec:
                entity[key] = _jq(spec[key], context)
        for key in ("properties", "relations"):
            entity[key] = {name: _jq(expr, context) for name, expr in (spec.get(key) or {}).items()}
        self.state.upsert_entity(blueprint, entity, upsert=True, merge=True, create_missing=True)
        return f"upserted {blueprint}/{identifier}"


class PortWebhookRoutes:
    """Registers `/v1/webhooks` on a `PortApi`; `ingest` is called for `/ingest/<key>`."""

    def __init__(self, api: PortApi, store: PortWebhookStore) -> None:
        self.api = api
        self.store = store
        base = r"/v1/webhooks"
        one = base + r"/(?P<id>[^/]+)"
        api.route("POST", base, self.create)
        api.route("GET", base, self.list)
        api.route("GET", one, self.get)
        api.route("PATCH", one, self.patch)
        api.route("PUT", one, self.put)
        api.route("DELETE", one, self.delete)

    def _ok(self, webhook: dict[str, Any], status: int = 200) -> Response:
        return Response(status, {"ok": True, "integration": self.store.view(webhook)})

    def create(self, request: Request) -> Response:
        data = self.store.check(self.api._json(request), partial=False)
        return self._ok(self.store.create(data), 201)

    def list(self, request: Request) -> Response:
        webhooks = [self.store.view(w) for w in self.store.webhooks.values()]
        return Response(200, {"ok": True, "integrations": webhooks})

    def get(self, request: Request) -> Response:
        return self._ok(self.store.get(request.params["id"]))

    def patch(self, request: Request) -> Response:
        data = self.store.check(self.api._json(request), partial=True)
        return self._ok(self.store.patch(request.params["id"], data, replace=False))

    def put(self, request: Request) -> Response:
        data = self.store.check(self.api._json(request), partial=False)
        return self._ok(self.store.patch(request.params["id"], data, replace=True))

    def delete(self, request: Request) -> Response:
        self.store.delete(request.params["id"])
        return Response(200, {"ok": True})
