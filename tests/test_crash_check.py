"""The autouse crash check in conftest.py, run on purpose-built tests in a separate pytest
process (a crash provoked here would otherwise fail this very test)."""

from __future__ import annotations

from pathlib import Path

CRASHING_TESTS = '''
import requests

from pagerduty_port_sandbox import Sandbox


def crash(sb):
    """Break the state so that handling a trigger event raises inside the simulator."""
    sb.pagerduty.services[sb.service_id]["integrations"] = []
    event = {
        "routing_key": sb.routing_key,
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "x", "severity": "info"},
    }
    response = requests.post(sb.events_url + "/v2/enqueue", json=event, timeout=5)
    assert response.status_code == 500  # the test itself sees nothing wrong with that


def test_crash_in_a_sandbox_opened_directly():
    with Sandbox() as sb:
        crash(sb)


def test_crash_in_the_shared_fixture(sandbox):
    crash(sandbox)


def test_healthy_sandbox_opened_directly():
    with Sandbox() as sb:
        assert sb.errors == []
'''


def test_a_simulator_crash_fails_the_test_that_caused_it(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_crashing=CRASHING_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=3, errors=2)
    for name in ("test_crash_in_a_sandbox_opened_directly", "test_crash_in_the_shared_fixture"):
        result.stdout.fnmatch_lines(
            [
                f"*ERROR at teardown of {name}*",
                "1 simulator handler crash(es):",
                "Traceback (most recent call last):",
            ],
            consecutive=True,
        )
    result.stdout.no_fnmatch_line("*ERROR at teardown of test_healthy_sandbox_opened_directly*")
