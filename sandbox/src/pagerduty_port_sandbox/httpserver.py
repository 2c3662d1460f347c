"""The HTTP plumbing the three simulators share: routing, recording and fault injection.

Each simulator is an `Api` (routes plus the error shape of the service it imitates) served by a
`SimulatorServer` (a standard-library ThreadingHTTPServer on 127.0.0.1). Requests are answered
over HTTP/1.1 keep-alive with one write per response, so `requests.Session` reuses connections
and no Nagle/delayed-ACK stall slows a test down.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from pagerduty_port_sandbox.recording import RecordedRequest, RequestLog

JSON = "application/json; charset=utf-8"
CONTROL_PREFIX = "/__sandbox/"


@dataclass
class Request:
    """One request as a route handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # URL-decoded path parameters

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of an array query parameter, accepting both `name[]` and `name`."""
        return self.query.get(name + "[]", []) + self.query.get(name, [])

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    """What a handler returns; `body` is JSON-encoded unless it is bytes or str."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


class HttpError(Exception):
    """Raised inside a handler to answer with an error response right away."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[[Request], Response]


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


@dataclass
class Fault:
    """A canned response that replaces the next `remaining` matching requests."""

    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    remaining: int
    skip: int = 0  # matching requests to let through first (a failure mid-way through a read)
    process: bool = False  # handle the request anyway, then lose its answer
    drop: bool = False  # close the connection without any answer
    hold: float = 0.0  # seconds to hold the request before answering (or dropping)

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and self.path.search(path) is not None


class FaultQueue:
    """Faults for one server, consumed first-in first-out by the requests they match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class Api:
    """Routes and error conventions of one simulated service; subclasses add the routes."""

    name = "api"

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.errors: list[str] = []  # tracebacks of handler crashes, for debugging tests

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Register `handler` for `method` on paths matching `pattern` (named groups: params)."""
        self._routes.append((method, re.compile(pattern), handler))

    # --- hooks the concrete APIs override -------------------------------------------------
    def error(self, status: int, message: str) -> Response:
        """An error response in the service's own shape."""
        return Response(status, {"error": message})

    def handle(self, request: Request) -> Response:
        """Authentication, rate limiting and friends; the default just dispatches."""
        return self.dispatch(request)

    # --- shared machinery -------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            try:
                return handler(request)
            except HttpError as exc:
                return exc.response
        return self.error(404, f"Route {request.method}:{request.path} not found")

    def fault_response(self, fault: Fault) -> Response:
        """The canned response of an injected fault; a None body gets the service's error shape."""
        if fault.body is None:
            response = self.error(fault.status, reason_phrase(fault.status))
        else:
            response = Response(fault.status, fault.body)
            if isinstance(fault.body, str | bytes):
                response.content_type = "text/plain; charset=utf-8"
        response.headers = {**response.headers, **fault.headers}
        return response

    def respond(self, request: Request) -> Response:
        """Answer a request, turning a crash into a 500 instead of a dropped connection."""
        try:
            with self.lock:
                return self.handle(request)
        except HttpError as exc:
            return exc.response
        except Exception:  # a simulator bug must not hang the client under test
            trace = traceback.format_exc()
            self.errors.append(trace)
            sys.stderr.write(f"[sandbox {self.name}] handler crashed:\n{trace}")
            return self.error(500, "Internal simulator error")


def json_body(request: Request, on_error: Callable[[str], Response]) -> Any:
    """Parse the request body as JSON or raise the service's own 'invalid JSON' error."""
    if not request.body:
        raise HttpError(on_error("Request body is empty"))
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise HttpError(on_error(f"Request body is not valid JSON: {exc}")) from exc


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: SimulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests inspect `Sandbox.requests` instead of stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        server = self.server
        body = self._read_body()
        recorded = RecordedRequest.from_raw(
            server.api.name, self.command, self.path, dict(self.headers.items()), body
        )
        if recorded.path.startswith(CONTROL_PREFIX):
            self._write(server.control(recorded))
            return
        request = Request(
            method=recorded.method,
            path=recorded.path,
            query=recorded.query,
            headers=recorded.headers,
            body=body,
        )
        fault = server.faults.take(request.method, request.path)
        if fault is not None and (fault.drop or fault.hold > 0):
            if fault.process:
                server.api.respond(request)
            # Recorded on arrival: a client that gave up waiting still sees its request counted.
            server.log.append(replace(recorded, status=0 if fault.drop else fault.status))
            if fault.hold > 0:
                server.stopping.wait(fault.hold)  # ends early when the simulator stops
            if fault.drop or server.stopping.is_set():
                self.close_connection = True
                return
            self._write(server.api.fault_response(fault))
            return
        if fault is None:
            response = server.api.respond(request)
        else:
            if fault.process:  # the service acted, but its answer never reached the client
                server.api.respond(request)
            response = server.api.fault_response(fault)
        if server.latency > 0:  # outside the API lock: concurrent clients overlap their waits
            time.sleep(server.latency)
        # Record before answering, so a client that inspects the log right after its call sees it.
        server.log.append(replace(recorded, status=response.status))
        self._write(response)

    def _write(self, response: Response) -> None:
        payload = response.encode()
        lines = [f"HTTP/1.1 {response.status} {reason_phrase(response.status)}"]
        headers = {"Content-Type": response.content_type, **response.headers}
        headers["Content-Length"] = str(len(payload))
        lines.extend(f"{name}: {value}" for name, value in headers.items() if value is not None)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + payload)  # one write: no Nagle/delayed-ACK stall
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class SimulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server for one `Api`, bound to an ephemeral port until `stop()`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, api: Api, log: RequestLog, faults: FaultQueue, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__((host, port), _RequestHandler)
        self.api = api
        self.log = log
        self.faults = faults
        self.latency = 0.0  # seconds added to every answer (benchmarks: a network's round trip)
        self.stopping = threading.Event()  # set by stop(): held requests give up at once
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"sandbox-{self.api.name}",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def control(self, recorded: RecordedRequest) -> Response:
        """`GET /__sandbox/requests`: the request log, for a test in another process."""
        if recorded.method == "GET" and recorded.path == CONTROL_PREFIX + "requests":
            return Response(
                200,
                [
                    {
                        "server": r.server,
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "headers": r.headers,
                        "body": r.body.decode("utf-8", "replace"),
                        "status": r.status,
                    }
                    for r in self.log.all()
                ],
            )
        return Response(404, {"error": "unknown sandbox control route"})
