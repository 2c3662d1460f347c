"""create-incident end to end: the entrypoint in a subprocess, only INPUT_* env, real HTTP
against the simulators."""

from __future__ import annotations

import json

import pytest

from actionrun import input_env, run_action

ACTION = "create-incident"


def inputs_for(sb, run_id="r_create1", **overrides):
    inputs = {
        "title": "Checkout is down",
        "from": sb.user_email,
        "service": sb.service_id,
        **sb.action_inputs(),
        "port_context": json.dumps(
            {"blueprint": "pagerdutyService", "entity": sb.service_id, "run_id": run_id}
        ),
    }
    inputs.update(overrides)
    return {k: v for k, v in inputs.items() if v is not None}


def pd_writes(sb):
    return sb.requests.filter(server="pagerduty", method="POST", path="/incidents")


def run_logs(sb, run_id):
    return [
        r.json["message"]
        for r in sb.requests.filter(
            server="port", method="POST", path=f"/v1/actions/runs/{run_id}/logs"
        )
    ]


def test_happy_path_opens_links_upserts_and_writes_every_output(sandbox):
    sb = sandbox
    sb.port.add_run("r_create1")
    result = run_action(ACTION, inputs_for(sb))
    assert result.returncode == 0, result.stdout + result.stderr

    (create,) = pd_writes(sb)
    assert create.headers["from"] == sb.user_email
    assert create.headers["content-type"].startswith("application/json")
    body = create.json["incident"]
    assert body["title"] == "Checkout is down"
    assert body["service"] == {"id": sb.service_id, "type": "service_reference"}
    assert body["urgency"] == "high"
    assert body["incident_key"] == "port-run-r_create1"

    incident = sb.pagerduty.incidents[result.outputs["incident_id"]]
    assert result.outputs == {
        "incident_id": incident["id"],
        "incident_number": str(incident["incident_number"]),
        "incident_url": incident["html_url"],
        "status": "triggered",
        "entity_identifier": incident["id"],
    }
    assert len(run_logs(sb, "r_create1")) >= 3

    patches = sb.requests.filter(server="port", method="PATCH", path="/v1/actions/runs/r_create1")
    assert patches, "the run was never linked"
    assert incident["html_url"] in patches[-1].json["link"]

    (upsert,) = sb.requests.filter(
        server="port", method="POST", path="/v1/blueprints/pagerdutyIncident/entities"
    )
    assert upsert.query["upsert"] == ["true"]
    assert upsert.query["run_id"] == ["r_create1"]
    entity = sb.port.entities[("pagerdutyIncident", incident["id"])]
    assert entity["properties"]["url"] == incident["html_url"]
    assert entity["properties"]["status"] == "triggered"
    assert entity["relations"]["pagerdutyService"] == sb.service_id
    assert incident["html_url"] in result.summary
    assert not result.errors()


@pytest.mark.parametrize(
    "title",
    [
        'He said "it\'s down" \\ really',
        "line one\nline two",
        "Paiement échoué — 決済 🔥",
        "${{ secrets.PAGERDUTY_TOKEN }} and $(rm -rf /)",
        "::error::not a command",
    ],
)
def test_titles_arrive_byte_for_byte(sandbox, title):
    sb = sandbox
    sb.port.add_run("r_title")
    result = run_action(ACTION, inputs_for(sb, run_id="r_title", title=title))
    assert result.returncode == 0, result.stdout + result.stderr
    incident = sb.pagerduty.incidents[result.outputs["incident_id"]]
    assert incident["title"] == title
    assert sb.port.entities[("pagerdutyIncident", incident["id"])]["title"] == title
    assert not [line for line in result.stdout.splitlines() if line.startswith("::error")]


