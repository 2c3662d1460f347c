"""Each sub-action's action.yml tells the truth about its inputs: what it declares
`required: true` the code refuses to run without, and every declared `default:` is what the code
does when the input is not given (the runner passes declared defaults as if the user had)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pagerduty_port.errors import InputError
from pagerduty_port.github.inputs import Inputs, env_name
from pagerduty_port.github.settings import read_common, read_timeout_minutes
from pagerduty_port.operations.registry import OPERATION_NAMES, load_operation

REPO = Path(__file__).resolve().parent.parent
ROUTING_KEY = "R" * 32

#: The smallest set of inputs each operation runs with: its required inputs, plus inputs that
#: are needed but can come from elsewhere (so they are not `required: true`).
BASE: dict[str, dict[str, str]] = {
    "create-incident": {
        "title": "Disk full",
        "from": "alice@example.com",
        "pagerduty_token": "pd-token-for-tests",
        "service": "PSERV01",
    },
    "trigger-incident": {"routing_key": ROUTING_KEY, "summary": "Disk full"},
    "escalate": {
        "from": "alice@example.com",
        "pagerduty_token": "pd-token-for-tests",
        "incident_id": "PINC001",
        "escalation_level": "2",
    },
    "sync": {
        "pagerduty_token": "pd-token-for-tests",
        "port_client_id": "id-for-tests",
        "port_client_secret": "secret-for-tests",
    },
    "update-incident": {
        "from": "alice@example.com",
        "pagerduty_token": "pd-token-for-tests",
        "incident": "PINC001",
        "status": "acknowledged",
    },
    "change-oncall": {
        "user": "bob@example.com",
        "end": "4h",
        "from": "alice@example.com",
        "pagerduty_token": "pd-token-for-tests",
        "schedule": "PSCHED1",
    },
    "create-service": {
        "name": "checkout",
        "escalation_policy": "PPOL001",
        "pagerduty_token": "pd-token-for-tests",
    },
    "connect-webhooks": {
        "pagerduty_token": "pd-token-for-tests",
        "port_client_id": "id-for-tests",
        "port_client_secret": "secret-for-tests",
    },
}
#: Why each of those is not `required: true`: the inputs that replace it.
REPLACEMENTS: dict[tuple[str, str], dict[str, str]] = {
    ("create-incident", "service"): {
        "port_context": '{"blueprint": "pagerdutyService", "entity": "PSERV01"}'
    },
    ("trigger-incident", "summary"): {"event_action": "resolve", "dedup_key": "k-1"},
    ("escalate", "incident_id"): {"port_context": '{"entity": "PINC001"}'},
    ("escalate", "escalation_level"): {"urgency": "low"},
    ("sync", "port_client_id"): {"dry_run": "true", "port_client_secret": ""},
    ("sync", "port_client_secret"): {"dry_run": "true", "port_client_id": ""},
    ("update-incident", "incident"): {
        "port_context": '{"blueprint": "pagerdutyIncident", "entity": "PINC001"}'
    },
    ("update-incident", "status"): {"note": "Rolled back the deploy."},
    ("change-oncall", "schedule"): {
        "port_context": '{"blueprint": "pagerdutySchedule", "entity": "PSCHED1"}'
    },
}
#: change-oncall reads the clock (start defaults to now): parse against a fixed one.
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def declared(operation: str) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((REPO / operation / "action.yml").read_text())
    return {k: v or {} for k, v in (data.get("inputs") or {}).items()}


def normal(value: Any) -> Any:
    """Parsed settings in a comparable form (compiled objects reduced to their type)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: normal(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normal(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return type(value).__name__


def parse(operation: str, given: dict[str, str]) -> Any:
    environ = {env_name(k): v for k, v in given.items()}
    inputs = Inputs(environ)
    common = read_common(inputs, environ, cwd=".")
    action = load_operation(operation)
    if hasattr(action, "clock"):  # an injectable clock (a dataclass field)
        # type-var: load_operation is typed by the Operation protocol, not as dataclasses.
        action = dataclasses.replace(action, clock=lambda: NOW)  # type: ignore[type-var]
    settings = action.parse(inputs, common)
    return normal((common, settings, read_timeout_minutes(inputs, operation)))


def test_every_sub_action_is_covered() -> None:
    """A new operation's action.yml cannot skip these checks (each one needs its BASE), nor be
    left out of the generated root action.yml and the command line's actions.json."""
    sub_actions = {path.parent.name for path in REPO.glob("*/action.yml")}
    assert sub_actions == set(BASE)
    assert sub_actions == set(OPERATION_NAMES)
    root = yaml.safe_load((REPO / "action.yml").read_text())
    listed = root["inputs"]["operation"]["description"].split(":", 1)[1]
    assert {name.strip(" .") for name in listed.split(",")} == sub_actions
    cli = json.loads((REPO / "src" / "pagerduty_port" / "actions.json").read_text())
    assert set(cli) == sub_actions


@pytest.mark.parametrize("operation", sorted(BASE))
def test_the_base_inputs_are_the_required_ones_and_their_stand_ins(operation: str) -> None:
    required = {k for k, v in declared(operation).items() if v.get("required")}
    others = {name for (op, name) in REPLACEMENTS if op == operation}
    assert set(BASE[operation]) == required | others
    assert required.isdisjoint(others)
    parse(operation, BASE[operation])


@pytest.mark.parametrize("operation", sorted(BASE))
def test_each_required_input_is_refused_when_missing(operation: str) -> None:
    required = [k for k, v in declared(operation).items() if v.get("required")]
    assert required, f"{operation} declares no required input"
    for name in required:
        given = {k: v for k, v in BASE[operation].items() if k != name}
        with pytest.raises(InputError) as caught:
            parse(operation, given)
        assert caught.value.input_name == name


@pytest.mark.parametrize(("operation", "name"), sorted(REPLACEMENTS))
def test_inputs_not_marked_required_can_be_left_out(operation: str, name: str) -> None:
    given = {k: v for k, v in BASE[operation].items() if k != name}
    parse(operation, {**given, **REPLACEMENTS[operation, name]})


@pytest.mark.parametrize("operation", sorted(BASE))
def test_every_declared_default_is_what_the_code_does_without_it(operation: str) -> None:
    defaults = {k: str(v["default"]) for k, v in declared(operation).items() if "default" in v}
    assert defaults
    without = parse(operation, BASE[operation])
    for name, default in defaults.items():
        assert name not in BASE[operation]
        assert parse(operation, {**BASE[operation], name: default}) == without, name


def test_no_description_repeats_a_default_it_could_declare() -> None:
    for operation in BASE:
        for name, spec in declared(operation).items():
            text = " ".join(str(spec.get("description", "")).split())
            if "default" in spec:
                assert "Default:" not in text, (operation, name)


def test_a_deprecated_alias_wins_over_the_default_the_runner_fills_in() -> None:
    environ = {
        env_name("severity"): "critical",  # the runner's copy of a declared default
        env_name("old_severity"): "warning",  # what the workflow set, under the old name
    }
    inputs = Inputs(environ)
    assert inputs.text("severity", aliases=("old_severity",), default="critical") == "warning"
    assert inputs.deprecations


@pytest.mark.parametrize("operation", OPERATION_NAMES)
def test_every_operation_loads_under_its_own_name(operation: str) -> None:
    assert load_operation(operation).name == operation
