"""Translations. The `.po` files in `locales/` are the single source; they are compiled in memory at start.

`_()` translates into the language of the person whose update is being handled (or whoever a message
is being written for, see `use_language`). Placeholders are named: `_("Hello {name}").format(name=...)`.
"""

from __future__ import annotations

import gettext as gettext_module
import html
import io
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "waakvlam"
DEFAULT_LANGUAGE = "nl"
SOURCE_LANGUAGE = "en"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
# Shown in each language's own name, so anyone can find theirs in the list.
LANGUAGE_NAMES = {
    "nl": "Nederlands",
    "en": "English",
    "ar": "العربية",
    "tr": "Türkçe",
    "pl": "Polski",
    "uk": "Українська",
}
# Telegram clients report regional tags and a few legacy codes.
_ALIASES = {"ua": "uk", "iw": "he"}

_current_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


@cache
def shipped_languages() -> tuple[str, ...]:
    """Languages with a catalog in `locales/`, in the order of `LANGUAGE_NAMES`."""
    present = {path.parent.parent.name for path in LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    present.add(SOURCE_LANGUAGE)
    ordered = [code for code in LANGUAGE_NAMES if code in present]
    return tuple(ordered + sorted(present - set(ordered)))


def shipped_match(code: str | None) -> str | None:
    """The shipped language Telegram's `language_code` ('nl-NL', 'en_US', 'UK') names, or None."""
    if not code:
        return None
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    primary = _ALIASES.get(primary, primary)
    return primary if primary in shipped_languages() else None


def normalise_language(code: str | None) -> str:
    """Map Telegram's `language_code` to a shipped language, else Dutch (a language picked by default)."""
    return shipped_match(code) or DEFAULT_LANGUAGE


def po_path(language: str) -> Path:
    """The catalog (.po) file of a language."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """Compile a language's catalog in memory (no stale .mo file can ever be served)."""
    path = po_path(language)
    if not path.exists():
        return gettext_module.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    # An incomplete plural would be compiled into the wrong slots; fall back to English instead.
    for message in list(catalog):
        if message.id and isinstance(message.string, tuple) and not all(message.string):
            message.string = ("",) * len(message.string)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def current_language() -> str:
    """The language the texts of this context are written in."""
    return _current_language.get()


def set_language(language: str) -> None:
    """Set the language for the rest of the current update."""
    _current_language.set(language)


@contextmanager
def use_language(language: str | None) -> Iterator[None]:
    """Write in someone else's language for a while, e.g. a message for a coordinator."""
    token = _current_language.set(language or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _current_language.reset(token)


def _(message: str) -> str:
    """Translate a message in the current language."""
    return translations(_current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message with a count in the current language, with the right plural form."""
    return translations(_current_language.get()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """Translate a message that needs context to tell it apart."""
    return translations(_current_language.get()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def h(value: object) -> str:
    """Escape any value put into an HTML message."""
    return html.escape(str(value), quote=False)


def is_rtl(language: str | None = None) -> bool:
    """Whether a language is written right to left."""
    return (language or current_language()) in RTL_LANGUAGES


FSI, PDI = "\u2068", "\u2069"


def isolate(value: object, language: str | None = None) -> str:
    """Wrap a name or number in a first-strong isolate (FSI ... PDI), in every language.

    The isolate keeps a right-to-left name from scrambling a left-to-right line and the other way round,
    and it contains whatever bidi controls a name carries: a U+202E (right-to-left override) or an
    unclosed embedding inside a name ends at the PDI instead of reversing the rest of the message. Isolate
    controls already in the value (U+2066-U+2069) are dropped, so a name cannot close its own isolate
    early, and isolating twice gives one isolate. (`language` is accepted for older callers; isolation no
    longer depends on it.)
    """
    text = str(value).translate(_ISOLATE_CONTROLS)
    return f"{FSI}{text}{PDI}"


_ISOLATE_CONTROLS = dict.fromkeys(range(0x2066, 0x206A))


def hi(value: object) -> str:
    """Escape and isolate: for names and numbers inside a sentence, in every language."""
    return isolate(h(value))


def language_name(code: str, in_language: str | None = None) -> str:
    """A language's name in the reader's language ('Turks' for 'tr' in Dutch), from Babel's CLDR data."""
    try:
        name = Locale.parse(in_language or current_language()).languages.get(code)
    except (ValueError, TypeError):
        name = None
    return name or LANGUAGE_NAMES.get(code, code)


_TAG = re.compile(r"<[^>]*>")
RLM = "\u200f"


def first_strong_direction(text: str) -> str | None:
    """'R' or 'L' by the first strong character outside HTML tags and isolates (how clients lay out a line)."""
    depth = 0
    for char in _TAG.sub("", text):
        if char in "\u2066\u2067\u2068":
            depth += 1
        elif char == "\u2069":
            depth = max(0, depth - 1)
        elif depth == 0:
            kind = unicodedata.bidirectional(char)
            if kind in ("R", "AL"):
                return "R"
            if kind == "L":
                return "L"
    return None


def directed(text: str, language: str | None = None) -> str:
    """A message in a right-to-left language starts right to left, even when it opens with a name or a number."""
    if is_rtl(language) and first_strong_direction(text) != "R":
        return RLM + text
    return text


def _locale(language: str | None) -> Locale:
    """Babel's locale of a language (default: the current one)."""
    return Locale.parse(language or current_language())


def local_time(moment: datetime, zone: str) -> datetime:
    """A UTC moment on the wall clock of a zone."""
    return moment.astimezone(ZoneInfo(zone))


def _day_at_time(moment: datetime, zone: str, language: str | None, day_format: str) -> str:
    """'<day> om 15:00': the local day in Babel's `day_format` and the time, in the reader's language and zone."""
    local = local_time(moment, zone)
    locale = _locale(language)
    day = format_date(local.date(), format=day_format, locale=locale)
    clock = format_time(local.timetz(), format="HH:mm", locale=locale)
    with use_language(language or current_language()):
        return _("{day} at {time}").format(day=day, time=clock)


def format_when(moment: datetime, zone: str, language: str | None = None) -> str:
    """'dinsdag 24 november om 15:00' in the reader's language and zone."""
    return _day_at_time(moment, zone, language, "EEEE d MMMM")


def format_moment(moment: datetime, zone: str, language: str | None = None) -> str:
    """'24 november 2026 om 15:00': a date with its year and the time, in the reader's language and zone."""
    return _day_at_time(moment, zone, language, "long")


def format_day(day: date, language: str | None = None) -> str:
    """A day as a family reads it: 'dinsdag 24 november'."""
    return format_date(day, format="EEEE d MMMM", locale=_locale(language))


def format_full_day(day: date, language: str | None = None) -> str:
    """A day with its year (a VOG date, a day long ago): '24 November 2026', in the language's own order."""
    return format_date(day, format="long", locale=_locale(language))


def format_clock(moment: datetime, zone: str, language: str | None = None) -> str:
    """A time of day: '15:00'."""
    return format_time(local_time(moment, zone).timetz(), format="HH:mm", locale=_locale(language))


def format_stamp(moment: datetime, zone: str, language: str | None = None) -> str:
    """Short date and time for lists and timelines."""
    return format_datetime(local_time(moment, zone), format="d MMM HH:mm", locale=_locale(language))