@pytest.mark.parametrize(
    ("overrides", "named", "expected"),
    [
        ({"from": None}, "from", "is required"),
        ({"from": "not-an-email"}, "from", "expected the email address"),
        ({"urgency": "medium"}, "urgency", "expected one of: high, low"),
        ({"port_context": '{"run_id": '}, "port_context", "is not valid JSON"),
        ({"port_context": "[1, 2]"}, "port_context", "expected a JSON object"),
        ({"title": "   "}, "title", "is required"),
        ({"service": "not an id"}, "service", "expected a PagerDuty ID"),
        (
            {"assignees": "PUSER01", "escalation_policy": "PPOL001"},
            "assignees",
            "cannot be combined",
        ),
        ({"pagerduty_token": None}, "pagerduty_token", "is required"),
        ({"report_status": "sometimes"}, "report_status", "expected true or false"),
    ],
)
def test_bad_input_fails_naming_it_before_pagerduty_is_called(sandbox, overrides, named, expected):
    sb = sandbox
    result = run_action(ACTION, inputs_for(sb, **overrides))
    assert result.returncode == 1
    (error,) = result.errors()
    assert f"Input '{named}'" in error
    assert expected in error
    assert sb.requests.filter(server="pagerduty") == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, "HTTP 400"),
        (401, "HTTP 401"),
        (403, "HTTP 403"),
        (404, "HTTP 404"),
    ],
)
def test_pagerduty_client_errors_fail_readably_without_retry(sandbox, status, expected):
    sb = sandbox
    sb.port.add_run("r_err")
    sb.inject("pagerduty", "POST", r"^/incidents$", status, times=5)
    result = run_action(ACTION, inputs_for(sb, run_id="r_err"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "PagerDuty error on POST /incidents" in error
    assert expected in error
    assert len(pd_writes(sb)) == 1
    assert any("Failed:" in m and expected in m for m in run_logs(sb, "r_err"))
    assert sb.pagerduty.incidents == {}


@pytest.mark.parametrize(
    ("status", "headers"), [(429, {"Retry-After": "1"}), (500, {}), (503, {"ratelimit-reset": "1"})]
)
def test_transient_pagerduty_errors_are_retried_then_succeed(sandbox, status, headers):
    sb = sandbox
    sb.port.add_run("r_retry")
    sb.inject("pagerduty", "POST", r"^/incidents$", status, headers=headers, times=1)
    result = run_action(ACTION, inputs_for(sb, run_id="r_retry"))
    assert result.returncode == 0, result.stdout
    assert len(pd_writes(sb)) == 2
    assert len(sb.pagerduty.incidents) == 1
    assert any("retrying" in m for m in run_logs(sb, "r_retry"))


def test_port_login_failure_stops_before_pagerduty(sandbox):
    sb = sandbox
    result = run_action(ACTION, inputs_for(sb, port_client_secret="wrong-secret-value"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Port error" in error
    assert "login failed" in error
    assert sb.requests.filter(server="pagerduty") == []
    assert "wrong-secret-value" not in result.visible


def test_a_port_base_url_ending_in_v1_is_trimmed_not_reported_as_bad_credentials(sandbox):
    sb = sandbox
    sb.port.add_run("r_create1")
    result = run_action(ACTION, inputs_for(sb, port_base_url=sb.port_url + "/v1/"))
    assert result.returncode == 0, result.stdout
    assert (
        f"Input 'port_base_url' ends in /v1, which the action adds itself; using {sb.port_url}."
        in result.stdout
    )
    logins = sb.requests.filter(server="port", method="POST", path="/v1/auth/access_token")
    assert len(logins) == 1


def test_a_failed_port_login_names_the_credentials_and_the_region(sandbox):
    sb = sandbox
    result = run_action(ACTION, inputs_for(sb, port_client_secret="wrong-secret-value"))
    (error,) = result.errors()
    assert "Check the inputs port_client_id and port_client_secret" in error
    assert "port_base_url is your Port region" in error


def test_an_unknown_port_run_fails_before_pagerduty(sandbox):
    sb = sandbox
    result = run_action(ACTION, inputs_for(sb, run_id="r_nobody"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Port has no action run r_nobody" in error
    assert sb.requests.filter(server="pagerduty") == []


def test_port_upsert_422_fails_but_keeps_the_incident_outputs(sandbox):
    sb = sandbox
    sb.port.add_run("r_422")
    sb.inject("port", "POST", r"^/v1/blueprints/[^/]+/entities$", 422, times=1)
    result = run_action(ACTION, inputs_for(sb, run_id="r_422"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Port error on POST /v1/blueprints/pagerdutyIncident/entities (HTTP 422" in error
    assert result.outputs["incident_id"] in sb.pagerduty.incidents
    assert any("Failed:" in m for m in run_logs(sb, "r_422"))


def test_the_same_port_run_twice_leaves_one_incident(sandbox):
    sb = sandbox
    sb.port.add_run("r_twice")
    first = run_action(ACTION, inputs_for(sb, run_id="r_twice"))
    second = run_action(ACTION, inputs_for(sb, run_id="r_twice"))
    assert first.returncode == second.returncode == 0
    assert len(sb.pagerduty.incidents) == 1
    assert first.outputs["incident_id"] == second.outputs["incident_id"]
    assert "already exists" in second.stdout


def test_rerunning_a_workflow_after_port_finished_the_run(sandbox):
    """GitHub's "re-run jobs" after Port marked the run: the incident is adopted, the entity is
    written (without the finished run's id, which Port refuses), and the run is left as it was."""
    sb = sandbox
    sb.port.add_run("r_rerun")
    first = run_action(ACTION, inputs_for(sb, run_id="r_rerun", report_status="true"))
    assert first.returncode == 0, first.stdout
    assert sb.port.runs["r_rerun"]["status"] == "SUCCESS"
    patches_before = len(sb.port.runs["r_rerun"]["patches"])

    second = run_action(ACTION, inputs_for(sb, run_id="r_rerun", report_status="true"))
    assert second.returncode == 0, second.stdout
    assert second.outputs["incident_id"] == first.outputs["incident_id"]
    assert len(sb.pagerduty.incidents) == 1
    assert "has already finished (SUCCESS)" in second.stdout
    assert len(sb.port.runs["r_rerun"]["patches"]) == patches_before
    upserts = sb.requests.filter(
        server="port", method="POST", path="/v1/blueprints/pagerdutyIncident/entities"
    )
    assert [u.query.get("run_id") for u in upserts] == [["r_rerun"], None]
    assert not second.errors()


def test_a_create_whose_response_was_lost_is_not_repeated(sandbox):
    """PagerDuty created the incident but the answer never arrived (a 502 from a proxy):
    the retry meets PagerDuty's incident_key de-duplication and adopts the incident."""
    sb = sandbox
    sb.port.add_run("r_lost")
    sb.inject("pagerduty", "POST", r"^/incidents$", 502, times=1, process=True)
    result = run_action(ACTION, inputs_for(sb, run_id="r_lost"))
    assert result.returncode == 0, result.stdout
    assert len(pd_writes(sb)) == 2
    assert len(sb.pagerduty.incidents) == 1
    assert result.outputs["incident_id"] in sb.pagerduty.incidents


def test_hyphenated_input_names_reach_the_action(sandbox):
    """`with: {port-context: ..., pagerduty-token: ...}` arrives as INPUT_PORT-CONTEXT etc."""
    sb = sandbox
    sb.port.add_run("r_kebab")
    inputs = {k.replace("_", "-"): v for k, v in inputs_for(sb, run_id="r_kebab").items()}
    assert "INPUT_PORT-CONTEXT" in input_env(inputs)
    result = run_action(ACTION, inputs)
    assert result.returncode == 0, result.stdout
    assert (
        sb.pagerduty.incidents[result.outputs["incident_id"]]["incident_key"] == "port-run-r_kebab"
    )


def test_legacy_inputs_work_with_only_the_uses_line_changed(sandbox):
    sb = sandbox
    sb.port.add_run("r_legacy")
    result = run_action(
        ACTION,
        {
            "token": sb.pagerduty_token,
            "portClientId": sb.port_client_id,
            "portClientSecret": sb.port_client_secret,
            "blueprintIdentifier": "pagerdutyIncident",
            "incidentTitle": "Legacy title",
            "extraDetails": "more",
            "service": sb.service_id,
            "urgency": "low",
            "actorEmail": sb.user_email,
            "portRunId": "r_legacy",
            "pagerduty_api_url": sb.pagerduty_url,
            "port_base_url": sb.port_url,
        },
    )
    assert result.returncode == 0, result.stdout
    incident = sb.pagerduty.incidents[result.outputs["incident_id"]]
    assert (incident["title"], incident["urgency"]) == ("Legacy title", "low")
    assert "deprecated" in result.stdout


def test_service_from_the_context_relation(sandbox):
    sb = sandbox
    context = {
        "blueprint": "service",
        "entity": "checkout",
        "relations": {"pagerdutyService": sb.service_id},
    }
    result = run_action(ACTION, inputs_for(sb, service=None, port_context=json.dumps(context)))
    assert result.returncode == 0, result.stdout
    assert sb.pagerduty.incidents[result.outputs["incident_id"]]["service"]["id"] == sb.service_id
    assert "No Port run id" in result.stdout


def test_without_port_credentials_the_incident_is_still_opened(sandbox):
    sb = sandbox
    result = run_action(
        ACTION, inputs_for(sb, port_client_id=None, port_client_secret=None, port_context=None)
    )
    assert result.returncode == 0, result.stdout
    assert "skipping Port" in result.stdout
    assert sb.requests.filter(server="port") == []
    assert len(sb.pagerduty.incidents) == 1


def test_report_status_marks_the_run(sandbox):
    sb = sandbox
    sb.port.add_run("r_status")
    result = run_action(ACTION, inputs_for(sb, run_id="r_status", report_status="true"))
    assert result.returncode == 0
    assert sb.port.runs["r_status"]["status"] == "SUCCESS"


def test_secrets_never_appear_in_any_stream(sandbox):
    sb = sandbox
    sb.port.add_run("r_secret")
    sb.inject("pagerduty", "POST", r"^/incidents$", 429, headers={"Retry-After": "0"}, times=1)
    ok = run_action(
        ACTION,
        inputs_for(
            sb, run_id="r_secret", details=f"token is {sb.pagerduty_token}", report_status="true"
        ),
        extra_env={"RUNNER_DEBUG": "1"},
    )
    failed = run_action(ACTION, inputs_for(sb, run_id="r_secret", urgency="bad"))
    assert ok.returncode == 0
    assert failed.returncode == 1
    secrets = [sb.pagerduty_token, sb.port_client_secret, *sb.port.tokens]
    port_logs = "\n".join(run_logs(sb, "r_secret"))
    for secret in secrets:
        for text in (ok.visible, failed.visible, port_logs):
            assert secret not in text
    assert "::add-mask ::" + sb.pagerduty_token in ok.stdout
    assert sb.port.tokens  # each Port access token is masked the moment login returns it
    for token in sb.port.tokens:
        assert "::add-mask ::" + token in ok.stdout + failed.stdout


def test_a_failure_is_in_the_job_summary(sandbox):
    result = run_action(ACTION, inputs_for(sandbox, urgency="medium"))
    assert result.returncode == 1
    assert "### Failed" in result.summary
    assert "Input 'urgency'" in result.summary


def test_a_revoked_port_token_is_replaced_once(sandbox):
    """Port can revoke a token before its announced expiry: one fresh login, then go on."""
    sb = sandbox
    sb.port.add_run("r_revoked")
    sb.inject("port", "POST", r"^/v1/blueprints/[^/]+/entities$", 401, times=1)
    result = run_action(ACTION, inputs_for(sb, run_id="r_revoked"))
    assert result.returncode == 0, result.stdout
    logins = sb.requests.filter(server="port", method="POST", path="/v1/auth/access_token")
    assert len(logins) == 2
    assert ("pagerdutyIncident", result.outputs["incident_id"]) in sb.port.entities


def test_unknown_operation_is_named(sandbox):
    result = run_action(".", {"operation": "page-everyone"})
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'operation': got 'page-everyone'; expected one of: create-incident" in error


@pytest.mark.parametrize("given", ["P1", "p1", "ID"])
def test_priority_by_name_or_id(sandbox, given):
    sb = sandbox
    priority = sb.priority_id if given == "ID" else given
    result = run_action(ACTION, inputs_for(sb, port_context=None, priority=priority))
    assert result.returncode == 0, result.stdout
    (create,) = pd_writes(sb)
    assert create.json["incident"]["priority"] == {
        "id": sb.priority_id,
        "type": "priority_reference",
    }
    assert (
        sb.port.entities[("pagerdutyIncident", result.outputs["incident_id"])]["properties"][
            "priority"
        ]
        == "P1"
    )


def test_unknown_priority_lists_the_accounts_priorities(sandbox):
    sb = sandbox
    result = run_action(ACTION, inputs_for(sb, port_context=None, priority="SEV-9"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "Input 'priority': 'SEV-9' is neither the ID nor the name" in error
    assert "P1, P2, P3, P4, P5" in error
    assert pd_writes(sb) == []


def test_an_oauth_token_with_pagerduty_auth_oauth_is_sent_as_bearer(sandbox):
    sb = sandbox
    sb.port.add_run("r_create1")
    inputs = inputs_for(sb, pagerduty_token=sb.pagerduty_oauth_token, pagerduty_auth="oauth")
    result = run_action(ACTION, inputs)
    assert result.returncode == 0, result.stdout + result.stderr
    auths = {r.headers["authorization"] for r in sb.requests.filter(server="pagerduty")}
    assert auths == {f"Bearer {sb.pagerduty_oauth_token}"}
    assert sb.pagerduty_oauth_token not in result.visible


def test_an_oauth_token_sent_as_an_api_key_fails_naming_pagerduty_auth(sandbox):
    sb = sandbox
    sb.port.add_run("r_create1")
    result = run_action(ACTION, inputs_for(sb, pagerduty_token=sb.pagerduty_oauth_token))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "HTTP 401" in error
    assert "pagerduty_token" in error
    assert "pagerduty_auth: oauth" in error
    assert sb.pagerduty_oauth_token not in result.visible
    assert sb.pagerduty.incidents == {}


def test_an_unknown_pagerduty_auth_is_an_input_error_before_any_request(sandbox):
    sb = sandbox
    result = run_action(ACTION, inputs_for(sb, pagerduty_auth="bearer"))
    assert result.returncode == 1
    (error,) = result.errors()
    assert "pagerduty_auth" in error
    assert "api_key, oauth" in error
    assert sb.requests.filter(server="pagerduty") == []
