"""Every shipped catalog loads, is complete, and keeps every placeholder of its source text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, normalise_language, shipped_languages, translations, use_language
from bot.i18n import _ as translate

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


def test_source_template_is_current() -> None:
    """Every string in the code is in the template: run `make locales-update` after changing texts."""
    root = LOCALES_DIR.parent
    fresh = subprocess.run(
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
            "-o",
            "-",
            ".",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
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
