"""Names people give themselves (and neighbourhood names): what the bot accepts and how it cleans them.

A name is shown in coordinators' lists, buttons and messages, so it must be visible. Refused: a name made
only of characters that draw nothing: format characters (Unicode category Cf: zero-width space U+200B,
word joiner U+2060, byte-order mark U+FEFF, the bidi controls U+202A-U+202E and U+2066-U+2069, ...),
spaces, control characters, combining marks on their own, and the few "letters" that are blank by design
(Hangul fillers, the blank Braille pattern). Cleaned: runs of spaces become one space, control characters
go, and format characters and combining marks are stripped from the start and the end (inside a name
they can be legitimate: a zero-width joiner in Persian or in an emoji, a combining accent). What remains
inside is harmless once the name is isolated in a message (`services.i18n.hi`).
"""

from __future__ import annotations

import unicodedata

# Letters and symbols that are blank on screen although their category says otherwise.
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")


def _invisible(char: str) -> bool:
    """Whether a character shows nothing (format, control, combining marks, spaces), so cannot make a name."""
    category = unicodedata.category(char)
    return (
        char in BLANK_CHARACTERS
        or category in ("Cf", "Cc", "Cs", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp")
        or char.isspace()
    )


def is_visible(name: str) -> bool:
    """Whether the name has at least one character that shows: a letter, digit, punctuation or symbol."""
    return any(not _invisible(char) and unicodedata.category(char)[0] in "LNPS" for char in name)


def clean_name(text: str, *, max_length: int) -> str | None:
    """The name to store, or None when it is empty, invisible, too long, or looks like a command."""
    kept = "".join(" " if unicodedata.category(char) == "Cc" else char for char in text)
    name = " ".join(kept.split())
    start, end = 0, len(name)
    while start < end and _invisible(name[start]):
        start += 1
    while end > start and _invisible(name[end - 1]):
        end -= 1
    name = " ".join(name[start:end].split())
    if not name or not is_visible(name) or len(name) > max_length or name.startswith("/"):
        return None
    return name
