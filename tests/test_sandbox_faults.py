"""Fault kinds without an HTTP answer: a dropped connection and an answer held back."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from pagerduty_port_sandbox import Sandbox


def login(sb: Sandbox, timeout: float = 5) -> requests.Response:
    return requests.post(
        sb.port_url + "/v1/auth/access_token",
        json={"clientId": sb.port_client_id, "clientSecret": sb.port_client_secret},
        timeout=timeout,
    )


def test_drop_closes_the_connection_without_an_answer(sb: Sandbox) -> None:
    sb.inject("port", "POST", r"/access_token$", 503, drop=True)
    with pytest.raises(requests.ConnectionError):
        login(sb)
    assert login(sb).status_code == 200  # one fault, one request
    statuses = [r.status for r in sb.requests.filter(server="port")]
    assert statuses == [0, 200]


def test_a_hold_longer_than_the_read_timeout_is_an_answer_that_never_comes(sb: Sandbox) -> None:
    sb.inject("port", "POST", r"/access_token$", 503, hold=5.0, drop=True)
    start = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        login(sb, timeout=0.3)
    assert time.monotonic() - start < 2.0
    assert len(sb.requests.filter(server="port")) == 1  # recorded on arrival


def test_a_short_hold_answers_late_with_the_status(sb: Sandbox) -> None:
    sb.inject("port", "POST", r"/access_token$", 503, hold=0.2)
    response = login(sb)
    assert response.status_code == 503
    assert response.json()["error"]


def test_held_requests_give_up_when_the_sandbox_stops() -> None:
    outcome: list[BaseException] = []
    with Sandbox() as sb:
        sb.inject("port", "POST", r"/access_token$", 503, hold=30.0)

        def call() -> None:
            try:
                login(sb, timeout=20)
            except requests.RequestException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=call, daemon=True)
        thread.start()
        assert sb.requests.wait_for(lambda: bool(sb.requests.filter(server="port")), 5)
    thread.join(5)
    assert not thread.is_alive()
    assert len(outcome) == 1


def test_hold_must_not_be_negative(sb: Sandbox) -> None:
    with pytest.raises(ValueError, match="hold"):
        sb.inject("port", "GET", ".*", 503, hold=-1)
