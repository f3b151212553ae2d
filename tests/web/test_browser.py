"""The workspace in a real headless Chromium (Debian's `chromium`, driven by Playwright; never
`playwright install`): a coordinator opens a family's page from the Mini App's address, takes a concern,
records a casework decision and approves a volunteer; the charts are read with the keyboard and by pointing;
a coordinator filters the families by case state, reads the waiting list, plans an intake talk, marks it
held, moves the case along and closes it with a reason; screenshots of the families, waiting list, family
(with its case), volunteers and figures pages at phone and desktop width go to
test-output/workspace/ (docs/coordinators.md shows copies from docs/img/); the Arabic pages lay out right to
left, the charts' weeks too. Without chromium the tests skip, saying why.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlmodel import select

from bot.web import Liveness, build_web_app
from storage import concerns as concern_store
from storage.case_tables import IntakeTalk
from storage.models import AuditEntry, FamilyProfile, QuestionDecision, VolunteerProfile
from tests.web.world import World, build_world

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "workspace"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
THEME = {"bg_color": "#17212b", "text_color": "#f5f5f5", "button_color": "#5288c1", "secondary_bg_color": "#232e3c"}


def _playwright() -> Any:
    """Playwright's sync API, or a skip that says what is missing."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(f"no chromium at {CHROMIUM}: install it with `apt-get install -y chromium` (.ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:  # pragma: no cover - the dev extras install it
        pytest.skip(f"the playwright package is missing ({error}): pip install -e '.[dev]'")
    return sync_playwright


@dataclass
class Served:
    world: World
    base: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(world: World) -> Iterator[str]:
    """The bot's own web app (with the workspace) on a free local port, in a thread, for the browser."""
    import uvicorn

    app = build_web_app(services=world.services, liveness=Liveness(), on_stored=lambda: None, counters={})
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="workspace-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the web server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _served(database_url: str, language: str) -> Iterator[Served]:
    world = build_world(database_url, coordinator_language=language)
    try:
        for base in _serve(world):
            yield Served(world, base)
    finally:
        world.services.db.dispose()


@pytest.fixture
def dutch(sqlite_url: str) -> Iterator[Served]:
    yield from _served(sqlite_url, "nl")


@pytest.fixture
def arabic(sqlite_url: str) -> Iterator[Served]:
    yield from _served(sqlite_url, "ar")


def _open(browser: Any, served: Served, viewport: dict[str, int]) -> Any:
    """The workspace as Telegram opens it: initData and theme in the address's fragment."""
    served.world.clock.advance(timedelta(seconds=1))  # each opening gets its own initData, as in Telegram
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    fragment = f"tgWebAppData={quote(served.world.init_data())}&tgWebAppThemeParams={quote(json.dumps(THEME))}"
    page.goto(f"{served.base}/workspace/#{fragment}")
    page.wait_for_selector("ul.cards a[data-nav]")
    page.errors = errors
    return page


def _shot(page: Any, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)


def test_a_coordinator_takes_a_concern_decides_and_approves_in_the_browser(browser: Any, dutch: Served) -> None:
    world = dutch.world
    page = _open(browser, dutch, PHONE)
    _shot(page, "families-phone")
    page.click(f'a[href="/workspace/api/family/{world.family}"]')
    page.wait_for_selector("#h-questions")
    assert page.evaluate("document.documentElement.lang") == "nl"
    # Keyboard: the take button is reachable with Tab and pressed with Enter.
    take = page.locator('form[action$="/take"] button')
    take.focus()
    _shot(page, "family-phone")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    assert page.locator('form[action$="/take"]').count() == 0
    with world.services.db.session() as session:
        concern = concern_store.get_concern(session=session, concern_id=world.concern)
        assert concern is not None and concern.claimed_by_id == world.coordinator

    page.select_option('form[action$="/decide"] select[name="choice"]', "continue:more_time")
    page.click('form[action$="/decide"] button')
    page.locator('form[action$="/decide"]').wait_for(state="detached")
    with world.services.db.session() as session:
        decision = session.get(QuestionDecision, world.decision)
        assert decision is not None and decision.decision == "continue" and decision.reason == "more_time"

    page.click('nav a[href="/workspace/api/volunteers"]')
    page.wait_for_selector(f'form[action="/workspace/api/volunteers/{world.volunteer}/approve"]')
    page.fill('input[name="vog"]', "2026-11-01")
    page.check('input[name="children"]')
    page.click(f'form[action="/workspace/api/volunteers/{world.volunteer}/approve"] button')
    page.wait_for_selector(".flash")
    with world.services.db.session() as session:
        profile = session.get(VolunteerProfile, world.volunteer)
        assert profile is not None and profile.status == "approved" and profile.children_ok
        opened = session.exec(select(AuditEntry).where(AuditEntry.action == "family_record_opened")).all()
        assert any(entry.detail.get("via") == "workspace" for entry in opened)
    _shot(page, "volunteers-phone")
    page.click('nav a[href="/workspace/api/figures"]')
    page.wait_for_selector("table")
    _shot(page, "figures-phone")
    assert not page.errors, page.errors  # nothing blocked by the Content-Security-Policy, no script error

    desktop = _open(browser, dutch, DESKTOP)
    desktop.click(f'a[href="/workspace/api/family/{world.family}"]')
    desktop.wait_for_selector("#h-timeline")
    _shot(desktop, "family-desktop")
    desktop.click('nav a[href="/workspace/api/volunteers"]')
    desktop.wait_for_selector("#h-load")
    _shot(desktop, "volunteers-desktop")
    desktop.click('nav a[href="/workspace/api/figures"]')
    desktop.wait_for_selector("#h-weekly")
    _shot(desktop, "figures-desktop")
    # The theme Telegram passed is the page's colour.
    background = desktop.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 33, 43)"


