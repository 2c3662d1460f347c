"""What every operation is given besides its own inputs: Port credentials, the Port run's
context, where the step runs, the PagerDuty token and the catalogue's mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..catalogue.mapping import MappingConfig, load_mapping
from ..clients.pagerduty import AuthMethod
from ..errors import InputError

SERVICE_BLUEPRINT = "pagerdutyService"


@dataclass(frozen=True)
class PortCredentials:
    client_id: str
    client_secret: str
    base_url: str


@dataclass(frozen=True)
class PortContext:
    """Who and what a Port run is about. Every field is optional: actions also run outside Port."""

    blueprint: str | None = None
    entity: str | None = None  # the entity's identifier
    entity_data: dict[str, Any] = field(default_factory=dict)  # the whole entity, when Port sent it
    run_id: str | None = None
    relations: dict[str, Any] = field(default_factory=dict)

    def relation(self, name: str) -> str | None:
        """The single identifier a relation points at (the first one of a many-relation)."""
        value = self.relations.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = value.get("identifier")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class GitHubRun:
    """Where this step runs, to link back to it from PagerDuty and Port."""

    server_url: str | None
    repository: str | None
    run_id: str | None
    job: str | None

    @property
    def url(self) -> str | None:
        if self.server_url and self.repository and self.run_id:
            return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        return None


@dataclass(frozen=True)
class CommonSettings:
    port: PortCredentials | None  # None: run without Port
    context: PortContext
    run_id: str | None
    pagerduty_token: str | None
    pagerduty_api_url: str
    report_status: bool
    github: GitHubRun
    mapping_input: str | None = None  # the `mapping` input as given (None: the built-in one)
    workspace: str = "."  # where a mapping path is relative to
    legacy_blueprint: str | None = None  # the deprecated `blueprint` input
    pagerduty_auth: AuthMethod = "api_key"  # how pagerduty_token is sent

    @cached_property
    def mapping(self) -> MappingConfig:
        """What the catalogue holds: every entity written goes through it. Parsed on first use,
        in an operation's parse: a bad mapping is then an input error that the Port run also
        hears about, still before any request to PagerDuty."""
        return check_blueprint(
            load_mapping(self.mapping_input, self.workspace), self.legacy_blueprint
        )


def check_blueprint(mapping: MappingConfig, blueprint: str | None) -> MappingConfig:
    """`mapping`, unless the deprecated `blueprint` names another incident blueprint: silently
    writing elsewhere than the user asked would split their catalogue."""
    written = mapping.blueprints_of("incidents")
    if blueprint is None or not written or blueprint in written or None in written:
        return mapping
    raise InputError(
        "blueprint",
        f"is {blueprint!r}, but the mapping ({mapping.source}) writes incidents to "
        f"{', '.join(repr(b) for b in sorted(b for b in written if b))}. The mapping names "
        "the blueprint now: drop blueprint, or give a mapping whose incidents resource has "
        f"blueprint: '\"{blueprint}\"'.",
    )
