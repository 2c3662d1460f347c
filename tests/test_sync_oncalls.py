"""On-calls as Ocean reads them: from now to three months ahead, one entity per shift, so Port
shows who is on call next week. The expected shifts are computed here from each schedule's
definition (its users, rotation start and turn length), not from the simulator's /oncalls."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from actionrun import run_action
from pagerduty_port.catalogue.sync.queries import oncall_params
from pagerduty_port.clients.pagerduty import ACCEPT
from pagerduty_port.errors import InputError

OCEAN_APP_CONFIG = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "ocean-pagerduty-port-app-config.yaml"
)
ONCALL = "pagerdutyOncall"
WINDOW = timedelta(days=90)  # Ocean: until = now + 3 x 30 days


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def five_schedules(sb: Any) -> list[str]:
    """The sandbox's schedule and four more, each on call at level 1 of its own policy."""
    state = sb.pagerduty
    extra = state.seed_schedules(4)
    state.seed_escalation_policies(4, extra)
    assert len(state.schedules) == 5
    return list(state.schedules)


def expected_shifts(sb: Any, since: datetime, until: datetime) -> set[tuple[str, str, str]]:
    """(user id, schedule id, start) of every turn overlapping [since, until)."""
    found = set()
    for schedule_id, schedule in sb.pagerduty.schedules.items():
        users = [u["id"] for u in schedule["users"]]
        origin, turn = sb.pagerduty.rotations[schedule_id]
        number = 0
        while (start := origin + turn * number) < until:
            if start + turn > since:
                found.add((users[number % len(users)], schedule_id, stamp(start)))
            number += 1
    return found


def permanent_users(sb: Any) -> set[str]:
    """Users that are escalation targets themselves: on call for good (start/end null)."""
    return {
        target["id"]
        for policy in sb.pagerduty.escalation_policies.values()
        for rule in policy["escalation_rules"]
        for target in rule["targets"]
        if target["type"] == "user_reference"
    }


def oncall_entities(sb: Any) -> dict[str, dict[str, Any]]:
    return {i: e for (bp, i), e in sb.port.entities.items() if bp == ONCALL}


def test_oceans_default_mapping_writes_the_next_three_months_of_on_calls(sandbox, tmp_path):
    five_schedules(sandbox)
    shutil.copy(OCEAN_APP_CONFIG, tmp_path / "port-app-config.yaml")
    before = datetime.now(UTC)
    result = run_action(
        "sync",
        {**sandbox.action_inputs(), "mapping": "port-app-config.yaml", "kinds": "oncalls"},
        extra_env={"GITHUB_WORKSPACE": str(tmp_path)},
        timeout=300,
    )
    after = datetime.now(UTC)
    assert result.returncode == 0, result.stdout[-3000:]
    wanted = expected_shifts(sandbox, before, before + WINDOW)
    assert wanted == expected_shifts(sandbox, after, after + WINDOW), "ran across midnight"
    # Ocean's identifier: .user.id + "-" + .schedule.id + "-" + .start
    # Permanent on-calls have no schedule and no start: null + "-" is "-" in jq.
    permanent = {f"{u}--" for u in permanent_users(sandbox)}
    assert permanent
    assert set(oncall_entities(sandbox)) == {f"{u}-{s}-{t}" for u, s, t in wanted} | permanent
    assert len(wanted) >= 5 * 90  # daily turns: at least 90 days of shifts per schedule
    created = json.loads(result.outputs["summary"])["oncalls"]["created"]
    assert created == len(wanted) + len(permanent)


def test_the_built_in_mapping_also_reads_three_months_ahead(sandbox, tmp_path):
    five_schedules(sandbox)
    before = datetime.now(UTC)
    result = run_action("sync", {**sandbox.action_inputs(), "kinds": "oncalls"}, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    entities = oncall_entities(sandbox)
    shifts = {
        f"{u}-{s}-{start}" for u, s, start in expected_shifts(sandbox, before, before + WINDOW)
    }
    assert shifts <= set(entities)
    # Besides the shifts: only the permanent on-calls of users that are escalation targets.
    assert all(entities[i]["properties"]["startDate"] is None for i in set(entities) - shifts)


def test_apiqueryparams_since_and_until_set_another_window() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert oncall_params({"include": ["users"]}, now) == [
        ("include[]", "users"),
        ("since", "2026-03-01T12:00:00Z"),
        ("until", "2026-05-30T12:00:00Z"),
    ]
    assert oncall_params({"since": 1, "until": 0}, now) == [
        ("since", "2026-01-30T12:00:00Z"),
        ("until", "2026-03-01T12:00:00Z"),
    ]
    window = {"since": "2026-03-02", "until": "2026-03-09T00:00:00Z"}
    assert oncall_params(window, now) == [
        ("since", "2026-03-02T00:00:00Z"),
        ("until", "2026-03-09T00:00:00Z"),
    ]
    with pytest.raises(InputError, match=r"apiQueryParams\.until is 'next week'"):
        oncall_params({"until": "next week"}, now)


def _oncalls(sb: Any, **params: str) -> requests.Response:
    return requests.get(
        sb.pagerduty_url + "/oncalls",
        params={"limit": "100", **params},
        headers={"Authorization": f"Token token={sb.pagerduty_token}", "Accept": ACCEPT},
        timeout=10,
    )


def test_the_simulator_answers_oncalls_per_shift_in_the_window(sandbox) -> None:
    schedule = sandbox.schedule_id
    now = datetime.now(UTC)
    current = _oncalls(sandbox, **{"schedule_ids[]": schedule})
    assert current.status_code == 200
    assert len(current.json()["oncalls"]) == 1  # since and until default to now
    week = _oncalls(
        sandbox,
        **{
            "schedule_ids[]": schedule,
            "since": stamp(now),
            "until": stamp(now + timedelta(days=7)),
        },
    ).json()["oncalls"]
    starts = [e["start"] for e in week]
    assert len(week) == 8  # today's turn and the next seven days' (daily turns)
    assert starts == sorted(starts)
    assert {(e["user"]["id"], e["schedule"]["id"], e["start"]) for e in week} == expected_shifts(
        sandbox, now, now + timedelta(days=7)
    )
    backwards = _oncalls(sandbox, since=stamp(now), until=stamp(now - timedelta(days=1)))
    assert backwards.status_code == 400
