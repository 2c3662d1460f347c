"""Reporting to Port never blocks on, or recurses into, Port; and the secret-scrubbing guards.

In-process against a scripted local server, with injected clocks: the waits are asserted,
never slept.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from pagerduty_port.clients.http import RetryPolicy, new_session
from pagerduty_port.clients.port import PortClient
from pagerduty_port.errors import PortError
from pagerduty_port.github.masking import SECRETS
from pagerduty_port.github.report import Reporter, WorkflowCommandHandler
from pagerduty_port.github.terminal import PlainHandler
from scripted import HANG, Answer, FakeTime, Scripted

LOGIN: Answer = (
    200,
    {},
    json.dumps({"ok": True, "accessToken": "tok-abcdef", "expiresIn": 3600}).encode(),
)
RUN: Answer = (200, {}, json.dumps({"ok": True, "run": {"status": "IN_PROGRESS"}}).encode())
OK: Answer = (200, {}, b'{"ok": true}')


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


class Records(logging.Handler):
    """Every record the package logs, as the handler receives it (before any formatting)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int | None = None) -> list[str]:
        return [r.getMessage() for r in self.records if level is None or r.levelno == level]


@pytest.fixture
def records() -> Iterator[Records]:
    logger = logging.getLogger("pagerduty_port")
    handler = Records()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def fake_policy(t: FakeTime, attempts: int, budget: float = 60.0) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts,
        backoff=0.5,
        budget=budget,
        sleep=t.sleep,
        clock=t.clock,
        monotonic=t.clock,
        random=lambda: 1.0,
    )


def reporter_for(scripted: Scripted, t: FakeTime, *, log_attempts: int = 3) -> Reporter:
    port = PortClient(new_session(), scripted.url, "cid", "csecret", policy=fake_policy(t, 5))
    return Reporter(port, "r_1", environ={}, log_policy=fake_policy(t, log_attempts, budget=6.0))


def run_log_requests(scripted: Scripted) -> list[str]:
    return [path for method, path, _ in scripted.seen if path.endswith("/logs")]


