"""The container tier: the image built from the real Dockerfile runs each action as GitHub would.

Builds a Debian stand-in base and the project image with buildah (once per session, cached
between sessions, see tests/container_support.py), then runs the actions inside the image
against the local simulators. Skipped without root, buildah or debootstrap, unless
PAGERDUTY_PORT_REQUIRE_CONTAINER=1 (CI sets it), which turns the skip into a failure.

A few cheap static checks (no container) sit here too: they guard what the tier relies on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests
from packaging.requirements import Requirement

import container_support as cs

REQUIRE_ENV = "PAGERDUTY_PORT_REQUIRE_CONTAINER"
#: Every sub-action: each folder with an action.yml, so a new operation is covered unasked.
ACTION_DIRS = tuple(sorted(path.parent.name for path in cs.REPO_ROOT.glob("*/action.yml")))
OPERATION_ENV = "PAGERDUTY_PORT_OPERATION"

container = pytest.mark.container


@pytest.fixture(scope="session")
def image(request: pytest.FixtureRequest) -> str:
    """The project image id, built once per session (the base image is cached on disk)."""
    reasons = cs.missing_requirements()
    if reasons:
        message = "container tier unavailable: " + "; ".join(reasons)
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1 requires it)", pytrace=False)
        pytest.skip(message)
    # Show the build's progress and timings live (a cold build takes a minute or two).
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        return cs.project_image()


def _need_action(action_dir: str) -> None:
    if not cs.action_exists(action_dir):
        pytest.skip(f"{action_dir}/action.yml is not in the tree yet")


# `::add-mask::v`, or `::add-mask ::v` as github-action-utils writes it (empty properties).
_MASK = re.compile(r"^::add-mask( [^:]*)?::")


def _assert_no_secret_leaks(result: cs.Result, *secrets: str) -> None:
    """Secrets may appear only in `::add-mask::` commands, which the runner swallows."""
    visible = "\n".join(line for line in result.stdout.splitlines() if not _MASK.match(line))
    for secret in secrets:
        for where, text in (
            ("stdout", visible),
            ("stderr", result.stderr),
            ("outputs", json.dumps(result.outputs)),
            ("summary", result.summary),
        ):
            assert secret not in text, f"a secret shows in {where}\n{result.describe()}"


def _common_inputs(sb: Any, run_id: str) -> dict[str, str]:
    return {
        **sb.action_inputs(),
        "port_context": json.dumps({"run_id": run_id}),
    }


def _port_run_requests(sb: Any, run_id: str) -> list[Any]:
    return sb.requests.filter(server="port", path=f"/v1/actions/runs/{run_id}*")


# --------------------------------------------------------------------------------------------
# The image itself
# --------------------------------------------------------------------------------------------


@container
def test_image_config_follows_githubs_dockerfile_rules(image: str) -> None:
    config = cs.buildah().image_config(image)
    assert config.get("Entrypoint") == ["python3", "-m", "pagerduty_port"]
    assert not config.get("Cmd"), "a CMD would become arguments of every action"
    assert config.get("User") in (None, "", "root", "0"), "actions must run as root"
    assert config.get("WorkingDir") in (None, "", "/"), "GitHub sets --workdir itself"
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PIP_NO_CACHE_DIR"):
        assert env.get(name) == "1", name


@container
def test_image_has_the_package_and_its_pinned_dependencies(image: str) -> None:
    script = (
        "import importlib.metadata as m, sys, jq, yaml, requests, github_action_utils, "
        "pagerduty_port; print(sys.version_info[0], sys.version_info[1]); "
        "print(jq.compile('.a + 1').input_value({'a': 41}).first()); "
        "print('\\n'.join(f'{d.name}=={d.version}' for d in m.distributions()))"
    )
    proc = cs.run_in_image(["python3", "-c", script], image=image)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert tuple(map(int, lines[0].split())) >= (3, 11)
    assert lines[1] == "42"
    installed = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1] for line in lines[2:]
    }
    for name, version in _pins().items():
        assert installed.get(name) == version, f"{name}: image has {installed.get(name)}"


# Looks for the simulators and the demo in the image: each module it can import, each
# console script on PATH, each installed distribution or entry point that names them.
_PRODUCT_ONLY_PROBE = """
import importlib, importlib.metadata as m, json, shutil
found = []
for name in ("pagerduty_port_sandbox", "pagerduty_port.sandbox"):  # today's, and the old home
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
    else:
        found.append(f"importable: {name}")
