"""Where an action's progress goes: the GitHub log, the Port run, step outputs and the summary.

Every line passes through the secret registry first, so nothing printed can reveal a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import github_action_utils as gha

from ..clients.http import RetryPolicy
from ..clients.port import PortClient
from ..errors import ActionError, PortError
from .masking import SECRETS
from .terminal import TERMINAL_ENV, PlainHandler, plain_text

log = logging.getLogger("pagerduty_port")

FINISHED = ("SUCCESS", "FAILURE")


class WorkflowCommandHandler(logging.Handler):
    """Logging records as GitHub workflow commands (debug/warning/error), secrets scrubbed."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = SECRETS.scrub(self.format(record))
            if record.levelno >= logging.ERROR:
                gha.error(message)
            elif record.levelno >= logging.WARNING:
                gha.warning(message)
            elif record.levelno >= logging.INFO:
                gha.echo(defuse_commands(message))
            else:
                gha.debug(message)
        except Exception:
            self.handleError(record)


def defuse_commands(text: str) -> str:
    """Keep user-supplied text (a title, an API message) from being read as a workflow command."""
    return "\n".join(
        " " + line if line.lstrip().startswith("::") else line for line in text.split("\n")
    )


def setup_logging(environ: Mapping[str, str]) -> None:
    root = logging.getLogger("pagerduty_port")
    terminal = bool(environ.get(TERMINAL_ENV))
    root.handlers[:] = [PlainHandler() if terminal else WorkflowCommandHandler()]
    debug = environ.get("RUNNER_DEBUG") == "1" or environ.get("ACTIONS_STEP_DEBUG") == "true"
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False


# Reporting to Port is a side channel: a run log or a run patch that does not answer must not
# stall the operation it reports on, so these calls get a short budget of their own.
REPORT_POLICY = RetryPolicy(attempts=3, backoff=0.5, max_wait=2.0, budget=6.0, timeout=(3.0, 5.0))


