"""Input and port_context parsing: every bad value is named with what was expected."""

from __future__ import annotations

import json

import pytest

from pagerduty_port.errors import InputError
from pagerduty_port.github.context import parse_port_context
from pagerduty_port.github.inputs import Inputs, env_name
from pagerduty_port.github.masking import SECRETS
from pagerduty_port.github.settings import read_common


def test_env_name_keeps_hyphens_like_the_runner():
    assert env_name("my-input") == "INPUT_MY-INPUT"
    assert env_name("two words") == "INPUT_TWO_WORDS"


def test_empty_string_means_absent():
    inputs = Inputs({"INPUT_TITLE": ""})
    assert inputs.text("title") is None
    with pytest.raises(InputError, match="Input 'title': is required"):
        inputs.required("title")


def test_hyphenated_input_is_read():
    assert Inputs({"INPUT_EVENT-ACTION": "resolve"}).text("event-action") == "resolve"


def test_the_hyphenated_spelling_of_an_input_is_the_same_input():
    assert Inputs({"INPUT_EVENT-ACTION": "resolve"}).text("event_action") == "resolve"
    with pytest.raises(InputError, match="'event_action' and as 'event-action'"):
        Inputs({"INPUT_EVENT_ACTION": "a", "INPUT_EVENT-ACTION": "b"}).text("event_action")


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        ("choice", "medium", "expected one of: high, low"),
        ("integer", "two", "expected a whole number"),
        ("boolean", "maybe", "expected true or false"),
        ("email", "not-an-email", "expected the email address"),
        ("pagerduty_id", "has space", "expected a PagerDuty ID"),
    ],
)
def test_bad_values_name_the_input_and_what_was_expected(method, value, expected):
    inputs = Inputs({"INPUT_X": value})
    args = {"choice": (("high", "low"),)}.get(method, ())
    kwargs = {"boolean": {"default": False}}.get(method, {})
    with pytest.raises(InputError) as err:
        getattr(inputs, method)("x", *args, **kwargs)
    assert "Input 'x'" in str(err.value)
    assert expected in str(err.value)
    assert repr(value) in str(err.value)


def test_integer_minimum():
    with pytest.raises(InputError, match=">= 1"):
        Inputs({"INPUT_LEVEL": "0"}).integer("level", minimum=1)


def test_json_value_must_have_the_expected_shape():
    with pytest.raises(InputError, match="is JSON list; expected a JSON object"):
        Inputs({"INPUT_D": "[1]"}).json_value("d", expect=dict, example="{}")
    with pytest.raises(InputError, match="is not valid JSON"):
        Inputs({"INPUT_D": "{oops"}).json_value("d", expect=dict, example="{}")


def test_deprecated_alias_is_used_and_reported():
    inputs = Inputs({"INPUT_INCIDENTTITLE": "Legacy"})
    assert inputs.text("title", aliases=("incidentTitle",)) == "Legacy"
    assert inputs.deprecations == ["Input 'incidentTitle' is deprecated; use 'title' instead."]


def test_alias_conflicting_with_the_new_name_is_an_error():
    inputs = Inputs({"INPUT_TITLE": "a", "INPUT_INCIDENTTITLE": "b"})
    with pytest.raises(InputError, match="deprecated alias 'incidentTitle'"):
        inputs.text("title", aliases=("incidentTitle",))


def test_id_list_accepts_commas_and_newlines():
    inputs = Inputs({"INPUT_ASSIGNEES": "PUSER01, PUSER02\nPUSER03\n"})
    assert inputs.id_list("assignees") == ["PUSER01", "PUSER02", "PUSER03"]


def test_secret_inputs_are_registered_for_scrubbing():
    Inputs({"INPUT_PAGERDUTY_TOKEN": "u+secret-token-value"}).secret("pagerduty_token")
    assert SECRETS.scrub("token=u+secret-token-value!") == "token=***!"
    assert SECRETS.scrub("token=u%2Bsecret-token-value") == "token=***"


