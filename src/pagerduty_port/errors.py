"""Errors the action reports to users: each one says what went wrong and what to do about it."""

from __future__ import annotations

from typing import Any


class ActionError(Exception):
    """A failure with a message fit for the GitHub log and the Port run log."""


class InputError(ActionError):
    """An input is missing or malformed; raised before any request is sent."""

    def __init__(self, name: str, problem: str) -> None:
        self.input_name = name
        super().__init__(f"Input '{name}': {problem}")


class ApiError(ActionError):
    """An API answered with an error status; keeps the parts a caller may branch on."""

    service = "API"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: Any = None,
        details: list[str] | None = None,
        method: str = "",
        path: str = "",
        unanswered: bool = False,
    ) -> None:
        self.status = status
        self.unanswered = unanswered  # no HTTP answer at all: refused, dropped or timed out
        self.code = code
        self.details = details or []
        self.method = method
        self.path = path
        self.reason = message
        where = f" on {method} {path}" if method else ""
        status_text = f" (HTTP {status}" + (f", code {code})" if code is not None else ")")
        extra = f": {'; '.join(self.details)}" if self.details else ""
        super().__init__(
            f"{self.service} error{where}{status_text if status else ''}: {message}{extra}"
        )


class PagerDutyError(ApiError):
    service = "PagerDuty"


class EventsError(PagerDutyError):
    """The Events API v2: its own base URL and credentials (the routing key)."""

    service = "PagerDuty Events"


class PortError(ApiError):
    service = "Port"
