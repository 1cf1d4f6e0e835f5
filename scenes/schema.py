"""Allowed sections and keys of a scene file, and the generic checks.

Each section is described by one ``Section`` holding a table of ``Field``
(key -> kind, required or default, extra check). Adding a section or a key
to the format is one entry here plus its use in ``scenes.loader``.

Kinds
-----
``"str"``, ``"int"`` (a bool is not an int), ``"float"`` (an int is
accepted and converted), ``"bool"``, ``"vec3"`` (3 numbers -> tuple of 3
float), ``"floats"`` (list of numbers -> tuple of float), ``"strs"`` (list
of strings -> tuple of str).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: An extra check: returns None when the (converted) value is fine, else
#: the text "expected ..." describing what it should be.
Check = Callable[[Any], str | None]

_NAME_RE = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class Field:
    """One allowed key.

    Attributes
    ----------
    kind : str
        See the module docstring.
    required : bool
        Missing key is an error.
    default : object
        Value used when the optional key is absent.
    check : callable or None
        Extra check on the converted value.
    """

    kind: str
    required: bool = False
    default: Any = None
    check: Check | None = None


@dataclass(frozen=True)
class Section:
    """One top-level section.

    Attributes
    ----------
    fields : Mapping[str, Field]
        Allowed keys.
    array : bool
        True for an array of tables (``[[structures]]``), False for a table.
    required : bool
        The section must be present.
    """

    fields: Mapping[str, Field]
    array: bool = False
    required: bool = False


class SchemaError(ValueError):
    """A schema violation; ``where`` is the field path, ``args[0]`` the text."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


# --- reusable checks -------------------------------------------------------


def name_pattern(value: str) -> str | None:
    """Lower-case identifier ``[a-z0-9_]+``."""
    return None if _NAME_RE.match(value) else "a name made of [a-z0-9_] characters"


def non_empty(value: str) -> str | None:
    """Non-empty string."""
    return None if value.strip() else "a non-empty string"


def in_range(lo: float, hi: float, lo_open: bool = False) -> Check:
    """Number in ``[lo, hi]`` (or ``(lo, hi]`` when ``lo_open``)."""

    def check(value: float) -> str | None:
        ok = (lo < value if lo_open else lo <= value) and value <= hi
        bracket = "(" if lo_open else "["
        return None if ok else f"a number in {bracket}{lo}, {hi}]"

    return check


def at_least(lo: float) -> Check:
    """Number ``>= lo``."""
    return lambda v: None if v >= lo else f"a number >= {lo}"


def one_of(*choices: str) -> Check:
    """One of the given strings."""
    return lambda v: None if v in choices else "one of " + ", ".join(repr(c) for c in choices)


def unit_interval_vec(value: tuple[float, ...]) -> str | None:
    """Every component in [0, 1]."""
    return None if all(0.0 <= c <= 1.0 for c in value) else "3 numbers in [0, 1]"


def non_zero_vec(value: tuple[float, ...]) -> str | None:
    """Not the zero vector."""
    return None if any(c != 0.0 for c in value) else "a non-zero vector"


# --- conversion ------------------------------------------------------------


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _describe(v: object) -> str:
    kind = {bool: "bool", int: "int", float: "float", str: "string", list: "array", dict: "table"}
    return f"{kind.get(type(v), type(v).__name__)} {v!r}"


_KIND_TEXT = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "vec3": "an array of 3 numbers",
    "floats": "an array of numbers",
    "strs": "an array of strings",
}


def convert(kind: str, value: object) -> Any:
    """Convert a TOML value to ``kind``; raise ValueError with the expectation."""
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and _is_number(value):
        return float(value)  # type: ignore[arg-type]
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind in ("vec3", "floats") and isinstance(value, list) and all(map(_is_number, value)):
        if kind == "floats" or len(value) == 3:
            return tuple(float(v) for v in value)
    if kind == "strs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"expected {_KIND_TEXT[kind]}, got {_describe(value)}")


def suggest(key: str, allowed: list[str] | Mapping[str, Any]) -> str:
    """`` (did you mean 'x'?)`` when ``key`` resembles an allowed key, else ``''``."""
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_table(table: Mapping[str, Any], fields: Mapping[str, Field], where: str) -> dict:
    """Check one table against its fields.

    Parameters
    ----------
    table : Mapping
        The parsed TOML table.
    fields : Mapping[str, Field]
        Allowed keys.
    where : str
        Field path prefix for messages, e.g. ``"[imaging]"``.

    Returns
    -------
    dict
        Every field name -> converted value (defaults filled in).

    Raises
    ------
    SchemaError
        Unknown key (with a suggestion), missing key, wrong type, failed check.
    """
    for key in table:
        if key not in fields:
            allowed = ", ".join(fields)
            raise SchemaError(
                where, f"unknown key {key!r}{suggest(key, fields)}; allowed keys: {allowed}"
            )
    out: dict[str, Any] = {}
    for key, spec in fields.items():
        if key not in table:
            if spec.required:
                raise SchemaError(where, f"missing required key {key!r} ({_KIND_TEXT[spec.kind]})")
            out[key] = spec.default
            continue
        try:
            value = convert(spec.kind, table[key])
        except ValueError as exc:
            raise SchemaError(where, f"{key}: {exc}") from None
        if spec.check is not None:
            expected = spec.check(value)
            if expected is not None:
                raise SchemaError(where, f"{key}: expected {expected}, got {value!r}")
        out[key] = value
    return out
