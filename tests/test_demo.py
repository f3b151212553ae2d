"""The newcomer's first command: `python -m bot` without a token chats with the real bot in the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_runs_the_bot_in_the_terminal_for_each_persona(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/start",  # the family
            "1",  # We are a family
            "1",  # Yes, I agree
            "<b>Ali & Co</b>",
            ":as coordinator",
            "/start",
            "1",
            "Coco",
            "/stats",
            "1",
            ":as volunteer",
            "/help",
            ":quit",
        ]
    )
    env = {key: value for key, value in os.environ.items() if key != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/demo.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "bot"], input=script, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + out
    assert "Hallo! Ik ben Waakvlam" in out
    assert "Hoe mogen we je noemen?" in out
    assert "<b>Ali & Co</b>" in out, "the name is shown as typed, never as markup"
    assert "Welkom in het team, Coco" in out
    assert "Cijfers" in out and "Anoniem" in out
    assert "you are now volunteer" in out
