"""The anonymous figures against a seeded history (SQLite and PostgreSQL), and what the export may contain.

The history is built through the storage functions, with a fake clock for every moment, so each figure
below can be counted by hand from `seed`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import insight as rules
from domain import requests as request_rules
from domain.clock import FakeClock
from services import insight
from services.context import Services
from services.settings import Settings
from storage import care, migrate, people
from storage import concerns as concern_store
from storage import insight as store
from storage import requests as requests_store
from storage.db import Database
from storage.models import Person, Role

AMS = ZoneInfo("Europe/Amsterdam")
# Four local weeks, Monday 2 to Sunday 29 November 2026.
PERIOD = rules.Period(date(2026, 11, 2), date(2026, 11, 29))
MONDAYS = [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
FAMILY_NAMES = [
    "Zwaantje Oosterhuis",
    "Bartholomeus Kwakkel",
    "Fenna Tjoelker",
    "Ibrahim Yilmazoglu",
    "Oksana Hrytsenko",
    "Wietske Palsma",
    "Gerolf Dijkhuizen",
    "Mireille Brouwershaven",
]
VOLUNTEER_NAMES = ["Ansje Volkersz", "Berend Haagsma", "Cato Wildervanck"]
AREA_NAME = "Kattenbroek-Zuidwest"
SECRET_NOTE = "sleutel ligt onder de mat bij Zwaantje"
CLOSE_NOTE = "gebeld met Wietske over de schulden"
STREET = "Pimpelmeesstraat 17"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMS).astimezone(UTC)


@dataclass
class World:
    services: Services
    clock: FakeClock
    families: list[int] = field(default_factory=list)
    volunteers: list[int] = field(default_factory=list)
    coordinator: int = 0


def _person(session: object, telegram_id: int, name: str, role: str, now: datetime, language: str = "nl") -> Person:
    person = people.ensure_person(session=session, telegram_id=telegram_id, language=language, now=now)  # type: ignore[arg-type]
    people.record_consent(session=session, person=person, role=role, version="1", now=now)  # type: ignore[arg-type]
    people.set_display_name(session=session, person=person, name=name, now=now)  # type: ignore[arg-type]
    return person


def seed(services: Services, clock: FakeClock) -> World:
    """8 families with weekly check-ins, 7 requests (one asked before the period), 6 concerns, 3 volunteers."""
    world = World(services, clock)
    start = clock.now()
    with services.db.session() as session:
        coordinator = _person(session, 7000, "Coördinator Cees", Role.COORDINATOR, start, "en")
        people.ensure_coordinator_profile(session=session, person=coordinator)
        world.coordinator = int(coordinator.id or 0)
        area = people.add_area(session=session, name=AREA_NAME, now=start)
        for index, name in enumerate(FAMILY_NAMES):
            family = _person(session, 7100 + index, name, Role.FAMILY, start)
            people.save_family_profile(
                session=session,
                person=family,
                area_id=area.id,
                children_count=2,
                children_ages="3, 7",
                primary_coordinator_id=coordinator.id,
            )
            requests_store.set_contact(
                session=session, family_id=int(family.id or 0), street=STREET, phone="0612345678"
            )
            world.families.append(int(family.id or 0))
        for index, name in enumerate(VOLUNTEER_NAMES):
            volunteer = _person(session, 7200 + index, name, Role.VOLUNTEER, start)
            people.save_volunteer_profile(
                session=session,
                person=volunteer,
                area_ids=[area.id or 0],
                skills=["lift"],
                availability=1,
                languages=["nl"],
            )
            world.volunteers.append(int(volunteer.id or 0))
    f, v = world.families, world.volunteers

    # Check-ins: one a week per family on Tuesday 09:30, plus one before and one after the period.
    answers: dict[int, list[str | None]] = {
        0: ["good"] * 4,
        1: ["good"] * 4,
        2: ["good"] * 4,
        3: ["good"] * 4,
        4: ["so_so"] * 4,
        5: ["good", "good", "so_so", "not_good"],
        6: [None, None, None, "talk"],
        7: [None] * 4,
    }
    with services.db.session() as session:
        for index, family_id in enumerate(f):
            for week, monday in enumerate(MONDAYS):
                sent = at(monday + timedelta(days=1), 9, 30)
                checkin = care.create_checkin(session=session, family_id=family_id, due_at=sent, now=sent)
                answer = answers[index][week]
                if answer is not None:
                    care.answer_checkin(
                        session=session,
                        checkin_id=int(checkin.id or 0),
                        family_id=family_id,
                        answer=answer,
                        now=sent + timedelta(hours=2),
                    )
                    care.set_counters(session=session, family_id=family_id, missed=0)
                else:
                    care.mark_missed(session=session, checkin_id=int(checkin.id or 0))
                    care.add_missed(session=session, family_id=family_id)
            for outside in (at(date(2026, 10, 27), 9, 30), at(date(2026, 12, 1), 9, 30)):
                care.create_checkin(session=session, family_id=family_id, due_at=outside, now=outside)

    def request(
        family: int,
        kind: str,
        created: datetime,
        *,
        note: str | None = None,
        window: tuple[datetime, datetime] | None = None,
    ) -> int:
        with services.db.session() as session:
            made = requests_store.create_request(
                session=session,
                family_id=family,
                created_by_id=family,
                kind=kind,
                involves_children=kind == "babysitting",
                starts_at=window[0] if window else None,
                ends_at=window[1] if window else None,
                flexible_week=window is None,
                area_id=None,
                destination="Station Almere Centrum" if kind == "lift" else None,
                note=note,
                voice_file_id=None,
                now=created,
            )
            return int(made.id or 0)

    def accept(request_id: int, volunteer: int, moment: datetime) -> None:
        with services.db.session() as session:
            requests_store.record_offer(session=session, request_id=request_id, volunteer_id=volunteer, now=moment)
            assert requests_store.accept(session=session, request_id=request_id, volunteer_id=volunteer, now=moment)

    def finish(request_id: int, event: request_rules.RequestEvent, moment: datetime) -> None:
        with services.db.session() as session:
            assert requests_store.apply_event(session=session, request_id=request_id, event=event, now=moment)

    done = request_rules.RequestEvent.COMPLETE
    # Asked before the period, done in it (2 hours): a task done, volunteer C active, no request counted.
    r0 = request(
        f[6], "company", at(date(2026, 10, 20), 10), window=(at(date(2026, 11, 3), 14), at(date(2026, 11, 3), 16))
    )
    accept(r0, v[2], at(date(2026, 10, 21), 10))
    finish(r0, done, at(date(2026, 11, 4), 10))
    # Asked in the period: two babysitting, two lifts, groceries, a meal.
    r1 = request(
        f[0],
        "babysitting",
        at(date(2026, 11, 3), 10),
        note=SECRET_NOTE,
        window=(at(date(2026, 11, 5), 18), at(date(2026, 11, 5), 21)),
    )
    accept(r1, v[0], at(date(2026, 11, 3), 12))  # after 2 h
    finish(r1, done, at(date(2026, 11, 6), 9))
    r2 = request(
        f[1], "lift", at(date(2026, 11, 10), 9), window=(at(date(2026, 11, 12), 10), at(date(2026, 11, 12), 11))
    )
    accept(r2, v[1], at(date(2026, 11, 10), 9, 30))  # after 30 min
    finish(r2, done, at(date(2026, 11, 13), 9))
    r3 = request(f[2], "groceries", at(date(2026, 11, 17), 8))
    accept(r3, v[0], at(date(2026, 11, 18), 8))  # after 24 h; flexible: no hours
    finish(r3, done, at(date(2026, 11, 20), 9))
    request(f[3], "meal", at(date(2026, 11, 24), 10))  # nobody took it
    r5 = request(f[4], "babysitting", at(date(2026, 11, 24), 11))
    accept(r5, v[2], at(date(2026, 11, 24), 15))  # after 4 h, then cancelled by the family
    finish(r5, request_rules.RequestEvent.FAMILY_CANCEL, at(date(2026, 11, 25), 9))
    request(f[5], "lift", at(date(2026, 11, 25), 10), note=SECRET_NOTE)

    # Concerns: six in the period (one raised by a volunteer about no family), five acknowledged.
    concerns = [
        (f[5], at(date(2026, 11, 24), 9, 35), timedelta(minutes=15)),
        (f[6], at(date(2026, 11, 24), 10), timedelta(minutes=40)),
        (f[4], at(date(2026, 11, 25), 10), None),
        (None, at(date(2026, 11, 26), 10), timedelta(hours=1)),
        (f[0], at(date(2026, 11, 9), 10), timedelta(minutes=5)),
        (f[1], at(date(2026, 11, 16), 10), timedelta(minutes=25)),
    ]
    with services.db.session() as session:
        for family, raised, wait in concerns:
            concern = concern_store.create_concern(
                session=session, family_id=family, raised_by_id=family or v[0], source="talk", now=raised
            )
            if wait is not None:
                concern_store.acknowledge(session=session, concern_id=int(concern.id or 0), now=raised + wait)
        closed = concern_store.create_concern(
            session=session, family_id=f[5], raised_by_id=f[5], source="talk", now=at(date(2026, 10, 1), 10)
        )
        concern_store.close(
            session=session,
            concern_id=int(closed.id or 0),
            coordinator_id=world.coordinator,
            note=CLOSE_NOTE,
            now=at(date(2026, 10, 2), 10),
        )
        people.add_timeline(session=session, family_id=f[5], kind="concern_closed", now=at(date(2026, 10, 2), 10))
    return world


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    migrate.upgrade(database_url)
    db = Database(database_url)
    clock = FakeClock(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    services = Services(settings=settings, db=db, clock=clock, instance="test")
    yield seed(services, clock)
    db.dispose()


def figures(world: World) -> rules.Figures:
    with world.services.db.session() as session:
        return insight.compute(session=session, services=world.services, period=PERIOD)


def test_figures_match_the_seeded_history(world: World) -> None:
    found = figures(world)
    assert found.families_active == 8
    assert (found.checkins_sent, found.checkins_answered) == (32, 25)
    assert found.answers == {"good": 18, "so_so": 5, "not_good": 1, "talk": 1, "none": 7}
    assert found.weeks == MONDAYS
    assert found.answers_by_week[MONDAYS[0]] == {"good": 5, "so_so": 1, "not_good": 0, "talk": 0, "none": 2}
    assert found.answers_by_week[MONDAYS[3]] == {"good": 4, "so_so": 1, "not_good": 1, "talk": 1, "none": 1}
    assert found.requests == 6
    assert found.requests_by_kind == {"babysitting": 2, "groceries": 1, "lift": 2, "meal": 1}
    assert [found.requests_by_week[monday] for monday in MONDAYS] == [1, 1, 1, 3]
    assert found.requests_accepted == 4
    assert found.median_accept == timedelta(hours=3)  # 30 min, 2 h, 4 h, 24 h
    assert found.tasks_done == 4  # r0 (asked before the period), r1, r2, r3
    assert (found.hours_given, found.tasks_with_hours) == (6.0, 3)  # 2 + 3 + 1; groceries had no window
    assert found.volunteers_active == 3
    assert (found.concerns, found.concerns_acknowledged) == (6, 5)
    assert found.median_acknowledge == timedelta(minutes=25)  # 5, 15, 25, 40, 60


def test_the_anonymous_table_suppresses_small_counts(world: World) -> None:
    table = {(row.metric, row.category, row.week): row.value for row in rules.anonymous_table(figures(world), 5)}
    assert table[("families_active", "", "")] == "8"
    assert table[("checkins_sent", "", "")] == "32"
    assert table[("checkin_answers", "good", "")] == "18"
    assert table[("checkin_answers", "so_so", "")] == "5"
    assert table[("checkin_answers", "not_good", "")] == "<5"
    assert table[("checkin_answers", "talk", "")] == "<5"
    assert table[("checkin_answers", "none", "")] == "7"
    assert table[("requests", "", "")] == "6"
    assert {table[("requests_by_kind", kind, "")] for kind in ("babysitting", "groceries", "lift", "meal")} == {"<5"}
    assert table[("requests_accepted", "", "")] == "<5"
    assert table[("requests_accepted_share", "", "")] == ""  # 4 of 6: rests on a small count
    assert table[("median_minutes_to_accept", "", "")] == ""  # 4 cases
    assert table[("tasks_done", "", "")] == "<5"
    assert table[("hours_given", "", "")] == ""  # 3 tasks with a window
    assert table[("volunteers_active", "", "")] == "<5"
    assert table[("concerns", "", "")] == "6"
    assert table[("median_minutes_to_acknowledge", "", "")] == "25"
    # Week of 2 November: one "so-so" (1) and two unanswered (2) are both hidden; 5 "good" stays.
    assert table[("checkin_answers_by_week", "so_so", "2026-11-02")] == "<5"
    assert table[("checkin_answers_by_week", "none", "2026-11-02")] == "<5"
    assert table[("checkin_answers_by_week", "good", "2026-11-02")] == "5"
    # With a lower threshold (a setting) more is shown.
    lower = {(row.metric, row.category): row.value for row in rules.anonymous_table(figures(world), 2)}
    assert lower[("requests_accepted_share", "")] == "67%"
    assert lower[("median_minutes_to_accept", "")] == "180"
    assert lower[("hours_given", "")] == "6"


def _personal_strings(world: World) -> list[str]:
    with world.services.db.session() as session:
        named = [people.get_person(session=session, person_id=pid) for pid in [*world.families, *world.volunteers]]
        telegram_ids = [str(person.telegram_id) for person in named if person is not None]
    words = [part for name in [*FAMILY_NAMES, *VOLUNTEER_NAMES, "Cees"] for part in name.split()]
    return [*words, AREA_NAME, SECRET_NOTE, CLOSE_NOTE, STREET, "0612345678", "Station", *telegram_ids]


def test_the_export_holds_no_personal_data(world: World) -> None:
    found = figures(world)
    table = rules.anonymous_table(found, 5)
    data = insight.csv_bytes(table).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert rows[0] == {"metric": "period_start", "category": "", "week": "", "value": "2026-11-02"}
    lowered = data.lower()
    for secret in _personal_strings(world):
        assert secret.lower() not in lowered, secret
    # Only counts, shares, minutes, dates and the machine names of kinds: nothing a person wrote.
    allowed_categories = {"", *rules.ANSWER_KINDS, *(kind.value for kind in request_rules.RequestKind)}
    assert {row["category"] for row in rows} <= allowed_categories
    for row in rows:
        value = row["value"]
        assert value == "" or value.startswith("<") or value.rstrip("%").replace(".", "").replace("-", "").isdigit(), (
            row
        )
    # No person or family id appears as a value (a count may coincide, an id may not be a column).
    assert set(rows[0]) == {"metric", "category", "week", "value"}
    # The report page is drawn from the same table; its texts are the labels and these values only.
    for language in ("en", "nl"):
        with __import__("services.i18n", fromlist=["use_language"]).use_language(language):
            labels = " ".join(label + " " + value for label, value in insight.figure_rows(table))
        for secret in _personal_strings(world):
            assert secret.lower() not in labels.lower(), secret


def test_the_report_and_chart_render_as_png(world: World) -> None:
    found = figures(world)
    report = insight.report_png(found, 5, "en")
    assert report.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(report[16:20], "big"), int.from_bytes(report[20:24], "big")
    assert (width, height) == (909, 1285)  # one A4 page (8.27 x 11.69 in) at 110 dpi
    with open("/tmp/insight_report.png", "wb") as handle:
        handle.write(report)
    with world.services.db.session() as session:
        coordinator = people.get_person(session=session, person_id=world.coordinator)
        assert coordinator is not None
        picture = insight.digest(
            session=session, services=world.services, coordinator=coordinator, now=at(date(2026, 11, 30), 8)
        )
        text, weekly, caption = picture.text, picture.chart, picture.caption
    chart = weekly.png()  # drawn after the transaction
    assert chart.startswith(b"\x89PNG")
    with open("/tmp/insight_chart.png", "wb") as handle:
        handle.write(chart)
    # The digest is for the coordinator's own eyes: names, and the week's changes.
    assert "Wietske Palsma" in text  # good, good, so-so, not good
    assert "Oksana" not in text.split("No contact")[0]  # so-so every week: not worse
    assert "Mireille Brouwershaven" in text.split("No contact")[1]  # never answered: "no contact" needs 2 missed
    assert "Requests nobody took" in text and "Concerns still open" in text
    assert "8 weeks" in caption


def test_digest_queries_see_only_the_coordinators_families(world: World) -> None:
    with world.services.db.session() as session:
        assert store.coordinator_family_ids(session=session, coordinator_id=world.coordinator) == world.families
        assert store.coordinator_family_ids(session=session, coordinator_id=world.volunteers[0]) == []
        assert store.unassigned_family_ids(session=session) == []
        assert len(store.open_requests_of(session=session, family_ids=world.families)) == 2
        assert len(store.open_concerns_of(session=session, family_ids=world.families)) == 5
        assert store.open_concern_count(session=session, family_id=world.families[5]) == 1
