"""Every shipped catalog loads, is complete, and keeps every placeholder of its source text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services.i18n import LOCALES_DIR, normalise_language, shipped_languages, translations, use_language
from services.i18n import _ as translate

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
CATALOGS = sorted(LOCALES_DIR.glob("*/LC_MESSAGES/waakvlam.po"))


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("path", CATALOGS, ids=lambda path: path.parent.parent.name)
def test_catalog_is_complete_and_consistent(path: Path) -> None:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=path.parent.parent.name)
    problems: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {ids[0]!r}")
        if isinstance(message.id, tuple | list) and len(strings) != catalog.num_plurals:
            problems.append(f"needs {catalog.num_plurals} plural forms: {ids[0]!r}")
        for string in strings:
            if not string:
                problems.append(f"untranslated: {ids[0]!r}")
            elif _placeholders(string) != _placeholders(ids[-1]) and _placeholders(string) != _placeholders(ids[0]):
                problems.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    assert not problems, "\n".join(problems)


def test_source_template_is_current(tmp_path: Path) -> None:
    """Every string in the code is in the template: run `make locales-update` after changing texts."""
    root = LOCALES_DIR.parent
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "pgettext:1c,2",
            "--no-location",
            "--sort-output",
            # Babel writes "-o -" to a file named "-", not to standard output.
            "-o",
            str(tmp_path / "fresh.pot"),
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    fresh = (tmp_path / "fresh.pot").read_text(encoding="utf-8")
    with (LOCALES_DIR / "waakvlam.pot").open("rb") as handle:
        committed = {message.id for message in read_po(handle) if message.id}
    from io import BytesIO

    current = {message.id for message in read_po(BytesIO(fresh.encode())) if message.id}
    missing = current - committed
    assert not missing, (
        f"strings not in locales/waakvlam.pot (run make locales-update): {sorted(map(str, missing))[:10]}"
    )


def test_every_shipped_language_loads_and_translates() -> None:
    assert {"nl", "en"} <= set(shipped_languages())
    for language in shipped_languages():
        assert translations(language) is not None
    with use_language("nl"):
        assert translate("Help") != "Help"
    with use_language("en"):
        assert translate("Help") == "Help"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("nl-NL", "nl"),
        ("nl_BE", "nl"),
        ("EN-gb", "en"),
        ("en", "en"),
        (None, "nl"),
        ("", "nl"),
        ("xx", "nl"),
        ("zh-hans", "nl"),
    ],
)
def test_telegram_language_codes_are_normalised(code: str | None, expected: str) -> None:
    assert normalise_language(code) == expected


SHIPPED = {"nl": 2, "en": 2, "ar": 6, "tr": 2, "pl": 3, "uk": 3}
TAG = re.compile(r"</?[a-z]+[^>]*>")
SAFETY = re.compile(r"\b(112|0800-2000|0800-0113|113)\b")


def _pairs(path: Path) -> list[tuple[str, str]]:
    """(source, translation) for every form of every entry."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=path.parent.parent.name)
    pairs: list[tuple[str, str]] = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for index, string in enumerate(strings):
            pairs.append((ids[min(index, len(ids) - 1)], string))
    return pairs


@pytest.mark.parametrize(("language", "forms"), sorted(SHIPPED.items()))
def test_the_six_languages_ship_with_their_plural_forms(language: str, forms: int) -> None:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "waakvlam.po"
    assert path.exists(), f"{language} is not shipped"
    with path.open("rb") as handle:
        assert read_po(handle, locale=language).num_plurals == forms


@pytest.mark.parametrize("path", CATALOGS, ids=lambda path: path.parent.parent.name)
def test_translations_keep_html_tags_and_safety_numbers(path: Path) -> None:
    problems = []
    for source, string in _pairs(path):
        if sorted(TAG.findall(source)) != sorted(TAG.findall(string)):
            problems.append(f"tags differ: {source[:60]!r}")
        if sorted(SAFETY.findall(source)) != sorted(SAFETY.findall(string)):
            problems.append(f"safety numbers differ: {source[:60]!r} -> {string[:80]!r}")
    assert not problems, "\n".join(problems)


def test_arabic_texts_start_right_to_left() -> None:
    """Each Arabic text opens with Arabic, after any emoji or tag; one that opens with a name or a number
    (a placeholder) gets a right-to-left mark from `directed()` when it is sent."""
    from services.i18n import first_strong_direction

    wrong = []
    for source, string in _pairs(LOCALES_DIR / "ar" / "LC_MESSAGES" / "waakvlam.po"):
        opening = TAG.sub("", string).lstrip()
        # Emoji, bullets, punctuation; ℹ️ too, though Unicode counts it a left-to-right letter.
        opening = re.sub(r"^(?:[^\w{]|ℹ)+", "", opening)
        if opening.startswith("{") or not PLACEHOLDER.sub("", string).strip(" .:·-"):
            continue
        if first_strong_direction(PLACEHOLDER.sub("", opening)) != "R":
            wrong.append(source)
    assert not wrong, wrong[:5]


def test_directed_marks_only_right_to_left_texts_that_open_otherwise() -> None:
    from services.i18n import RLM, directed, first_strong_direction, isolate

    assert directed("مرحبا Sara", "ar") == "مرحبا Sara"
    opened_by_name = directed(isolate("Sara", "ar") + " مرحبا", "ar")
    assert first_strong_direction(isolate("Sara", "ar") + " مرحبا") == "R", "an isolated name is skipped"
    assert opened_by_name.startswith("\u2068")
    assert directed("<b>Sara</b> · Kerkbuurt", "ar").startswith(RLM)
    assert directed("Sara · Kerkbuurt", "nl") == "Sara · Kerkbuurt"


def test_an_incomplete_plural_falls_back_to_english_rather_than_a_wrong_slot(tmp_path: Path) -> None:
    from babel.messages.catalog import Catalog

    from services import i18n

    catalog = Catalog(locale="pl")
    catalog.add(("{count} week", "{count} weeks"), ("{count} tydzień", "", ""))
    folder = tmp_path / "pl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    from babel.messages.pofile import write_po

    with (folder / "waakvlam.po").open("wb") as handle:
        write_po(handle, catalog)
    original = i18n.LOCALES_DIR
    i18n.translations.cache_clear()
    try:
        i18n.LOCALES_DIR = tmp_path
        compiled = i18n.translations("pl")
        assert compiled.ngettext("{count} week", "{count} weeks", 5) == "{count} weeks"
        assert compiled.ngettext("{count} week", "{count} weeks", 1) == "{count} week"
    finally:
        i18n.LOCALES_DIR = original
        i18n.translations.cache_clear()