def test_port_context_in_the_documented_shape():
    ctx = parse_port_context(
        json.dumps(
            {
                "blueprint": "service",
                "entity": "checkout",
                "run_id": "r_123",
                "relations": {"pagerdutyService": "PSVC001"},
            }
        )
    )
    assert (ctx.blueprint, ctx.entity, ctx.run_id) == ("service", "checkout", "r_123")
    assert ctx.relation("pagerdutyService") == "PSVC001"


def test_port_context_with_an_entity_object_and_camel_case_run_id():
    ctx = parse_port_context(
        json.dumps(
            {
                "entity": {
                    "identifier": "PINC001",
                    "blueprint": "pagerdutyIncident",
                    "relations": {"pagerdutyService": ["PSVC002"]},
                },
                "runId": "r_abc",
            }
        )
    )
    assert (ctx.entity, ctx.blueprint, ctx.run_id) == ("PINC001", "pagerdutyIncident", "r_abc")
    assert ctx.relation("pagerdutyService") == "PSVC002"


def test_legacy_port_payload_shape():
    ctx = parse_port_context(
        None,
        json.dumps(
            {"context": {"runId": "r_old", "blueprint": "pagerdutyService", "entity": "P1"}}
        ),
    )
    assert (ctx.run_id, ctx.blueprint, ctx.entity) == ("r_old", "pagerdutyService", "P1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "is not valid JSON"),
        ('["a"]', "is JSON list; expected a JSON object"),
        ('{"run_id": "r 1"}', "expected a Port run id"),
        ('{"relations": "x"}', "relations"),
    ],
)
def test_malformed_port_context(text, expected):
    with pytest.raises(InputError) as err:
        parse_port_context(text)
    assert "Input 'port_context'" in str(err.value)
    assert expected in str(err.value)


def test_port_run_id_overrides_the_context():
    common = read_common(
        Inputs({"INPUT_PORT_CONTEXT": '{"run_id": "r_ctx"}', "INPUT_PORT_RUN_ID": "r_override"}),
        {},
        cwd=".",
    )
    assert common.run_id == "r_override"


def test_one_port_credential_without_the_other_is_an_error():
    with pytest.raises(InputError, match="Input 'port_client_secret'"):
        read_common(Inputs({"INPUT_PORT_CLIENT_ID": "id-value"}), {}, cwd=".")


@pytest.mark.parametrize(
    "url", ["https://api.getport.io", "https://api.port.io", "https://api.us.port.io"]
)
def test_every_port_region_is_accepted(url):
    common = read_common(
        Inputs(
            {
                "INPUT_PORT_CLIENT_ID": "a-id",
                "INPUT_PORT_CLIENT_SECRET": "a-secret",
                "INPUT_PORT_BASE_URL": url,
            }
        ),
        {},
        cwd=".",
    )
    assert common.port is not None
    assert common.port.base_url == url


def test_bad_base_url_is_named():
    with pytest.raises(InputError, match=r"Input 'pagerduty_api_url'.*expected an http"):
        read_common(Inputs({"INPUT_PAGERDUTY_API_URL": "api.pagerduty.com"}), {}, cwd=".")


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "false", "False", "FALSE"])
def test_booleans_accept_the_spellings_githubs_own_boolean_inputs_accept(value):
    assert Inputs({"INPUT_DRY_RUN": value}).boolean("dry_run", default=False) is (
        value.lower() == "true"
    )


@pytest.mark.parametrize("value", ["yes", "no", "1", "0", "on", "tRUE", "y"])
def test_other_boolean_spellings_are_an_error_naming_the_input(value):
    with pytest.raises(
        InputError, match=rf"Input 'dry_run': got '{value}'; expected true or false"
    ):
        Inputs({"INPUT_DRY_RUN": value}).boolean("dry_run", default=False)