def test_the_arabic_workspace_lays_out_right_to_left(browser: Any, arabic: Served) -> None:
    page = _open(browser, arabic, PHONE)
    page.click(f'a[href="/workspace/api/family/{arabic.world.family}"]')
    page.wait_for_selector("#h-questions")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.evaluate("getComputedStyle(document.getElementById('main')).direction") == "rtl"
    links = page.locator("nav a")
    first, last = links.first.bounding_box(), links.last.bounding_box()
    assert first is not None and last is not None and first["x"] > last["x"], "the first link is on the right"
    _shot(page, "family-arabic-phone")


def test_the_browser_sees_401_for_a_replayed_address(browser: Any, dutch: Served) -> None:
    page = _open(browser, dutch, PHONE)
    address = page.url
    other = browser.new_page(viewport=PHONE)
    other.goto(address)  # the same initData again, in a fresh tab without the session: replayed
    other.wait_for_selector("[data-status]")
    assert other.locator("[data-status]").get_attribute("data-status") == "401"


def _readout(page: Any, chart: str) -> str:
    return str(page.locator(f"{chart} .readout").first.text_content() or "").strip()


def test_the_charts_are_read_with_the_keyboard_and_by_pointing(browser: Any, dutch: Served) -> None:
    world = dutch.world
    page = _open(browser, dutch, PHONE)
    page.click(f'a[href="/workspace/api/family/{world.family}"]')
    page.wait_for_selector("#matches .visits")
    # The check-in trend: one tab stop; the arrow keys go from answer to answer, the readout says each.
    trend = "figure[data-readout=checkins-readout]"
    dots = page.locator(f"{trend} .item")
    assert dots.count() == 3
    dots.first.focus()
    first = _readout(page, trend)
    assert first == dots.first.get_attribute("data-tip") and "Goed" in first, first
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('data-tip')") == _readout(page, trend)
    assert "Gaat wel" in _readout(page, trend)
    page.keyboard.press("End")
    assert "Niet goed" in _readout(page, trend)
    assert [dots.nth(i).get_attribute("tabindex") for i in range(3)] == ["-1", "-1", "0"], "one tab stop"

    page.click('nav a[href="/workspace/api/figures"]')
    page.wait_for_selector("#h-weekly")
    requests = "figure[data-readout=requests-readout]"
    columns = page.locator(f"{requests} .item")
    columns.last.hover()
    assert _readout(page, requests) == columns.last.get_attribute("data-tip")
    assert "<5" in _readout(page, requests), "a small count is never shown as itself"
    columns.first.focus()
    page.keyboard.press("ArrowRight")
    assert _readout(page, requests) == columns.nth(1).get_attribute("data-tip")
    # Every figure is a row with a bar, reached with Tab and read with the arrow keys too.
    figure_rows = page.locator("#h-general + table .item")
    figure_rows.first.focus()
    page.keyboard.press("ArrowDown")
    assert _readout(page, "section:has(#h-general)") == figure_rows.nth(1).get_attribute("data-tip")
    assert not page.errors, page.errors


