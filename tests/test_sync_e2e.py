"""The sync action end to end: `python -m pagerduty_port` in a fresh process with only INPUT_*
variables, against the PagerDuty and Port simulators (real HTTP, no patched clients)."""

from __future__ import annotations

import json
import math
import random
import re
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from actionrun import ActionResult, run_action
from pagerduty_port.catalogue.mapping import default_mapping_text, parse_mapping
from pagerduty_port.clients.http import new_session
from pagerduty_port.clients.pagerduty import PagerDutyClient
from pagerduty_port_sandbox import Sandbox

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OCEAN_APP_CONFIG = SHARED_DATA / "ocean-pagerduty-port-app-config.yaml"
INCIDENT = "pagerdutyIncident"


def sync(sb: Sandbox, workspace: Path | None = None, **inputs: str) -> ActionResult:
    base = sb.action_inputs()
    extra = {"GITHUB_WORKSPACE": str(workspace)} if workspace else None
    return run_action("sync", {**base, **inputs}, extra_env=extra, timeout=300)


def counts(result: ActionResult) -> dict[str, dict[str, int]]:
    return json.loads(result.outputs["summary"])


def entities(sb: Sandbox, blueprint: str) -> dict[str, dict]:
    return {i: e for (bp, i), e in sb.port.entities.items() if bp == blueprint}


def bulk_writes(sb: Sandbox, blueprint: str | None = None) -> list:
    writes = sb.requests.filter(server="port", method="POST", path="/v1/blueprints/*")
    writes = [r for r in writes if r.path.endswith("/entities/bulk")]
    if blueprint:
        writes = [r for r in writes if r.path == f"/v1/blueprints/{blueprint}/entities/bulk"]
    return writes


def deletes(sb: Sandbox) -> list:
    return [
        r
        for r in sb.requests.filter(server="port")
        if r.method == "DELETE" or r.path.endswith("/bulk/entities/delete")
    ]


def pagerduty_lists(sb: Sandbox, path: str) -> list:
    return sb.requests.filter(server="pagerduty", method="GET", path=path)


def seed_port_incident(sb: Sandbox, identifier: str) -> None:
    """An entity Port holds that PagerDuty no longer has: stale if a sync may delete it."""
    sb.port.entities[(INCIDENT, identifier)] = {
        "identifier": identifier,
        "title": "gone",
        "blueprint": INCIDENT,
        "properties": {"status": "resolved"},
        "relations": {},
    }


def assert_secrets_hidden(sb: Sandbox, result: ActionResult) -> None:
    for secret in (sb.pagerduty_token, sb.port_client_secret):
        assert secret not in result.visible


