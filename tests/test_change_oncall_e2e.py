"""change-oncall end to end: the entrypoint in a subprocess against the simulators, and `now`
against an injected clock in process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from actionrun import run_action
from pagerduty_port.errors import InputError
from pagerduty_port.github.inputs import Inputs
from pagerduty_port.github.settings import read_common
from pagerduty_port.operations.change_oncall import ChangeOncall

# Within PagerDuty's 90-day on-call horizon, so /oncalls lists the override's shift.
DAY = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
START = f"{DAY}T09:00:00Z"
END = f"{DAY}T17:00:00Z"


def inputs_for(sb, run_id="r_oc1", *, context=None, **given):
    ctx = {"run_id": run_id, **(context or {})} if run_id else dict(context or {})
    if run_id and run_id not in sb.port.runs:
        sb.port.add_run(run_id)
    inputs = {
        **sb.action_inputs(),
        "from": sb.user_email,
        "schedule": sb.schedule_id,
        "user": "carol@example.com",
        "start": START,
        "end": "8h",
        **given,
    }
    if ctx:
        inputs["port_context"] = json.dumps(ctx)
    return {k: v for k, v in inputs.items() if v is not None}


def override_posts(sb):
    path = f"/schedules/{sb.schedule_id}/overrides"
    return sb.requests.filter(server="pagerduty", method="POST", path=path)


def test_change_oncall_from_the_schedule_entity(sandbox):
    sb = sandbox
    context = {"blueprint": "pagerdutySchedule", "entity": sb.schedule_id}
    result = run_action("change-oncall", inputs_for(sb, context=context, schedule=None))
    assert result.returncode == 0, result.stdout + result.stderr
    [override] = sb.pagerduty.overrides[sb.schedule_id]
    assert (override["start"], override["end"]) == (START, END)
    assert override["user"]["id"] == sb.escalation_user_id
    assert result.outputs == {
        "override_id": override["id"],
        "schedule_id": sb.schedule_id,
        "user_id": sb.escalation_user_id,
    }
    schedule = sb.port.entities[("pagerdutySchedule", sb.schedule_id)]
    assert schedule["properties"]["users"] == ["bob@example.com", "alice@example.com"]
    oncall = sb.port.entities[
        ("pagerdutyOncall", f"{sb.escalation_user_id}-{sb.schedule_id}-{START}")
    ]
    assert oncall["properties"]["user"] == "carol@example.com"
    assert oncall["properties"]["endDate"] == END
    assert "Changed on-call on" in result.summary


def test_a_retried_run_adopts_the_override(sandbox):
    sb = sandbox
    first = run_action("change-oncall", inputs_for(sb))
    assert first.returncode == 0, first.stdout
    again = run_action("change-oncall", inputs_for(sb, end=f"{DAY}T17:00:00+00:00"))
    assert again.returncode == 0, again.stdout
    assert len(sb.pagerduty.overrides[sb.schedule_id]) == 1
    assert len(override_posts(sb)) == 1
    assert again.outputs["override_id"] == first.outputs["override_id"]


def test_a_retried_run_from_now_adopts_the_override_in_effect(sandbox):
    """`start: now` is another instant on a retry: the same user's override of the same
    length that is in effect now is the earlier attempt's, not a reason for a second one."""
    sb = sandbox
    earlier = sb.pagerduty.now().replace(microsecond=0) - timedelta(minutes=10)
    made = sb.pagerduty.add_override(
        sb.schedule_id, sb.escalation_user_id, earlier, earlier + timedelta(hours=4)
    )
    again = run_action("change-oncall", inputs_for(sb, start=None, end="4h"))
    assert again.returncode == 0, again.stdout
    assert override_posts(sb) == []
    assert again.outputs["override_id"] == made["id"]
    longer = run_action("change-oncall", inputs_for(sb, run_id="r_oc9", start=None, end="6h"))
    assert longer.returncode == 0, longer.stdout
    assert len(override_posts(sb)) == 1  # another length is another request