for script in ("pagerduty-port-demo", "pagerduty-port-sandbox"):
    if shutil.which(script):
        found.append(f"on PATH: {shutil.which(script)}")
for dist in m.distributions():
    if "sandbox" in dist.name.lower():
        found.append(f"installed: {dist.name}")
    for ep in dist.entry_points:
        if "sandbox" in ep.value:
            found.append(f"entry point of {dist.name}: {ep.name} = {ep.value}")
print(json.dumps(found))
"""


@container
def test_image_holds_the_product_only(image: str) -> None:
    """The simulators and the demo are for tests and newcomers, not for the action image."""
    proc = cs.run_in_image(["python3", "-c", _PRODUCT_ONLY_PROBE], image=image)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [], f"the image carries the simulators: {proc.stdout}"
    # The plain form of the same question, as a user would ask it.
    proc = cs.run_in_image(["python3", "-c", "import pagerduty_port_sandbox"], image=image)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ModuleNotFoundError: No module named 'pagerduty_port_sandbox'" in proc.stderr


@container
def test_entrypoint_starts_and_fails_cleanly_without_an_operation(image: str) -> None:
    """`python3 -m pagerduty_port` runs in the image, under the runner's environment."""
    if cs.action_exists("."):
        # The root action takes the operation as an input: leave it out.
        result = cs.run_action(".", {}, image=image)
    else:
        proc = cs.run_in_image(["python3", "-m", "pagerduty_port"], image=image)
        result = cs.Result(proc.returncode, proc.stdout, proc.stderr, {}, "")
    assert result.returncode == 1, result.describe()
    assert "No module named" not in result.stderr, result.describe()
    assert "Traceback" not in result.stdout + result.stderr, result.describe()
    assert "operation" in result.stdout + result.stderr, result.describe()


@container
@pytest.mark.parametrize("action_dir", ACTION_DIRS)
def test_each_sub_action_runs_its_operation_and_names_a_missing_input(
    image: str, action_dir: str
) -> None:
    """Each sub-action's runs.env selects its operation in the image: with no inputs (the runner
    passes the declared defaults) the step fails cleanly, naming an input of that action."""
    _, action = cs.load_action(action_dir)
    declared = set(action.get("inputs") or {})
    result = cs.run_action(action_dir, {}, image=image)
    assert result.returncode == 1, result.describe()
    assert "Traceback" not in result.stdout + result.stderr, result.describe()
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, result.describe()
    named = re.search(r"Input '([^']+)'", errors[0])
    assert named, errors[0]
    assert named[1] in declared, (sorted(declared), errors[0])


# --------------------------------------------------------------------------------------------
# The actions, inside the image, against the simulators
# --------------------------------------------------------------------------------------------