# The Done-when scenario ----------------------------------------------------------------------
def test_25000_incidents_500_services_and_schedules_within_the_request_budget(tmp_path):
    with Sandbox() as sb:
        pd = sb.pagerduty
        pd.seed_services(499)  # plus the seeded one
        users = pd.seed_users(30)
        pd.seed_schedules(40, users)
        pd.seed_incidents(25_000, spacing=timedelta(minutes=1), status=["resolved", "triggered"])
        n_services, n_schedules = len(pd.services), len(pd.schedules)

        result = sync(sb, kinds="services, incidents, schedules")
        assert result.returncode == 0, result.stdout[-3000:]
        assert_secrets_hidden(sb, result)
        summary = counts(result)
        assert summary["incidents"]["created"] == 25_000
        assert summary["services"]["created"] == n_services
        assert summary["schedules"]["created"] == n_schedules
        assert len(entities(sb, INCIDENT)) == 25_000
        assert set(entities(sb, INCIDENT)) == set(pd.incidents)
        assert set(entities(sb, "pagerdutyService")) == set(pd.services)
        assert set(entities(sb, "pagerdutySchedule")) == set(pd.schedules)

        # PagerDuty: ceil(items/100) list requests per kind, plus one per time slice, plus
        # the enrichment calls (on-calls and analytics per page of services, users once).
        incident_reads = pagerduty_lists(sb, "/incidents")
        slices = {(r.query["since"][0], r.query["until"][0]) for r in incident_reads}
        assert len(slices) > 1, "25,000 incidents must have been sliced past the offset cap"
        assert len(incident_reads) <= math.ceil(25_000 / 100) + len(slices)
        assert all(r.status == 200 for r in sb.requests.filter(server="pagerduty"))
        service_pages = math.ceil(n_services / 100)
        assert len(pagerduty_lists(sb, "/services")) == service_pages
        assert len(pagerduty_lists(sb, "/oncalls")) <= service_pages
        analytics = sb.requests.filter(server="pagerduty", path="/analytics/*")
        assert len(analytics) == service_pages
        assert len(pagerduty_lists(sb, "/schedules")) == math.ceil(n_schedules / 100)
        assert len(pagerduty_lists(sb, "/users")) == math.ceil(len(pd.users) / 100)
        # Port: at most ceil(items/20) bulk writes per kind, each within Port's limits.
        assert len(bulk_writes(sb, INCIDENT)) <= math.ceil(25_000 / 20)
        assert len(bulk_writes(sb, "pagerdutyService")) <= math.ceil(n_services / 20)
        assert len(bulk_writes(sb, "pagerdutySchedule")) <= math.ceil(n_schedules / 20)
        assert all(len(r.json["entities"]) <= 20 for r in bulk_writes(sb))
        assert all(len(r.body) <= 1024 * 1024 for r in bulk_writes(sb))

        # Each entity is the one the incident actions write for the same incident: they map
        # GET /incidents/{id} (with the mapping's includes) through the same resource.
        mapping = parse_mapping(default_mapping_text())
        (incidents,) = mapping.resources_for("incidents")
        client = PagerDutyClient(new_session(), sb.pagerduty_token, sb.pagerduty_url)
        for some_id in random.Random(5).sample(sorted(pd.incidents), 5):
            api_view = client.get_incident(some_id, include=mapping.includes("incidents"))
            ((_, expected),) = incidents.map_page([api_view]).entities
            held = sb.port.entities[(INCIDENT, some_id)]
            assert held["title"] == expected["title"]
            # Blueprint properties the sync does not map (last_event_*: webhooks) stay unset.
            written = {
                k: v
                for k, v in held["properties"].items()
                if k in expected["properties"] or v is not None
            }
            assert written == expected["properties"]
            assert held["relations"] == expected["relations"]

        # The second run over unchanged data writes nothing.
        before = len(bulk_writes(sb))
        again = sync(sb, kinds="services, incidents, schedules")
        assert again.returncode == 0, again.stdout[-3000:]
        assert len(bulk_writes(sb)) == before
        summary = counts(again)
        assert summary["incidents"]["unchanged"] == 25_000
        assert sum(c["created"] + c["updated"] for c in summary.values()) == 0
        assert "| incidents | 25,000 | 25,000 | 0 | 0 | 25,000 | 0 | 0 |" in again.summary


# Mappings ---------------------------------------------------------------------------------------
def test_default_mapping_syncs_every_kind_and_a_sync_after_an_action_writes_nothing(tmp_path):
    with Sandbox() as sb:
        created = run_action(
            "create-incident",
            {
                "title": "Checkout is down",
                "service": sb.service_id,
                "from": sb.user_email,
                **sb.action_inputs(),
            },
        )
        assert created.returncode == 0, created.stdout[-2000:]
        incident_id = created.outputs["incident_id"]
        written_by_action = dict(sb.port.entities[(INCIDENT, incident_id)])

        result = sync(sb)
        assert result.returncode == 0, result.stdout[-3000:]
        summary = counts(result)
        assert set(summary) == {
            "services",
            "incidents",
            "schedules",
            "oncalls",
            "escalation_policies",
            "users",
        }
        assert summary["incidents"] == {
            "read": 1,
            "selected": 1,
            "created": 0,
            "updated": 0,
            "unchanged": 1,
            "failed": 0,
            "deleted": 0,
        }
        assert bulk_writes(sb, INCIDENT) == []
        assert sb.port.entities[(INCIDENT, incident_id)] == written_by_action
        service = sb.port.entities[("pagerdutyService", sb.service_id)]
        assert service["properties"]["oncall"] == "bob@example.com"
        schedule = sb.port.entities[("pagerdutySchedule", sb.schedule_id)]
        assert set(schedule["properties"]["users"]) == {"bob@example.com", "alice@example.com"}
        assert entities(sb, "pagerdutyOncall")
        policy = sb.port.entities[("pagerdutyEscalationPolicy", sb.escalation_policy_id)]
        assert policy["properties"]["primaryOncall"] == "bob@example.com"
        assert sb.port.entities[("pagerdutyUser", sb.user_id)]["properties"]["email"] == (
            "alice@example.com"
        )
        assert "| incidents | 1 | 1 | 0 | 0 | 1 | 0 | 0 |" in result.summary