class Reporter:
    """Progress for one run, mirrored to Port's run log when Port and a run id are known.

    Port is only ever told about progress; it is never told about its own failures. A run log
    line or a run patch that fails goes to the GitHub log with one warning, and that channel is
    not tried again in this run (a failed login closes both channels), so a Port that goes
    down costs at most one short `log_policy` budget per channel.
    """

    def __init__(
        self,
        port: PortClient | None,
        run_id: str | None,
        *,
        report_status: bool = False,
        environ: Mapping[str, str],
        log_policy: RetryPolicy = REPORT_POLICY,
    ) -> None:
        self.port = port
        self.run_id = run_id
        self.report_status = report_status
        self.environ = environ
        self.log_policy = log_policy
        self._port_log_ok = port is not None and run_id is not None
        self._port_patch_ok = port is not None and run_id is not None
        self._links: list[str] = []
        self.run_finished = False
        self.outputs: dict[str, str] = {}

    def start(self, first_message: str) -> None:
        """Log in to Port and look the run up, before anything else is changed.

        Both double as checks: bad credentials or a run Port does not know fail the step here,
        while PagerDuty is still untouched. A run that has already finished (a re-run of the
        workflow after Port marked it) still gets log lines, but no link, no status and no
        entity writes tied to it, which Port would refuse.
        """
        if self.port is None:
            log.info("Port credentials not given: skipping Port (no run log, no catalogue update).")
        else:
            try:
                self.port.login()
            except ActionError:
                self.port_down()  # the failure is reported to GitHub only: Port cannot take it
                raise
            if self.run_id is None:
                log.info("No Port run id (port_context.run_id or port_run_id): no run log.")
            else:
                self._check_run(self.port, self.run_id)
        self.progress(first_message)

    def port_down(self) -> None:
        """Stop writing to the Port run: Port itself is what failed."""
        self._port_log_ok = False
        self._port_patch_ok = False

    def _check_run(self, port: PortClient, run_id: str) -> None:
        try:
            status = port.get_run(run_id).get("status")
        except PortError as exc:
            if exc.unanswered:
                self.port_down()
            if exc.status == 404:
                raise ActionError(
                    f"Port has no action run {run_id}: {exc.reason}. Check the run id in "
                    "port_context / port_run_id, and that port_base_url is your Port region."
                ) from exc
            raise
        if status in FINISHED:
            self.run_finished = True
            log.warning(
                f"Port run {run_id} has already finished ({status}): its log gets this run's "
                "lines, but its link and status stay as they are and entities are written "
                "without the run id."
            )

    @property
    def write_run_id(self) -> str | None:
        """The run id to attach to entity writes: none once the run has finished."""
        return None if self.run_finished else self.run_id

    def progress(self, message: str) -> None:
        log.info(message)
        self._to_port(message)

    def warning(self, message: str) -> None:
        log.warning(message)
        self._to_port(f"Warning: {message}")

    def _to_port(self, message: str) -> None:
        if not self._port_log_ok:
            return
        assert self.port is not None
        assert self.run_id is not None
        try:
            self.port.add_run_log(self.run_id, SECRETS.scrub(message), policy=self.log_policy)
        except ActionError as exc:
            # Said once, to GitHub only: writing this warning to the run log would fail again.
            self._port_log_ok = False
            log.warning(
                f"Could not write to the Port run log; its lines go to this log only: {exc}"
            )

    def _patch_run(self, what: str, **fields: Any) -> None:
        if not self._port_patch_ok:
            return
        assert self.port is not None
        assert self.run_id is not None
        scrubbed = {k: _scrubbed(v) for k, v in fields.items()}
        try:
            self.port.update_run(self.run_id, policy=self.log_policy, **scrubbed)
        except ActionError as exc:
            self._port_patch_ok = False
            log.warning(f"Could not {what} (not tried again in this run): {exc}")

    def link(self, url: str, status_label: str | None = None) -> None:
        """Attach `url` to the Port run (each PATCH replaces the list, so keep them all)."""
        if url not in self._links:
            self._links.append(url)
        if self.run_finished:
            return
        self._patch_run(
            f"link the Port run to {url}", link=list(self._links), statusLabel=status_label
        )

    def mask(self, value: str) -> None:
        """Treat `value` as a secret from now on (a secret an API handed back mid-run)."""
        SECRETS.add(value)

    def set_outputs(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            text = SECRETS.scrub("" if value is None else str(value))
            self.outputs[name] = text
            if self.environ.get("GITHUB_OUTPUT"):
                gha.set_output(name, text)
            else:
                log.info(f"output {name}={text}")

    def summary(self, markdown: str) -> None:
        text = SECRETS.scrub(markdown)
        if self.environ.get(TERMINAL_ENV):  # the command line: the final table on stdout
            print("\n" + plain_text(text), end="", flush=True)
        elif self.environ.get("GITHUB_STEP_SUMMARY"):
            gha.append_job_summary(text)
        else:
            log.debug("job summary:\n" + text)

    def _set_status(self, status: str, label: str) -> None:
        """Mark the Port run SUCCESS/FAILURE, only when asked to and while it is still open."""
        if not self.report_status or self.run_finished:
            return
        self._patch_run(f"mark the Port run {status}", status=status, statusLabel=label)

    def succeed(self, label: str) -> None:
        self._set_status("SUCCESS", label)

    def fail(self, reason: str) -> None:
        """Print ::error, write the reason to the Port run, and mark it failed if asked to."""
        reason = self.fail_locally(reason)
        self.fail_in_port(reason)

    def fail_locally(self, reason: str) -> str:
        """The ::error line and the job summary; returns the reason, secrets scrubbed."""
        reason = SECRETS.scrub(reason)
        log.error(reason)
        quoted = "\n".join(f"> {line}" for line in reason.splitlines())
        self.summary(f"### Failed\n\n{quoted}\n")
        return reason

    def fail_in_port(self, reason: str) -> None:
        """The failure in the Port run (bounded by `log_policy`; skipped once Port is down)."""
        self._to_port(f"Failed: {SECRETS.scrub(reason)}")
        self._set_status("FAILURE", "Failed")


def _scrubbed(value: Any) -> Any:
    """A Port run field with every known secret replaced: strings, and the strings of a list."""
    if isinstance(value, str):
        return SECRETS.scrub(value)
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    return value
