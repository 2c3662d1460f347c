"""What operations need from the layer above, as structural types: the GitHub layer's `Inputs`
and `Reporter` satisfy them without operations ever importing it.

Each operation's `parse` stays next to its settings and its `run` (one operation, one module);
it reads typed, validated values through `InputSource` and reports through `Progress`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

# What a JSON input may be: an object or an array, its members parsed JSON.
JsonT = TypeVar("JsonT", dict[str, Any], list[Any])


class InputSource(Protocol):
    """Named inputs, each validated on read; a bad one raises InputError naming it."""

    deprecations: list[str]

    def raw(
        self, name: str, aliases: Iterable[str] = (), *, declared_default: str | None = None
    ) -> str | None: ...

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        default: str | None = None,
        aliases: Iterable[str] = (),
        max_length: int | None = None,
        strip: bool = True,
    ) -> str | None: ...

    def required(self, name: str, **kwargs: Any) -> str: ...

    def secret(
        self, name: str, *, required: bool = False, aliases: Iterable[str] = ()
    ) -> str | None: ...

    def choice(
        self,
        name: str,
        choices: Iterable[str],
        *,
        default: str | None = None,
        aliases: Iterable[str] = (),
    ) -> str | None: ...

    def boolean(self, name: str, *, default: bool) -> bool: ...

    def integer(self, name: str, *, minimum: int | None = None) -> int | None: ...

    def number(self, name: str, *, default: float, minimum: float, maximum: float) -> float: ...

    def json_value(self, name: str, *, expect: type[JsonT], example: str) -> JsonT | None: ...

    def email(
        self, name: str, *, required: bool = False, aliases: Iterable[str] = ()
    ) -> str | None: ...

    def pagerduty_id(self, name: str, *, aliases: Iterable[str] = ()) -> str | None: ...

    def id_list(self, name: str) -> list[str]: ...

    def url(self, name: str, *, default: str, added_path: str = "") -> str: ...


class Progress(Protocol):
    """Where an operation says what it does: the log, the Port run, outputs and the summary."""

    @property
    def write_run_id(self) -> str | None:
        """The Port run id to attach to entity writes (None once the run has finished)."""
        ...

    def start(self, first_message: str) -> None:
        """Check the reporting channel (Port login, the run) before anything is changed."""
        ...

    def progress(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def link(self, url: str, status_label: str | None = None) -> None: ...

    def mask(self, value: str) -> None:
        """Treat `value` as a secret from now on (one an API handed back mid-run)."""
        ...

    def set_outputs(self, values: Mapping[str, Any]) -> None: ...

    def summary(self, markdown: str) -> None: ...

    def succeed(self, label: str) -> None: ...
