"""A local Port API: login, blueprints, entities (single, bulk, search, delete) and action runs.

Errors use Port's shape `{ok: false, error, message}`: 401 without a valid Bearer token, 404 for
an unknown blueprint, entity, run or related entity, 409 for an existing entity without
`upsert=true`, 413 over 1 MiB, 422 when a body does not fit the route or the blueprint. Every
response carries `x-ratelimit-*` headers.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pagerduty_port_sandbox.httpserver import Api, Request, Response
from pagerduty_port_sandbox.port_schema import PortError, invalid
from pagerduty_port_sandbox.port_search import compile_query, project
from pagerduty_port_sandbox.port_state import RUN_FIELDS, TERMINAL, PortState, not_found
from pagerduty_port_sandbox.port_webhooks import INGEST_PREFIX, PortWebhookRoutes

MAX_BODY = 1024 * 1024
MAX_BULK = 20
MAX_BULK_DELETE = 100
MAX_SEARCH = 1000
DEFAULT_SEARCH = 200
_ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
BP = r"/v1/blueprints/(?P<bp>[^/]+)"


def _flag(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").lower() == "true"


class PortApi(Api):
    """Routes of Port's REST API on a shared `PortState`."""

    name = "port"

    def __init__(self, state: PortState) -> None:
        super().__init__(state.lock)
        self.state = state
        self.route("POST", r"/v1/auth/access_token", self.access_token)
        self.route("GET", r"/v1/blueprints", self.list_blueprints)
        self.route("POST", r"/v1/blueprints", self.create_blueprint)
        self.route("GET", BP, self.get_blueprint)
        self.route("PATCH", BP, self.patch_blueprint)
        self.route("PUT", BP, self.put_blueprint)
        self.route("DELETE", BP, self.delete_blueprint)
        self.route("POST", BP + r"/entities", self.create_entity)
        self.route("GET", BP + r"/entities", self.all_entities)
        self.route("POST", BP + r"/entities/bulk", self.bulk_entities)
        self.route("POST", BP + r"/entities/search", self.search_blueprint)
        self.route("POST", BP + r"/bulk/entities/delete", self.bulk_delete)
        self.route("GET", BP + r"/entities/(?P<id>[^/]+)", self.get_entity)
        self.route("PATCH", BP + r"/entities/(?P<id>[^/]+)", self.patch_entity)
        self.route("DELETE", BP + r"/entities/(?P<id>[^/]+)", self.delete_entity)
        self.route("POST", r"/v1/entities/search", self.search_all)
        self.route("GET", r"/v1/actions/runs/(?P<run>[^/]+)", self.get_run)
        self.route("PATCH", r"/v1/actions/runs/(?P<run>[^/]+)", self.patch_run)
        self.route("POST", r"/v1/actions/runs/(?P<run>[^/]+)/logs", self.add_log)
        self.route("GET", r"/v1/actions/runs/(?P<run>[^/]+)/logs", self.get_logs)
        PortWebhookRoutes(self, state.webhooks)

    # ------------------------------------------------------------------ conventions
    def error(self, status: int, message: str, error: str | None = None) -> Response:
        return Response(
            status,
            {"ok": False, "error": error or _ERROR_IDS.get(status, "error"), "message": message},
        )

    def handle(self, request: Request) -> Response:
        state = self.state
        if request.path.startswith(INGEST_PREFIX):  # the ingest URL: no token, signed instead
            return state.webhooks.ingest(request.path[len(INGEST_PREFIX) :], request)
        allowed, remaining = state.consume()
        if not allowed:
            response = self.error(429, "Rate limit exceeded, try again later")
        elif len(request.body) > MAX_BODY:
            response = self.error(413, "Request body is too large (limit is 1MiB)")
        elif request.path != "/v1/auth/access_token" and not self._authorized(request):
            response = self.error(
                401, "Unauthorized: the access token is missing, invalid or expired"
            )
        else:
            try:
                response = self.dispatch(request)
            except PortError as exc:
                response = self.error(exc.status, exc.message, exc.error)
        response.headers.update(state.rate_headers(remaining))
        return response

    def dispatch(self, request: Request) -> Response:
        try:
            return super().dispatch(request)
        except PortError as exc:
            return self.error(exc.status, exc.message, exc.error)

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.header("authorization").partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self.state.tokens

    def _json(self, request: Request) -> Any:
        if not request.body:
            raise PortError(400, "bad_request", "Body cannot be empty when content-type is set")
        try:
            return json.loads(request.body)
        except ValueError as exc:
            raise PortError(400, "bad_request", f"Body is not valid JSON: {exc}") from exc

    def _object(self, request: Request) -> dict[str, Any]:
        body = self._json(request)
        if not isinstance(body, dict):
            raise invalid("body must be object")
        return body

    # ------------------------------------------------------------------ auth
    def access_token(self, request: Request) -> Response:
        body = self._object(request)
        client_id, secret = body.get("clientId"), body.get("clientSecret")
        if not isinstance(client_id, str) or not isinstance(secret, str):
            raise invalid("body must have required properties 'clientId' and 'clientSecret'")
        if self.state.credentials.get(client_id) != secret:
            raise PortError(401, "unauthorized", "Invalid client credentials")
        token = self.state.issue_token(client_id)
        return Response(
            200,
            {
                "ok": True,
                "accessToken": token,
                "expiresIn": self.state.token_expires_in,
                "tokenType": "Bearer",
            },
        )

    # ------------------------------------------------------------------ blueprints
    def list_blueprints(self, request: Request) -> Response:
        return Response(200, {"ok": True, "blueprints": list(self.state.blueprints.values())})

    def create_blueprint(self, request: Request) -> Response:
        return Response(
            201, {"ok": True, "blueprint": self.state.add_blueprint(self._object(request))}
        )

    def get_blueprint(self, request: Request) -> Response:
        return Response(200, {"ok": True, "blueprint": self.state.blueprint(request.params["bp"])})

    def patch_blueprint(self, request: Request) -> Response:
        current = self.state.blueprint(request.params["bp"])
        patch = self._object(request)
        merged = {**current, **{k: v for k, v in patch.items() if k not in ("schema", "relations")}}
        if "schema" in patch:
            schema = patch["schema"] if isinstance(patch["schema"], dict) else {}
            merged["schema"] = {
                "properties": {
                    **current["schema"]["properties"],
                    **(schema.get("properties") or {}),
                },
                "required": schema.get("required", current["schema"]["required"]),
            }
        if "relations" in patch:
            merged["relations"] = {**current["relations"], **(patch["relations"] or {})}
        return self._replace_blueprint(current, merged)

    def put_blueprint(self, request: Request) -> Response:
        current = self.state.blueprint(request.params["bp"])
        return self._replace_blueprint(current, self._object(request))

    def _replace_blueprint(self, current: dict[str, Any], data: dict[str, Any]) -> Response:
        state = self.state
        identifier = current["identifier"]
        data = {**data, "identifier": data.get("identifier", identifier)}
        del state.blueprints[identifier]
        try:
            updated = state.add_blueprint(data)
        except PortError:
            state.blueprints[identifier] = current
            raise
        if updated["identifier"] != identifier:
            state.blueprints.pop(updated["identifier"])
            state.blueprints[identifier] = current
            raise invalid("changing a blueprint's identifier is not supported by the sandbox")
        updated["createdAt"], updated["createdBy"] = current["createdAt"], current["createdBy"]
        for key, entity in state.entities.items():  # new properties appear as null
            if key[0] == identifier:
                for name in updated["schema"]["properties"]:
                    entity["properties"].setdefault(name, None)
                for name, relation in updated["relations"].items():
                    entity["relations"].setdefault(name, [] if relation["many"] else None)
        return Response(200, {"ok": True, "blueprint": updated})

    def delete_blueprint(self, request: Request) -> Response:
        identifier = self.state.blueprint(request.params["bp"])["identifier"]
        if any(key[0] == identifier for key in self.state.entities):
            raise invalid(f'Blueprint "{identifier}" still has entities; delete them first')
        del self.state.blueprints[identifier]
        return Response(200, {"ok": True})

    # ------------------------------------------------------------------ entities
    def _upsert(self, request: Request, data: Any) -> tuple[int, dict[str, Any]]:
        return self.state.upsert_entity(
            request.params["bp"],
            data,
            upsert=_flag(request, "upsert"),
            merge=_flag(request, "merge"),
            create_missing=_flag(request, "create_missing_related_entities"),
            run_id=request.arg("run_id") or None,
            validation_only=_flag(request, "validation_only"),
        )

    def create_entity(self, request: Request) -> Response:
        status, entity = self._upsert(request, self._json(request))
        if _flag(request, "validation_only"):
            return Response(200, {"ok": True})
        return Response(status, {"ok": True, "entity": entity})

    def patch_entity(self, request: Request) -> Response:
        key = (request.params["bp"], request.params["id"])
        if key not in self.state.entities:
            self.state.blueprint(key[0])
            raise not_found(
                f'Entity with identifier "{key[1]}" of blueprint "{key[0]}" was not found'
            )
        data = self._object(request)
        data = {**data, "identifier": key[1]}
        _, entity = self.state.upsert_entity(
            key[0],
            data,
            upsert=True,
            merge=True,
            create_missing=_flag(request, "create_missing_related_entities"),
            run_id=request.arg("run_id") or None,
        )
        return Response(200, {"ok": True, "entity": entity})

    def bulk_entities(self, request: Request) -> Response:
        body = self._object(request)
        entities = body.get("entities")
        if set(body) - {"entities"}:
            raise invalid("body must NOT have additional properties")
        if not isinstance(entities, list):
            raise invalid("body must have required property 'entities'")
        if not 1 <= len(entities) <= MAX_BULK:
            raise invalid(
                f"body/entities must NOT have {'fewer than 1' if not entities else 'more than 20'} "
                "items"
            )
        self.state.blueprint(request.params["bp"])
        if request.arg("run_id"):
            self.state.live_run(request.arg("run_id") or "")  # a bad run fails the whole request
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, data in enumerate(entities):
            identifier = data.get("identifier") if isinstance(data, dict) else None
            try:
                status, entity = self._upsert(request, data)
            except PortError as exc:
                errors.append(
                    {
                        "identifier": identifier if isinstance(identifier, str) else "unknown",
                        "index": index,
                        "statusCode": exc.status,
                        "error": exc.error,
                        "message": exc.message,
                    }
                )
                continue
            results.append(
                {"identifier": entity["identifier"], "index": index, "created": status == 201}
            )
        return Response(
            207 if errors else 200, {"ok": not errors, "entities": results, "errors": errors}
        )

    def _entity(self, request: Request) -> dict[str, Any]:
        blueprint = self.state.blueprint(request.params["bp"])["identifier"]
        entity = self.state.entities.get((blueprint, request.params["id"]))
        if entity is None:
            raise not_found(
                f'Entity with identifier "{request.params["id"]}" of blueprint "{blueprint}" '
                "was not found"
            )
        return entity

    def get_entity(self, request: Request) -> Response:
        entity = self._entity(request)
        shown = project(entity, request.args("include"), request.args("exclude"))
        return Response(200, {"ok": True, "entity": shown})

    def all_entities(self, request: Request) -> Response:
        blueprint = self.state.blueprint(request.params["bp"])["identifier"]
        include, exclude = request.args("include"), request.args("exclude")
        entities = [
            project(e, include, exclude)
            for (bp, _), e in sorted(self.state.entities.items())
            if bp == blueprint
        ]
        return Response(200, {"ok": True, "entities": entities})

    def delete_entity(self, request: Request) -> Response:
        self._entity(request)
        self._check_run(request)
        self.state.delete_entities(
            request.params["bp"],
            [request.params["id"]],
            delete_dependents=_flag(request, "delete_dependents"),
        )
        return Response(200, {"ok": True})

    def bulk_delete(self, request: Request) -> Response:
        body = self._object(request)
        identifiers = body.get("entities")
        if not isinstance(identifiers, list) or not all(isinstance(i, str) for i in identifiers):
            raise invalid("body must have required property 'entities' (an array of strings)")
        if not 1 <= len(identifiers) <= MAX_BULK_DELETE:
            raise invalid("body/entities must have between 1 and 100 items")
        self._check_run(request)
        deleted = self.state.delete_entities(
            request.params["bp"], identifiers, delete_dependents=_flag(request, "delete_dependents")
        )
        return Response(200, {"ok": True, "deletedEntities": deleted})

    def _check_run(self, request: Request) -> None:
        run_id = request.arg("run_id")
        if run_id:
            self.state.run(run_id)

    # ------------------------------------------------------------------ search
    def _search(self, request: Request, blueprint: str | None) -> Response:
        body = self._object(request) if request.body else {}
        extra = set(body) - {"query", "include", "exclude", "limit", "from"}
        if extra:
            raise invalid(f"body must NOT have additional properties: {sorted(extra)}")
        limit = body.get("limit", DEFAULT_SEARCH)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SEARCH:
            raise invalid("body/limit must be a number between 1 and 1000")
        for name in ("include", "exclude"):
            value = body.get(name)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                raise invalid(f"body/{name} must be an array of strings")
        entities = self.state.entities
        predicate = compile_query(body.get("query"), entities)
        after = self._cursor(body.get("from"))
        keys = sorted(
            key
            for key in entities
            if (blueprint is None or key[0] == blueprint) and (after is None or key > after)
        )
        page: list[dict[str, Any]] = []
        last = None
        for key in keys:
            if predicate(entities[key]):
                if len(page) == limit:
                    break
                page.append(project(entities[key], body.get("include"), body.get("exclude")))
                last = key
        else:
            last = None  # no more matches
        result: dict[str, Any] = {"ok": True, "entities": page}
        if last is not None and len(page) == limit:
            result["next"] = base64.urlsafe_b64encode(json.dumps(list(last)).encode()).decode()
        return Response(200, result)

    @staticmethod
    def _cursor(value: Any) -> tuple[str, str] | None:
        if value is None:
            return None
        try:
            blueprint, identifier = json.loads(base64.urlsafe_b64decode(str(value)))
        except (ValueError, TypeError) as exc:
            raise invalid("body/from is not a cursor this API returned") from exc
        return str(blueprint), str(identifier)

    def search_blueprint(self, request: Request) -> Response:
        blueprint = self.state.blueprint(request.params["bp"])["identifier"]
        return self._search(request, blueprint)

    def search_all(self, request: Request) -> Response:
        return self._search(request, None)

    # ------------------------------------------------------------------ action runs
    def get_run(self, request: Request) -> Response:
        run = self.state.run(request.params["run"])
        return Response(200, {"ok": True, "run": self.state.run_view(run)})

    def patch_run(self, request: Request) -> Response:
        run = self.state.run(request.params["run"])
        body = self._object(request)
        extra = sorted(set(body) - set(RUN_FIELDS))
        if extra:
            raise invalid(f"body must NOT have additional properties: {', '.join(extra)}")
        if "status" in body and body["status"] not in TERMINAL:
            raise invalid(
                "body/status must be equal to one of the allowed values: SUCCESS, FAILURE"
            )
        for name in ("statusLabel", "summary", "externalRunId"):
            if name in body and not isinstance(body[name], str):
                raise invalid(f"body/{name} must be string")
        link = body.get("link")
        if "link" in body and not (
            isinstance(link, str)
            or (isinstance(link, list) and all(isinstance(item, str) for item in link))
        ):
            raise invalid("body/link must be a string or an array of strings")
        if run["status"] in TERMINAL:
            raise PortError(
                422,
                "run_exhausted",
                f'The action run "{run["id"]}" has already finished with status {run["status"]}',
            )
        run["patches"].append(body)
        for name in ("statusLabel", "summary", "externalRunId", "link"):
            if name in body:
                run[name] = body[name]
        if "status" in body:
            self.state.finish(run, body["status"])
        run["updatedAt"] = self.state.now()
        return Response(200, {"ok": True, "run": self.state.run_view(run)})

    def add_log(self, request: Request) -> Response:
        run = self.state.run(request.params["run"])
        body = self._object(request)
        extra = sorted(set(body) - {"message", "terminationStatus", "statusLabel"})
        if extra:
            raise invalid(f"body must NOT have additional properties: {', '.join(extra)}")
        message = body.get("message")
        if not isinstance(message, str):
            raise invalid("body must have required property 'message' (a string)")
        termination = body.get("terminationStatus")
        if termination is not None and termination not in TERMINAL:
            raise invalid(
                "body/terminationStatus must be equal to one of the allowed values: "
                "SUCCESS, FAILURE"
            )
        label = body.get("statusLabel")
        if label is not None and not isinstance(label, str):
            raise invalid("body/statusLabel must be string")
        if termination and run["status"] in TERMINAL:
            raise PortError(
                422, "run_exhausted", f'The action run "{run["id"]}" has already finished'
            )
        entry = self.state.add_log(run, message, termination, label)
        return Response(201, {"ok": True, "runLog": entry})

    def get_logs(self, request: Request) -> Response:
        run = self.state.run(request.params["run"])
        logs = [
            {k: v for k, v in entry.items() if k not in ("terminationStatus", "statusLabel")}
            for entry in run["logs"]
        ]
        return Response(200, {"ok": True, "runLogs": logs})
