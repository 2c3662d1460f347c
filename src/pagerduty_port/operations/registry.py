"""Every operation by the name the action passes (PAGERDUTY_PORT_OPERATION, the `operation`
input, the command line's first word), imported only when chosen: a step runs one operation,
and importing the others would only slow its start."""

from __future__ import annotations

from importlib import import_module

from .runtime import Operation

#: name -> module in this package that defines `OPERATION`, in the order users meet them.
MODULES = {
    "create-incident": "create_incident",
    "trigger-incident": "trigger_incident",
    "escalate": "escalate",
    "update-incident": "update_incident",
    "change-oncall": "change_oncall",
    "create-service": "create_service",
    "sync": "sync",
    "connect-webhooks": "connect_webhooks",
}
OPERATION_NAMES = tuple(MODULES)


def load_operation(name: str) -> Operation:
    """The operation called `name` (one of OPERATION_NAMES)."""
    operation: Operation = import_module(f"{__package__}.{MODULES[name]}").OPERATION
    return operation
