"""Reading the settings every operation shares from the inputs and the runner's environment,
once, before any request."""

from __future__ import annotations

from collections.abc import Mapping

from ..clients.pagerduty import AUTH_METHODS, PAGERDUTY_API_URL, AuthMethod
from ..clients.port import PORT_API_URL
from ..errors import InputError
from ..operations.common import CommonSettings, GitHubRun, PortCredentials
from .context import RUN_ID_RE, parse_port_context
from .inputs import Inputs

OPERATION_ENV = "PAGERDUTY_PORT_OPERATION"


def read_common(inputs: Inputs, environ: Mapping[str, str], *, cwd: str) -> CommonSettings:
    """Parse and validate the inputs every action shares; raise InputError on the first bad one.
    `environ` is the runner's environment and `cwd` the directory a relative `mapping` path
    falls back to without GITHUB_WORKSPACE; both come from the entrypoint."""
    client_id = inputs.secret("port_client_id", aliases=("portClientId",))
    client_secret = inputs.secret("port_client_secret", aliases=("portClientSecret",))
    port_base_url = inputs.url("port_base_url", default=PORT_API_URL, added_path="/v1")
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
        github=read_github_run(environ),
        mapping_input=inputs.text("mapping", strip=False),
        workspace=environ.get("GITHUB_WORKSPACE") or cwd,
        legacy_blueprint=read_legacy_blueprint(inputs),
        pagerduty_auth=read_pagerduty_auth(inputs),
    )


def read_pagerduty_auth(inputs: Inputs) -> AuthMethod:
    """`pagerduty_auth`: how PagerDuty is to read pagerduty_token (a REST API key by default)."""
    chosen = inputs.choice("pagerduty_auth", AUTH_METHODS, default="api_key")
    return next(method for method in AUTH_METHODS if method == chosen)


def read_github_run(environ: Mapping[str, str]) -> GitHubRun:
    return GitHubRun(
        server_url=environ.get("GITHUB_SERVER_URL") or None,
        repository=environ.get("GITHUB_REPOSITORY") or None,
        run_id=environ.get("GITHUB_RUN_ID") or None,
        job=environ.get("GITHUB_JOB") or None,
    )


def read_legacy_blueprint(inputs: Inputs) -> str | None:
    """The deprecated `blueprint` input: the mapping names the blueprint now."""
    blueprint = inputs.text("blueprint", aliases=("blueprintIdentifier",))
    if blueprint is not None:
        inputs.deprecations.append(
            "Input 'blueprint' is deprecated and has no effect: the mapping names the blueprint."
        )
    return blueprint


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
