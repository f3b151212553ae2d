"""A new migration from what the models changed: `make migration m="what changed"`.

It upgrades a scratch SQLite database to the newest revision, then lets Alembic compare it with the models
and write the difference as the next numbered revision (0003, 0004, ...). Read what it wrote: a rename, a
data move or a default for existing rows is written by hand, as in 0002.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.migrate import alembic_config, upgrade

VERSIONS = Path(__file__).resolve().parent.parent / "storage" / "migrations" / "versions"


def next_revision() -> str:
    """The next free four-digit revision id."""
    numbers = [int(path.name[:4]) for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(numbers, default=0) + 1:04d}"


def main() -> int:
    """Write the next revision with the message given; 1 without a message."""
    message = " ".join(sys.argv[1:]).strip()
    if not message:
        print('say what changed: make migration m="what changed"', file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/migrate.sqlite3"
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True, rev_id=next_revision())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