@container
def test_create_incident_in_the_image(image: str) -> None:
    _need_action("create-incident")
    from pagerduty_port_sandbox import Sandbox

    with Sandbox() as sb:
        sb.port.add_run("r_container_create")
        title = "Checkout is down (container test) — ünïcode & 'quotes'"
        result = cs.run_action(
            "create-incident",
            {
                **_common_inputs(sb, "r_container_create"),
                "title": title,
                "from": sb.user_email,
                "service": sb.service_id,
                "urgency": "high",
            },
            image=image,
        )
        assert result.returncode == 0, result.describe()

        outputs = result.outputs
        incident_id = outputs.get("incident_id", "")
        assert incident_id in sb.pagerduty.incidents, result.describe()
        incident = sb.pagerduty.incidents[incident_id]
        assert incident["title"] == title
        assert incident["urgency"] == "high"
        assert outputs["incident_number"] == str(incident["incident_number"])
        assert outputs["incident_url"] == incident["html_url"]
        assert outputs["status"] == "triggered"
        assert outputs["entity_identifier"] == incident_id, result.describe()
        assert ("pagerdutyIncident", incident_id) in sb.port.entities, list(sb.port.entities)

        created = sb.requests.filter(server="pagerduty", method="POST", path="/incidents")
        assert len(created) == 1, created
        assert created[0].headers.get("from") == sb.user_email
        assert _port_run_requests(sb, "r_container_create"), "the Port run was not updated"

        assert f"| Incident | {incident_id} |" in result.summary, result.summary
        assert incident["html_url"] in result.summary, result.summary
        _assert_no_secret_leaks(result, sb.pagerduty_token, sb.port_client_secret)


@container
def test_trigger_incident_in_the_image(image: str) -> None:
    _need_action("trigger-incident")
    from pagerduty_port_sandbox import Sandbox

    with Sandbox() as sb:
        sb.port.add_run("r_container_trigger")
        result = cs.run_action(
            "trigger-incident",
            {
                **_common_inputs(sb, "r_container_trigger"),
                "routing_key": sb.routing_key,
                "summary": "Disk full on db-1 (container test)",
                "pagerduty_events_url": sb.events_url,
            },
            image=image,
        )
        assert result.returncode == 0, result.describe()
        events = [
            r.json
            for r in sb.requests.filter(server="events", method="POST")
            if isinstance(r.json, dict)
        ]
        triggers = [e for e in events if e.get("event_action") == "trigger"]
        assert len(triggers) == 1, events
        assert triggers[0]["routing_key"] == sb.routing_key
        assert triggers[0]["payload"]["summary"] == "Disk full on db-1 (container test)"
        assert result.outputs.get("dedup_key"), result.describe()
        assert result.outputs.get("status") == "success", result.describe()
        assert _port_run_requests(sb, "r_container_trigger"), "the Port run was not updated"
        assert result.summary.strip(), "no step summary"
        _assert_no_secret_leaks(result, sb.routing_key, sb.pagerduty_token, sb.port_client_secret)


@container
def test_escalate_in_the_image(image: str) -> None:
    _need_action("escalate")
    from pagerduty_port_sandbox import Sandbox

    with Sandbox() as sb:
        sb.port.add_run("r_container_escalate")
        # Open the incident straight through the simulated REST API, as PagerDuty's UI would.
        response = requests.post(
            f"{sb.pagerduty_url}/incidents",
            headers={
                "Authorization": f"Token token={sb.pagerduty_token}",
                "From": sb.user_email,
                "Accept": "application/vnd.pagerduty+json;version=2",
            },
            json={
                "incident": {
                    "type": "incident",
                    "title": "Latency spike (container test)",
                    "urgency": "high",
                    "service": {"id": sb.service_id, "type": "service_reference"},
                }
            },
            timeout=30,
        )
        assert response.status_code == 201, response.text
        incident_id = response.json()["incident"]["id"]
        sb.requests.clear()

        result = cs.run_action(
            "escalate",
            {
                **_common_inputs(sb, "r_container_escalate"),
                "incident_id": incident_id,
                "urgency": "low",
                "from": sb.user_email,
            },
            image=image,
        )
        assert result.returncode == 0, result.describe()
        assert sb.pagerduty.incidents[incident_id]["urgency"] == "low"
        changes = sb.requests.filter(
            server="pagerduty", method="PUT", path=f"/incidents/{incident_id}"
        )
        assert changes, "no PUT /incidents/{id}"
        assert all(r.headers.get("from") == sb.user_email for r in changes)
        assert result.outputs.get("incident_id") == incident_id, result.describe()
        assert result.outputs.get("urgency") == "low", result.describe()
        assert _port_run_requests(sb, "r_container_escalate"), "the Port run was not updated"
        assert result.summary.strip(), "no step summary"
        _assert_no_secret_leaks(result, sb.pagerduty_token, sb.port_client_secret)


