"""Settings every operation shares, parsed once from the environment before any request."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ..catalogue.mapping import MappingConfig, load_mapping
from ..clients.pagerduty import AUTH_METHODS, PAGERDUTY_API_URL, AuthMethod
from ..clients.port import PORT_API_URL
from ..errors import InputError
from .context import RUN_ID_RE, PortContext, parse_port_context
from .inputs import Inputs

SERVICE_BLUEPRINT = "pagerdutyService"
OPERATION_ENV = "PAGERDUTY_PORT_OPERATION"


@dataclass(frozen=True)
class PortCredentials:
    client_id: str
    client_secret: str
    base_url: str


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

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GitHubRun:
        return cls(
            server_url=environ.get("GITHUB_SERVER_URL") or None,
            repository=environ.get("GITHUB_REPOSITORY") or None,
            run_id=environ.get("GITHUB_RUN_ID") or None,
            job=environ.get("GITHUB_JOB") or None,
        )


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


def read_common(inputs: Inputs, environ: Mapping[str, str] | None = None) -> CommonSettings:
    """Parse and validate the inputs every action shares; raise InputError on the first bad one."""
    environ = os.environ if environ is None else environ
    client_id = inputs.secret("port_client_id", aliases=("portClientId",))
    client_secret = inputs.secret("port_client_secret", aliases=("portClientSecret",))
    port_base_url = inputs.url("port_base_url", default=PORT_API_URL)
    if bool(client_id) != bool(client_secret):
        missing = "port_client_secret" if client_id else "port_client_id"
        raise InputError(
            missing, "is required when the other Port credential is given; set both or neither."
        )
    port = (
        PortCredentials(client_id, client_secret, port_base_url)
        if client_id and client_secret
        else None
    )
    context = parse_port_context(inputs.raw("port_context"), inputs.raw("port_payload"))
    run_id = inputs.text("port_run_id", aliases=("portRunId",)) or context.run_id
    if run_id is not None and not RUN_ID_RE.match(run_id):
        raise InputError("port_run_id", f"got {run_id!r}; expected a Port run id such as r_abc123.")
    token = inputs.secret("pagerduty_token", aliases=("token",))
    return CommonSettings(
        port=port,
        context=context,
        run_id=run_id,
        pagerduty_token=token,
        pagerduty_api_url=inputs.url("pagerduty_api_url", default=PAGERDUTY_API_URL),
        report_status=inputs.boolean("report_status", default=False),
        github=GitHubRun.from_environ(environ),
        mapping_input=inputs.text("mapping", strip=False),
        workspace=environ.get("GITHUB_WORKSPACE") or os.getcwd(),
        legacy_blueprint=read_legacy_blueprint(inputs),
        pagerduty_auth=read_pagerduty_auth(inputs),
    )


def read_pagerduty_auth(inputs: Inputs) -> AuthMethod:
    """`pagerduty_auth`: how PagerDuty is to read pagerduty_token (a REST API key by default)."""
    chosen = inputs.choice("pagerduty_auth", AUTH_METHODS, default="api_key")
    return next(method for method in AUTH_METHODS if method == chosen)


def read_legacy_blueprint(inputs: Inputs) -> str | None:
    """The deprecated `blueprint` input: the mapping names the blueprint now."""
    blueprint = inputs.text("blueprint", aliases=("blueprintIdentifier",))
    if blueprint is not None:
        inputs.deprecations.append(
            "Input 'blueprint' is deprecated and has no effect: the mapping names the blueprint."
        )
    return blueprint


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


# The whole step's deadline. Incident operations run while something is on fire: a stuck one
# must fail fast and say so. A sync of a large account legitimately takes longer.
TIMEOUT_MINUTES_DEFAULTS = {"sync": 60.0}
TIMEOUT_MINUTES_DEFAULT = 10.0
TIMEOUT_MINUTES_MAX = 360.0  # GitHub's own limit for a job


def read_timeout_minutes(inputs: Inputs, operation: str) -> float:
    """`timeout_minutes`: minutes, more than 0 (fractions allowed); defaults per operation."""
    default = TIMEOUT_MINUTES_DEFAULTS.get(operation, TIMEOUT_MINUTES_DEFAULT)
    minutes = inputs.number(
        "timeout_minutes", default=default, minimum=0.0, maximum=TIMEOUT_MINUTES_MAX
    )
    if minutes <= 0:
        raise InputError("timeout_minutes", f"got {minutes:g}; expected more than 0 minutes.")
    return minutes