def in_thread(target, timeout: float = 10.0) -> bool:
    """Run `target` on a thread; True when it finished within `timeout` (a bound, not a wait)."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    return not thread.is_alive()


def test_a_login_that_fails_twice_neither_hangs_nor_writes_its_retries_to_port(scripted, records):
    scripted.queue = [(503, {}, b""), (503, {}, b""), LOGIN, RUN, OK]
    t = FakeTime()
    reporter = reporter_for(scripted, t)
    assert in_thread(lambda: reporter.start("Starting."))
    logins = [p for _, p, _ in scripted.seen if p == "/v1/auth/access_token"]
    assert len(logins) == 3
    assert t.waits == [0.5, 1.0]
    retry_lines = [m for m in records.messages() if "retrying" in m]
    assert len(retry_lines) == 2  # each printed once, to the GitHub log only
    assert len(run_log_requests(scripted)) == 1  # "Starting." and nothing about the retries


def test_a_run_log_answering_429_is_tried_a_bounded_number_of_times_then_warned_once(
    scripted, records
):
    scripted.queue = [LOGIN, RUN] + [(429, {"Retry-After": "1"}, b"")] * 50
    t = FakeTime()
    reporter = reporter_for(scripted, t)

    def go() -> None:
        reporter.start("Starting.")
        for n in range(5):
            reporter.progress(f"line {n}")
        reporter.warning("something odd")

    assert in_thread(go)
    assert len(run_log_requests(scripted)) == 3  # the short policy's attempts, then never again
    assert t.waits == [1.0, 1.0]  # Retry-After honoured
    warnings = [m for m in records.messages(logging.WARNING) if "Port run log" in m]
    assert len(warnings) == 1
    assert "line 4" in records.messages(logging.INFO)  # still on the GitHub log


def test_a_run_log_line_never_waits_behind_a_login_that_does_not_end(scripted, records):
    scripted.queue = [(HANG, {}, b"")]
    slow = PortClient(
        new_session(), scripted.url, "cid", "csecret", policy=RetryPolicy(attempts=1, budget=20)
    )
    reporter = Reporter(slow, "r_1", environ={}, log_policy=RetryPolicy(attempts=1, budget=0.5))

    def first_login() -> None:
        with pytest.raises(PortError):  # released, unanswered, when the test ends
            slow.request("GET", "/v1/blueprints")

    stuck = threading.Thread(target=first_login, daemon=True)
    stuck.start()
    deadline = time.monotonic() + 5
    while not scripted.seen and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the first login holds the login lock
    start = time.monotonic()
    reporter.progress("a line")
    assert time.monotonic() - start < 3.0
    assert len(scripted.seen) == 1  # the second caller gave up without a request of its own
    assert any("Port run log" in m for m in records.messages(logging.WARNING))


# Secret-scrubbing guards --------------------------------------------------------------------


def test_the_log_handler_scrubs_secrets(capsys):
    SECRETS.add("handler-secret-123")
    capsys.readouterr()
    logger = logging.Logger("guard")
    logger.addHandler(WorkflowCommandHandler())
    logger.info("the token is handler-secret-123")
    logger.error("failed with handler-secret-123")
    out = capsys.readouterr().out
    assert "handler-secret-123" not in out
    assert "the token is ***" in out
    assert "::error ::failed with ***" in out


def test_the_failure_reason_is_scrubbed_before_anything_receives_it(records):
    SECRETS.add("reason-secret-456")
    reporter = Reporter(None, None, environ={})  # the summary goes to the debug log
    reason = reporter.fail_locally("Port said: bad token reason-secret-456")
    assert "reason-secret-456" not in reason
    assert all("reason-secret-456" not in m for m in records.messages())
    assert "bad token ***" in records.messages(logging.ERROR)[0]


def test_the_port_access_token_is_masked_as_soon_as_login_returns(sandbox, capsys):
    heard: list[str] = []

    def on_secret(value: str) -> None:
        heard.append(value)
        SECRETS.add(value)

    client = PortClient(
        new_session(),
        sandbox.port_url,
        sandbox.port_client_id,
        sandbox.port_client_secret,
        on_secret=on_secret,
    )
    client.login()
    assert len(heard) == 1  # before the token is first used
    client.get_blueprint("pagerdutyService")
    (request,) = sandbox.requests.filter(server="port", method="GET")
    token = request.headers["authorization"].removeprefix("Bearer ")
    assert heard == [token]
    assert len(token) > 8
    assert SECRETS.scrub(f"x {token} y") == "x *** y"
    assert f"::add-mask ::{token}" in capsys.readouterr().out


def test_the_terminal_handler_scrubs_secrets():
    SECRETS.add("terminal-secret-789")
    stream = io.StringIO()
    logger = logging.Logger("guard-terminal")
    logger.addHandler(PlainHandler(stream))
    logger.warning("retrying with terminal-secret-789")
    assert "terminal-secret-789" not in stream.getvalue()
    assert "retrying with ***" in stream.getvalue()


def _reporter_on(sandbox, run_id: str) -> Reporter:
    sandbox.port.add_run(run_id)
    client = PortClient(
        new_session(), sandbox.port_url, sandbox.port_client_id, sandbox.port_client_secret
    )
    client.login()
    return Reporter(client, run_id, environ={})


def test_progress_lines_reach_the_port_run_log_scrubbed(sandbox):
    SECRETS.add("progress-secret-321")
    reporter = _reporter_on(sandbox, "r_scrub1")
    reporter.progress("calling with progress-secret-321")
    reporter.warning("still progress-secret-321")
    logs = [entry["message"] for entry in sandbox.port.runs["r_scrub1"]["logs"]]
    assert logs == ["calling with ***", "Warning: still ***"]


def test_run_patches_reach_port_scrubbed(sandbox):
    SECRETS.add("patch-secret-654")
    reporter = _reporter_on(sandbox, "r_scrub2")
    reporter.link("https://example.com/x?key=patch-secret-654", status_label="at patch-secret-654")
    sent = json.dumps(sandbox.port.runs["r_scrub2"]["patches"])
    assert "patch-secret-654" not in sent
    assert "key=***" in sent
