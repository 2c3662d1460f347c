"""One registry of secret values, so every output path can scrub them before printing."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, quote_plus

import github_action_utils as gha

MASK = "***"
_MIN_LENGTH = 4  # masking very short strings would garble unrelated text


class SecretRegistry:
    """Secrets seen by this process: masked in the runner as they appear, scrubbed from text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        # False on the command line: there is no runner to read ::add-mask::, and printing
        # it would put the secret on the terminal.
        self.announce = True

    def add(self, value: str | None) -> None:
        """Mask `value` in the runner's log; remember it and its encoded forms for scrubbing."""
        if not value or len(value) < _MIN_LENGTH:
            return
        forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}
        with self._lock:
            new = forms - self._values
            self._values |= forms
        if not self.announce:
            return
        for form in sorted(new):
            if "\n" in form or "\r" in form:
                for line in form.splitlines():
                    if len(line) >= _MIN_LENGTH:
                        gha.add_mask(line)
            else:
                gha.add_mask(form)

    def scrub(self, text: str) -> str:
        """`text` with each known secret replaced by ***, longest first so overlaps vanish whole."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def clear(self) -> None:
        """Forget every secret (tests run several actions in one process)."""
        with self._lock:
            self._values.clear()


SECRETS = SecretRegistry()
