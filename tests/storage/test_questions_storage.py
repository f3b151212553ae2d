"""The family's questions through the services on SQLite and PostgreSQL: the review job, the signals that open a
decision, what a stop ends, the figures, the export and the erasure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlmodel import select

from domain.clock import FakeClock
from domain.matches import Rhythm, RhythmKind
from domain.questions import DecisionCause, QuestionState
from services import match_runs, question_decisions, question_reviews, questions
from services.context import Services
from services.settings import Settings
from storage import care, migrate, people, privacy
from storage import matches as matches_store
from storage import questions as store
from storage import requests as requests_store
from storage import volunteers as volunteer_store
from storage.db import Database
from storage.models import JobStatus, OutboxMessage, Person, Role, ScheduledJob

WORDS = "Hulp bij de brieven van de gemeente, ik begrijp ze niet"


@dataclass
class World:
    services: Services
    clock: FakeClock
    family: int
    coordinator: int
    helper: int


def _person(session: object, telegram_id: int, name: str, role: str, now: datetime) -> Person:
    person = people.ensure_person(session=session, telegram_id=telegram_id, language="nl", now=now)  # type: ignore[arg-type]
    people.record_consent(session=session, person=person, role=role, version="1", now=now)  # type: ignore[arg-type]
    people.set_display_name(session=session, person=person, name=name, now=now)  # type: ignore[arg-type]
    return person


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    migrate.upgrade(database_url)
    db = Database(database_url)
    clock = FakeClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    services = Services(settings=settings, db=db, clock=clock, instance="test")
    now = clock.now()
    with db.session() as session:
        coordinator = _person(session, 8000, "Cees", Role.COORDINATOR, now)
        people.ensure_coordinator_profile(session=session, person=coordinator)
        family = _person(session, 8100, "Fenna", Role.FAMILY, now)
        people.save_family_profile(
            session=session,
            person=family,
            area_id=None,
            children_count=1,
            children_ages=None,
            primary_coordinator_id=coordinator.id,
        )
        helper = _person(session, 8200, "Hanna", Role.VOLUNTEER, now)
        volunteer_store.set_support_volunteer(session=session, family_id=family.id or 0, volunteer_id=helper.id)
        ids = (int(family.id or 0), int(coordinator.id or 0), int(helper.id or 0))
    yield World(services, clock, *ids)
    db.dispose()


def _request(session: object, world: World, now: datetime) -> object:
    """An open one-off request of the family (a chore, no time)."""
    return requests_store.create_request(
        session=session,  # type: ignore[arg-type]
        family_id=world.family,
        created_by_id=world.family,
        kind="chores",
        involves_children=False,
        starts_at=None,
        ends_at=None,
        flexible_week=True,
        area_id=None,
        destination=None,
        note=None,
        voice_file_id=None,
        now=now,
    )


def _family(world: World, session: object) -> Person:
    found = people.get_person(session=session, person_id=world.family)  # type: ignore[arg-type]
    assert found is not None
    return found


def _run_due(world: World, kind: str) -> int:
    """Run the due jobs of one kind the way the tick does (claimed, handled, finished)."""
    ran = 0
    with world.services.db.session() as session:
        jobs = [
            job
            for job in session.exec(select(ScheduledJob).where(ScheduledJob.kind == kind)).all()
            if job.status == JobStatus.PENDING and job.due_at <= world.clock.now()
        ]
        for job in jobs:
            handler = {**question_reviews.JOBS}.get(kind)
            assert handler is not None
            handler(session=session, job=job, services=world.services, now=world.clock.now())
            job.status = JobStatus.DONE
            ran += 1
    return ran


def _texts_to(world: World, person_id: int) -> list[str]:
    with world.services.db.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.person_id == person_id)).all()
        return [str(row.payload.get("text", "")) for row in rows]


def test_reviews_are_asked_and_two_nos_open_one_decision_for_the_coordinator(world: World) -> None:
    with world.services.db.session() as session:
        named = questions.name_question(
            session=session,
            services=world.services,
            person=_family(world, session),
            text=WORDS,
            theme="own",
            now=world.clock.now(),
        )
        assert named.question is not None and named.question.id is not None
        qid = named.question.id
        meeting = store.next_meeting(session=session, family_id=world.family)
        assert meeting is not None
        assert care.next_job_due(session=session, kind="casework.agenda", subject_id=world.family) is not None
    for _round in range(2):
        world.clock.advance(timedelta(weeks=4, hours=2))
        assert _run_due(world, "question.review") == 1
        with world.services.db.session() as session:
            (review, *_rest) = reversed(store.reviews_of(session=session, question_id=qid))
            result = question_reviews.answer_family_review(
                session=session,
                services=world.services,
                person=_family(world, session),
                review_id=review.id or 0,
                answer="no",
                now=world.clock.now(),
            )
    assert result.outcome == question_reviews.Answered.TO_COORDINATOR
    texts = _texts_to(world, world.coordinator)
    assert sum("A decision about" in text or "Een besluit" in text for text in texts) == 1
    assert all(WORDS not in text for text in _texts_to(world, world.helper)), "the helper was not shared it"
    with world.services.db.session() as session:
        decision = store.open_decision(session=session, question_id=qid)
        assert decision is not None and decision.cause == DecisionCause.TWO_NOS
        # A difficult visit does not open a second one while this is open.
        requests_store_question = store.get_question(session=session, question_id=qid)
        assert requests_store_question is not None
        assert (
            question_reviews.open_decision(
                session=session,
                services=world.services,
                question=requests_store_question,
                cause=DecisionCause.DIFFICULT_VISIT,
                now=world.clock.now(),
            )
            is None
        )


def test_falling_checkins_open_a_decision_only_for_questions_with_help(world: World) -> None:
    now = world.clock.now()
    with world.services.db.session() as session:
        family = _family(world, session)
        with_help = questions.name_question(
            session=session, services=world.services, person=family, text=None, theme="forms", now=now
        ).question
        without = questions.name_question(
            session=session, services=world.services, person=family, text=None, theme="break", now=now
        ).question
        assert with_help is not None and without is not None
        request = _request(session, world, now)
        store.link(
            session=session, question_id=with_help.id or 0, kind="request", ref_id=request.id or 0, by_id=None, now=now
        )
        for days, answer in ((21, "good"), (14, "good"), (1, "not_good")):
            checkin = care.create_checkin(
                session=session,
                family_id=world.family,
                due_at=now - timedelta(days=days),
                now=now - timedelta(days=days),
            )
            care.answer_checkin(
                session=session,
                checkin_id=checkin.id or 0,
                family_id=world.family,
                answer=answer,
                now=now - timedelta(days=days),
            )
        opened = question_reviews.checkins_answered(session=session, services=world.services, family=family, now=now)
        assert opened == 1
        assert store.open_decision(session=session, question_id=with_help.id or 0) is not None
        assert store.open_decision(session=session, question_id=without.id or 0) is None


def test_stop_ends_open_linked_requests_and_the_export_and_erasure_cover_everything(world: World) -> None:
    now = world.clock.now()
    with world.services.db.session() as session:
        family = _family(world, session)
        question = questions.name_question(
            session=session, services=world.services, person=family, text=WORDS, theme="own", now=now
        ).question
        assert question is not None and question.id is not None
        shared = questions.set_sharing(
            session=session, person=family, question_id=question.id, now=now, helper_id=world.helper
        )
        assert shared is not None and shared.shared_with_id == world.helper and shared.volunteers_may_help
        request = _request(session, world, now)
        coordinator = people.get_person(session=session, person_id=world.coordinator)
        assert questions.link_request(
            session=session, coordinator=coordinator, question_id=question.id, request_id=request.id or 0, now=now
        )
        decision = store.create_decision(
            session=session, question_id=question.id, family_id=world.family, cause="two_nos", now=now
        )
        result = question_decisions.decide(
            session=session,
            services=world.services,
            coordinator=coordinator,
            decision_id=decision.id or 0,
            choice="stop",
            reason="not_helping",
            now=now,
        )
        assert result.outcome == question_decisions.Decided.DECIDED
        assert requests_store.get_request(session=session, request_id=request.id or 0).status == "cancelled"  # type: ignore[union-attr]
        assert store.get_question(session=session, question_id=question.id).state == QuestionState.STOPPED  # type: ignore[union-attr]
    assert any(WORDS in text for text in _texts_to(world, world.helper)), "shared with the helper"
    assert any("decided to stop" in text or "stoppen" in text for text in _texts_to(world, world.helper))

    with world.services.db.session() as session:
        family = _family(world, session)
        exported = privacy.export_rows(session=session, person=family)
        assert [row["text"] for row in exported["familyquestion"]] == [WORDS]
        assert exported["questionlink"] and exported["questiondecision"] and exported["caseworkmeeting"]
        helper = people.get_person(session=session, person_id=world.helper)
        assert helper is not None
        seen_by_helper = privacy.export_rows(session=session, person=helper)["familyquestion"]
        assert seen_by_helper and "text" not in seen_by_helper[0], "a helper's export holds no family's words"
        questions.person_leaves(session=session, person=family)
        assert store.family_questions(session=session, family_id=world.family) == []
        assert store.next_meeting(session=session, family_id=world.family) is None


def test_a_difficult_visit_of_a_linked_match_opens_a_decision_and_stop_ends_the_match(world: World) -> None:
    now = world.clock.now()
    with world.services.db.session() as session:
        family = _family(world, session)
        helper = people.get_person(session=session, person_id=world.helper)
        coordinator = people.get_person(session=session, person_id=world.coordinator)
        question = questions.name_question(
            session=session, services=world.services, person=family, text=None, theme="break", now=now
        ).question
        assert question is not None and question.id is not None and helper is not None
        rhythm = Rhythm(RhythmKind.WEEKLY, first=now.date(), start=time(15, 0), length=timedelta(hours=2))
        match = matches_store.create_match(
            session=session,
            family_id=world.family,
            helper_id=world.helper,
            coordinator_id=world.coordinator,
            kind="company",
            involves_children=False,
            rhythm=rhythm.to_json(),
            trial_end=now.date() + timedelta(weeks=6),
            reviews=[],
            now=now,
        )
        assert match.id is not None
        matches_store.set_state(
            session=session, match_id=match.id, expected=["proposed"], now=now, state="trial", started_at=now
        )
        assert questions.link_match(
            session=session, coordinator=coordinator, question_id=question.id, match_id=match.id, now=now
        )
        occurrence = matches_store.add_occurrence(
            session=session, match_id=match.id, day=now.date(), starts_at=now - timedelta(hours=3), ends_at=now
        )
        assert occurrence is not None and occurrence.id is not None
        logged = match_runs.log_visit(
            session=session,
            services=world.services,
            person=helper,
            occurrence_id=occurrence.id,
            outcome="difficult",
            now=now,
        )
        assert logged == match_runs.Logged.CONCERN
        decision = store.open_decision(session=session, question_id=question.id)
        assert decision is not None and decision.cause == DecisionCause.DIFFICULT_VISIT
        result = question_decisions.decide(
            session=session,
            services=world.services,
            coordinator=coordinator,
            decision_id=decision.id or 0,
            choice="stop",
            reason="not_helping",
            now=now,
        )
        assert result.outcome == question_decisions.Decided.DECIDED
        ended = matches_store.get_match(session=session, match_id=match.id)
        assert ended is not None and ended.state == "ended" and ended.end_reason == "not_a_fit"
