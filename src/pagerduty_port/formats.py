"""Formats of values every layer checks: PagerDuty IDs and the email addresses of its users."""

from __future__ import annotations

import re

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PAGERDUTY_ID_RE = re.compile(r"^[A-Z0-9]{2,32}$")
