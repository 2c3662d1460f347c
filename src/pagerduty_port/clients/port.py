"""A client for Port's API: one login per run, run logs and links, entity writes and reads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ..errors import PortError
from .http import RetryPolicy, Unanswered, json_or_none, send, short_text
from .port_token import LOGIN_PATH, AccessToken

PORT_API_URL = "https://api.getport.io"
BULK_MAX_ENTITIES = 20
BULK_MAX_BYTES = 1024 * 1024
DELETE_MAX_ENTITIES = 100
SEARCH_PAGE = 1000


def _q(value: str) -> str:
    return quote(value, safe="")


def error_from_response(response: requests.Response, method: str, path: str) -> PortError:
    body = json_or_none(response)
    if isinstance(body, dict) and ("message" in body or "error" in body):
        details = body.get("details")
        return PortError(
            str(body.get("message") or body.get("error")),
            status=response.status_code,
            code=body.get("error"),
            details=[str(details)] if details else [],
            method=method,
            path=path,
        )
    return PortError(short_text(response), status=response.status_code, method=method, path=path)


@dataclass
class BulkResult:
    """Which entities of a bulk write Port accepted and which it refused, by identifier."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class PortClient:
    """Port's API with one access token per run.

    It reports nothing itself: a retry line goes to this package's log only, never through a
    callback, so writing to Port's run log can never call back into the client that is failing.
    The access token and its logins are `AccessToken`'s job.
    """

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        policy: RetryPolicy | None = None,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        """`on_secret` hears each access token as it arrives, before any use: the caller masks
        it wherever it prints."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.policy = policy or RetryPolicy()
        self.token = AccessToken(self.login, on_secret)

    def _send(
        self, method: str, path: str, policy: RetryPolicy, describe: str, **kwargs: Any
    ) -> requests.Response:
        try:
            return send(
                self.session,
                method,
                self.base_url + path,
                policy=policy,
                describe=describe,
                **kwargs,
            )
        except Unanswered as exc:
            raise PortError(str(exc), method=method, path=path, unanswered=True) from exc

    # Auth ------------------------------------------------------------------------------
    def login(self, policy: RetryPolicy | None = None) -> None:
        """Exchange the client credentials for an access token (masked at once)."""
        path = LOGIN_PATH
        response = self._send(
            "POST",
            path,
            policy or self.policy,
            "Port login",
            json={"clientId": self._client_id, "clientSecret": self._client_secret},
        )
        data = json_or_none(response)
        if response.status_code >= 400 or not isinstance(data, dict) or not data.get("accessToken"):
            error = error_from_response(response, "POST", path)
            raise PortError(
                f"login failed: {error.reason}.",
                status=response.status_code,
                code=error.code,
                method="POST",
                path=path,
            )
        self.token.store(str(data["accessToken"]), float(data.get("expiresIn") or 3600))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        allow: Iterable[int] = (),
        policy: RetryPolicy | None = None,
    ) -> tuple[int, Any]:
        """Send an authenticated request; returns (status, JSON) or raises PortError.

        A 401 gets one fresh login and one more try: a long sync can outlive its token, and
        Port may revoke a token before the `expiresIn` it announced.
        """
        policy = policy or self.policy
        for attempt in (1, 2):
            response = self._send(
                method,
                path,
                policy,
                f"Port {method} {path}",
                headers={"Authorization": self.token.header(policy)},
                params=params,
                json=body,
            )
            if response.status_code != 401 or attempt == 2:
                break
            self.token.forget()
        if response.status_code >= 400 and response.status_code not in set(allow):
            raise error_from_response(response, method, path)
        return response.status_code, json_or_none(response)

    # Action runs -----------------------------------------------------------------------
    def add_run_log(
        self,
        run_id: str,
        message: str,
        *,
        termination_status: str | None = None,
        status_label: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        body: dict[str, Any] = {"message": message}
        if termination_status:
            body["terminationStatus"] = termination_status
        if status_label:
            body["statusLabel"] = status_label
        self.request("POST", f"/v1/actions/runs/{_q(run_id)}/logs", body=body, policy=policy)

    def get_run(self, run_id: str) -> dict[str, Any]:
        _, data = self.request("GET", f"/v1/actions/runs/{_q(run_id)}")
        return (data or {}).get("run") or {}

    def update_run(self, run_id: str, *, policy: RetryPolicy | None = None, **fields: Any) -> None:
        """PATCH the run; only Port's keys (status, statusLabel, link, summary, externalRunId)."""
        allowed = {"status", "statusLabel", "link", "summary", "externalRunId"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"Port runs do not accept {sorted(unknown)}")
        body = {k: v for k, v in fields.items() if v is not None}
        self.request("PATCH", f"/v1/actions/runs/{_q(run_id)}", body=body, policy=policy)

    # Entities --------------------------------------------------------------------------
    @staticmethod
    def _write_params(run_id: str | None, create_missing_related: bool) -> dict[str, str]:
        params = {"upsert": "true", "merge": "true"}
        if create_missing_related:
            params["create_missing_related_entities"] = "true"
        if run_id:
            params["run_id"] = run_id
        return params

    def upsert_entity(
        self,
        blueprint: str,
        entity: dict[str, Any],
        *,
        run_id: str | None = None,
        create_missing_related: bool = True,
    ) -> dict[str, Any]:
        _, data = self.request(
            "POST",
            f"/v1/blueprints/{_q(blueprint)}/entities",
            params=self._write_params(run_id, create_missing_related),
            body=entity,
        )
        return (data or {}).get("entity") or {}

    def bulk_upsert(
        self,
        blueprint: str,
        entities: list[dict[str, Any]],
        *,
        run_id: str | None = None,
        create_missing_related: bool = True,
    ) -> BulkResult:
        """One bulk request (1..20 entities); a 207 is split into written and failed."""
        if not 1 <= len(entities) <= BULK_MAX_ENTITIES:
            raise ValueError(f"a bulk write takes 1 to {BULK_MAX_ENTITIES} entities")
        status, data = self.request(
            "POST",
            f"/v1/blueprints/{_q(blueprint)}/entities/bulk",
            params=self._write_params(run_id, create_missing_related),
            body={"entities": entities},
            allow=(207,),
        )
        result = BulkResult()
        errors = (data or {}).get("errors") or [] if status == 207 else []
        for error in errors:
            index = error.get("index")
            identifier = error.get("identifier")
            if identifier is None and isinstance(index, int) and index < len(entities):
                identifier = entities[index].get("identifier")
            result.failed[str(identifier)] = str(error.get("message") or error.get("error"))
        result.written = [
            e["identifier"] for e in entities if str(e["identifier"]) not in result.failed
        ]
        return result

    def search_entities(
        self,
        blueprint: str,
        *,
        include: Iterable[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every entity of `blueprint`, following Port's cursor."""
        cursor: str | None = None
        while True:
            body: dict[str, Any] = {"limit": SEARCH_PAGE}
            if include is not None:
                body["include"] = list(include)
            if cursor:
                body["from"] = cursor
            _, data = self.request(
                "POST", f"/v1/blueprints/{_q(blueprint)}/entities/search", body=body
            )
            yield from (data or {}).get("entities") or []
            cursor = (data or {}).get("next")
            if not cursor:
                return

    def delete_entity(self, blueprint: str, identifier: str, *, run_id: str | None = None) -> None:
        params = {"delete_dependents": "false"}
        if run_id:
            params["run_id"] = run_id
        self.request(
            "DELETE", f"/v1/blueprints/{_q(blueprint)}/entities/{_q(identifier)}", params=params
        )

    def bulk_delete_entities(
        self,
        blueprint: str,
        identifiers: list[str],
        *,
        run_id: str | None = None,
        delete_dependents: bool = False,
    ) -> None:
        """Delete up to 100 entities of `blueprint` in one request."""
        if not 1 <= len(identifiers) <= DELETE_MAX_ENTITIES:
            raise ValueError(f"a bulk delete takes 1 to {DELETE_MAX_ENTITIES} identifiers")
        params = {"delete_dependents": "true" if delete_dependents else "false"}
        if run_id:
            params["run_id"] = run_id
        self.request(
            "POST",
            f"/v1/blueprints/{_q(blueprint)}/bulk/entities/delete",
            params=params,
            body={"entities": list(identifiers)},
        )

    # Blueprints ------------------------------------------------------------------------
    def get_blueprint(self, identifier: str) -> dict[str, Any] | None:
        return self._get_or_none(f"/v1/blueprints/{_q(identifier)}", "blueprint")

    def get_entity(self, blueprint: str, identifier: str) -> dict[str, Any] | None:
        path = f"/v1/blueprints/{_q(blueprint)}/entities/{_q(identifier)}"
        return self._get_or_none(path, "entity")

    def _get_or_none(self, path: str, key: str) -> dict[str, Any] | None:
        status, data = self.request("GET", path, allow=(404,))
        found: dict[str, Any] | None = None if status == 404 else (data or {}).get(key)
        return found

    def create_blueprint(self, blueprint: dict[str, Any]) -> None:
        self.request("POST", "/v1/blueprints", body=blueprint)
