"""README's first command: the demo runs every action against the simulators and succeeds."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_the_whole_flow():
    proc = subprocess.run(
        [sys.executable, "-m", "pagerduty_port_sandbox.demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "What Port received" in out
    assert "PagerDuty now holds 1 incident(s)." in out
    assert '"carol@example.com"' in out
    assert 'entity status now: "resolved"' in out
    assert "(Port run r_demo_6)" in out  # the note, tagged with its run
    assert "Created the override: Carol Escalation" in out
    assert "Created the PagerDuty service Payments API" in out
    assert "::error" not in out
