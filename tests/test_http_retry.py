"""Retries against a real local server: what is retried, how long we wait, and when we stop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from pagerduty_port.errors import PagerDutyError, PortError
from pagerduty_port.http import RetryPolicy, new_session, send, server_wait
from pagerduty_port.pagerduty import PagerDutyClient
from pagerduty_port.port import PortClient


class Scripted:
    """A server answering from a queue of (status, headers, body); 200 {} once it is empty."""

    def __init__(self) -> None:
        self.queue: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                scripted.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = (
                    scripted.queue.pop(0) if scripted.queue else (200, {}, b"{}")
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


def policy(waits: list[float], attempts: int = 5) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts, backoff=0.5, sleep=waits.append, clock=lambda: 1_700_000_000.0
    )


def test_429_waits_as_long_as_retry_after_says(scripted):
    scripted.queue = [(429, {"Retry-After": "7"}, b""), (200, {}, b'{"ok": true}')]
    waits: list[float] = []
    response = send(new_session(), "GET", scripted.url + "/x", policy=policy(waits), describe="t")
    assert response.status_code == 200
    assert waits == [7.0]
    assert len(scripted.seen) == 2


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"ratelimit-reset": "12"}, 12.0),
        ({"x-ratelimit-reset": "1700000030"}, 30.0),  # an epoch time: 30 s after the clock
        ({}, 0.5),  # no header: exponential backoff from 0.5 s
    ],
)
def test_wait_comes_from_rate_limit_headers(scripted, headers, expected):
    scripted.queue = [(429, headers, b"")]
    waits: list[float] = []
    send(new_session(), "GET", scripted.url, policy=policy(waits), describe="t")
    assert waits == [expected]


def test_server_wait_caps_nothing_itself_but_send_caps_at_max_wait(scripted):
    scripted.queue = [(503, {"Retry-After": "3600"}, b"")]
    waits: list[float] = []
    pol = RetryPolicy(attempts=3, max_wait=20, sleep=waits.append)
    send(new_session(), "GET", scripted.url, policy=pol, describe="t")
    assert waits == [20]


def test_5xx_is_retried_a_bounded_number_of_times(scripted):
    scripted.queue = [(500, {}, b"")] * 10
    waits: list[float] = []
    response = send(new_session(), "GET", scripted.url, policy=policy(waits, 3), describe="t")
    assert response.status_code == 500
    assert len(scripted.seen) == 3
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_never_retried(scripted, status):
    scripted.queue = [(status, {}, b"{}")]
    waits: list[float] = []
    response = send(new_session(), "POST", scripted.url, policy=policy(waits), describe="t")
    assert response.status_code == status
    assert waits == []
    assert len(scripted.seen) == 1


def test_connection_refused_is_retried_then_raised():
    waits: list[float] = []
    with pytest.raises(requests.ConnectionError):
        send(new_session(), "GET", "http://127.0.0.1:9", policy=policy(waits, 3), describe="t")
    assert waits == [0.5, 1.0]


def test_server_wait_reads_http_dates():
    response = requests.Response()
    response.headers["Retry-After"] = "Thu, 01 Jan 1970 00:16:50 GMT"  # 1010 s after epoch
    assert server_wait(response, clock=lambda: 1000.0) == 10.0


def test_pagerduty_errors_are_readable(scripted):
    body = {
        "error": {
            "message": "Invalid Input Provided",
            "code": 2001,
            "errors": ["Title cannot be empty."],
        }
    }
    scripted.queue = [(400, {"Content-Type": "application/json"}, json.dumps(body).encode())]
    client = PagerDutyClient(new_session(), "tok-123456", scripted.url)
    with pytest.raises(PagerDutyError) as err:
        client.request("GET", "/incidents")
    assert str(err.value) == (
        "PagerDuty error on GET /incidents (HTTP 400, code 2001): Invalid Input Provided: "
        "Title cannot be empty."
    )


def test_pagerduty_auth_header_depends_on_the_token_kind(scripted):
    PagerDutyClient(new_session(), "u+apikey", scripted.url).request("GET", "/users")
    PagerDutyClient(new_session(), "pdoauth-token", scripted.url).request("GET", "/users")
    auths = [headers["Authorization"] for _, _, headers in scripted.seen]
    assert auths == ["Token token=u+apikey", "Bearer pdoauth-token"]
    assert all(
        h["Accept"] == "application/vnd.pagerduty+json;version=2" for _, _, h in scripted.seen
    )


def test_port_errors_are_readable_and_login_happens_once(scripted):
    login = json.dumps({"ok": True, "accessToken": "tok-abcdef", "expiresIn": 3600}).encode()
    error = json.dumps(
        {"ok": False, "error": "not_found", "message": "Blueprint with identifier x not found"}
    ).encode()
    scripted.queue = [(200, {}, login), (200, {}, b"{}"), (404, {}, error)]
    client = PortClient(new_session(), scripted.url, "cid", "csecret")
    client.add_run_log("r_1", "hello")
    with pytest.raises(PortError) as err:
        client.upsert_entity("x", {"identifier": "a"})
    assert "not_found" in str(err.value)
    assert "Blueprint with identifier x not found" in str(err.value)
    assert client.logins == 1
    assert next(p for _, p, _ in scripted.seen) == "/v1/auth/access_token"
