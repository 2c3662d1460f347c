"""What the simulators saw: every request, kept so tests and the demo can inspect real traffic."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as a simulator received it, and the status it answered."""

    server: str  # "pagerduty", "events" or "port"
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]  # parse_qs of the query string (keys keep their `[]`)
    headers: dict[str, str]  # header names lower-cased
    body: bytes
    status: int = 0

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @classmethod
    def from_raw(
        cls, server: str, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> RecordedRequest:
        parts = urlsplit(raw_path)
        return cls(
            server=server,
            method=method.upper(),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )


@dataclass
class RequestLog:
    """A thread-safe list of recorded requests shared by all simulators of one sandbox."""

    _items: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def append(self, request: RecordedRequest) -> None:
        with self._lock:
            self._items.append(request)
            self._lock.notify_all()

    def all(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._items)

    def wait_for(self, check: Callable[[], bool], timeout: float) -> bool:
        """Block until `check()` holds, testing it again each time a request is recorded (a
        simulator records a request after acting on it), or until `timeout` seconds pass.
        For asynchronous work such as webhook deliveries: no polling, no sleeping."""
        with self._lock:
            return self._lock.wait_for(check, timeout)

    def filter(
        self, server: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[RecordedRequest]:
        """Requests matching every given field; `path` may end in `*` to match a prefix."""

        def keep(r: RecordedRequest) -> bool:
            if server is not None and r.server != server:
                return False
            if method is not None and r.method != method.upper():
                return False
            if path is not None:
                if path.endswith("*"):
                    return r.path.startswith(path[:-1])
                return r.path == path
            return True

        return [r for r in self.all() if keep(r)]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
