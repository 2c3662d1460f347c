"""Which incident an Events API event produced or changed: the Events API answers with a dedup
key only, so the incident is found by that key, polled for a bounded time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..clients.pagerduty import OPEN_STATUSES, PagerDutyClient

EVENT_STATUS = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}
POLL_WAITS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def _newest_first(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`created_at` has whole seconds; `incident_number` only grows, so it breaks the tie."""
    return sorted(
        incidents,
        key=lambda i: (str(i.get("created_at") or ""), int(i.get("incident_number") or 0)),
        reverse=True,
    )


def pick_incident(matches: list[dict[str, Any]], action: str) -> tuple[dict[str, Any] | None, bool]:
    """The incident an event with this key produced or changed, and whether it shows the event.

    A trigger joins the open incident with its key, or opens a new one when every earlier
    incident with that key is resolved: either way its incident is the newest open one, never a
    resolved one (which may be all that is visible while PagerDuty is still processing).
    """
    ordered = _newest_first(matches)
    if action == "trigger":
        opened = next((i for i in ordered if i.get("status") in OPEN_STATUSES), None)
        return opened, opened is not None
    newest = ordered[0] if ordered else None
    applied = newest is not None and newest.get("status") in (EVENT_STATUS[action], "resolved")
    return newest, applied


def find_event_incident(
    client: PagerDutyClient,
    dedup_key: str,
    action: str,
    *,
    include: tuple[str, ...] = (),
    sleep: Callable[[float], None],
    warn: Callable[[str], None],
) -> dict[str, Any] | None:
    """Poll, a bounded number of times, for the incident the event produced (or changed)."""
    found: dict[str, Any] | None = None
    for wait in (0.0, *POLL_WAITS):
        if wait:
            sleep(wait)
        matches = client.find_incidents_by_key(dedup_key, include=include)
        found, applied = pick_incident(matches, action)
        if applied:
            return found
    if found is not None:
        warn(
            f"PagerDuty has not applied the {action} to incident {found['id']} yet; "
            "the catalogue shows its current status."
        )
    return found
