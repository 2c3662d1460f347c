"""Run one operation: parse every input first, then act, and turn any failure into a clear
`::error`, a line in the Port run log and exit code 1."""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Mapping

import requests

from .errors import ActionError, InputError
from .http import new_session
from .inputs import Inputs
from .masking import SECRETS
from .operations.base import Operation, Runtime
from .operations.connect_webhooks import OPERATION as CONNECT_WEBHOOKS
from .operations.create_incident import OPERATION as CREATE_INCIDENT
from .operations.escalate import OPERATION as ESCALATE
from .operations.sync import OPERATION as SYNC
from .operations.trigger_incident import OPERATION as TRIGGER_INCIDENT
from .port import PortClient
from .report import Reporter, setup_logging
from .settings import OPERATION_ENV, CommonSettings, read_common

log = logging.getLogger("pagerduty_port")

OPERATIONS: dict[str, Operation] = {
    op.name: op for op in (CREATE_INCIDENT, TRIGGER_INCIDENT, ESCALATE, SYNC, CONNECT_WEBHOOKS)
}


def select_operation(environ: Mapping[str, str], inputs: Inputs) -> Operation:
    name = environ.get(OPERATION_ENV) or inputs.text("operation")
    if name in OPERATIONS:
        return OPERATIONS[name]
    expected = f"expected one of: {', '.join(OPERATIONS)}."
    if not name:
        raise InputError("operation", f"is required; {expected}")
    raise InputError("operation", f"got {name!r}; {expected}")


def make_reporter(
    common: CommonSettings, session: requests.Session, environ: Mapping[str, str]
) -> Reporter:
    port = None
    if common.port is not None:
        port = PortClient(
            session, common.port.base_url, common.port.client_id, common.port.client_secret
        )
    reporter = Reporter(port, common.run_id, report_status=common.report_status, environ=environ)
    if port is not None:
        port.on_retry = reporter.progress
    return reporter


def main(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    setup_logging(environ)
    inputs = Inputs(environ)
    reporter: Reporter | None = None
    common: CommonSettings | None = None
    session = new_session()
    try:
        operation = select_operation(environ, inputs)
        common = read_common(inputs, environ)
        settings = operation.parse(inputs, common)
        for message in inputs.deprecations:
            log.warning(message)
        reporter = make_reporter(common, session, environ)
        operation.run(settings, Runtime(common, session, reporter, reporter.port))
    except ActionError as exc:
        _report_failure(str(exc), reporter, common, session, environ)
        return 1
    except Exception as exc:
        log.debug(SECRETS.scrub(traceback.format_exc()))
        _report_failure(
            f"Unexpected error ({type(exc).__name__}): {exc}", reporter, common, session, environ
        )
        return 1
    finally:
        session.close()
    return 0


def _report_failure(
    reason: str,
    reporter: Reporter | None,
    common: CommonSettings | None,
    session: requests.Session,
    environ: Mapping[str, str],
) -> None:
    if reporter is None and common is not None and common.port and common.run_id:
        # An input error in an operation: PagerDuty got nothing, but the Port user should
        # still see why their run failed.
        reporter = make_reporter(common, session, environ)
        try:
            reporter.port.login()  # type: ignore[union-attr]
        except ActionError as exc:
            log.warning(f"Could not report the failure to Port: {exc}")
            reporter = None
    if reporter is None:
        reporter = Reporter(None, None, environ=environ)
    reporter.fail(reason)
