"""The hard deadline: `timeout_minutes` ends a stuck step with an error naming the input."""

from __future__ import annotations

import json
import time

import pytest

from actionrun import run_action
from pagerduty_port.clients.http import RetryPolicy
from pagerduty_port.github.report import REPORT_POLICY
from pagerduty_port.main import DEADLINE_REPORT_SECONDS


def create_inputs(sb, **overrides):
    return {
        **sb.action_inputs(),
        "title": "Checkout is down",
        "from": sb.user_email,
        "service": sb.service_id,
        "report_status": "true",
        "port_context": json.dumps({"entity": sb.service_id, "run_id": "r_deadline"}),
        **overrides,
    }


def test_the_deadline_ends_a_stuck_step_and_tells_the_port_run(sandbox):
    sb = sandbox
    sb.port.add_run("r_deadline")
    # PagerDuty holds the create far past the deadline; production timeouts, no test knobs.
    sb.inject("pagerduty", "POST", r"^/incidents$", 503, hold=60.0, drop=True, times=5)
    start = time.monotonic()
    result = run_action("create-incident", create_inputs(sb, timeout_minutes="0.05"), timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert elapsed < 3 + DEADLINE_REPORT_SECONDS  # 3 s deadline, then a bounded report
    (error,) = result.errors()
    assert "timeout_minutes (0.05 min)" in error
    run = sb.port.runs["r_deadline"]
    assert any(
        entry["message"].startswith("Failed:") and "timeout_minutes" in entry["message"]
        for entry in run["logs"]
    )
    assert run["status"] == "FAILURE"
    assert "### Failed" in result.summary


@pytest.mark.parametrize("value", ["0", "-1", "abc", "361"])
def test_timeout_minutes_must_be_a_positive_number_of_minutes(sandbox, value):
    sb = sandbox
    result = run_action("create-incident", create_inputs(sb, timeout_minutes=value))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'timeout_minutes'" in error
    assert sb.requests.filter(server="pagerduty") == []


def test_the_default_budgets_end_a_never_answering_request_well_under_a_minute():
    """One request's budget, then the failure line and the status in the Port run."""
    worst = RetryPolicy().budget + 2 * REPORT_POLICY.budget
    assert worst <= 45