def test_the_arabic_charts_run_right_to_left(browser: Any, arabic: Served) -> None:
    page = _open(browser, arabic, PHONE)
    page.click('nav a[href="/workspace/api/figures"]')
    page.wait_for_selector("#h-weekly")
    columns = page.locator("figure[data-readout=answers-readout] .item .hit")
    oldest, newest = columns.first.bounding_box(), columns.last.bounding_box()
    assert oldest is not None and newest is not None and oldest["x"] > newest["x"], "time runs from right to left"
    page.locator("figure[data-readout=answers-readout] .item").first.focus()
    page.keyboard.press("ArrowLeft")  # to the left: a later week
    focused = page.evaluate("document.activeElement.getAttribute('data-tip')")
    assert focused == page.locator("figure[data-readout=answers-readout] .item").nth(1).get_attribute("data-tip")
    _shot(page, "figures-arabic-phone")
    page.click('nav a[href="/workspace/api/volunteers"]')
    page.wait_for_selector("#h-load")
    _shot(page, "volunteers-arabic-phone")
    assert not page.errors, page.errors


def test_a_coordinator_moves_a_case_plans_an_intake_talk_and_reads_the_waiting_list(
    browser: Any, dutch: Served
) -> None:
    world = dutch.world
    page = _open(browser, dutch, PHONE)
    page.select_option('select[name="state"]', "waiting")
    page.click("form.filters button")
    page.wait_for_selector(f'li[data-family="{world.family}"]', state="detached")  # the filtered list is shown
    assert page.locator("ul.cards li").count() == 1
    assert page.locator(f'li[data-family="{world.waiting_family}"][data-state="waiting"]').count() == 1
    _shot(page, "families-waiting-phone")
    page.click('nav a[href="/workspace/api/waiting"]')
    page.wait_for_selector("#h-waiting")
    assert page.locator("ol.waiting li").count() == 2
    _shot(page, "waiting-phone")

    page.click('nav a[href="/workspace/api/families"]')
    page.wait_for_selector(f'a[href="/workspace/api/family/{world.family}"]')
    page.click(f'a[href="/workspace/api/family/{world.family}"]')
    page.wait_for_selector("#h-case")
    # An intake talk: the date-time field, in local time; then marked held.
    page.fill('form.talk input[name="when"]', "2026-12-14T10:00")
    page.click("form.talk button")
    page.wait_for_selector("li.planned[data-talk]")
    page.locator("form.held button").focus()
    _shot(page, "family-case-phone")
    page.keyboard.press("Enter")
    page.wait_for_selector("li.held[data-talk]")
    # Move along: intake done, on the waiting list.
    page.click('form.move[data-target="waiting"] button')
    page.wait_for_selector('#case[data-state="waiting"]')
    with world.services.db.session() as session:
        profile = session.get(FamilyProfile, world.family)
        assert profile is not None and profile.case_state == "waiting"
        talk = session.exec(select(IntakeTalk).where(IntakeTalk.family_id == world.family)).one()
        assert talk.held_at is not None
    # Closing asks for a reason from the list first (the browser will not send the form without one).
    assert page.evaluate("document.querySelector('form.move[data-target=closed]').checkValidity()") is False
    page.click('form.move[data-target="closed"] button')
    assert page.locator('#case[data-state="waiting"]').count() == 1
    page.select_option('form.move[data-target="closed"] select[name="reason"]', "goal_reached")
    page.click('form.move[data-target="closed"] button')
    page.wait_for_selector('#case[data-state="closed"]')
    assert page.locator("ol.case-steps li").count() == 3
    assert not page.errors, page.errors

    desktop = _open(browser, dutch, DESKTOP)
    desktop.click(f'a[href="/workspace/api/family/{world.waiting_family}"]')
    desktop.wait_for_selector("#h-case")
    _shot(desktop, "family-case-desktop")
    desktop.click('nav a[href="/workspace/api/waiting"]')
    desktop.wait_for_selector("#h-waiting")
    _shot(desktop, "waiting-desktop")
    assert not desktop.errors, desktop.errors


def test_the_arabic_case_reads_right_to_left(browser: Any, arabic: Served) -> None:
    page = _open(browser, arabic, PHONE)
    page.click(f'a[href="/workspace/api/family/{arabic.world.family}"]')
    page.wait_for_selector("#h-case")
    assert page.evaluate("getComputedStyle(document.getElementById('case')).direction") == "rtl"
    _shot(page, "family-case-arabic-phone")
    page.click('nav a[href="/workspace/api/waiting"]')
    page.wait_for_selector("#h-waiting")
    _shot(page, "waiting-arabic-phone")
    assert not page.errors, page.errors
