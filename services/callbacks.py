"""Callback data, typed: each kind of button is one `Button` (prefix, action, typed fields), parsed one way.

Callback data is untrusted input: a tap can carry anything a client makes up. `Button.parse` takes only data
this button made (its prefix and action, the right number of fields, each of its type and size, at most 64
bytes) and returns the typed values; anything else is None, answered with `ui.answer_stale`. Parsing proves
only the shape: the handler still checks rights and state on the server.

    TAKE = Button("cc", "take", int)           # cc:take:<concern id>
    TAKE.data(42) == "cc:take:42"
    TAKE.parse("cc:take:42") == (42,)
    CallbackQueryHandler(on_take, pattern=TAKE.pattern)

A button whose data has no action part (`ci:<check-in>:<answer>`, kept so that buttons on messages sent before
the codec existed still work) is made with the action "": `Button("ci", "", int, str)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 64  # Telegram's limit on callback data
_PREFIX = re.compile(r"^[a-z]{1,6}$")
_ACTION = re.compile(r"^([a-z][a-z0-9_]{0,15})?$")
_TEXT = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
_INT = re.compile(r"^-?[0-9]{1,15}$")

# Every Button made, by (prefix, action): two buttons may never read each other's data.
_REGISTRY: dict[tuple[str, str], Button] = {}


@dataclass(frozen=True)
class Button:
    """One kind of button: `prefix:action:field:...`, with fields of type int or str (short, plain ASCII)."""

    prefix: str
    action: str
    fields: tuple[type, ...]

    def __init__(self, prefix: str, action: str, *fields: type) -> None:
        """Define a button kind; refuses a bad prefix, action or field type and a clash with another button."""
        assert _PREFIX.match(prefix) and _ACTION.match(action), (prefix, action)
        assert all(kind in (int, str) for kind in fields) and len(fields) <= 4, fields
        assert action or fields, "a button without an action needs a field"
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "fields", tuple(fields))
        known = _REGISTRY.setdefault((prefix, action), self)
        assert known == self, f"{prefix}:{action} is already a button with other fields"

    @property
    def pattern(self) -> str:
        """The CallbackQueryHandler pattern that routes this button's taps (parse still checks them)."""
        if self.action:
            return rf"^{self.prefix}:{self.action}(:|$)"
        first = r"-?[0-9]+" if self.fields[0] is int else r"[A-Za-z0-9_-]+"
        return rf"^{self.prefix}:{first}(:|$)"

    def data(self, *values: Any) -> str:
        """The callback data for these values; refuses values that would not parse back."""
        assert len(values) == len(self.fields), (self, values)
        parts = [self.prefix, *([self.action] if self.action else []), *(str(value) for value in values)]
        data = ":".join(parts)
        assert self.parse(data) is not None, data
        return data

    def parse(self, data: str | None) -> tuple[Any, ...] | None:
        """The typed field values when `data` is this button's, else None."""
        if not data or len(data.encode()) > MAX_BYTES:
            return None
        head = [self.prefix, self.action] if self.action else [self.prefix]
        parts = data.split(":")
        if parts[: len(head)] != head or len(parts) != len(head) + len(self.fields):
            return None
        values: list[Any] = []
        for kind, raw in zip(self.fields, parts[len(head) :], strict=True):
            if kind is int:
                if not _INT.match(raw):
                    return None
                values.append(int(raw))
            elif _TEXT.match(raw):
                values.append(raw)
            else:
                return None
        return tuple(values)