@pytest.mark.skipif(not OCEAN_APP_CONFIG.exists(), reason="../shared/data is not present")
def test_oceans_default_mapping_file_runs_unchanged(tmp_path):
    shutil.copy(OCEAN_APP_CONFIG, tmp_path / "port-app-config.yaml")
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(30, status=["triggered", "acknowledged", "resolved"])
        result = sync(
            sb, tmp_path, mapping="port-app-config.yaml", kinds="services,incidents,schedules"
        )
        assert result.returncode == 0, result.stdout[-3000:]
        summary = counts(result)
        assert (
            summary["incidents"]["created"] == 30
        )  # open ones by one resource, resolved by the other
        assert {
            r.query.get("statuses[]") and tuple(r.query["statuses[]"])
            for r in pagerduty_lists(sb, "/incidents")
        } == {("triggered", "acknowledged"), ("resolved",)}
        assert len(entities(sb, INCIDENT)) == 30
        service = sb.port.entities[("pagerdutyService", sb.service_id)]
        assert service["properties"]["oncall"] == "bob@example.com"
        assert service["properties"]["secondaryOncall"] == "carol@example.com"
        schedule = sb.port.entities[("pagerdutySchedule", sb.schedule_id)]
        assert set(schedule["properties"]["users"]) == {"bob@example.com", "alice@example.com"}


def test_a_jq_error_in_one_item_is_reported_and_the_rest_is_synced(tmp_path):
    mapping = """
resources:
  - kind: incidents
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .title
          blueprint: '"pagerdutyIncident"'
          properties:
            status: 'if .incident_number == 3 then error("no status") else .status end'
            description: 'env.INPUT_PAGERDUTY_TOKEN // $ENV.INPUT_PORT_CLIENT_SECRET // "none"'
"""
    (tmp_path / "mapping.yml").write_text(mapping)
    with Sandbox() as sb:
        ids = sb.pagerduty.seed_incidents(5)
        seed_port_incident(sb, "PSTALE1")
        result = sync(
            sb, tmp_path, mapping="mapping.yml", delete_stale=INCIDENT, deletion_threshold="1"
        )
        assert result.returncode == 1
        assert counts(result)["incidents"]["failed"] == 1
        assert counts(result)["incidents"]["created"] == 4
        third = next(i for i in ids if sb.pagerduty.incidents[i]["incident_number"] == 3)
        assert (INCIDENT, third) not in sb.port.entities
        errors = "\n".join(result.errors())
        assert "properties.status" in errors
        assert "no status" in errors
        assert third in errors
        assert "properties.status" in result.summary
        # jq saw an empty environment: no secret reached Port.
        descriptions = {
            e["properties"]["description"]
            for e in entities(sb, INCIDENT).values()
            if e["identifier"] != "PSTALE1"
        }
        assert descriptions == {"none"}
        # A failed run deletes nothing.
        assert (INCIDENT, "PSTALE1") in sb.port.entities
        assert deletes(sb) == []
        assert_secrets_hidden(sb, result)


# Failures ---------------------------------------------------------------------------------------
def test_a_pagerduty_failure_mid_read_fails_the_job_and_deletes_nothing():
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(450, spacing=timedelta(minutes=1))
        seed_port_incident(sb, "PSTALE1")
        sb.inject("pagerduty", "GET", r"^/incidents$", 403, after=2)
        result = sync(sb, kinds="incidents", delete_stale=INCIDENT, deletion_threshold="1")
        assert result.returncode == 1
        summary = counts(result)
        assert 0 < summary["incidents"]["created"] < 450
        assert "incomplete reads: incidents" in "\n".join(result.errors())
        assert "(incomplete read)" in result.summary
        assert (INCIDENT, "PSTALE1") in sb.port.entities
        assert deletes(sb) == []


