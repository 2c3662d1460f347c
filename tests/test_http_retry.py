"""Retries against a real local server: what is retried, how long we wait, and when we stop."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
import requests

from pagerduty_port.clients.http import RetryPolicy, Unanswered, new_session, send, server_wait
from pagerduty_port.clients.pagerduty import PagerDutyClient
from pagerduty_port.clients.port import PortClient
from pagerduty_port.errors import PagerDutyError, PortError
from scripted import HANG, FakeTime, Scripted


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


def policy(
    t: FakeTime, attempts: int = 5, *, budget: float = 1000.0, jitter: float = 1.0, **kw
) -> RetryPolicy:
    """A policy on fake time; `jitter` is what the random source returns (1.0: no jitter)."""
    return RetryPolicy(
        attempts=attempts,
        backoff=0.5,
        max_wait=kw.pop("max_wait", 60.0),
        budget=budget,
        sleep=t.sleep,
        clock=t.clock,
        monotonic=t.clock,
        random=lambda: jitter,
        **kw,
    )


def test_429_waits_as_long_as_retry_after_says(scripted):
    scripted.queue = [(429, {"Retry-After": "7"}, b""), (200, {}, b'{"ok": true}')]
    t = FakeTime()
    response = send(new_session(), "GET", scripted.url + "/x", policy=policy(t), describe="t")
    assert response.status_code == 200
    assert t.waits == [7.0]
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
    t = FakeTime()
    send(new_session(), "GET", scripted.url, policy=policy(t), describe="t")
    assert t.waits == [expected]


def test_a_wait_the_server_asks_for_is_kept_whole_beyond_max_wait(scripted):
    scripted.queue = [(503, {"Retry-After": "25"}, b"")]
    t = FakeTime()
    send(new_session(), "GET", scripted.url, policy=policy(t, 3, max_wait=10), describe="t")
    assert t.waits == [25]  # not 10: a retry after 10 s is one the server said not to send


def test_backoff_doubles_up_to_its_cap(scripted):
    scripted.queue = [(500, {}, b"")] * 10
    t = FakeTime()
    pol = policy(t, 6, max_wait=3.0)
    response = send(new_session(), "GET", scripted.url, policy=pol, describe="t")
    assert response.status_code == 500
    assert len(scripted.seen) == 6
    assert t.waits == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_is_jittered_by_the_random_source(scripted):
    scripted.queue = [(503, {}, b"")] * 3
    t = FakeTime()
    send(new_session(), "GET", scripted.url, policy=policy(t, 3, jitter=0.25), describe="t")
    assert t.waits == [0.125, 0.25]  # full jitter: a fraction of 0.5 and of 1.0


def test_jitter_is_drawn_below_the_capped_ceiling(scripted):
    scripted.queue = [(500, {}, b"")] * 5
    t = FakeTime()
    send(
        new_session(),
        "GET",
        scripted.url,
        policy=policy(t, 5, max_wait=2.0, jitter=0.5),
        describe="t",
    )
    assert t.waits == [0.25, 0.5, 1.0, 1.0]  # half of 0.5, 1, 2, then half of the 2 s cap


def test_sustained_5xx_stops_at_the_time_budget_before_the_attempts_run_out(scripted):
    scripted.queue = [(503, {}, b"")] * 20
    t = FakeTime()
    start = t.now
    pol = policy(t, 20, budget=3.0)
    response = send(new_session(), "GET", scripted.url, policy=pol, describe="t")
    assert response.status_code == 503
    assert t.waits == [0.5, 1.0]  # the next wait (2.0) would end past the 3 s budget
    assert len(scripted.seen) == 3
    assert t.now - start <= 3.0


def test_a_retry_after_beyond_the_budget_gives_up_at_once(scripted):
    scripted.queue = [(429, {"Retry-After": "50"}, b"")] * 3
    t = FakeTime()
    response = send(new_session(), "GET", scripted.url, policy=policy(t, budget=30), describe="t")
    assert response.status_code == 429
    assert t.waits == []
    assert len(scripted.seen) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retried(scripted, status):
    scripted.queue = [(status, {}, b"")]
    t = FakeTime()
    response = send(new_session(), "POST", scripted.url, policy=policy(t), describe="t")
    assert response.status_code == 200
    assert len(scripted.seen) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_are_never_retried(scripted, status):
    scripted.queue = [(status, {}, b"{}")]
    t = FakeTime()
    response = send(new_session(), "POST", scripted.url, policy=policy(t), describe="t")
    assert response.status_code == status
    assert t.waits == []
    assert len(scripted.seen) == 1


def test_connection_refused_is_retried_then_reported_as_unanswered():
    t = FakeTime()
    with pytest.raises(Unanswered) as err:
        send(new_session(), "GET", "http://127.0.0.1:9", policy=policy(t, 3), describe="t")
    assert t.waits == [0.5, 1.0]
    assert err.value.attempts == 3
    assert "connection refused" in str(err.value)


def test_each_retry_is_announced_once_through_on_retry_else_in_the_log(scripted, caplog):
    scripted.queue = [(503, {}, b""), (503, {}, b"")]
    seen: list[str] = []
    with caplog.at_level(logging.INFO, logger="pagerduty_port"):
        send(
            new_session(),
            "GET",
            scripted.url,
            policy=policy(FakeTime()),
            describe="A",
            on_retry=seen.append,
        )
        scripted.queue = [(503, {}, b"")]
        send(new_session(), "GET", scripted.url, policy=policy(FakeTime()), describe="B")
    assert [m.split(":")[0] for m in seen] == ["A", "A"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["B"]


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


def test_pagerduty_auth_header_follows_the_auth_method_not_the_token(scripted):
    PagerDutyClient(new_session(), "u+apikey", scripted.url).request("GET", "/users")
    PagerDutyClient(new_session(), "pdus+apikey", scripted.url, auth="api_key").request(
        "GET", "/users"
    )
    PagerDutyClient(new_session(), "oauth-token", scripted.url, auth="oauth").request(
        "GET", "/users"
    )
    auths = [headers["Authorization"] for _, _, headers in scripted.seen]
    assert auths == ["Token token=u+apikey", "Token token=pdus+apikey", "Bearer oauth-token"]
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
    assert client.token.logins == 1
    assert next(p for _, p, _ in scripted.seen) == "/v1/auth/access_token"


def test_a_server_that_never_answers_costs_at_most_the_time_budget(scripted):
    """Each attempt's read timeout is cut to what is left of the budget (real time, a bound)."""
    scripted.queue = [(HANG, {}, b"")] * 10
    pol = RetryPolicy(
        attempts=10, backoff=0.01, budget=0.6, timeout=(1.0, 5.0), sleep=lambda s: None
    )
    start = time.monotonic()
    with pytest.raises(Unanswered) as err:
        send(new_session(), "GET", scripted.url, policy=pol, describe="t")
    assert time.monotonic() - start < 2.0
    assert "no response within the timeout" in str(err.value)
