"""Run one operation: parse every input first, then act, and turn any failure into a clear
`::error` naming the endpoint and the input behind it, a line in the Port run log and exit
code 1. A watchdog ends the step at `timeout_minutes` even if a worker thread is stuck."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, replace

import requests

from .clients.http import RetryPolicy, new_session
from .clients.port import PortClient
from .errors import ActionError, ApiError, EventsError, InputError, PagerDutyError, PortError
from .github.inputs import Inputs
from .github.masking import SECRETS
from .github.report import REPORT_POLICY, Reporter, setup_logging
from .github.settings import OPERATION_ENV, read_common, read_timeout_minutes
from .operations.common import CommonSettings
from .operations.registry import OPERATION_NAMES, load_operation
from .operations.runtime import Operation, Runtime

log = logging.getLogger("pagerduty_port")

# After the deadline: how long the Port run may take to hear about it before the process ends.
DEADLINE_REPORT_SECONDS = 15.0

# Test knobs (documented in CONTRIBUTING.md), read here only: the fault tests use them to make
# a never-answering endpoint cost seconds instead of the production timeouts.
KNOB_HTTP_TIMEOUT = "PAGERDUTY_PORT_TEST_HTTP_TIMEOUT"  # connect and read timeout, seconds
KNOB_RETRY_BUDGET = "PAGERDUTY_PORT_TEST_RETRY_BUDGET"  # time budget of one request, seconds
KNOB_RETRY_BACKOFF = "PAGERDUTY_PORT_TEST_RETRY_BACKOFF"  # first backoff wait, seconds


@dataclass(frozen=True)
class Policies:
    """The retry policy of the operation's requests and the short one of Port run reporting."""

    requests: RetryPolicy
    reporting: RetryPolicy

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Policies:
        main, report = RetryPolicy(), REPORT_POLICY
        timeout = _knob(environ, KNOB_HTTP_TIMEOUT)
        if timeout is not None:
            main = replace(main, timeout=(timeout, timeout))
            report = replace(report, timeout=(timeout, timeout))
        budget = _knob(environ, KNOB_RETRY_BUDGET)
        if budget is not None:
            main = replace(main, budget=budget)
            report = replace(report, budget=min(report.budget, budget))
        backoff = _knob(environ, KNOB_RETRY_BACKOFF)
        if backoff is not None:
            main = replace(main, backoff=backoff)
            report = replace(report, backoff=min(report.backoff, backoff))
        return cls(main, report)


def _knob(environ: Mapping[str, str], name: str) -> float | None:
    value = environ.get(name)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InputError(name, f"got {value!r}; expected a number of seconds.") from None
    if not 0 < number < 3600:
        raise InputError(name, f"got {value!r}; expected seconds between 0 and 3600.")
    return number


def select_operation(environ: Mapping[str, str], inputs: Inputs) -> Operation:
    name = environ.get(OPERATION_ENV) or inputs.text("operation")
    if name in OPERATION_NAMES:
        return load_operation(name)
    expected = f"expected one of: {', '.join(OPERATION_NAMES)}."
    if not name:
        raise InputError("operation", f"is required; {expected}")
    raise InputError("operation", f"got {name!r}; {expected}")


def make_reporter(
    common: CommonSettings,
    session: requests.Session,
    environ: Mapping[str, str],
    policies: Policies,
) -> Reporter:
    port = None
    if common.port is not None:
        port = PortClient(
            session,
            common.port.base_url,
            common.port.client_id,
            common.port.client_secret,
            policy=policies.requests,
            on_secret=SECRETS.add,
        )
    return Reporter(
        port,
        common.run_id,
        report_status=common.report_status,
        environ=environ,
        log_policy=policies.reporting,
    )


