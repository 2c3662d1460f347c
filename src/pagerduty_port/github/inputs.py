"""Action inputs read exactly as the runner passes them, each validated with a message naming it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import InputError
from ..formats import EMAIL_RE, PAGERDUTY_ID_RE
from ..operations.protocols import JsonT
from .masking import SECRETS

TRUE_SPELLINGS = ("true", "True", "TRUE")
FALSE_SPELLINGS = ("false", "False", "FALSE")


def parse_json(name: str, value: str, *, expect: type[JsonT], example: str) -> JsonT:
    """Parse input `name` as a JSON object (`dict`) or array (`list`), naming it on failure."""
    kind = "object" if expect is dict else "array"
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise InputError(
            name, f"is not valid JSON ({exc}); expected a JSON {kind} such as {example}."
        ) from None
    if not isinstance(parsed, expect):
        raise InputError(
            name, f"is JSON {type(parsed).__name__}; expected a JSON {kind} such as {example}."
        )
    return parsed


def env_name(name: str) -> str:
    """The variable the runner sets for input `name`: upper-cased, spaces to `_`, hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


class Inputs:
    """Typed access to `INPUT_*` variables; an empty string means the input was not given."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        # Warnings about the inputs (deprecated names, trimmed URLs), logged once parsed.
        self.deprecations: list[str] = []

    def raw(
        self, name: str, aliases: Iterable[str] = (), *, declared_default: str | None = None
    ) -> str | None:
        """The input's value, or the first deprecated alias that was given, else None.

        `port-context` is accepted as well as `port_context`: the runner passes an input under
        the name the workflow used (hyphens kept), declared or not. The runner also passes an
        input's `declared_default` when the workflow did not set it, so a given alias wins
        over a value equal to that default.
        """
        value = self._environ.get(env_name(name), "")
        kebab = name.replace("_", "-")
        if kebab != name:
            other = self._environ.get(env_name(kebab), "")
            if value == "":
                value = other
            elif other not in ("", value):
                raise InputError(
                    name,
                    f"given both as '{name}' and as '{kebab}' with different values; "
                    "keep only one.",
                )
        for alias in aliases:
            alias_value = self._environ.get(env_name(alias), "")
            if alias_value == "":
                continue
            if value in ("", declared_default):
                self.deprecations.append(f"Input '{alias}' is deprecated; use '{name}' instead.")
                value = alias_value
            elif alias_value != value:
                raise InputError(
                    name,
                    f"given both as '{name}' and as its deprecated alias '{alias}' with "
                    "different values; keep only one.",
                )
        return value if value != "" else None

    def text(
        self,
        name: str,
        *,
        required: bool = False,
        default: str | None = None,
        aliases: Iterable[str] = (),
        max_length: int | None = None,
        strip: bool = True,
    ) -> str | None:
        value = self.raw(name, aliases, declared_default=default)
        if value is not None and strip:
            value = value.strip() or None
        if value is None:
            if required:
                raise InputError(name, "is required but was not given.")
            return default
        if max_length is not None and len(value) > max_length:
            raise InputError(
                name, f"is {len(value)} characters long; at most {max_length} are allowed."
            )
        return value

    def required(self, name: str, **kwargs: Any) -> str:
        value = self.text(name, required=True, **kwargs)
        assert value is not None
        return value

    def secret(
        self, name: str, *, required: bool = False, aliases: Iterable[str] = ()
    ) -> str | None:
        """Like `text`, and masks the value at once so nothing printed later can reveal it."""
        value = self.raw(name, aliases)
        if value is not None:
            SECRETS.add(value)
            value = value.strip() or None
            SECRETS.add(value)
        if value is None and required:
            raise InputError(name, "is required but was not given.")
        return value

    def choice(
        self,
        name: str,
        choices: Iterable[str],
        *,
        default: str | None = None,
        aliases: Iterable[str] = (),
    ) -> str | None:
        options = list(choices)
        value = self.text(name, aliases=aliases)
        if value is None:
            return default
        if value not in options:
            raise InputError(name, f"got {value!r}; expected one of: {', '.join(options)}.")
        return value

    def boolean(self, name: str, *, default: bool) -> bool:
        """true or false, spelled as GitHub's own boolean inputs accept them: the YAML 1.2 core
        schema's `true | True | TRUE | false | False | FALSE` (@actions/core getBooleanInput,
        actions/toolkit#725). `yes`, `1` or `on` are refused rather than guessed at."""
        value = self.text(name)
        if value is None:
            return default
        if value in TRUE_SPELLINGS:
            return True
        if value in FALSE_SPELLINGS:
            return False
        raise InputError(name, f"got {value!r}; expected true or false.")

    def integer(self, name: str, *, minimum: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise InputError(name, f"got {value!r}; expected a whole number.") from None
        if minimum is not None and number < minimum:
            raise InputError(name, f"got {number}; expected a whole number >= {minimum}.")
        return number

    def number(self, name: str, *, default: float, minimum: float, maximum: float) -> float:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise InputError(name, f"got {value!r}; expected a number.") from None
        if not minimum <= number <= maximum:
            raise InputError(
                name, f"got {value}; expected a number from {minimum:g} to {maximum:g}."
            )
        return number

    def json_value(self, name: str, *, expect: type[JsonT], example: str) -> JsonT | None:
        """A JSON input that must be an object (`dict`) or an array (`list`), or None."""
        value = self.text(name)
        return None if value is None else parse_json(name, value, expect=expect, example=example)

    def email(
        self, name: str, *, required: bool = False, aliases: Iterable[str] = ()
    ) -> str | None:
        value = self.text(name, required=required, aliases=aliases)
        if value is not None and not EMAIL_RE.match(value):
            raise InputError(
                name, f"got {value!r}; expected the email address of a PagerDuty user."
            )
        return value

    def pagerduty_id(self, name: str, *, aliases: Iterable[str] = ()) -> str | None:
        value = self.text(name, aliases=aliases)
        if value is not None and not PAGERDUTY_ID_RE.match(value):
            raise InputError(name, f"got {value!r}; expected a PagerDuty ID such as PABC123.")
        return value

    def id_list(self, name: str) -> list[str]:
        """IDs separated by commas and/or newlines; each one checked as a PagerDuty ID."""
        value = self.text(name)
        if value is None:
            return []
        ids = [part.strip() for part in re.split(r"[,\n\r]+", value) if part.strip()]
        for item in ids:
            if not PAGERDUTY_ID_RE.match(item):
                raise InputError(
                    name,
                    f"contains {item!r}; expected PagerDuty user IDs such as PABC123, "
                    "separated by commas or newlines.",
                )
        return ids

    def url(self, name: str, *, default: str, added_path: str = "") -> str:
        """An http(s) base URL. `added_path` is what the client appends itself (`/v1` for
        Port): a URL given with it is trimmed, with a warning, rather than doubled into a
        path the API does not know (which Port reports as bad credentials)."""
        value = self.text(name) or default
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(name, f"got {value!r}; expected an http(s) URL such as {default}.")
        value = value.rstrip("/")
        if added_path and value.lower().endswith(added_path.lower()):
            trimmed = value[: -len(added_path)].rstrip("/")
            self.deprecations.append(
                f"Input '{name}' ends in {added_path}, which the action adds itself; "
                f"using {trimmed}."
            )
            value = trimmed
        return value
