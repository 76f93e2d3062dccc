"""Checks on text that users and applications send: length, control characters, surrogates."""

from __future__ import annotations

import unicodedata

from passport.identity.errors import InvalidValue, Missing

# Unicode categories refused in names: controls, unassigned, surrogates, private use.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cn", "Cs", "Co"})


def check_name(value: str, *, field: str, label: str, max_length: int) -> str:
    """Return `value` stripped of surrounding spaces, or raise InvalidValue saying why."""
    stripped = value.strip()
    if not stripped:
        raise Missing(f"{label} must be specified.", field=field, value=value)
    if len(stripped) > max_length:
        raise InvalidValue(
            f"{label} must be at most {max_length} characters.", field=field, value=stripped
        )
    for character in stripped:
        if unicodedata.category(character) in _FORBIDDEN_CATEGORIES:
            raise InvalidValue(
                f"{label} contains characters that are not allowed.",
                field=field,
                value=stripped.encode("utf-8", "backslashreplace").decode("utf-8"),
            )
    return stripped
