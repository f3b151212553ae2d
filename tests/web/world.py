"""A small world for the workspace tests: two coordinators (one the family's, one not), a family with a
question whose help got two "no"s (an open decision), an open concern with one escalation step, answered
check-ins, and a volunteer waiting for approval. Real database, fake clock, the real Starlette app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.clock import FakeClock
from domain.questions import DecisionCause
from services import question_reviews, questions
from services.context import Services
from services.settings import Settings
from storage import care, migrate, people
from storage import concerns as concern_store
from storage.db import Database, Session
from storage.models import Person, Role
from web.auth import init_data_for

TOKEN = "555555555:workspace-test-token"
OTHER_TOKEN = "666666666:another-bots-token"
COORDINATOR_TG = 9100
OTHER_COORDINATOR_TG = 9101
FAMILY_TG = 9200
VOLUNTEER_TG = 9300
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
        ids = [coordinator.id, other.id, family.id, volunteer.id, concern.id, decision.id]
    return World(services, clock, *(int(i or 0) for i in ids))
