"""What connect-webhooks sets up: the scope (the account, or services and teams), one Port
webhook identifier per scope item, and the settings parsed from the inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..catalogue.realtime.derive import Derived
from ..errors import InputError
from ..formats import PAGERDUTY_ID_RE

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9@_.+:\\/=-]+$")
MAX_IDENTIFIER = 30
SIGNATURE_HEADER = "X-PagerDuty-Signature"
TITLE = "PagerDuty (real time)"
DESCRIPTION = "PagerDuty v3 webhook events, set up by pagerduty-port connect-webhooks"


@dataclass(frozen=True)
class Scope:
    """One subscription filter: the account, a service or a team."""

    kind: str  # account | service | team
    id: str | None = None

    def filter(self) -> dict[str, Any]:
        if self.id is None:
            return {"type": "account_reference"}
        return {"type": f"{self.kind}_reference", "id": self.id}

    def identifier(self, base: str) -> str:
        return base if self.id is None else f"{base}-{self.kind}-{self.id}"

    def __str__(self) -> str:
        return "the whole account" if self.id is None else f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class ConnectSettings:
    base: str
    scopes: list[Scope]
    rotate_secret: bool
    disconnect: bool
    derived: Derived


def parse_scope(value: str | None) -> list[Scope]:
    if value is None:
        return [Scope("account")]
    scopes: list[Scope] = []
    for part in (p.strip() for p in re.split(r"[,\n\r]+", value)):
        if not part:
            continue
        kind, _, obj_id = part.partition(":")
        kind, obj_id = kind.strip().lower(), obj_id.strip()
        if kind not in ("service", "team") or not PAGERDUTY_ID_RE.match(obj_id):
            raise InputError(
                "scope",
                f"contains {part!r}; expected service:<ID> or team:<ID> (such as "
                "service:PABC123), separated by commas or newlines, or nothing for the whole "
                "account.",
            )
        if Scope(kind, obj_id) not in scopes:
            scopes.append(Scope(kind, obj_id))
    return scopes or [Scope("account")]
