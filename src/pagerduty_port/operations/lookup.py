"""Find PagerDuty users, escalation policies and priorities by what a Port user types: an ID,
an email or an exact name. Each failure names the input it came from."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..clients.pagerduty import PagerDutyClient
from ..errors import ActionError, PagerDutyError
from ..formats import EMAIL_RE


def user_by_email(client: PagerDutyClient, email: str) -> dict[str, Any] | None:
    """The user whose email is exactly `email` (case-insensitive), via GET /users?query=."""
    wanted = email.casefold()
    for page in client.iter_pages("/users", "users", [("query", email)]):
        for user in page:
            if str(user.get("email", "")).casefold() == wanted:
                return user
    return None


def get_object(
    client: PagerDutyClient, collection: str, kind: str, obj_id: str
) -> dict[str, Any] | None:
    """GET /<collection>/<id>, or None on 404."""
    try:
        data = client.request("GET", f"/{collection}/{quote(obj_id, safe='')}")
    except PagerDutyError as exc:
        if exc.status == 404:
            return None
        raise
    found: dict[str, Any] | None = data[kind]
    return found


def resolve_user(client: PagerDutyClient, value: str, input_name: str) -> dict[str, Any]:
    """A user given as an email or an ID; an unknown one is an error naming the input."""
    if EMAIL_RE.match(value):
        user = user_by_email(client, value)
        if user is None:
            raise ActionError(f"Input '{input_name}': no PagerDuty user has the email {value!r}.")
        return user
    user = get_object(client, "users", "user", value)
    if user is None:
        raise ActionError(f"Input '{input_name}': no PagerDuty user has the ID {value!r}.")
    return user


def resolve_policy(client: PagerDutyClient, value: str, input_name: str) -> dict[str, Any]:
    """An escalation policy given as an ID or an exact name."""
    policy = get_object(client, "escalation_policies", "escalation_policy", value)
    if policy is not None:
        return policy
    matches = [
        p
        for page in client.iter_pages(
            "/escalation_policies", "escalation_policies", [("query", value)]
        )
        for p in page
        if p.get("name") == value
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(str(p.get("id")) for p in matches)
        raise ActionError(
            f"Input '{input_name}': {len(matches)} escalation policies are named {value!r} "
            f"({ids}); give the ID."
        )
    raise ActionError(
        f"Input '{input_name}': {value!r} is neither the ID nor the exact name of an escalation "
        "policy in this PagerDuty account."
    )


def resolve_priority(client: PagerDutyClient, wanted: str) -> str:
    """The ID of priority `wanted`, given as an ID or as its name (P1, "SEV-1"...)."""
    priorities = [p for page in client.iter_pages("/priorities", "priorities") for p in page]
    for priority in priorities:
        if wanted == priority.get("id"):
            return wanted
    for priority in priorities:
        if wanted.casefold() == str(priority.get("name", "")).casefold():
            return str(priority["id"])
    names = ", ".join(str(p.get("name")) for p in priorities) or "none (priorities are off)"
    raise ActionError(
        f"Input 'priority': {wanted!r} is neither the ID nor the name of a priority in this "
        f"PagerDuty account; its priorities are: {names}."
    )
