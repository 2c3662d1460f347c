"""Output for a terminal (the `pagerduty-port` command line): plain log lines instead of
workflow commands, and the job summary's Markdown as aligned plain-text tables."""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

from .masking import SECRETS

#: Set (to any non-empty value) in the environment `main` reads: output is for a terminal.
TERMINAL_ENV = "PAGERDUTY_PORT_TERMINAL"
_SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_PREFIX = {logging.ERROR: "error: ", logging.WARNING: "warning: ", logging.DEBUG: "debug: "}


class PlainHandler(logging.Handler):
    """Each record as one plain line on stderr, secrets scrubbed; levels as a short prefix."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = max((lvl for lvl in _PREFIX if record.levelno >= lvl), default=logging.DEBUG)
            prefix = "" if logging.INFO <= record.levelno < logging.WARNING else _PREFIX[level]
            stream = self._stream or sys.stderr
            stream.write(prefix + SECRETS.scrub(self.format(record)) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1]
    cells = re.split(r"(?<!\\)\|", inner)
    return [c.strip().replace("\\|", "|").replace("\\\\", "\\") for c in cells]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
    out = []
    for number, row in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
        if number == 0 and any(row):
            out.append("  ".join("-" * w for w in widths))
    return out


def plain_text(markdown: str) -> str:
    """The job summary's Markdown for a terminal: headings as lines, tables aligned, links as
    `text <url>`; anything else as it is."""
    out: list[str] = []
    table: list[list[str]] = []
    for raw in markdown.splitlines():
        line = _LINK.sub(r"\1 <\2>", raw)
        if line.startswith("|") and line.rstrip().endswith("|"):
            if not _SEPARATOR.match(line):
                table.append(_cells(line))
            continue
        if table:
            out += _table(table)
            table = []
        out.append(line.lstrip("#").strip() if line.startswith("#") else line)
    if table:
        out += _table(table)
    return "\n".join(out).strip("\n") + "\n"
