"""The English catalog is the source text itself: fill every English entry with its msgid."""

from __future__ import annotations

from babel.messages.pofile import read_po, write_po

from services.i18n import po_path


def main() -> None:
    path = po_path("en")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            message.string = (message.id[0], message.id[1])
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, no_location=True, omit_header=False, width=100)


if __name__ == "__main__":
    main()
