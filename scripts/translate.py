"""Fill translations into a catalog from a JSON mapping: `python -m scripts.translate nl file.json`.

The mapping is {msgid: msgstr} (for plurals {singular msgid: [form, form, ...]}). Only entries that
exist in the catalog are touched; the .po file stays the single source. Hold `locales/.lock` while
writing, as `make locales-update` does, so two people editing catalogs never overwrite each other.
"""

from __future__ import annotations

import fcntl
import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from services.i18n import LOCALES_DIR, po_path


def apply(language: str, mapping: dict[str, str | list[str]]) -> list[str]:
    """Write the translations; returns msgids from the mapping that the catalog does not have."""
    with (LOCALES_DIR / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = po_path(language)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        unknown = []
        for msgid, translation in mapping.items():
            message = catalog.get(msgid)
            if message is None:
                unknown.append(msgid)
                continue
            message.string = tuple(translation) if isinstance(translation, list) else translation
            message.flags.discard("fuzzy")
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, no_location=True)
    return unknown


def main() -> int:
    language, source = sys.argv[1], Path(sys.argv[2])
    unknown = apply(language, json.loads(source.read_text(encoding="utf-8")))
    for msgid in unknown:
        print(f"not in the catalog: {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


if __name__ == "__main__":
    raise SystemExit(main())
