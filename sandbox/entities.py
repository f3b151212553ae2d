"""Parsed text and its entities: what every parse mode returns, and the measures they share.

Offsets and lengths are in UTF-16 code units, as in the Bot API; error texts give byte offsets in UTF-8,
as Telegram's do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """The text cannot be parsed; str(error) is the part after "can't parse entities: "."""


@dataclass(frozen=True)
class ParsedText:
    """A message text without its markup, and the entities that carry the formatting."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    @property
    def length(self) -> int:
        """The text's length in UTF-16 code units, as Telegram counts it."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """A text's length in UTF-16 code units, the unit of Telegram's offsets and limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def byte_offset(source: str, index: int) -> int:
    """The UTF-8 byte offset of a character index, as Telegram's error texts give it."""
    return len(source[:index].encode("utf-8"))


def sorted_entities(entities: list[Entity]) -> list[Entity]:
    """Entities in Telegram's order: by offset, longer ones first."""
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


# What Telegram accepts as a link's URL.
LINK_URL = re.compile(r"^(?:(?:https?|tg|ton)://\S+|[^\s/$.?#:]+\.\S+)$", re.IGNORECASE)
