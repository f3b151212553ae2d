"""A small world for the workspace tests: two coordinators (one the family's, one not), a family with a
question whose help got two "no"s (an open decision), an open concern with one escalation step, answered
check-ins, a volunteer waiting for approval, and an approved helper (weekly cap 2) in a lasting match with the
family (three times logged: held with the family's feeling, missed, difficult; one to come) who also took two
of its requests this week (so that week is over the cap), and a paused volunteer.

Cases and teams: the family is in intake (since three days); the coordinator also has Mila, waiting 20 days,
and the other coordinator's Gijs waits 5 days. A second team, "Zuid", has its own coordinator (Teun), a family
(Tara, waiting 50 days: longer than the team accepts) and a volunteer waiting for approval (Wim); an admin
(Anna, in the first team, without families of her own) sees both teams. Real database, fake clock, the real
Starlette app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from domain.clock import FakeClock
from domain.matches import Rhythm, RhythmKind
from domain.questions import DecisionCause
from services import question_reviews, questions
from services.context import Services
from services.settings import Settings
from storage import care, migrate, people, teams
from storage import cases as case_store
from storage import concerns as concern_store
from storage import matches as match_store
from storage import requests as request_store
from storage import volunteers as volunteer_store
from storage.db import Database, Session
from storage.models import Person, Role
from web.auth import init_data_for

TOKEN = "555555555:workspace-test-token"
OTHER_TOKEN = "666666666:another-bots-token"
COORDINATOR_TG = 9100
OTHER_COORDINATOR_TG = 9101
FAMILY_TG = 9200
VOLUNTEER_TG = 9300
HELPER_TG = 9301
PAUSED_TG = 9302
SOUTH_COORDINATOR_TG = 9110
ADMIN_TG = 9120
SOUTH_FAMILY_TG = 9210
WAITING_FAMILY_TG = 9220
SOUTH_VOLUNTEER_TG = 9310
SOUTH_TEAM = "Zuid"
WAITING_NAME = "Mila"
SOUTH_FAMILY_NAME = "Tara"
SOUTH_VOLUNTEER_NAME = "Wim"
HELPER_NAME = "Hanna"
PAUSED_NAME = "Piet"
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
FAMILY_NAME = "Fenna <b>&amp;</b> co"  # HTML in a name must come out as text
QUESTION = "Vaker de deur uit met de kinderen"


@dataclass
class World:
    services: Services
    clock: FakeClock
    coordinator: int
    other: int
    family: int
    volunteer: int
    concern: int
    decision: int
    helper: int = 0
    match: int = 0
    south_team: int = 0
    south_coordinator: int = 0
    south_family: int = 0
    south_volunteer: int = 0
    admin: int = 0
    waiting_family: int = 0
    theirs: int = 0

    def init_data(self, telegram_id: int = COORDINATOR_TG, *, token: str = TOKEN, language: str = "nl") -> str:
        return init_data_for(token, telegram_id=telegram_id, first_name="Cees", language=language, now=self.clock.now())


def person(session: Session, telegram_id: int, name: str, role: str, now: datetime, language: str = "nl") -> Person:
    found = people.ensure_person(session=session, telegram_id=telegram_id, language=language, now=now)
    people.record_consent(session=session, person=found, role=role, version="1", now=now)
    people.set_display_name(session=session, person=found, name=name, now=now)
    return found


def build_world(database_url: str, *, coordinator_language: str = "nl") -> World:
    migrate.upgrade(database_url)
    db = Database(database_url)
    clock = FakeClock(START)
    settings = Settings(
        telegram_bot_token=TOKEN,
        database_url=database_url,
        workspace_enabled=True,
        workspace_url="https://bot.example.org/workspace/",
        _env_file=None,  # type: ignore[call-arg]
    )
    services = Services(settings=settings, db=db, clock=clock, instance="test")
    now = clock.now()
    with db.session() as session:
        area = people.add_area(session=session, name="Noord", now=now)
        coordinator = person(session, COORDINATOR_TG, "Cees", Role.COORDINATOR, now, coordinator_language)
        people.ensure_coordinator_profile(session=session, person=coordinator)
        other = person(session, OTHER_COORDINATOR_TG, "Olga", Role.COORDINATOR, now)
        people.ensure_coordinator_profile(session=session, person=other)
        family = person(session, FAMILY_TG, FAMILY_NAME, Role.FAMILY, now)
        people.save_family_profile(
            session=session,
            person=family,
            area_id=area.id,
            children_count=2,
            children_ages=None,
            primary_coordinator_id=coordinator.id,
        )
        # The other coordinator has a family of their own, so they are not an "admin without families".
        theirs = person(session, FAMILY_TG + 1, "Gijs", Role.FAMILY, now)
        people.save_family_profile(
            session=session,
            person=theirs,
            area_id=None,
            children_count=1,
            children_ages=None,
            primary_coordinator_id=other.id,
        )
        # The other family's check-ins of the last weeks, enough for the figures' charts to show some counts.
        for weeks_back, counts in enumerate(((7, 6, 0), (9, 5, 2), (8, 6, 5), (6, 5, 0))):
            sent = now - timedelta(days=7 * weeks_back, hours=1)
            for answer, count in zip(("good", "so_so", "not_good"), counts, strict=True):
                for _count in range(count):
                    given = care.create_checkin(session=session, family_id=theirs.id or 0, due_at=sent, now=sent)
                    care.answer_checkin(
                        session=session, checkin_id=given.id or 0, family_id=theirs.id or 0, answer=answer, now=sent
                    )
        for days, answer in ((21, "good"), (14, "so_so"), (7, "not_good")):
            checkin = care.create_checkin(
                session=session, family_id=family.id or 0, due_at=now - timedelta(days=days), now=now
            )
            care.answer_checkin(
                session=session, checkin_id=checkin.id or 0, family_id=family.id or 0, answer=answer, now=now
            )
        named = questions.name_question(
            session=session, services=services, person=family, text=QUESTION, theme="own", now=now
        )
        assert named.question is not None
        decision = question_reviews.open_decision(
            session=session, services=services, question=named.question, cause=DecisionCause.TWO_NOS, now=now
        )
        assert decision is not None
        concern = concern_store.create_concern(
            session=session, family_id=family.id, raised_by_id=family.id, source="checkin_not_good", now=now
        )
        concern_store.add_escalation_step(
            session=session, concern_id=concern.id or 0, level=0, target="primary", notified=[coordinator.id], now=now
        )
        volunteer = person(session, VOLUNTEER_TG, "Vera", Role.VOLUNTEER, now)
        people.save_volunteer_profile(
            session=session,
            person=volunteer,
            area_ids=[area.id or 0],
            skills=["chores"],
            availability=7,
            languages=["nl"],
        )
        helper = _approved(session, HELPER_TG, HELPER_NAME, area.id or 0, coordinator.id or 0, now)
        paused = _approved(session, PAUSED_TG, PAUSED_NAME, area.id or 0, coordinator.id or 0, now)
        volunteer_store.set_pause(session=session, volunteer_id=paused.id or 0, until=(now + timedelta(days=10)).date())
        match = _match(session, family.id or 0, helper.id or 0, coordinator.id or 0, now)
        for days in (1, 3):
            task = request_store.create_request(
                session=session,
                family_id=family.id or 0,
                created_by_id=family.id or 0,
                kind="groceries",
                involves_children=False,
                starts_at=now + timedelta(days=days),
                ends_at=now + timedelta(days=days, hours=1),
                flexible_week=False,
                area_id=area.id,
                destination=None,
                note="Private words of the family",
                voice_file_id=None,
                now=now,
            )
            request_store.accept(session=session, request_id=task.id or 0, volunteer_id=helper.id or 0, now=now)
        ids = [coordinator.id, other.id, family.id, volunteer.id, concern.id, decision.id, helper.id, match]
        # Cases: the family in intake, Mila (the coordinator's) and Gijs (the other's) on the waiting list.
        case_store.start(session=session, family_id=family.id or 0, state="intake", now=now - timedelta(days=3))
        waiting = person(session, WAITING_FAMILY_TG, WAITING_NAME, Role.FAMILY, now)
        people.save_family_profile(
            session=session,
            person=waiting,
            area_id=area.id,
            children_count=1,
            children_ages=None,
            primary_coordinator_id=coordinator.id,
        )
        case_store.start(session=session, family_id=waiting.id or 0, state="waiting", now=now - timedelta(days=20))
        case_store.start(session=session, family_id=theirs.id or 0, state="waiting", now=now - timedelta(days=5))
        # A second team with its own coordinator, family and volunteer; an admin over both.
        south = teams.create_team(session=session, name=SOUTH_TEAM, now=now)
        south_id = south.id or 0
        teun = person(session, SOUTH_COORDINATOR_TG, "Teun", Role.COORDINATOR, now)
        people.ensure_coordinator_profile(session=session, person=teun)
        teams.set_person_team(session=session, person_id=teun.id or 0, team_id=south_id)
        tara = person(session, SOUTH_FAMILY_TG, SOUTH_FAMILY_NAME, Role.FAMILY, now)
        people.save_family_profile(
            session=session,
            person=tara,
            area_id=None,
            children_count=3,
            children_ages=None,
            primary_coordinator_id=teun.id,
            team_id=south_id,
        )
        case_store.start(session=session, family_id=tara.id or 0, state="waiting", now=now - timedelta(days=50))
        wim = person(session, SOUTH_VOLUNTEER_TG, SOUTH_VOLUNTEER_NAME, Role.VOLUNTEER, now)
        people.save_volunteer_profile(
            session=session, person=wim, area_ids=[], skills=["chores"], availability=7, languages=["nl"]
        )
        teams.set_person_team(session=session, person_id=wim.id or 0, team_id=south_id)
        anna = person(session, ADMIN_TG, "Anna", Role.COORDINATOR, now)
        people.ensure_coordinator_profile(session=session, person=anna)
        anna.is_admin = True
        session.add(anna)
        extra = [south_id, teun.id, tara.id, wim.id, anna.id, waiting.id, theirs.id]
    return World(services, clock, *(int(i or 0) for i in ids + extra))


def _approved(session: Session, telegram_id: int, name: str, area_id: int, by: int, now: datetime) -> Person:
    """An approved volunteer in the area, at most two requests a week."""
    helper = person(session, telegram_id, name, Role.VOLUNTEER, now)
    people.save_volunteer_profile(
        session=session, person=helper, area_ids=[area_id], skills=["chores"], availability=7, languages=["nl"]
    )
    volunteer_store.approve_volunteer(
        session=session,
        volunteer_id=helper.id or 0,
        approver_id=by,
        vog_date=(now - timedelta(days=60)).date(),
        children_ok=True,
        weekly_cap=2,
        now=now,
    )
    return helper


def _match(session: Session, family_id: int, helper_id: int, coordinator_id: int, now: datetime) -> int:
    """A weekly match on Mondays: held (the family felt good), missed, difficult; today and next week to come."""
    first = (now - timedelta(days=21)).date()
    rhythm = Rhythm(RhythmKind.WEEKLY, first, time(15, 0), timedelta(hours=2), zone="Europe/Amsterdam")
    match = match_store.create_match(
        session=session,
        family_id=family_id,
        helper_id=helper_id,
        coordinator_id=coordinator_id,
        kind="sleepover",
        involves_children=True,
        rhythm=rhythm.to_json(),
        trial_end=(now + timedelta(days=30)).date(),
        reviews=[],
        now=now,
    )
    match_id = match.id or 0
    match_store.set_state(
        session=session, match_id=match_id, expected=["proposed"], now=now, state="active", started_at=now
    )
    for days, outcome in ((-21, "happened"), (-14, "didnt"), (-7, "difficult"), (0, None), (7, None)):
        starts = now + timedelta(days=days, hours=5)  # 15:00 in Amsterdam
        row = match_store.add_occurrence(
            session=session, match_id=match_id, day=starts.date(), starts_at=starts, ends_at=starts + timedelta(hours=2)
        )
        assert row is not None and row.id is not None
        if outcome is not None:
            match_store.set_outcome(session=session, occurrence_id=row.id, outcome=outcome, now=now)
        if outcome == "happened":
            match_store.set_feeling(session=session, occurrence_id=row.id, feeling="good")
    return match_id
