"""Shared fixtures: a fresh set of simulators per test, and the helper modules on sys.path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pagerduty_port.masking import SECRETS


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """In-process tests share the secret registry; start each one clean."""
    SECRETS.clear()
    yield
    SECRETS.clear()


@pytest.fixture
def sandbox() -> Iterator[object]:
    from pagerduty_port.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb
