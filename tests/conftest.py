"""Shared fixtures: a fresh set of simulators per test, and the helper modules on sys.path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pagerduty_port.masking import SECRETS
from pagerduty_port_sandbox import Sandbox


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """In-process tests share the secret registry; start each one clean."""
    SECRETS.clear()
    yield
    SECRETS.clear()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh set of simulators; a handler that crashed inside them fails the test."""
    with Sandbox() as sb:
        yield sb
        assert sb.errors == [], "a simulator handler crashed:\n" + "\n".join(sb.errors)


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """The same simulators under the short name the simulator tests use."""
    return sandbox
