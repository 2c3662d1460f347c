"""A small client for PagerDuty's REST API v2: auth, required headers, readable errors, paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, get_args
from urllib.parse import quote

import requests

from ..errors import PagerDutyError
from .http import RetryPolicy, Unanswered, json_or_none, send, short_text

PAGERDUTY_API_URL = "https://api.pagerduty.com"
ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_LIMIT = 100
OFFSET_CAP = 10_000  # PagerDuty refuses offset + limit beyond this (error 2002)
OPEN_STATUSES = ("triggered", "acknowledged")


#: How the token is sent: a REST API key as `Token token=...`, an OAuth (or scoped OAuth)
#: access token as `Bearer ...`. Said by the caller, never guessed from the token's shape.
AuthMethod = Literal["api_key", "oauth"]
AUTH_METHODS: tuple[AuthMethod, ...] = get_args(AuthMethod)


def auth_header(token: str, auth: AuthMethod) -> str:
    if auth == "oauth":
        return f"Bearer {token}"
    if auth == "api_key":
        return f"Token token={token}"
    raise ValueError(f"unknown PagerDuty auth method {auth!r}; expected one of {AUTH_METHODS}")


def error_from_response(response: requests.Response, method: str, path: str) -> PagerDutyError:
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("errors")
        return PagerDutyError(
            str(error.get("message") or response.reason),
            status=response.status_code,
            code=error.get("code"),
            details=[str(d) for d in details] if isinstance(details, list) else [],
            method=method,
            path=path,
        )
    return PagerDutyError(
        short_text(response), status=response.status_code, method=method, path=path
    )


class PagerDutyClient:
    """One API key (or OAuth token, with `auth="oauth"`) against one PagerDuty region."""

    def __init__(
        self,
        session: requests.Session,
        token: str,
        base_url: str = PAGERDUTY_API_URL,
        *,
        auth: AuthMethod = "api_key",
        policy: RetryPolicy | None = None,
        on_retry: Callable[[str], None] | None = None,
        before_request: Callable[[], None] | None = None,
        after_response: Callable[[requests.Response], None] | None = None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.before_request = before_request
        self.after_response = after_response
        self._headers = {
            "Authorization": auth_header(token, auth),
            "Accept": ACCEPT,
            "Content-Type": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        body: dict[str, Any] | None = None,
        from_email: str | None = None,
    ) -> Any:
        headers = dict(self._headers)
        if from_email:
            headers["From"] = from_email
        if self.before_request is not None:
            self.before_request()
        try:
            response = send(
                self.session,
                method,
                self.base_url + path,
                policy=self.policy,
                describe=f"PagerDuty {method} {path}",
                on_retry=self.on_retry,
                headers=headers,
                params=params,
                json=body,
            )
        except Unanswered as exc:
            raise PagerDutyError(str(exc), method=method, path=path, unanswered=True) from exc
        if self.after_response is not None:
            self.after_response(response)
        if response.status_code >= 400:
            raise error_from_response(response, method, path)
        return json_or_none(response)

    # Incidents -------------------------------------------------------------------------
    def create_incident(self, incident: dict[str, Any], from_email: str) -> dict[str, Any]:
        data = self.request(
            "POST", "/incidents", body={"incident": incident}, from_email=from_email
        )
        created: dict[str, Any] = data["incident"]
        return created

    def get_incident(self, incident_id: str, include: Iterable[str] = ()) -> dict[str, Any]:
        params = [("include[]", item) for item in include]
        data = self.request("GET", f"/incidents/{quote(incident_id, safe='')}", params=params)
        found: dict[str, Any] = data["incident"]
        return found

    def update_incident(
        self, incident_id: str, changes: dict[str, Any], from_email: str
    ) -> dict[str, Any]:
        incident = {"type": "incident_reference", **changes}
        data = self.request(
            "PUT",
            f"/incidents/{quote(incident_id, safe='')}",
            body={"incident": incident},
            from_email=from_email,
        )
        updated: dict[str, Any] = data["incident"]
        return updated

    def find_incidents_by_key(
        self, incident_key: str, *, service_id: str | None = None, include: Iterable[str] = ()
    ) -> list[dict[str, Any]]:
        """Incidents (any status, any age) carrying `incident_key`, newest first."""
        params: list[tuple[str, Any]] = [
            ("incident_key", incident_key),
            ("date_range", "all"),
            ("limit", PAGE_LIMIT),
            ("sort_by", "created_at:desc"),
        ]
        if service_id:
            params.append(("service_ids[]", service_id))
        params += [("include[]", item) for item in include]
        data = self.request("GET", "/incidents", params=params)
        incidents = data.get("incidents") or []
        return [i for i in incidents if i.get("incident_key") == incident_key]

    # Lists -----------------------------------------------------------------------------
    def iter_pages(
        self,
        path: str,
        collection: str,
        params: list[tuple[str, Any]] | None = None,
        *,
        limit: int = PAGE_LIMIT,
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page of a classic paginated list, following `more`.

        The first page asks for `total=true` and hands PagerDuty's count to `on_total`, so a
        caller can tell a list that ended early from a complete one. Stops with an error rather
        than silently at PagerDuty's 10,000 offset cap: callers that can exceed it must slice
        the query (incidents by time window).
        """
        offset = 0
        base = list(params or [])
        while True:
            if offset + limit > OFFSET_CAP:
                raise PagerDutyError(
                    f"more than {OFFSET_CAP} {collection} match; the query must be narrowed",
                    code=2002,
                    method="GET",
                    path=path,
                )
            first = [("total", "true")] if offset == 0 else []
            page = self.request(
                "GET", path, params=[*base, ("limit", limit), ("offset", offset), *first]
            )
            if first and on_total is not None:
                total = page.get("total")
                if isinstance(total, int) and not isinstance(total, bool):
                    on_total(total)
            items = page.get(collection) or []
            yield items
            if not page.get("more") or not items:
                return
            offset += len(items)
