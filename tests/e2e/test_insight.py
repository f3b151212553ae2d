"""Coordinator insight end to end: /stats, /export, /digest and the Monday digest, and who may use them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import time, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from domain.insight import this_quarter
from storage.models import JobStatus, ScheduledJob
from tests.e2e.care_world import (
    audit_actions,
    local_now,
    move_to,
    new_family,
    next_local,
    office_morning,
    quiet_world,
    reset_group,
)
from tests.e2e.harness import Chat, Harness, expect


def _digest_off(harness: Harness) -> None:
    harness.settings.insight_digest_enabled = False
    with harness.session() as session:
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.kind) == "insight.digest", col(ScheduledJob.status) == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    _digest_off(harness)
    quiet_world(harness)


def photos(chat: Chat) -> int:
    return sum(message.media_kind == "photo" for message in chat.user.messages)


def documents(chat: Chat, before: int) -> list[tuple[str, bytes]]:
    return [
        (message.document_name or "", message.document_bytes or b"")
        for message in chat.user.messages[before:]
        if message.media_kind == "document"
    ]


def send_now(harness: Harness, coordinator: Chat, name: str) -> None:
    coordinator.say("/families")
    coordinator.tap_listed(name)
    coordinator.tap("📨 Send a check-in now")
    harness.settle()


def test_families_and_volunteers_are_kindly_refused(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family = new_family(coordinator, person, "Noor", language="en")
    for command in ("/stats", "/export 4w", "/digest"):
        expect(family.say(command), "This is for coordinators.")
    stranger = person("Stan", language_code="en")
    expect(stranger.say("/stats"), "This is for coordinators.")
    assert photos(family) == 0 and not documents(family, 0)


def test_stats_with_the_period_buttons_and_typed_dates(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    new_family(coordinator, person, "Fleur Zonnedauw", language="en")
    expect(coordinator.say("/stats"), "Figures for which period?")
    assert coordinator.last_buttons() == ["This week", "Last 4 weeks", "This quarter", "Other dates…"]
    figures = expect(coordinator.tap("Last 4 weeks"), "Figures", "Families active", "Check-ins sent", "Anonymous")
    assert "Zonnedauw" not in figures and "Fleur" not in figures
    # Other dates: typed, checked, then the figures.
    coordinator.say("/stats")
    expect(coordinator.tap("Other dates…"), "first and the last day")
    expect(coordinator.say("next tuesday"), "could not read those dates")
    expect(coordinator.say("1-9-2026 30-11-2026"), "September 1, 2026 to November 30, 2026", "Help requests")
    expect(coordinator.say("/stats 2026-13-01 2026-12-01"), "could not read that period")
    quarter = this_quarter(local_now(harness).date())
    expect(coordinator.say("/stats quarter"), f"{quarter.start:%B} 1, {quarter.start.year} to {quarter.end:%B %-d}")
    # The same period word in any shipped language, after /stats as after /export.
    for word in ("kwartaal", "çeyrek", "kwartał", "квартал", "الربع"):
        expect(coordinator.say(f"/stats {word}"), f"{quarter.start:%B} 1, {quarter.start.year} to {quarter.end:%B %-d}")
    with harness.session() as session:
        from sqlmodel import select

        from storage.models import AuditEntry

        viewed = list(session.exec(select(AuditEntry).where(AuditEntry.action == "figures_viewed")))
    assert viewed and viewed[-1].subject_id is None


def test_export_is_a_csv_and_a_one_page_report_without_names(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family = new_family(coordinator, person, "Gijsbertha Klaverweide", language="en")
    send_now(harness, coordinator, "Gijsbertha Klaverweide")
    family.tap("😊 Good")
    before = len(coordinator.user.messages)
    coordinator.say("/export")
    coordinator.tap("This week")
    files = documents(coordinator, before)
    assert [name.rsplit(".", 1)[1] for name, _data in files] == ["csv", "png"]
    data = files[0][1].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert rows[0]["metric"] == "period_start" and {row["metric"] for row in rows} >= {"checkins_sent", "hours_given"}
    for secret in ("Gijsbertha", "Klaverweide", "Coco", str(family.id), str(coordinator.id)):
        assert secret not in data
    assert files[1][1].startswith(b"\x89PNG")
    caption = coordinator.user.messages[-1].text or ""
    assert "Anonymous figures" in caption
    with harness.session() as session:
        from sqlmodel import select

        from storage.models import AuditEntry

        actions = [
            row.action for row in session.exec(select(AuditEntry).where(AuditEntry.action == "figures_exported"))
        ]
    assert actions


def test_the_family_card_shows_concerns_the_support_volunteer_and_the_latest_events(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family = new_family(coordinator, person, "Hanneke", language="en")
    coordinator.say("/families")
    card = expect(
        coordinator.tap_listed("Hanneke"), "Open concerns: 0", "Support volunteer: none yet", "Latest", "Signed up"
    )
    assert "Check-ins:" in card
    found = harness.person(family.id)
    assert "family_record_opened" in audit_actions(harness, int(found.id))


def test_digest_on_monday_morning_once_across_a_restart_and_on_request(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family = new_family(coordinator, person, "Wouter", language="en")
    send_now(harness, coordinator, "Wouter")
    family.tap("😊 Good")
    harness.advance(days=1)
    send_now(harness, coordinator, "Wouter")
    family.tap("😟 Not good")

    # Switched on (as in production) and restarted: the next Monday 08:00 is scheduled, once.
    harness.settings.insight_digest_enabled = True
    harness.stop()
    harness.start()
    monday = next_local(harness, 0, time(8, 0))
    move_to(harness, monday - timedelta(minutes=1))
    before, photos_before = len(coordinator.user.messages), photos(coordinator)
    harness.tick()
    assert not any("weekly picture" in (message.text or "") for message in coordinator.user.messages[before:])
    move_to(harness, monday + timedelta(minutes=1))
    harness.tick()
    new = [message.text or "" for message in coordinator.user.messages[before:]]
    digest = expect(new, "Your weekly picture", "Answers got worse", "Wouter", "Concerns still open")
    assert "😊 → 😟" in digest
    assert photos(coordinator) == photos_before + 1
    expect(new, "Check-in answers and help requests of your families")

    # A restart on the same morning sends nothing again.
    harness.stop()
    harness.start()
    harness.tick()
    assert photos(coordinator) == photos_before + 1
    assert sum("Your weekly picture" in (message.text or "") for message in coordinator.user.messages[before:]) == 1

    # Any time on request.
    expect(coordinator.say("/digest"), "Your weekly picture", "Wouter")
    harness.settle()
    assert photos(coordinator) == photos_before + 2
    office_morning(harness)
