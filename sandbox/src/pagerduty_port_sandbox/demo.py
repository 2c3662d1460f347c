"""`pagerduty-port-demo`: run the actions against local simulators and show what Port received.

Each step runs the real entrypoint in a fresh process with only INPUT_* variables, as the
GitHub runner would, so a newcomer sees the whole flow without any account.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from pagerduty_port.github.settings import OPERATION_ENV
from pagerduty_port_sandbox import Sandbox


def run_step(operation: str, inputs: dict[str, str]) -> tuple[int, dict[str, str]]:
    """Run one operation like the runner; returns its exit code and outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp, "output")
        output.touch()
        env = {"INPUT_" + k.upper(): v for k, v in inputs.items()}
        env |= {OPERATION_ENV: operation, "GITHUB_OUTPUT": str(output)}
        env["PATH"] = os.environ.get("PATH", "")
        proc = subprocess.run(
            [sys.executable, "-m", "pagerduty_port"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in proc.stdout.splitlines():
            if not line.startswith("::add-mask"):
                print(f"    | {line}")
        outputs: dict[str, str] = {}
        lines = output.read_text().splitlines()
        for i, line in enumerate(lines):
            if "<<" in line:
                name = line.split("<<", 1)[0]
                outputs[name] = lines[i + 1] if i + 1 < len(lines) else ""
        return proc.returncode, outputs


def show(title: str, value: Any) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    print(f"  {title}: {text}")


def main() -> int:
    with Sandbox() as sb:
        common = sb.action_inputs()
        run = sb.port.add_run("r_demo_create")
        context = {"blueprint": "pagerdutyService", "entity": sb.service_id, "run_id": run}
        print(f"1. A Port user runs 'Create incident' on service {sb.service_id} (run {run}).")
        code, outputs = run_step(
            "create-incident",
            {
                **common,
                "title": 'Checkout is failing: "payment declined" for every card',
                "from": sb.user_email,
                "port_context": json.dumps(context),
            },
        )
        if code != 0:
            print("create-incident failed", file=sys.stderr)
            return code
        incident_id = outputs["incident_id"]
        print("\n   What Port received:")
        show("run log", [entry["message"] for entry in sb.port.runs[run]["logs"]])
        show("run link", sb.port.runs[run].get("link"))
        show("entity", sb.port.entities[("pagerdutyIncident", incident_id)])

        print("\n2. The same Port run is retried: no second incident is opened.")
        run_step(
            "create-incident",
            {
                **common,
                "title": "Checkout is failing",
                "from": sb.user_email,
                "port_context": json.dumps(context),
            },
        )
        print(f"   PagerDuty now holds {len(sb.pagerduty.incidents)} incident(s).")

        run = sb.port.add_run("r_demo_escalate")
        print(f"\n3. The user escalates incident {incident_id} to level 2 (run {run}).")
        run_step(
            "escalate",
            {
                **common,
                "escalation_level": "2",
                "from": sb.user_email,
                "port_context": json.dumps(
                    {"blueprint": "pagerdutyIncident", "entity": incident_id, "run_id": run}
                ),
            },
        )
        entity = sb.port.entities[("pagerdutyIncident", incident_id)]
        show("entity assignees now", entity["properties"]["assignees"])

        print("\n4. A monitor triggers an event, then acknowledges and resolves it by dedup key.")
        code, outputs = run_step(
            "trigger-incident",
            {
                **common,
                "routing_key": sb.routing_key,
                "summary": "Disk 95% full on db-1",
                "pagerduty_events_url": sb.events_url,
            },
        )
        key = outputs.get("dedup_key", "")
        for action in ("acknowledge", "resolve"):
            run_step(
                "trigger-incident",
                {
                    **common,
                    "routing_key": sb.routing_key,
                    "event_action": action,
                    "dedup_key": key,
                    "pagerduty_events_url": sb.events_url,
                },
            )
        event_incident = outputs.get("incident_id")
        if event_incident:
            show(
                "entity status now",
                sb.port.entities[("pagerdutyIncident", event_incident)]["properties"]["status"],
            )
        lifecycle(sb, common, incident_id)
        print("\n11. Real time: connect-webhooks, then PagerDuty changes reach Port with no run.")
        code, outputs = run_step("connect-webhooks", common)
        show("subscription", outputs.get("subscription_id"))
        with sb.pagerduty.lock:
            live = sb.pagerduty.create_incident(service_id=sb.service_id, title="Queue backlog")
        live_key = ("pagerdutyIncident", live["id"])

        def port_status() -> Any:
            found = sb.port.entities.get(live_key)
            return found["properties"].get("status") if found else None

        def port_status_is(status: str) -> bool:
            return bool(port_status() == status)

        for status in ("triggered", "acknowledged", "resolved"):
            if status != "triggered":
                with sb.pagerduty.lock:
                    sb.pagerduty.set_status(live, status, sb.pagerduty.ref("user", sb.user_id))
            started = time.monotonic()
            sb.requests.wait_for(partial(port_status_is, status), 10)
            show(
                f"PagerDuty says {status}; Port entity after {time.monotonic() - started:.2f} s",
                port_status(),
            )
        print(f"\nDone: {len(sb.requests.all())} requests reached the simulators.")
    return 0


def lifecycle(sb: Sandbox, common: dict[str, str], incident_id: str) -> None:
    """The rest of an incident's life from Port: acknowledge, note, reassign, resolve; then
    change who is on call and create a service. Each step shows what Port received."""
    on_incident = {"blueprint": "pagerdutyIncident", "entity": incident_id}
    steps: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
        ("5", "acknowledges the incident", {"status": "acknowledged"}, on_incident),
        ("6", "adds a note", {"note": "Card processor returns 502s; failing over."}, on_incident),
        ("7", "reassigns it to Bob", {"assignees": "bob@example.com"}, on_incident),
        (
            "8",
            "resolves it with a resolution note",
            {"status": "resolved", "resolution": "Failed over to the backup processor."},
            on_incident,
        ),
    ]
    for number, what, given, where in steps:
        run = sb.port.add_run(f"r_demo_{number}")
        print(f"\n{number}. The user {what} (update-incident, run {run}).")
        run_step(
            "update-incident",
            {
                **common,
                **given,
                "from": sb.user_email,
                "port_context": json.dumps({**where, "run_id": run}),
            },
        )
        entity = sb.port.entities[("pagerdutyIncident", incident_id)]["properties"]
        show("entity now", {k: entity.get(k) for k in ("status", "assignees")})
        show("run log", [entry["message"] for entry in sb.port.runs[run]["logs"]][-2:])
    show("PagerDuty notes", [n["content"] for n in sb.pagerduty.notes.get(incident_id, [])])

    run = sb.port.add_run("r_demo_oncall")
    print(f"\n9. Carol takes the on-call shift for 4 hours (change-oncall, run {run}).")
    run_step(
        "change-oncall",
        {
            **common,
            "user": "carol@example.com",
            "start": "now",
            "end": "4h",
            "from": sb.user_email,
            "port_context": json.dumps(
                {"blueprint": "pagerdutySchedule", "entity": sb.schedule_id, "run_id": run}
            ),
        },
    )
    show(
        "on-call entities",
        [e["identifier"] for (bp, _), e in sb.port.entities.items() if bp == "pagerdutyOncall"],
    )

    run = sb.port.add_run("r_demo_service")
    print(f"\n10. The user creates a PagerDuty service (create-service, run {run}).")
    code, outputs = run_step(
        "create-service",
        {
            **common,
            "name": "Payments API",
            "escalation_policy": "Default Escalation Policy",
            "urgency": "high",
            "auto_resolve_timeout": "off",
            "port_context": json.dumps({"run_id": run}),
        },
    )
    if code == 0:
        show("entity", sb.port.entities[("pagerdutyService", outputs["service_id"])])


if __name__ == "__main__":
    sys.exit(main())