def input_hint(exc: ActionError) -> str | None:
    """The input that points at the endpoint that failed, and what to check about it."""
    if not isinstance(exc, ApiError):
        return None
    status = exc.status
    broken = exc.unanswered or (status is not None and (status >= 500 or status in (408, 429)))
    if isinstance(exc, PortError):
        if status in (401, 403) and exc.path.endswith("/access_token"):
            return (
                "Check the inputs port_client_id and port_client_secret, and that "
                "port_base_url is your Port region (EU https://api.port.io, US "
                "https://api.us.port.io)."
            )
        if broken:
            return (
                "Check the input port_base_url: the Port API there did not answer or kept failing."
            )
        return None
    if isinstance(exc, EventsError):
        if status == 400 and "routing key" in str(exc).lower():
            return "Check the input routing_key."
        if broken or status == 404:
            return (
                "Check the input pagerduty_events_url: the Events API there did not answer "
                "or kept failing."
            )
        return None
    if isinstance(exc, PagerDutyError):
        if status == 401:
            return (
                "Check the input pagerduty_token. An OAuth or scoped OAuth token also needs "
                "pagerduty_auth: oauth (with the default, pagerduty_auth: api_key, it is sent "
                "as a REST API key)."
            )
        if status == 403:
            return "Check the input pagerduty_token (and its permissions)."
        if broken:
            return (
                "Check the input pagerduty_api_url: the PagerDuty API there did not answer "
                "or kept failing."
            )
    return None


def failure_reason(exc: ActionError) -> str:
    hint = input_hint(exc)
    return f"{exc} {hint}" if hint else str(exc)


class _Run:
    """One operation's run, on a worker thread the watchdog can abandon."""

    def __init__(self, environ: Mapping[str, str], inputs: Inputs, policies: Policies) -> None:
        self.environ = environ
        self.inputs = inputs
        self.policies = policies
        self.session = new_session()
        self.common: CommonSettings | None = None
        self.reporter: Reporter | None = None
        self.code = 1

    def execute(self, operation: Operation) -> None:
        try:
            assert self.common is not None
            settings = operation.parse(self.inputs, self.common)
            for message in self.inputs.deprecations:
                log.warning(message)
            self.reporter = make_reporter(self.common, self.session, self.environ, self.policies)
            runtime = Runtime(
                self.common,
                self.session,
                self.reporter,
                self.reporter.port,
                policy=self.policies.requests,
            )
            operation.run(settings, runtime)
            self.code = 0
        except ActionError as exc:
            self.report_failure(failure_reason(exc))
        except Exception as exc:
            log.debug(SECRETS.scrub(traceback.format_exc()))
            self.report_failure(f"Unexpected error ({type(exc).__name__}): {exc}")
        finally:
            self.session.close()

    def report_failure(self, reason: str) -> None:
        reporter = self.reporter
        common = self.common
        if reporter is None and common is not None and common.port and common.run_id:
            # An input error in an operation: PagerDuty got nothing, but the Port user should
            # still see why their run failed.
            reporter = make_reporter(common, self.session, self.environ, self.policies)
            assert reporter.port is not None  # common.port is set, so it has a Port client
            try:
                reporter.port.login(self.policies.reporting)
            except ActionError as exc:
                log.warning(f"Could not report the failure to Port: {exc}")
                reporter = None
        if reporter is None:
            reporter = Reporter(None, None, environ=self.environ)
        reporter.fail(reason)


def main(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    setup_logging(environ)
    inputs = Inputs(environ)
    try:
        policies = Policies.from_environ(environ)
    except ActionError as exc:
        Reporter(None, None, environ=environ).fail(str(exc))
        return 1
    run = _Run(environ, inputs, policies)
    try:
        operation = select_operation(environ, inputs)
        run.common = read_common(inputs, environ, cwd=os.getcwd())
        minutes = read_timeout_minutes(inputs, operation.name)
    except ActionError as exc:
        run.report_failure(str(exc))
        return 1
    worker = threading.Thread(target=run.execute, args=(operation,), name="operation", daemon=True)
    worker.start()
    worker.join(minutes * 60)
    if worker.is_alive():
        _deadline_passed(run, minutes)
    return run.code


def _deadline_passed(run: _Run, minutes: float) -> None:
    """Say so on GitHub at once, tell the Port run within a short bound, and end the process
    whatever the worker thread is stuck in."""
    reporter = run.reporter or Reporter(None, None, environ=run.environ)
    reason = reporter.fail_locally(
        f"The step did not finish within timeout_minutes ({minutes:g} min) and was stopped. "
        "Raise the input timeout_minutes if the operation needs longer; otherwise the log "
        "above shows the request it was waiting on."
    )
    notify = threading.Thread(target=reporter.fail_in_port, args=(reason,), daemon=True)
    notify.start()
    notify.join(DEADLINE_REPORT_SECONDS)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