def test_a_port_failure_mid_write_fails_the_job_and_deletes_nothing():
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(200, spacing=timedelta(minutes=1))
        seed_port_incident(sb, "PSTALE1")
        sb.inject("port", "POST", r"/entities/bulk$", 422, after=3)
        result = sync(sb, kinds="incidents", delete_stale=INCIDENT, deletion_threshold="1")
        assert result.returncode == 1
        summary = counts(result)["incidents"]
        assert summary["failed"] == 20
        assert summary["created"] == 180
        assert (INCIDENT, "PSTALE1") in sb.port.entities
        assert deletes(sb) == []
        assert "Port refused the bulk write" in result.summary


def test_entities_port_refuses_in_a_207_are_reported_by_identifier(tmp_path):
    mapping = """
resources:
  - kind: incidents
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"pagerdutyIncident"'
          properties:
            status: 'if .incident_number == 2 then 42 else .status end'
"""
    with Sandbox() as sb:
        ids = sb.pagerduty.seed_incidents(3)
        result = sync(sb, mapping=mapping)
        assert result.returncode == 1
        assert counts(result)["incidents"]["failed"] == 1
        second = next(i for i in ids if sb.pagerduty.incidents[i]["incident_number"] == 2)
        assert f"{INCIDENT}/{second}" in result.summary


def test_pagerduty_rate_limits_are_waited_out():
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(300, spacing=timedelta(minutes=1))
        sb.pagerduty.rate_limit_reset = 0
        sb.inject(
            "pagerduty", "GET", r"^/incidents$", 429, headers={"Retry-After": "0"}, times=2, after=1
        )
        result = sync(sb, kinds="incidents")
        assert result.returncode == 0, result.stdout[-2000:]
        assert counts(result)["incidents"]["created"] == 300
        assert [r.status for r in pagerduty_lists(sb, "/incidents")].count(429) == 2


# Stale entities ---------------------------------------------------------------------------------
def test_stale_entities_are_deleted_only_within_the_threshold_and_only_where_listed():
    with Sandbox() as sb:
        # One a day from 19.5 days ago to half a day ago: far from every window's edge.
        start = sb.pagerduty.now() - timedelta(days=19, hours=12)
        sb.pagerduty.seed_incidents(20, start=start, spacing=timedelta(days=1))
        assert sync(sb, kinds="incidents").returncode == 0
        assert len(entities(sb, INCIDENT)) == 20
        sb.port.entities[("pagerdutyService", "PNOTINPD")] = {
            "identifier": "PNOTINPD",
            "title": "from elsewhere",
            "blueprint": "pagerdutyService",
            "properties": {},
            "relations": {},
        }

        # 6 of 20 fall out of the window: 30% <= 50%, deleted (pagerdutyService not listed).
        result = sync(sb, kinds="incidents,services", incidents_since="14d", delete_stale=INCIDENT)
        assert result.returncode == 0, result.stdout[-2000:]
        assert counts(result)["incidents"]["deleted"] == 6
        assert len(entities(sb, INCIDENT)) == 14
        assert ("pagerdutyService", "PNOTINPD") in sb.port.entities

        # 11 of 14 would go: more than the threshold, so nothing is deleted, and the job fails
        # saying why (a warning alone goes unread on a schedule).
        result = sync(sb, kinds="incidents", incidents_since="3d", delete_stale=INCIDENT)
        assert result.returncode == 1
        assert "11 of 14 entities" in "\n".join(result.errors())
        assert counts(result)["incidents"]["deleted"] == 0
        assert len(entities(sb, INCIDENT)) == 14
        assert "more than deletion_threshold" in result.stdout
        assert "more than deletion_threshold" in result.summary


def test_dry_run_lists_every_change_and_writes_nothing():
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(10, spacing=timedelta(days=1))
        assert sync(sb, kinds="incidents").returncode == 0
        seed_port_incident(sb, "PSTALE1")
        sb.pagerduty.seed_incidents(3, spacing=timedelta(minutes=1))
        changed = next(iter(sb.pagerduty.incidents))
        sb.port.entities[(INCIDENT, changed)]["properties"]["status"] = "acknowledged"
        snapshot = {k: json.dumps(v, sort_keys=True) for k, v in sb.port.entities.items()}
        writes_before = len(bulk_writes(sb))

        result = sync(sb, kinds="incidents", dry_run="true", delete_stale=INCIDENT)
        assert result.returncode == 0, result.stdout[-2000:]
        summary = counts(result)["incidents"]
        assert (summary["created"], summary["updated"], summary["deleted"]) == (3, 1, 1)
        assert result.stdout.count(f"Would create {INCIDENT}/") == 3
        assert f"Would update {INCIDENT}/{changed}" in result.stdout
        assert f"Would delete {INCIDENT}/PSTALE1" in result.stdout
        assert len(bulk_writes(sb)) == writes_before
        assert deletes(sb) == []
        assert {k: json.dumps(v, sort_keys=True) for k, v in sb.port.entities.items()} == snapshot
        assert "dry run" in result.summary
        # A dry run says what it would do, never that it wrote or created anything.
        assert not re.search(r"\b(written|created|updated|deleted)\b", result.stdout)
        assert "Done: would create 3, would update 1, would delete 1" in result.stdout
        assert "would create" in result.summary


