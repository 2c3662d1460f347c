"""The PagerDuty REST simulator behaves like the real API, over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from pagerduty_port.clients.pagerduty import ACCEPT
from pagerduty_port_sandbox import Sandbox
from pagerduty_port_sandbox.common import iso_seconds


class PD:
    """A tiny client that sends what PagerDuty expects unless a test overrides it."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.session = requests.Session()
        self.headers = {
            "Authorization": f"Token token={sb.pagerduty_token}",
            "Accept": ACCEPT,
            "From": sb.user_email,
        }

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        headers = {k: v for k, v in headers.items() if v is not None}
        return self.session.request(method, self.sb.pagerduty_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.post("/incidents", json=incident_body(self.sb, **fields))
        assert response.status_code == 201, response.text
        return response.json()["incident"]


def incident_body(sb: Sandbox, **fields: Any) -> dict[str, Any]:
    incident = {
        "type": "incident",
        "title": "Checkout is down",
        "service": {"id": sb.service_id, "type": "service_reference"},
        "urgency": "high",
        "body": {"type": "incident_body", "details": "500s everywhere"},
    }
    incident.update(fields)
    return {"incident": {k: v for k, v in incident.items() if v is not None}}


@pytest.fixture
def pd(sb: Sandbox) -> PD:
    return PD(sb)


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


# ---------------------------------------------------------------------- auth and headers
def test_api_key_and_oauth_token_authenticate(sb: Sandbox, pd: PD) -> None:
    assert pd.get("/services").status_code == 200
    bearer = pd.get("/services", headers={"Authorization": f"Bearer {sb.pagerduty_oauth_token}"})
    assert sb.pagerduty_oauth_token.startswith("pd")
    assert bearer.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "Token token=wrong", "Bearer wrong", "token", "Basic abc", "Bearer "],
)
def test_bad_credentials_get_401_with_code_2006(pd: PD, authorization: str | None) -> None:
    response = pd.get("/incidents", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert error_of(response)["code"] == 2006
    assert "ratelimit-limit" in response.headers


def test_token_auth_does_not_accept_the_oauth_token_and_vice_versa(sb: Sandbox, pd: PD) -> None:
    as_token = pd.get(
        "/services", headers={"Authorization": f"Token token={sb.pagerduty_oauth_token}"}
    )
    as_bearer = pd.get("/services", headers={"Authorization": f"Bearer {sb.pagerduty_token}"})
    assert (as_token.status_code, as_bearer.status_code) == (401, 401)


def test_the_versioned_accept_header_is_required(sb: Sandbox, pd: PD) -> None:
    missing = pd.get("/services", headers={"Accept": None})
    wrong = pd.get("/services", headers={"Accept": "application/json"})
    assert missing.status_code == wrong.status_code == 406
    assert "Accept" in error_of(wrong)["errors"][0]
    sb.pagerduty.require_accept_header = False
    assert pd.get("/services", headers={"Accept": None}).status_code == 200


def test_writes_need_a_json_content_type(pd: PD, sb: Sandbox) -> None:
    response = pd.post(
        "/incidents",
        data="incident=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


def test_invalid_json_is_a_400(pd: PD) -> None:
    response = pd.post("/incidents", data="{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert error_of(response)["code"] == 2001


def test_unknown_route_is_a_404_in_pagerdutys_shape(pd: PD) -> None:
    response = pd.get("/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["code"] == 2100


# ---------------------------------------------------------------------- rate limits
def test_every_response_carries_rate_limit_headers(sb: Sandbox, pd: PD) -> None:
    first = pd.get("/services")
    second = pd.get("/nothing-here")
    for response in (first, second):
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(
            k.lower() for k in response.headers
        )
    assert (
        int(second.headers["ratelimit-remaining"]) == int(first.headers["ratelimit-remaining"]) - 1
    )
    assert first.headers["ratelimit-limit"] == str(sb.pagerduty.rate_limit)


def test_exhausted_budget_answers_429_until_the_window_is_reset(sb: Sandbox, pd: PD) -> None:
    sb.pagerduty.rate_limit = 3
    sb.pagerduty.rate_limit_reset = 7
    statuses = [pd.get("/services").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = pd.get("/services")
    assert limited.status_code == 429
    assert limited.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert limited.headers["ratelimit-remaining"] == "0"
    assert limited.headers["ratelimit-reset"] == "7"
    # the budget is per token: the OAuth token still has its own
    bearer = pd.get("/services", headers={"Authorization": f"Bearer {sb.pagerduty_oauth_token}"})
    assert bearer.status_code == 200
    sb.pagerduty.reset_rate_limit()
    assert pd.get("/services").status_code == 200


def test_the_window_can_reopen_by_itself_after_some_429s(sb: Sandbox, pd: PD) -> None:
    sb.pagerduty.rate_limit = 1
    sb.pagerduty.rate_limit_resets_after_429s = 2
    statuses = [pd.get("/services").status_code for _ in range(5)]
    assert statuses == [200, 429, 429, 200, 429]


# ---------------------------------------------------------------------- creating incidents
def test_create_incident_returns_the_full_incident(sb: Sandbox, pd: PD) -> None:
    response = pd.post("/incidents", json=incident_body(sb, incident_key="deploy-42"))
    assert response.status_code == 201
    incident = response.json()["incident"]
    assert incident["id"] in sb.pagerduty.incidents
    assert incident["type"] == "incident"
    assert incident["status"] == "triggered"
    assert incident["title"] == incident["description"] == "Checkout is down"
    assert incident["summary"] == f"[#{incident['incident_number']}] Checkout is down"
    assert incident["urgency"] == "high"
    assert incident["incident_key"] == "deploy-42"
    assert incident["self"] == f"{sb.pagerduty_url}/incidents/{incident['id']}"
    assert incident["html_url"].startswith("https://")
    assert incident["html_url"].endswith(f".pagerduty.com/incidents/{incident['id']}")
    assert incident["service"]["id"] == sb.service_id
    assert incident["service"]["type"] == "service_reference"
    assert incident["service"]["summary"] == "Checkout API"
    assert {"self", "html_url"} <= set(incident["service"])
    assert incident["escalation_policy"]["id"] == sb.escalation_policy_id
    assert incident["escalation_policy"]["summary"] == "Default Escalation Policy"
    assert incident["priority"] is None
    assert incident["resolved_at"] is None
    assert incident["created_at"] == incident["updated_at"] == incident["last_status_change_at"]
    assert incident["created_at"].endswith("Z")
    assert incident["assigned_via"] == "escalation_policy"
    [assignment] = incident["assignments"]
    assert assignment["assignee"]["summary"] == "Bob Responder"  # on call for level 1
    assert assignment["assignee"]["type"] == "user_reference"
    assert {"id", "self", "html_url"} <= set(assignment["assignee"])
    assert assignment["at"] == incident["created_at"]
    entry = incident["first_trigger_log_entry"]
    assert entry["type"] == "trigger_log_entry_reference"
    assert entry["summary"]
    assert "body" not in incident


def test_incident_numbers_increase(pd: PD) -> None:
    first, second = pd.create(), pd.create(title="Again")
    assert second["incident_number"] == first["incident_number"] + 1
    assert first["id"] != second["id"]


def test_from_header_is_required_and_must_be_a_known_user(sb: Sandbox, pd: PD) -> None:
    missing = pd.post("/incidents", json=incident_body(sb), headers={"From": None})
    assert missing.status_code == 400
    assert '"From" header' in error_of(missing)["message"]
    unknown = pd.post("/incidents", json=incident_body(sb), headers={"From": "who@nowhere.dev"})
    assert unknown.status_code == 400
    assert error_of(unknown)["code"] == 2001
    assert "Requester User Not Found" in error_of(unknown)["errors"]
    case_insensitive = pd.post(
        "/incidents", json=incident_body(sb), headers={"From": sb.user_email.upper()}
    )
    assert case_insensitive.status_code == 201
    assert not [i for i in sb.pagerduty.incidents.values() if i["title"] != "Checkout is down"]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"type": "incident_reference"}, "incident.type"),
        ({"title": ""}, "title"),
        ({"service": {"id": "PNOPE00", "type": "service_reference"}}, "PNOPE00"),
        ({"service": "PI82QCL"}, "incident.service"),
        ({"urgency": "medium"}, "urgency"),
        ({"body": {"type": "incident_body", "details": {"a": 1}}}, "details"),
        ({"priority": {"id": "PNOPE00", "type": "priority_reference"}}, "priority"),
        (
            {"escalation_policy": {"id": "PNOPE00", "type": "escalation_policy_reference"}},
            "PNOPE00",
        ),
        ({"assignments": [{"assignee": {"id": "PNOPE00", "type": "user_reference"}}]}, "PNOPE00"),
        ({"incident_key": "k" * 256}, "incident_key"),
    ],
)
def test_invalid_incident_bodies_are_400s(
    sb: Sandbox, pd: PD, fields: dict[str, Any], fragment: str
) -> None:
    response = pd.post("/incidents", json=incident_body(sb, **fields))
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == 2001
    assert any(fragment in detail for detail in error["errors"]), error
    assert sb.pagerduty.incidents == {}


def test_missing_incident_object_is_a_400(pd: PD) -> None:
    assert pd.post("/incidents", json={"title": "flat"}).status_code == 400


def test_assignments_and_escalation_policy_cannot_be_combined(sb: Sandbox, pd: PD) -> None:
    response = pd.post(
        "/incidents",
        json=incident_body(
            sb,
            escalation_policy={
                "id": sb.escalation_policy_id,
                "type": "escalation_policy_reference",
            },
            assignments=[{"assignee": {"id": sb.user_id, "type": "user_reference"}}],
        ),
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == 2001


def test_direct_assignment_priority_and_escalation_policy(sb: Sandbox, pd: PD) -> None:
    direct = pd.create(assignments=[{"assignee": {"id": sb.user_id, "type": "user_reference"}}])
    assert direct["assigned_via"] == "direct_assignment"
    assert [a["assignee"]["id"] for a in direct["assignments"]] == [sb.user_id]
    prioritized = pd.create(priority={"id": sb.priority_id, "type": "priority_reference"})
    assert prioritized["priority"]["id"] == sb.priority_id
    assert prioritized["priority"]["summary"] == "P1"
    other_policy = sb.pagerduty.add_escalation_policy("Night", [[sb.escalation_user_id]])
    routed = pd.create(
        escalation_policy={"id": other_policy, "type": "escalation_policy_reference"}
    )
    assert routed["escalation_policy"]["id"] == other_policy
    assert [a["assignee"]["id"] for a in routed["assignments"]] == [sb.escalation_user_id]


def test_open_incident_with_the_same_key_is_rejected(sb: Sandbox, pd: PD) -> None:
    first = pd.create(incident_key="disk-full")
    duplicate = pd.post("/incidents", json=incident_body(sb, incident_key="disk-full"))
    assert duplicate.status_code == 400
    error = error_of(duplicate)
    assert error["code"] == 2001
    assert "Open incident with key 'disk-full' already exists" in error["errors"]
    # another service may use the same key
    other = sb.pagerduty.add_service("Billing", sb.escalation_policy_id)
    pd.create(incident_key="disk-full", service={"id": other, "type": "service_reference"})
    # once resolved, the key is free again
    resolved = pd.put(
        f"/incidents/{first['id']}",
        json={"incident": {"type": "incident_reference", "status": "resolved"}},
    )
    assert resolved.status_code == 200
    assert pd.create(incident_key="disk-full")["id"] != first["id"]


# ---------------------------------------------------------------------- reading one incident
def test_get_incident_includes_the_body_and_404s_in_pagerdutys_shape(sb: Sandbox, pd: PD) -> None:
    created = pd.create()
    response = pd.get(f"/incidents/{created['id']}")
    assert response.status_code == 200
    incident = response.json()["incident"]
    assert incident["body"] == {"type": "incident_body", "details": "500s everywhere"}
    assert incident["id"] == created["id"]
    missing = pd.get("/incidents/QNOTHERE")
    assert missing.status_code == 404
    assert error_of(missing) == {"message": "Not Found", "code": 2100}


def test_include_assignees_gives_full_users_with_email(sb: Sandbox, pd: PD) -> None:
    created = pd.create()
    listed = pd.get("/incidents", params={"include[]": ["assignees"]}).json()["incidents"]
    single = pd.get(f"/incidents/{created['id']}", params={"include[]": "assignees"}).json()
    for incident in (listed[0], single["incident"]):
        assignee = incident["assignments"][0]["assignee"]
        assert assignee["type"] == "user"
        assert assignee["email"] == "bob@example.com"
        assert assignee["name"] == "Bob Responder"
    plain = pd.get("/incidents").json()["incidents"][0]
    assert "email" not in plain["assignments"][0]["assignee"]


def test_include_first_trigger_log_entries_names_the_agent(sb: Sandbox, pd: PD) -> None:
    pd.create()
    plain = pd.get("/incidents").json()["incidents"][0]
    assert "agent" not in plain["first_trigger_log_entry"]
    full = pd.get("/incidents", params={"include[]": "first_trigger_log_entries"}).json()
    entry = full["incidents"][0]["first_trigger_log_entry"]
    assert entry["type"] == "trigger_log_entry"
    assert entry["agent"]["summary"] == "Alice Admin"
    assert entry["agent"]["type"] == "user_reference"
    assert entry["id"] == plain["first_trigger_log_entry"]["id"]


# ---------------------------------------------------------------------- updating incidents
def put_incident(pd: PD, incident_id: str, **fields: Any) -> requests.Response:
    return pd.put(
        f"/incidents/{incident_id}",
        json={"incident": {"type": "incident_reference", **fields}},
    )


def test_acknowledge_then_resolve(sb: Sandbox, pd: PD) -> None:
    incident = pd.create()
    acked = put_incident(pd, incident["id"], status="acknowledged")
    assert acked.status_code == 200
    body = acked.json()["incident"]
    assert body["status"] == "acknowledged"
    assert body["acknowledgements"][0]["acknowledger"]["id"] == sb.user_id
    assert body["last_status_change_by"]["id"] == sb.user_id
    resolved = put_incident(pd, incident["id"], status="resolved", resolution="Rolled back")
    body = resolved.json()["incident"]
    assert body["status"] == "resolved"
    assert body["resolved_at"] is not None
    assert body["assignments"] == []
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "resolved"


def test_resolved_incidents_reject_changes_but_reopen(sb: Sandbox, pd: PD) -> None:
    incident = pd.create()
    put_incident(pd, incident["id"], status="resolved")
    for fields in ({"status": "resolved"}, {"urgency": "low"}):
        response = put_incident(pd, incident["id"], **fields)
        assert response.status_code == 400
        assert "Incident Already Resolved" in error_of(response)["errors"]
    # PagerDuty's reference: setting a resolved incident to acknowledged reopens it, assigned
    # to the requester.
    reopened = put_incident(pd, incident["id"], status="acknowledged")
    assert reopened.status_code == 200
    body = reopened.json()["incident"]
    assert body["status"] == "acknowledged"
    assert body["resolved_at"] is None
    assert [a["assignee"]["id"] for a in body["assignments"]] == [sb.user_id]


def test_update_needs_from_and_a_valid_body(sb: Sandbox, pd: PD) -> None:
    incident = pd.create()
    no_from = pd.put(
        f"/incidents/{incident['id']}",
        json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
        headers={"From": None},
    )
    assert no_from.status_code == 400
    assert put_incident(pd, incident["id"], status="snoozed").status_code == 400
    assert put_incident(pd, incident["id"], urgency="urgent").status_code == 400
    untyped = pd.put(f"/incidents/{incident['id']}", json={"incident": {"status": "resolved"}})
    assert untyped.status_code == 400
    assert put_incident(pd, "QNOTHERE", status="resolved").status_code == 404
    assert sb.pagerduty.incidents[incident["id"]]["status"] == "triggered"


def test_escalation_level_reassigns_from_the_policy(sb: Sandbox, pd: PD) -> None:
    incident = pd.create()
    escalated = put_incident(pd, incident["id"], escalation_level=2)
    assert escalated.status_code == 200
    assignees = [a["assignee"]["id"] for a in escalated.json()["incident"]["assignments"]]
    assert assignees == [sb.escalation_user_id]
    for level in (0, 3, "2", True):
        response = put_incident(pd, incident["id"], escalation_level=level)
        assert response.status_code == 400, level
        assert "escalation_level" in error_of(response)["errors"][0]


def test_escalation_policy_change_restarts_at_its_first_level(sb: Sandbox, pd: PD) -> None:
    incident = pd.create()
    night = sb.pagerduty.add_escalation_policy("Night", [[sb.user_id], [sb.responder_id]])
    moved = put_incident(
        pd, incident["id"], escalation_policy={"id": night, "type": "escalation_policy_reference"}
    )
    body = moved.json()["incident"]
    assert body["escalation_policy"]["id"] == night
    assert [a["assignee"]["id"] for a in body["assignments"]] == [sb.user_id]
    unknown = put_incident(
        pd,
        incident["id"],
        escalation_policy={"id": "PNOPE00", "type": "escalation_policy_reference"},
    )
    assert unknown.status_code == 400
    assert error_of(unknown)["code"] == 2001


def test_urgency_title_priority_and_assignments_can_change(sb: Sandbox, pd: PD) -> None:
    incident = pd.create(priority={"id": sb.priority_id, "type": "priority_reference"})
    changed = put_incident(
        pd,
        incident["id"],
        urgency="low",
        title="Checkout is slow",
        priority=None,
        assignments=[{"assignee": {"id": sb.escalation_user_id, "type": "user_reference"}}],
    ).json()["incident"]
    assert changed["urgency"] == "low"
    assert changed["title"] == "Checkout is slow"
    assert changed["summary"].endswith("Checkout is slow")
    assert changed["priority"] is None
    assert changed["assigned_via"] == "direct_assignment"
    assert [a["assignee"]["id"] for a in changed["assignments"]] == [sb.escalation_user_id]


# ---------------------------------------------------------------------- listing incidents
def test_list_filters(sb: Sandbox, pd: PD) -> None:
    other = sb.pagerduty.add_service("Billing", sb.escalation_policy_id)
    a = pd.create(incident_key="a")
    b = pd.create(incident_key="b", service={"id": other, "type": "service_reference"})
    put_incident(pd, b["id"], status="acknowledged")

    def ids(**params: Any) -> list[str]:
        response = pd.get("/incidents", params=params)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["incidents"]]

    both = [i["id"] for i in sorted([a, b], key=lambda i: (i["created_at"], i["id"]))]
    assert ids() == both
    assert ids(**{"statuses[]": ["acknowledged"]}) == [b["id"]]
    assert ids(**{"statuses[]": ["triggered", "acknowledged"]}) == both
    assert ids(**{"service_ids[]": [other]}) == [b["id"]]
    assert ids(incident_key="a") == [a["id"]]
    assert ids(incident_key="zzz") == []
    assert ids(**{"user_ids[]": [sb.responder_id]}) == both
    assert ids(**{"urgencies[]": ["low"]}) == []
    assert ids(sort_by="created_at:desc") == both[::-1]
    assert ids(sort_by="incident_number:desc") == [b["id"], a["id"]]
    assert ids(time_zone="Europe/Paris") == both
    assert pd.get("/incidents", params={"statuses[]": "snoozed"}).status_code == 400


def test_default_window_is_the_last_30_days(sb: Sandbox, pd: PD) -> None:
    now = sb.pagerduty.now()
    old = sb.pagerduty.seed_incidents(3, start=now - timedelta(days=60), spacing=timedelta(days=1))
    recent = sb.pagerduty.seed_incidents(
        2, start=now - timedelta(days=2), spacing=timedelta(days=1)
    )

    def ids(**params: Any) -> list[str]:
        return [i["id"] for i in pd.get("/incidents", params=params).json()["incidents"]]

    assert ids() == recent
    assert ids(date_range="all") == old + recent
    since = iso_seconds(now - timedelta(days=61))
    until = iso_seconds(now - timedelta(days=58))
    assert ids(since=since, until=until) == old[:2]  # until is exclusive
    assert ids(since=iso_seconds(now - timedelta(days=59, hours=12))) == old[1:] + recent


def test_since_until_rules(sb: Sandbox, pd: PD) -> None:
    now = sb.pagerduty.now()
    too_wide = pd.get(
        "/incidents",
        params={"since": iso_seconds(now - timedelta(days=200)), "until": iso_seconds(now)},
    )
    assert too_wide.status_code == 400
    assert "6 months" in error_of(too_wide)["errors"][0]
    backwards = pd.get(
        "/incidents",
        params={"since": iso_seconds(now), "until": iso_seconds(now - timedelta(days=1))},
    )
    assert backwards.status_code == 400
    garbage = pd.get("/incidents", params={"since": "yesterday"})
    assert garbage.status_code == 400
    assert error_of(garbage)["code"] == 2004
    ok = pd.get("/incidents", params={"since": "2024-01-01", "until": "2024-06-30T00:00:00+02:00"})
    assert ok.status_code == 200


def test_classic_pagination(sb: Sandbox, pd: PD) -> None:
    ids = sb.pagerduty.seed_incidents(250, spacing=timedelta(seconds=1))
    first = pd.get("/incidents").json()
    assert (first["limit"], first["offset"], first["more"], first["total"]) == (25, 0, True, None)
    assert [i["id"] for i in first["incidents"]] == ids[:25]
    capped = pd.get("/incidents", params={"limit": 500, "offset": 100, "total": "true"}).json()
    assert capped["limit"] == 100
    assert capped["total"] == 250
    assert [i["id"] for i in capped["incidents"]] == ids[100:200]
    assert capped["more"] is True
    last = pd.get("/incidents", params={"limit": 100, "offset": 200}).json()
    assert len(last["incidents"]) == 50
    assert last["more"] is False
    beyond = pd.get("/incidents", params={"limit": 100, "offset": 400}).json()
    assert (beyond["incidents"], beyond["more"]) == ([], False)
    for params in ({"limit": 0}, {"offset": -1}, {"limit": "ten"}):
        assert pd.get("/incidents", params=params).status_code == 400


def test_offset_plus_limit_over_10000_is_a_400_with_code_2002(pd: PD) -> None:
    assert pd.get("/incidents", params={"offset": 9900, "limit": 100}).status_code == 200
    response = pd.get("/incidents", params={"offset": 9901, "limit": 100})
    assert response.status_code == 400
    assert error_of(response)["code"] == 2002
    assert pd.get("/users", params={"offset": 10000, "limit": 1}).status_code == 400


def test_ordering_is_stable_by_created_at_then_id(sb: Sandbox, pd: PD) -> None:
    start = sb.pagerduty.now() - timedelta(hours=1)
    same_second = sb.pagerduty.seed_incidents(30, start=start, spacing=timedelta(0))
    pages: list[str] = []
    for offset in range(0, 30, 7):
        page = pd.get("/incidents", params={"limit": 7, "offset": offset}).json()["incidents"]
        pages.extend(i["id"] for i in page)
    assert pages == sorted(same_second)


def test_seeding_tens_of_thousands_of_incidents(sb: Sandbox, pd: PD) -> None:
    ids = sb.pagerduty.seed_incidents(25_000, spacing=timedelta(seconds=30))
    assert len(set(ids)) == 25_000
    page = pd.get(
        "/incidents", params={"date_range": "all", "limit": 100, "offset": 9900, "total": "true"}
    ).json()
    assert page["total"] == 25_000
    assert [i["id"] for i in page["incidents"]] == ids[9900:10000]
    numbers = [sb.pagerduty.incidents[i]["incident_number"] for i in ids[:3]]
    assert numbers == [1, 2, 3]


def test_seeded_statuses_and_timings(sb: Sandbox, pd: PD) -> None:
    ids = sb.pagerduty.seed_incidents(3, status=["triggered", "acknowledged", "resolved"])
    triggered, acked, resolved = (sb.pagerduty.incidents[i] for i in ids)
    assert triggered["status"] == "triggered"
    assert [a["assignee"]["id"] for a in triggered["assignments"]] == [sb.responder_id]
    assert acked["status"] == "acknowledged"
    assert [a["acknowledger"]["id"] for a in acked["acknowledgements"]] == [sb.responder_id]
    assert resolved["status"] == "resolved"
    assert resolved["assignments"] == []
    assert resolved["resolved_at"] > resolved["created_at"]


# ---------------------------------------------------------------------- directory objects
def test_services_schedules_policies_users_teams_priorities(sb: Sandbox, pd: PD) -> None:
    services = pd.get("/services").json()
    assert set(services) == {"services", "limit", "offset", "more", "total"}
    [service] = services["services"]
    assert service["id"] == sb.service_id
    assert service["escalation_policy"]["id"] == sb.escalation_policy_id
    assert service["html_url"].endswith(f"/service-directory/{sb.service_id}")
    assert service["status"] == "active"

    [schedule] = pd.get("/schedules").json()["schedules"]
    assert schedule["id"] == sb.schedule_id
    assert schedule["time_zone"] == "Etc/UTC"
    assert schedule["description"]
    assert schedule["html_url"].endswith(f"/schedules/{sb.schedule_id}")
    assert [u["id"] for u in schedule["users"]] == [sb.responder_id, sb.user_id]
    assert schedule["users"][0]["type"] == "user_reference"

    [policy] = pd.get("/escalation_policies").json()["escalation_policies"]
    levels = [[t["id"] for t in rule["targets"]] for rule in policy["escalation_rules"]]
    assert levels == [[sb.schedule_id], [sb.escalation_user_id]]
    assert policy["escalation_rules"][0]["targets"][0]["type"] == "schedule_reference"
    assert policy["services"][0]["id"] == sb.service_id

    users = pd.get("/users").json()["users"]
    alice = next(u for u in users if u["id"] == sb.user_id)
    assert alice["email"] == sb.user_email
    assert alice["role"] == "admin"
    assert {"name", "time_zone", "html_url", "summary", "teams"} <= set(alice)
    assert pd.get("/users", params={"query": "carol"}).json()["users"][0]["name"] == (
        "Carol Escalation"
    )

    teams = pd.get("/teams").json()["teams"]
    assert [t["id"] for t in teams] == [sb.team_id]
    priorities = pd.get("/priorities").json()["priorities"]
    assert [p["name"] for p in priorities] == ["P1", "P2", "P3", "P4", "P5"]
    assert priorities[0]["id"] == sb.priority_id

    assert pd.get(f"/services/{sb.service_id}").json()["service"]["name"] == "Checkout API"
    assert pd.get(f"/users/{sb.user_id}").json()["user"]["email"] == sb.user_email
    assert pd.get("/services/PNOPE00").status_code == 404


def test_directory_lists_paginate_like_incidents(sb: Sandbox, pd: PD) -> None:
    sb.pagerduty.seed_users(60)
    first = pd.get("/users", params={"limit": 50}).json()
    second = pd.get("/users", params={"limit": 50, "offset": 50, "total": "true"}).json()
    assert first["more"] is True
    assert len(first["users"]) == 50
    assert second["more"] is False
    assert len(second["users"]) == 13
    assert second["total"] == 63
    ids = [u["id"] for u in first["users"] + second["users"]]
    assert len(set(ids)) == 63


def test_oncalls_filters_and_include_users(sb: Sandbox, pd: PD) -> None:
    oncalls = pd.get("/oncalls").json()["oncalls"]
    assert {(o["escalation_level"], o["user"]["id"]) for o in oncalls} == {
        (1, sb.responder_id),
        (2, sb.escalation_user_id),
    }
    scheduled = next(o for o in oncalls if o["escalation_level"] == 1)
    assert scheduled["schedule"]["id"] == sb.schedule_id
    assert scheduled["start"] < scheduled["end"]
    direct = next(o for o in oncalls if o["escalation_level"] == 2)
    assert (direct["schedule"], direct["start"], direct["end"]) == (None, None, None)

    other = sb.pagerduty.add_escalation_policy("Other", [[sb.user_id]])
    by_policy = pd.get("/oncalls", params={"escalation_policy_ids[]": [other]}).json()["oncalls"]
    assert [o["user"]["id"] for o in by_policy] == [sb.user_id]
    by_schedule = pd.get("/oncalls", params={"schedule_ids[]": [sb.schedule_id]}).json()
    assert [o["user"]["id"] for o in by_schedule["oncalls"]] == [sb.responder_id]
    with_users = pd.get(
        "/oncalls", params={"include[]": ["users"], "escalation_policy_ids[]": [other]}
    ).json()["oncalls"]
    assert with_users[0]["user"]["email"] == sb.user_email


def test_service_analytics(sb: Sandbox, pd: PD) -> None:
    now = sb.pagerduty.now()
    sb.pagerduty.seed_incidents(
        4,
        start=now - timedelta(days=3),
        spacing=timedelta(hours=1),
        ack_after=timedelta(minutes=2),
        resolve_after=timedelta(minutes=10),
    )
    quiet = sb.pagerduty.add_service("Quiet", sb.escalation_policy_id)
    response = pd.post(
        "/analytics/metrics/incidents/services",
        json={"filters": {"service_ids": [sb.service_id, quiet]}},
    )
    assert response.status_code == 200
    body = response.json()
    [row] = body["data"]  # services without incidents have no data
    assert row["service_id"] == sb.service_id
    assert row["service_name"] == "Checkout API"
    assert row["total_incident_count"] == 4
    assert row["mean_seconds_to_resolve"] == 600
    assert row["mean_seconds_to_first_ack"] == 120
    assert row["mean_seconds_to_engage"] == 120
    assert body["filters"] == {"service_ids": [sb.service_id, quiet]}
    sb.pagerduty.analytics[quiet] = {"mean_seconds_to_resolve": 42}
    rows = pd.post(
        "/analytics/metrics/incidents/services", json={"filters": {"service_ids": [quiet]}}
    ).json()["data"]
    assert rows[0]["mean_seconds_to_resolve"] == 42
    window = pd.post(
        "/analytics/metrics/incidents/services",
        json={"filters": {"created_at_start": iso_seconds(now - timedelta(days=1))}},
    ).json()["data"]
    assert [r["service_id"] for r in window] == [quiet]  # overrides always answer
    bad = pd.post("/analytics/metrics/incidents/services", json={"filters": {"service_ids": "x"}})
    assert bad.status_code == 400
