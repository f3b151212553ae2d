"""The newcomer's first command: `python -m bot` without a token chats with the real bot in the terminal.

The demo runs as a subprocess, driven through stdin and read from stdout like a transcript: each step
writes one line and reads until the lines it expects have appeared (no sleeps; a generous deadline).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import tr

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 90.0
_INVISIBLE = re.compile("[\u2066-\u2069\u200e\u200f]")


def demo_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "DEMO_DATABASE_URL")
    }
    env.update(extra)
    return env


class Demo:
    """`python -m bot demo` in a subprocess: write a line, read until the expected lines appear."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", *args],
            cwd=ROOT,
            env=env or demo_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.transcript: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(_INVISIBLE.sub("", line.rstrip("\n")))
        self.lines.put(None)

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        self.errors.extend(self.process.stderr)

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, *fragments: str) -> str:
        """Read until every fragment has appeared (in any order); returns what was read."""
        missing = list(fragments)
        read: list[str] = []
        deadline = time.monotonic() + DEADLINE
        while missing:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                shown = "\n".join(self.transcript[-60:])
                raise AssertionError(f"never saw {missing!r}; the transcript ends:\n{shown}\n{''.join(self.errors)}")
            self.transcript.append(line)
            read.append(line)
            missing = [fragment for fragment in missing if fragment not in line]
        return "\n".join(read)

    def act(self, line: str, *fragments: str) -> str:
        self.say(line)
        return self.expect(*fragments)

    def finish(self) -> int:
        if self.process.stdin is not None:
            self.process.stdin.close()
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def demo() -> Iterator[Demo]:
    running = Demo()
    yield running
    running.kill()


def nl(message: str) -> str:
    """The Dutch the demo's personas read (a msgid without a translation is a mistake in the test)."""
    text = tr("nl", message)
    assert text != message, f"no Dutch for {message!r}"
    return text


def button(text: str, label: str) -> str:
    """The number of the button with this label in the lines read."""
    found = re.search(r"\[(\d+)\] " + re.escape(label), text)
    assert found, f"no button {label!r} in:\n{text}"
    return found.group(1)


def test_the_demo_runs_the_bot_in_the_terminal_for_each_persona() -> None:
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
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        input=script,
        cwd=ROOT,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + out
    assert "a fresh temporary database" in out
    assert "Hallo! Ik ben Waakvlam" in out
    assert "Hoe mogen we je noemen?" in out
    assert "<b>Ali & Co</b>" in out, "the name is shown as typed, never as markup"
    assert "Welkom in het team, Coco" in out
    assert "Cijfers" in out and "Anoniem" in out
    assert "you are now volunteer" in out


def test_a_family_reaches_the_coordinator_who_answers_and_time_brings_escalation_and_check_ins(demo: Demo) -> None:
    demo.expect("You are the family")
    demo.act(":as coordinator", "you are now coordinator")
    demo.act("/start", nl("Yes, I agree"))
    demo.act("1", "(edited): → " + nl("Yes, I agree"), nl("What name shall we call you by? A first name is enough."))
    demo.act("Coco", "Welkom in het team, Coco")
    invite = demo.act("/invite", nl("A family"))
    link = demo.act(button(invite, nl("A family")), "?start=")
    code = re.search(r"\?start=(\S+)", link)
    assert code is not None

    # The family signs up with the coordinator's invite (so Coco is its coordinator) and taps "Talk to someone".
    demo.act(":as family", "you are now family")
    demo.act(f"/start {code.group(1)}", nl("Yes, I agree"))
    demo.act("1", nl("What name shall we call you by? A first name is enough."))
    areas = demo.act("Ali", "Centrum", nl("My neighbourhood is not listed"))
    children = demo.act(button(areas, "Centrum"), nl("Skip"))
    menu = demo.act(button(children, "0"), nl("Talk to someone"), nl("Help"))
    demo.act(
        button(menu, nl("Talk to someone")),
        nl(
            "What would you like to tell us? Write it here, or send a voice note or a photo. "
            "I will pass it on to a coordinator as it is."
        ).split("?")[0],
    )
    # What the family writes reaches the coordinators' group, in the family's topic; the coordinator is alerted.
    read = demo.act(
        "Kunnen we deze week even praten over school?",
        "Ik heb dit doorgestuurd naar je coördinator",
        "bot -> coordinator: 🔔 Ali",
        "bot -> group [Ali · Centrum]: Kunnen we deze week even praten over school?",
    )
    alert = re.search(r"#(\d+) bot -> coordinator: 🔔 Ali", read)
    assert alert is not None

    # Nobody picks it up for half an hour (office hours): the next escalation step alerts everyone.
    demo.act(
        ":later 1h",
        "concern.escalate",
        nl("⏫ Nobody has picked this up since {when}.").split("{when}")[0],
        "scheduled job",  # "1 scheduled job ran" or "2 scheduled jobs ran"
    )

    # The coordinator answers the alert in the private chat (a reply, as swiping it in Telegram).
    demo.act(":as coordinator", "you are now coordinator")
    demo.act(
        f":reply {alert.group(1)} Ik bel je morgen om elf uur.",
        "Onderweg naar Ali",
        "bot -> family: 💬 Bericht van Coco, je coördinator:",
        "bot -> family: Ik bel je morgen om elf uur.",
    )

    # The family sees the answer and writes back; it arrives in the family's topic.
    demo.act(":as family", "you are now family")
    demo.act("Dank je, tot morgen!", "bot -> group [Ali · Centrum]: Dank je, tot morgen!")

    # The coordinator writes in the family's topic of the coordinators' forum group: it reaches the family.
    demo.act(":topics", "1. Ali · Centrum")
    demo.act(":topic ali", "you are now in the topic Ali · Centrum", "bot: Dank je, tot morgen!")
    demo.act("Graag gedaan. Sterkte vandaag!", "bot -> family: Graag gedaan. Sterkte vandaag!")

    # The next morning the family's first check-in comes; a day later, one gentle reminder.
    demo.act(":tomorrow 10:00", "checkin.send", "bot -> family: Hoi Ali! Hoe gaat het thuis", "scheduled job")
    reminder = nl("Just a gentle reminder, {name}: how are things? One tap is enough, whenever it suits you.")
    demo.act(":tomorrow", "checkin.remind", "bot -> family: " + reminder.split("{name}")[0] + "Ali")
    demo.act(":as family", "you are now family")
    demo.act(
        "1",
        "bot: " + nl("Thank you, good to hear! 😊 You can always reach us through /menu."),
        "bot -> group [Ali · Centrum]: " + nl("Check-in answered: {answer}").format(answer=nl("😊 Good")),
    )
    demo.act(":quit")
    assert demo.finish() == 0
    errors = "".join(demo.errors)
    assert "Traceback" not in errors + "\n".join(demo.transcript), errors[-3000:]