# Input validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("inputs", "name", "text"),
    [
        ({"deletion_threshold": "1.5"}, "deletion_threshold", "from 0 to 1"),
        ({"incidents_since": "last tuesday"}, "incidents_since", "ISO 8601"),
        ({"kinds": "pets"}, "kinds", "'pets'"),
        ({"mapping": "resources: [{kind: pets}]"}, "mapping", "'pets'"),
        (
            {
                "mapping": "resources:\n  - kind: users\n    port: {entity: {mappings: "
                "{identifier: '.id |', blueprint: '\"u\"'}}}"
            },
            "mapping",
            "does not compile",
        ),
        ({"mapping": "missing.yml"}, "mapping", "was not found"),
        ({"mapping": "a: [b"}, "mapping", "not valid YAML"),
        ({"delete_stale": "somethingElse"}, "delete_stale", "no resource of this run"),
    ],
)
def test_bad_inputs_fail_before_any_request(tmp_path, inputs, name, text):
    with Sandbox() as sb:
        result = sync(sb, tmp_path, **inputs)
        assert result.returncode == 1
        (error,) = result.errors()
        assert f"Input '{name}'" in error
        assert text in error
        assert Counter(r.server for r in sb.requests.all()) == Counter()


# Blueprints and credentials ---------------------------------------------------------------------
def test_missing_blueprints_fail_clearly_unless_create_blueprints_is_on():
    with Sandbox(port_blueprints=None) as sb:
        sb.pagerduty.seed_incidents(3)
        result = sync(sb, kinds="incidents,services")
        assert result.returncode == 1
        assert "does not exist in Port" in "\n".join(result.errors())
        assert bulk_writes(sb) == []

        result = sync(sb, kinds="incidents,services", create_blueprints="true")
        assert result.returncode == 0, result.stdout[-2000:]
        assert {"pagerdutyService", "pagerdutyIncident"} <= set(sb.port.blueprints)
        assert len(entities(sb, INCIDENT)) == 3
        created = [
            r.json["identifier"]
            for r in sb.requests.filter(server="port", method="POST", path="/v1/blueprints")
        ]
        assert created.index("pagerdutyService") < created.index("pagerdutyIncident")


def test_dry_run_works_without_port_credentials():
    with Sandbox() as sb:
        sb.pagerduty.seed_incidents(4)
        result = run_action(
            "sync",
            {
                "pagerduty_token": sb.pagerduty_token,
                "pagerduty_api_url": sb.pagerduty_url,
                "kinds": "incidents",
                "dry_run": "true",
            },
        )
        assert result.returncode == 0, result.stdout[-2000:]
        assert counts(result)["incidents"]["created"] == 4
        assert sb.requests.filter(server="port") == []


def test_a_wrong_token_stops_the_sync_at_once_naming_pagerduty_token():
    with Sandbox() as sb:
        result = sync(sb, pagerduty_token="not-a-real-token")
        assert result.returncode == 1
        (error,) = result.errors()
        assert "Check the input pagerduty_token" in error
        assert len(sb.requests.filter(server="pagerduty")) == 1  # not one per kind
        assert "not-a-real-token" not in result.visible


def test_an_unreachable_pagerduty_api_url_stops_the_sync_naming_it():
    with Sandbox() as sb:
        closed = sb.pagerduty_url.rsplit(":", 1)[0] + ":9"  # nothing listens on port 9
        result = sync(sb, pagerduty_api_url=closed, dry_run="true")
        assert result.returncode == 1
        (error,) = result.errors()
        assert "Check the input pagerduty_api_url" in error
        assert "Reading services" in result.stdout
        assert "Reading incidents" not in result.stdout  # stopped at the first kind
