"""The operations guide stays true: its configuration table is the generated one, and backups work."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.settings_doc import settings_reference
from storage import migrate
from storage.db import backup_sqlite

ROOT = Path(__file__).resolve().parents[2]


def test_the_configuration_reference_in_the_docs_is_current() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", text, re.S)
    assert found, "docs/operations.md lost its settings markers"
    assert found.group(1).strip() == settings_reference().strip(), (
        "regenerate the table in docs/operations.md from `python -m bot settings`"
    )


def test_backup_copies_a_live_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/live.sqlite3"
    migrate.upgrade(url)
    writer = sqlite3.connect(tmp_path / "live.sqlite3")
    writer.execute("INSERT INTO area (name, active, created_at) VALUES ('Kerkbuurt', 1, '2026-12-01 10:00:00')")
    writer.commit()  # the row sits in the write-ahead log, not yet in the main file
    target = tmp_path / "copies" / "backup.sqlite3"
    assert backup_sqlite(url, target) > 0
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT name FROM area").fetchall() == [("Kerkbuurt",)]
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    writer.close()


def test_the_backup_command_refuses_to_overwrite_and_explains(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/live.sqlite3"
    migrate.upgrade(url)
    target = tmp_path / "b.sqlite3"
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    first = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(target)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert first.returncode == 0 and "bytes written" in first.stdout
    again = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(target)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert again.returncode == 2 and "Traceback" not in again.stderr
