"""Shared fixtures: a fresh set of simulators per test, a crash check over every simulator a
test starts, and the helper modules on sys.path."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pagerduty_port.github.masking import SECRETS
from pagerduty_port_sandbox import Sandbox

pytest_plugins = ("pytester",)  # tests/test_crash_check.py runs the crash check in a sub-run


def simulator_crashes(sandboxes: Iterable[Sandbox]) -> str:
    """Every simulator handler crash in `sandboxes`, as one report ("" when there was none)."""
    traces = [trace for sb in sandboxes for trace in sb.errors]
    if not traces:
        return ""
    return f"{len(traces)} simulator handler crash(es):\n" + "\n".join(traces)


@pytest.fixture(autouse=True)
def _simulator_crash_check() -> Iterator[None]:
    """Fail the test if a handler crashed in any simulator it started, through the `sandbox`
    fixture or with `Sandbox()` directly: a crash is answered as a 500 that a client may retry
    or tolerate, so the test alone would not notice."""
    started: list[Sandbox] = []
    with Sandbox.watch(started.append):
        yield
    report = simulator_crashes(started)
    if report:
        pytest.fail(report, pytrace=False)


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """In-process tests share the secret registry; start each one clean."""
    SECRETS.clear()
    yield
    SECRETS.clear()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh set of simulators (the autouse crash check covers it)."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """The same simulators under the short name the simulator tests use."""
    return sandbox
