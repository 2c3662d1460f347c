"""What all three simulators share: lifecycle, recording, fault injection, speed, `serve`."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from importlib import resources
from urllib.parse import urlsplit

import pytest
import requests

from pagerduty_port.clients.pagerduty import ACCEPT
from pagerduty_port_sandbox import SERVERS, Sandbox


def pd_headers(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Token token={sb.pagerduty_token}", "Accept": ACCEPT}


def port_token(sb: Sandbox, session: requests.Session | None = None) -> str:
    post = (session or requests).post
    response = post(
        sb.port_url + "/v1/auth/access_token",
        json={"clientId": sb.port_client_id, "clientSecret": sb.port_client_secret},
        timeout=5,
    )
    return response.json()["accessToken"]


# ---------------------------------------------------------------------- lifecycle
def test_three_servers_on_loopback_with_ephemeral_ports(sb: Sandbox) -> None:
    urls = [sb.pagerduty_url, sb.events_url, sb.port_url]
    assert len({urlsplit(u).port for u in urls}) == 3
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls)
    assert all(u.startswith("http://") for u in urls)
    assert len(sb.routing_key) == 32
    assert sb.routing_key.isalnum()
    assert sb.pagerduty_oauth_token.startswith("pd")
    assert sb.pagerduty.services[sb.service_id]["escalation_policy"]["id"] == (
        sb.escalation_policy_id
    )
    assert sb.pagerduty.user_by_email(sb.user_email) is not None
    assert sb.priority_id in sb.pagerduty.priorities
    assert set(sb.credentials()) >= {"pagerduty_url", "routing_key", "port_client_secret"}


def test_servers_stop_when_the_block_ends() -> None:
    with Sandbox(port_blueprints=None) as sandbox:
        url = sandbox.port_url
        assert requests.get(url + "/v1/blueprints", timeout=5).status_code == 401
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/v1/blueprints", timeout=2)


def test_two_sandboxes_are_independent() -> None:
    with Sandbox(port_blueprints=None) as one, Sandbox(port_blueprints=None) as two:
        assert one.pagerduty_url != two.pagerduty_url
        assert one.pagerduty_token != two.pagerduty_token
        response = requests.get(one.pagerduty_url + "/services", headers=pd_headers(two), timeout=5)
        assert response.status_code == 401


# ---------------------------------------------------------------------- recording
def test_every_request_is_recorded_with_its_status(sb: Sandbox) -> None:
    session = requests.Session()
    session.get(sb.pagerduty_url + "/services?limit=5", headers=pd_headers(sb), timeout=5)
    session.get(sb.pagerduty_url + "/services", timeout=5)
    session.post(sb.events_url + "/v2/enqueue", json={"routing_key": "x"}, timeout=5)
    token = port_token(sb, session)
    session.get(
        sb.port_url + "/v1/blueprints", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    recorded = sb.requests.all()
    assert [(r.server, r.method, r.path, r.status) for r in recorded] == [
        ("pagerduty", "GET", "/services", 200),
        ("pagerduty", "GET", "/services", 401),
        ("events", "POST", "/v2/enqueue", 400),
        ("port", "POST", "/v1/auth/access_token", 200),
        ("port", "GET", "/v1/blueprints", 200),
    ]
    first = recorded[0]
    assert first.query == {"limit": ["5"]}
    assert first.headers["accept"] == ACCEPT
    assert recorded[2].json == {"routing_key": "x"}
    assert sb.requests.filter(server="port", path="/v1/*") == recorded[3:]
    sb.requests.clear()
    assert sb.requests.all() == []


def test_requests_are_recorded_before_the_client_gets_the_answer(sb: Sandbox) -> None:
    session = requests.Session()
    for i in range(50):
        session.get(sb.pagerduty_url + "/services", headers=pd_headers(sb), timeout=5)
        assert len(sb.requests.all()) == i + 1


def test_the_request_log_is_readable_over_http(sb: Sandbox) -> None:
    requests.get(sb.pagerduty_url + "/services", headers=pd_headers(sb), timeout=5)
    log = requests.get(sb.port_url + "/__sandbox/requests", timeout=5).json()
    assert [(r["server"], r["path"], r["status"]) for r in log] == [("pagerduty", "/services", 200)]
    assert len(sb.requests.all()) == 1  # reading the log is not itself recorded


# ---------------------------------------------------------------------- fault injection
def test_injected_faults_are_fifo_counted_and_recorded(sb: Sandbox) -> None:
    sb.inject("pagerduty", "GET", r"^/incidents$", 429, headers={"Retry-After": "3"}, times=2)
    sb.inject("pagerduty", "GET", r"^/incidents$", 500, body={"error": {"message": "boom"}})
    session = requests.Session()
    responses = [
        session.get(sb.pagerduty_url + "/incidents", headers=pd_headers(sb), timeout=5)
        for _ in range(4)
    ]
    assert [r.status_code for r in responses] == [429, 429, 500, 200]
    assert responses[0].json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert responses[0].headers["Retry-After"] == "3"
    assert "ratelimit-limit" not in responses[0].headers  # only what the test asked for
    assert responses[2].json() == {"error": {"message": "boom"}}
    sb.inject("pagerduty", "GET", r"^/services$", 503)
    unavailable = session.get(sb.pagerduty_url + "/services", headers=pd_headers(sb), timeout=5)
    assert unavailable.json() == {"error": {"message": "Service Unavailable", "code": 2000}}
    assert [r.status for r in sb.requests.filter(server="pagerduty")] == [429, 429, 500, 200, 503]
    assert sb.pending_faults() == []


def test_faults_match_server_method_and_path(sb: Sandbox) -> None:
    sb.inject("port", "POST", r"/entities/bulk$", 503)
    token = port_token(sb)
    headers = {"Authorization": f"Bearer {token}"}
    blueprints = requests.get(sb.port_url + "/v1/blueprints", headers=headers, timeout=5)
    assert blueprints.status_code == 200
    pd = requests.get(sb.pagerduty_url + "/incidents", headers=pd_headers(sb), timeout=5)
    assert pd.status_code == 200
    assert len(sb.pending_faults("port")) == 1
    bulk = requests.post(
        sb.port_url + "/v1/blueprints/pagerdutyService/entities/bulk",
        json={"entities": [{"identifier": "PSVC"}]},
        headers=headers,
        timeout=5,
    )
    assert bulk.status_code == 503
    assert bulk.json() == {
        "ok": False,
        "error": "service_unavailable",
        "message": ("Service Unavailable"),
    }
    assert sb.port.entities == {}  # the fault replaced the request: nothing was written


def test_a_processed_fault_acts_but_loses_the_answer(sb: Sandbox) -> None:
    sb.inject("pagerduty", "POST", r"^/incidents$", 502, process=True)
    body = {
        "incident": {
            "type": "incident",
            "title": "Lost answer",
            "service": {"id": sb.service_id, "type": "service_reference"},
            "incident_key": "lost-1",
        }
    }
    headers = {**pd_headers(sb), "From": sb.user_email}
    url = sb.pagerduty_url + "/incidents"
    lost = requests.post(url, json=body, headers=headers, timeout=5)
    assert lost.status_code == 502
    assert len(sb.pagerduty.incidents) == 1  # PagerDuty did create it
    retry = requests.post(url, json=body, headers=headers, timeout=5)
    assert retry.status_code == 400  # the retry meets the incident_key de-duplication
    assert [r.status for r in sb.requests.filter(server="pagerduty")] == [502, 400]


def test_after_lets_some_matching_requests_through_first(sb: Sandbox) -> None:
    sb.inject("pagerduty", "GET", r"^/services$", 500, after=2)
    session = requests.Session()
    session.headers.update(pd_headers(sb))
    statuses = [session.get(sb.pagerduty_url + "/services").status_code for _ in range(4)]
    assert statuses == [200, 200, 500, 200]


def test_faults_with_any_method_and_text_bodies(sb: Sandbox) -> None:
    sb.inject("port", "*", r"^/v1/auth", 502, body="<html>bad gateway</html>")
    response = requests.post(sb.port_url + "/v1/auth/access_token", json={}, timeout=5)
    assert response.status_code == 502
    assert response.text == "<html>bad gateway</html>"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_clear_faults_and_reject_unknown_servers(sb: Sandbox) -> None:
    sb.inject("events", "POST", ".*", 500, times=5)
    sb.clear_faults()
    assert sb.pending_faults() == []
    with pytest.raises(ValueError, match="server"):
        sb.inject("jira", "GET", ".*", 500)
    with pytest.raises(ValueError, match="times"):
        sb.inject("port", "GET", ".*", 500, times=0)
    assert SERVERS == ("pagerduty", "events", "port")


# ---------------------------------------------------------------------- HTTP behaviour
def test_connections_are_kept_alive(sb: Sandbox) -> None:
    address = urlsplit(sb.pagerduty_url)
    assert address.hostname is not None
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=5)
    try:
        for _ in range(5):
            connection.request("GET", "/services", headers=pd_headers(sb))
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200
            length = response.getheader("Content-Length")
            assert length is not None
            assert int(length) == len(body)
            assert response.version == 11
        connection.request(
            "POST",
            "/incidents",
            body=b"{}",
            headers={**pd_headers(sb), "From": sb.user_email, "Content-Type": "application/json"},
        )
        assert connection.getresponse().read()
        sock = connection.sock
        connection.request("GET", "/services", headers=pd_headers(sb))
        connection.getresponse().read()
        assert connection.sock is sock  # still the same TCP connection
    finally:
        connection.close()


def test_servers_are_quiet(sb: Sandbox, capfd: pytest.CaptureFixture[str]) -> None:
    requests.get(sb.pagerduty_url + "/services", headers=pd_headers(sb), timeout=5)
    requests.get(sb.pagerduty_url + "/nothing", timeout=5)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_bulk_traffic_at_sync_volume(sb: Sandbox) -> None:
    """The sync's volume: ~300 PagerDuty pages and ~1,300 Port bulk upserts all answered
    (how fast is measured by benchmarks/, not asserted here)."""
    sb.pagerduty.seed_incidents(26_000)
    pd = requests.Session()
    pd.headers.update(pd_headers(sb))
    for offset in range(0, 30_000, 100):
        params: dict[str, str | int] = {"date_range": "all", "limit": 100, "offset": offset % 9_900}
        response = pd.get(sb.pagerduty_url + "/incidents", params=params)
        assert response.status_code == 200
    port = requests.Session()
    port.headers["Authorization"] = f"Bearer {port_token(sb, port)}"
    url = sb.port_url + "/v1/blueprints/pagerdutyIncident/entities/bulk"
    for batch in range(1_300):
        entities = [
            {
                "identifier": f"Q{batch:04d}{i:02d}",
                "title": "Incident",
                "properties": {"status": "resolved", "urgency": "high"},
                "relations": {"pagerdutyService": sb.service_id},
            }
            for i in range(20)
        ]
        response = port.post(
            url,
            json={"entities": entities},
            params={"upsert": "true", "merge": "true", "create_missing_related_entities": "true"},
        )
        assert response.status_code == 200
    assert len(sb.port.entities) == 26_001


# ---------------------------------------------------------------------- blueprint files
def test_blueprint_files_are_valid_port_blueprints() -> None:
    folder = resources.files("pagerduty_port").joinpath("blueprints")
    files = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    assert files == [
        "pagerdutyEscalationPolicy.json",
        "pagerdutyIncident.json",
        "pagerdutyOncall.json",
        "pagerdutySchedule.json",
        "pagerdutyService.json",
        "pagerdutyUser.json",
    ]
    identifiers = {name.removesuffix(".json") for name in files}
    for name in files:
        blueprint = json.loads(folder.joinpath(name).read_text(encoding="utf-8"))
        assert blueprint["identifier"] == name.removesuffix(".json")
        assert blueprint["title"]
        assert blueprint["icon"] == "pagerduty"
        assert set(blueprint["schema"]) == {"properties", "required"}
        for prop in blueprint["schema"]["properties"].values():
            assert prop["type"] in ("string", "number", "boolean", "object", "array")
            assert prop["title"]
        for relation in blueprint["relations"].values():
            assert relation["target"] in identifiers
            assert set(relation) == {"title", "target", "required", "many"}


# ---------------------------------------------------------------------- serve
def test_serve_prints_credentials_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pagerduty_port_sandbox.serve", "--run-id", "r_container"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        for key in (
            "pagerduty_url",
            "events_url",
            "port_url",
            "pagerduty_token",
            "routing_key",
            "port_client_id",
            "port_client_secret",
            "service_id",
            "user_email",
        ):
            assert info[key], key
        assert info["run_ids"] == ["r_container"]
        sandbox_like = requests.post(
            info["events_url"] + "/v2/enqueue",
            json={
                "routing_key": info["routing_key"],
                "event_action": "trigger",
                "payload": {"summary": "from outside", "source": "ci", "severity": "info"},
            },
            timeout=5,
        )
        assert sandbox_like.status_code == 202
        token = requests.post(
            info["port_url"] + "/v1/auth/access_token",
            json={"clientId": info["port_client_id"], "clientSecret": info["port_client_secret"]},
            timeout=5,
        ).json()["accessToken"]
        run = requests.get(
            info["port_url"] + "/v1/actions/runs/r_container",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert run.json()["run"]["status"] == "IN_PROGRESS"
        log = requests.get(info["pagerduty_url"] + "/__sandbox/requests", timeout=5).json()
        assert [r["server"] for r in log] == ["events", "port", "port"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