def test_the_demo_keeps_its_data_and_clock_across_restarts_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kept.sqlite3"
    first = Demo(env=demo_env(DEMO_DATABASE_URL=url))
    try:
        first.expect(f"data kept in {url}")
        first.act(":as coordinator", "you are now coordinator")
        first.act("/start", nl("Yes, I agree"))
        first.act("1", nl("What name shall we call you by? A first name is enough."))
        first.act("Coco", "Welkom in het team, Coco")
        # Further on than any later start of the demo could be, so the next start must take it up.
        moved = first.act(":later 5d", "scheduled job")
        first.act(":quit")
        assert first.finish() == 0
    finally:
        first.kill()
    day = re.findall(r"clock: (\w+ \d+ \w+ \d+) ", moved)[-1]

    again = Demo(env=demo_env(DEMO_DATABASE_URL=url))
    try:
        # The clock goes on from where it was, and the coordinator is still signed up (and answered: the
        # sandbox goes on with new update ids, so the bot's inbox takes nothing for a repeat).
        again.expect(f"The demo's clock says {day}")
        again.act(":as coordinator", "you are now coordinator")
        again.act("/menu", nl("Families"))
        again.act(":quit")
        assert again.finish() == 0
    finally:
        again.kill()
    assert "Traceback" not in "".join(first.errors + again.errors)


def test_the_demo_never_writes_into_the_bots_own_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/production.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        input=":quit\n",
        cwd=ROOT,
        env=demo_env(DATABASE_URL=url, DEMO_DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "DEMO_DATABASE_URL must not be the bot's DATABASE_URL" in done.stderr
    assert not (tmp_path / "production.sqlite3").exists()


def test_the_demo_settings_keep_nothing_unless_asked_and_run_one_whole_bot() -> None:
    from datetime import UTC, datetime

    from bot.demo import GROUP_ID, demo_settings, demo_start, kept_database_url
    from services.settings import Settings

    production = Settings(
        database_url="sqlite:///data/waakvlam.sqlite3",
        run_sender=False,
        webhook_url="https://example.org",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert kept_database_url(production, keep=False) is None  # a fresh temporary database
    assert kept_database_url(production, keep=True) == "sqlite:///data/demo.sqlite3"
    chosen = production.model_copy(update={"demo_database_url": "sqlite:///elsewhere.sqlite3"})
    assert kept_database_url(chosen, keep=True) == "sqlite:///elsewhere.sqlite3"
    with pytest.raises(ValueError, match="must not be the bot's DATABASE_URL"):
        kept_database_url(production.model_copy(update={"demo_database_url": production.database_url}), keep=False)

    # A Wednesday late in the evening: the demo's day is that Wednesday from 10:00, its first check-in Thursday.
    start = demo_start("Europe/Amsterdam", datetime(2026, 12, 2, 22, 30, tzinfo=UTC))
    assert start.isoformat() == "2026-12-02T10:00:00+01:00"
    saturday = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert demo_start("Europe/Amsterdam", saturday).isoformat() == "2026-12-07T10:00:00+01:00", "an office day"
    config = demo_settings(production, "http://127.0.0.1:1/bot", "sqlite:///demo.sqlite3", start)
    assert config.checkin_default_weekday == 3
    assert config.coordinator_group_id == GROUP_ID
    assert config.run_sender and config.webhook_url is None
    assert config.database_url == "sqlite:///demo.sqlite3"


def test_the_demo_serves_the_coordinators_workspace_on_localhost(demo: Demo) -> None:
    from urllib.parse import unquote

    import httpx

    read = demo.expect("Coordinators' workspace in your browser:")
    found = re.search(r"(http://127\.0\.0\.1:\d+/workspace/)demo", read)
    assert found, read
    base = found.group(1)
    demo.act(":as coordinator", "you are now coordinator")
    demo.act("/start", nl("Yes, I agree"))
    demo.act("1", nl("What name shall we call you by? A first name is enough."))
    demo.act("Coco", "Welkom in het team, Coco")
    demo.act("/menu", nl("🗂 Workspace"))
    signed = httpx.get(base + "demo", follow_redirects=False, timeout=30)
    assert signed.status_code == 303
    init = unquote(signed.headers["location"].split("#tgWebAppData=", 1)[1])
    families = httpx.get(base + "api/families", headers={"X-Telegram-Init-Data": init}, timeout=30)
    assert families.status_code == 200 and 'data-lang="nl"' in families.text
    assert "default-src 'none'" in families.headers["content-security-policy"]
    assert httpx.get(base + "api/families", headers={"X-Telegram-Init-Data": init}, timeout=30).status_code == 401