# --------------------------------------------------------------------------------------------
# Static checks the tier relies on (no container needed)
# --------------------------------------------------------------------------------------------


def _pins() -> dict[str, str]:
    pins = {}
    for raw in (cs.REPO_ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"requirements.txt: not an exact pin: {raw!r}"
        pins[match[1].lower().replace("_", "-").replace(".", "-")] = match[2]
    return pins


def test_requirements_pin_every_dependency_of_pyproject() -> None:
    pyproject = tomllib.loads((cs.REPO_ROOT / "pyproject.toml").read_text())
    pins = _pins()
    for spec in pyproject["project"]["dependencies"]:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-").replace(".", "-")
        assert name in pins, f"requirements.txt does not pin {name}"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} does not satisfy pyproject's {spec!r}"
        )
    assert pins["jq"] == "1.13.0"
    assert pins["github-action-utils"] == "2.0.0"


def _docker_actions() -> list[Path]:
    found = []
    for folder in (".", *ACTION_DIRS):
        if cs.action_exists(folder):
            found.append((cs.REPO_ROOT / folder).resolve())
    return found


@pytest.mark.parametrize(
    "folder", _docker_actions(), ids=lambda p: p.relative_to(cs.REPO_ROOT.resolve()).as_posix()
)
def test_every_action_runs_the_root_dockerfile(folder: Path) -> None:
    path, action = cs.load_action(folder)
    runs = action["runs"]
    assert runs["using"] == "docker"
    assert (path / runs["image"]).resolve() == cs.DOCKERFILE.resolve()
    assert "args" not in runs, "runs.args quoting is fragile; use runs.env"
    assert "entrypoint" not in runs, "the image's ENTRYPOINT is the entry point"
    env = runs.get("env") or {}
    if path != cs.REPO_ROOT.resolve():
        assert env.get(OPERATION_ENV) == path.name, f"runs.env.{OPERATION_ENV}"
        assert "${{" not in json.dumps(env), "runs.env values are fixed"


def test_parse_file_command_reads_heredocs_and_plain_lines() -> None:
    text = (
        "plain=a=b\n"
        "multi<<ghadelimiter_1\nline 1\n\nline 3\nghadelimiter_1\n"
        "empty<<EOF\nEOF\n"
        'json<<X\n{"a": [1, 2]}\nX\n'
    )
    assert cs.parse_file_command(text) == {
        "plain": "a=b",
        "multi": "line 1\n\nline 3",
        "empty": "",
        "json": '{"a": [1, 2]}',
    }
    with pytest.raises(ValueError, match="not closed"):
        cs.parse_file_command("x<<END\nvalue\n")


def test_input_names_become_the_runners_variables() -> None:
    assert cs.input_env_name("pagerduty_token") == "INPUT_PAGERDUTY_TOKEN"
    assert cs.input_env_name("my-input") == "INPUT_MY-INPUT"
    assert cs.input_env_name("with space") == "INPUT_WITH_SPACE"


def test_dockerignore_keeps_the_context_to_what_the_dockerfile_copies() -> None:
    ignore = [
        line.strip()
        for line in (cs.REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", "the .dockerignore is an allow-list: it starts by excluding all"
    copied: set[str] = set()
    for line in cs.DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            copied.update(part.rstrip("/") for part in line.split()[1:-1])
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied, "the Dockerfile copies nothing?"
    assert copied <= allowed, f"COPY of files .dockerignore leaves out: {copied - allowed}"
