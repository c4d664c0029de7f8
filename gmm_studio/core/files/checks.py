"""Checks for the fields of model and session files, with messages that name the field.

A file may come from anywhere (an older version, a hand edit, a truncated
copy), so every field is checked for its type before anything uses it; a
failed check raises ``error`` (a GMMStudioError subclass) naming the field.
"""

from __future__ import annotations

import math
from typing import Any

_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a text",
          list: "a list", dict: "an object", type(None): "null"}


def section(doc: dict, name: str, error: type[Exception], *, required: bool = False) -> dict:
    """``doc[name]`` as a dict; absent or null gives {} unless ``required``."""
    value = doc.get(name)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise error(f"'{name}' must be a JSON object, got {_describe(value)}.")
    return value


def typed_field(doc: dict, name: str, kinds: tuple[type, ...], error: type[Exception],
                where: str, *, required: bool = False) -> Any:
    """``doc[name]`` if it is one of ``kinds`` (or absent and not ``required``).

    Booleans never pass as numbers, whole numbers pass as floats, and numbers
    must be finite.
    """
    if name not in doc:
        if required:
            raise error(f"'{where}.{name}' is missing.")
        return None
    value = doc[name]
    if not _is_one_of(value, kinds):
        wanted = " or ".join(_NAMES.get(k, k.__name__) for k in kinds)
        raise error(f"'{where}.{name}' must be {wanted}, got {_describe(value)}.")
    return value


def _is_one_of(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, (int, float)) and not math.isfinite(value):
        return False
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, kinds)


def text_list(value: Any, where: str, error: type[Exception], *, non_empty: bool = True
              ) -> list[str]:
    """A list of texts."""
    if (not isinstance(value, list) or (non_empty and not value)
            or not all(isinstance(v, str) for v in value)):
        raise error(f"'{where}' must be a list of column names, got {_describe(value)}.")
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{_NAMES.get(type(value), type(value).__name__)} {text[:40]}"
