"""Markdown tables for the job summary, with cells that stay cells whatever the value holds."""

from __future__ import annotations

from typing import Any


def md_cell(value: Any) -> str:
    """A value safe inside a markdown table cell (no pipes, no line breaks)."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def table(rows: list[tuple[str, Any]]) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {md_cell(k)} | {md_cell(v)} |" for k, v in rows]
    return "\n".join(lines)