def test_a_lost_answer_is_not_answered_with_a_second_override(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"/overrides$", 502, process=True, headers={"Retry-After": "0"})
    result = run_action("change-oncall", inputs_for(sb))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(sb.pagerduty.overrides[sb.schedule_id]) == 1


@pytest.mark.parametrize(
    ("given", "input_name"),
    [
        ({"schedule": None}, "schedule"),
        ({"schedule": "bad id"}, "schedule"),
        ({"user": None}, "user"),
        ({"user": "carol"}, "user"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "2030-03-01T09:00:00"}, "start"),
        ({"end": None}, "end"),
        ({"end": f"{DAY}T08:00:00Z"}, "end"),
        ({"end": "0h"}, "end"),
        ({"end": "91d"}, "end"),
        ({"end": "soon"}, "end"),
        ({"from": None}, "from"),
        ({"pagerduty_token": None}, "pagerduty_token"),
    ],
)
def test_bad_inputs_fail_before_any_pagerduty_request(sandbox, given, input_name):
    sb = sandbox
    result = run_action("change-oncall", inputs_for(sb, **given))
    assert result.returncode == 1, result.stdout
    assert f"Input '{input_name}'" in result.errors()[0]
    assert sb.requests.filter(server="pagerduty") == []


def test_an_unknown_user_is_named_before_any_write(sandbox):
    sb = sandbox
    result = run_action("change-oncall", inputs_for(sb, user="nobody@example.com"))
    assert result.returncode == 1
    assert "Input 'user'" in result.errors()[0]
    assert override_posts(sb) == []


def test_429_and_5xx_are_retried_and_a_400_is_reported(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"/overrides$", 429, headers={"Retry-After": "0"})
    sb.inject("pagerduty", "POST", r"/overrides$", 500, headers={"Retry-After": "0"})
    ok = run_action("change-oncall", inputs_for(sb))
    assert ok.returncode == 0, ok.stdout
    assert [r.status for r in override_posts(sb)] == [429, 500, 201]
    sb.inject(
        "pagerduty",
        "POST",
        r"/overrides$",
        400,
        body={"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Nope"]}},
    )
    bad = run_action("change-oncall", inputs_for(sb, run_id="r_oc2", end="9h"))
    assert bad.returncode == 1
    assert "Nope" in bad.errors()[0]


def test_secrets_never_show(sandbox):
    sb = sandbox
    sb.inject("pagerduty", "POST", r"/overrides$", 503, times=10, headers={"Retry-After": "0"})
    failed = run_action("change-oncall", inputs_for(sb))
    sb.clear_faults()
    ok = run_action("change-oncall", inputs_for(sb, run_id="r_oc3", end="2h"))
    assert ok.returncode == 0
    for result in (failed, ok):
        for secret in (sb.pagerduty_token, sb.port_client_secret, sb.port_client_id):
            assert secret not in result.visible


def test_now_comes_from_the_clock(tmp_path):
    fixed = datetime(2030, 5, 1, 12, 30, 15, 999, tzinfo=UTC)
    operation = ChangeOncall(clock=lambda: fixed)
    env = {
        "INPUT_SCHEDULE": "PSCHED1",
        "INPUT_USER": "carol@example.com",
        "INPUT_START": "now",
        "INPUT_END": "4h",
        "INPUT_FROM": "alice@example.com",
        "INPUT_PAGERDUTY_TOKEN": "tok",
        "GITHUB_WORKSPACE": str(tmp_path),
    }
    inputs = Inputs(env)
    settings = operation.parse(inputs, read_common(inputs, env, cwd="."))
    assert settings.start == fixed.replace(microsecond=0)
    assert settings.end - settings.start == timedelta(hours=4)
    past = {**env, "INPUT_START": "2030-05-01T12:00:00Z", "INPUT_END": "2030-05-01T11:00:00Z"}
    with pytest.raises(InputError, match="'end'"):
        operation.parse(Inputs(past), read_common(Inputs(past), past, cwd="."))
