"""Lasting matches against real databases (SQLite and PostgreSQL): ten weeks of every other Saturday across the
daylight-saving change of 25 October 2026 run by the tick (exact dates, each reminder once, the sleepover that
crosses the change ends at 11:00 on the wall), the trial-end question to all three, compare-and-set moves, the
export of both sides and the jobs erasure cancels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.tick import Tick
from domain.clock import FakeClock
from domain.matches import Rhythm, RhythmKind
from services import match_endings, match_proposals, match_reviews, match_runs, unreachable
from services.context import Services
from services.settings import Settings
from storage import matches as store
from storage import migrate, privacy
from storage.db import Database
from storage.models import (
    FamilyProfile,
    JobStatus,
    OutboxMessage,
    Person,
    ScheduledJob,
    VolunteerProfile,
    VolunteerStatus,
)

AMS = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # Monday 5 October 2026, 10:00 in Amsterdam (summer time)


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    migrate.upgrade(database_url)
    db = Database(database_url)
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    found = Services(settings=settings, db=db, clock=FakeClock(START), instance="test")
    for jobs in (match_runs.JOBS, match_reviews.JOBS, unreachable.JOBS):
        found.jobs.update(jobs)
    yield found
    db.dispose()


def _people(services: Services) -> tuple[int, int, int]:
    """A coordinator, a family of theirs and an approved helper with a VOG and 'with children'."""
    with services.db.session() as session:
        coordinator = Person(telegram_id=71, role="coordinator", display_name="Cora", consent_at=START, language="en")
        family = Person(telegram_id=72, role="family", display_name="Fam", consent_at=START, language="nl")
        helper = Person(telegram_id=73, role="volunteer", display_name="Hulp", consent_at=START, language="tr")
        session.add_all([coordinator, family, helper])
        session.flush()
        assert coordinator.id and family.id and helper.id
        session.add(FamilyProfile(person_id=family.id, primary_coordinator_id=coordinator.id, street="Dorpsstraat 1"))
        session.add(
            VolunteerProfile(
                person_id=helper.id, status=VolunteerStatus.APPROVED, vog_date=date(2026, 1, 10), children_ok=True
            )
        )
        return coordinator.id, family.id, helper.id


def _get(services: Services, model: type, key: int) -> object:
    with services.db.session() as session:
        found = session.get(model, key)
        session.expunge_all()
        return found


def _agreed_match(services: Services, first: date, trial_end: date, reviews: tuple[date, ...] = ()) -> int:
    coordinator_id, family_id, helper_id = _people(services)
    now = services.clock.now()
    rhythm = Rhythm(kind=RhythmKind.EVERY_OTHER_WEEK, first=first, start=time(15, 0), length=timedelta(hours=20))
    with services.db.session() as session:
        coordinator = session.get(Person, coordinator_id)
        proposed = match_proposals.propose(
            session=session,
            services=services,
            coordinator=coordinator,
            proposal=match_proposals.Proposal(
                family_id=family_id,
                helper_id=helper_id,
                kind="sleepover",
                rhythm=rhythm,
                trial_end=trial_end,
                reviews=reviews,
            ),
            now=now,
        )
        assert proposed.match_id is not None, proposed
        match_id = proposed.match_id
    for person_id, result in (
        (family_id, match_proposals.Answered.WAITING),
        (helper_id, match_proposals.Answered.STARTED),
    ):
        with services.db.session() as session:
            person = session.get(Person, person_id)
            answered = match_proposals.answer(
                session=session, services=services, person=person, match_id=match_id, accept=True, now=now
            )
            assert answered.result == result
    return match_id


def _keys(services: Services, prefix: str) -> list[str]:
    with services.db.session() as session:
        return list(
            session.exec(select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).startswith(prefix)))
        )


def test_every_other_saturday_runs_ten_weeks_across_the_october_change_each_reminder_once(services: Services) -> None:
    first = date(2026, 10, 10)
    match_id = _agreed_match(services, first, trial_end=date(2026, 11, 21), reviews=(date(2027, 1, 9),))
    tick = Tick(services)
    clock = services.clock
    assert isinstance(clock, FakeClock)
    # Ten weeks, three hours at a time, the tick running each time (twice now and then: nothing runs twice).
    while clock.now() < START + timedelta(weeks=11):
        clock.advance(timedelta(hours=3))
        tick.run_due()
        if clock.now().hour == 0:
            tick.run_due()
    with services.db.session() as session:
        rows = store.occurrences(session=session, match_id=match_id)
        expected = [first + timedelta(days=14 * n) for n in range(6)]
        assert [row.day for row in rows][:6] == expected
        # 15:00 on the wall every time: 13:00 UTC in summer time (24 October is its last Saturday), 14:00 after.
        assert [row.starts_at.astimezone(UTC).hour for row in rows[:6]] == [13, 13, 14, 14, 14, 14]
        assert {row.starts_at.astimezone(AMS).time() for row in rows} == {time(15, 0)}
        # The sleepover of 24 October crosses the change and still ends at 11:00 on Sunday's wall.
        crossing = rows[1]
        assert crossing.ends_at.astimezone(AMS) == datetime(2026, 10, 25, 11, 0, tzinfo=AMS)
        assert crossing.ends_at - crossing.starts_at == timedelta(hours=21)
        reminders = session.exec(
            select(ScheduledJob).where(ScheduledJob.kind == match_runs.REMIND).order_by(col(ScheduledJob.due_at))
        ).all()
        assert [job.due_at.astimezone(AMS).strftime("%a %d %b %H:%M") for job in reminders[:6]] == [
            "Fri 09 Oct 15:00",
            "Fri 23 Oct 15:00",
            "Fri 06 Nov 15:00",
            "Fri 20 Nov 15:00",
            "Fri 04 Dec 15:00",
            "Fri 18 Dec 15:00",
        ]
    for row in rows[:6]:
        assert len(_keys(services, f"match.remind:{row.id}:")) == 2, "each side reminded exactly once"
    # The trial ended on 21 November: the family, the helper and the coordinator were each asked once.
    with services.db.session() as session:
        asked = store.reviews(session=session, match_id=match_id)
        assert [review.due_on for review in asked] == [date(2026, 11, 21)]
    assert len(_keys(services, f"match.review:{asked[0].id}:")) == 3


def test_moves_are_compare_and_set_and_a_second_answer_changes_nothing(services: Services) -> None:
    match_id = _agreed_match(services, date(2026, 10, 17), trial_end=date(2026, 11, 28))
    now = services.clock.now()
    with services.db.session() as session:
        assert not store.set_state(session=session, match_id=match_id, expected=["proposed"], now=now, state="ended")
        match = store.get_match(session=session, match_id=match_id)
        assert match is not None and match.state == "trial"
        row = store.occurrences(session=session, match_id=match_id)[0]
        assert (
            store.add_occurrence(
                session=session, match_id=match_id, day=row.day, starts_at=row.starts_at, ends_at=row.ends_at
            )
            is None
        )
        review = store.add_review(session=session, match_id=match_id, due_on=date(2026, 11, 28), now=now)
        assert review is not None and review.id is not None
        assert store.add_review(session=session, match_id=match_id, due_on=date(2026, 11, 28), now=now) is None
        assert store.answer_review(session=session, review_id=review.id, side="family", choice="continue")
        assert not store.answer_review(session=session, review_id=review.id, side="family", choice="stop")
        assert store.decide_review(session=session, review_id=review.id, decision="continue", coordinator_id=1, now=now)
        assert not store.decide_review(session=session, review_id=review.id, decision="stop", coordinator_id=1, now=now)
        # The helper became the family's support volunteer when the match started; a second match changes nothing.
        profile = session.get(FamilyProfile, match.family_id)
        assert profile is not None and profile.support_volunteer_id == match.helper_id
        assert not store.support_first(session=session, family_id=match.family_id, helper_id=999)
        helper = session.get(Person, match.helper_id)
        # A decline after acceptance is refused.
        answered = match_proposals.answer(
            session=session, services=services, person=helper, match_id=match_id, accept=False, now=now
        )
        assert answered.result == match_proposals.Answered.TOO_LATE


def test_both_sides_export_the_match_and_erasure_cancels_its_jobs(services: Services) -> None:
    match_id = _agreed_match(services, date(2026, 10, 17), trial_end=date(2026, 11, 28))
    with services.db.session() as session:
        match = store.get_match(session=session, match_id=match_id)
        assert match is not None
        for person_id in (match.family_id, match.helper_id):
            person = session.get(Person, person_id)
            assert person is not None
            rows = privacy.export_rows(session=session, person=person)
            assert [row["id"] for row in rows["match"]] == [match_id]
            assert rows["matchoccurrence"], "the planned times are theirs too"
            assert any(row["kind"] == match_runs.REMIND for row in rows["scheduledjob"])
        coordinator = session.get(Person, match.coordinator_id)
        assert coordinator is not None
        mentioned = privacy.export_rows(session=session, person=coordinator)["match"]
        assert mentioned == [
            {
                "id": match_id,
                "coordinator_id": coordinator.id,
                "kind": "sleepover",
                "state": "trial",
                "created_at": mentioned[0]["created_at"],
                "started_at": mentioned[0]["started_at"],
                "ended_at": None,
                "end_reason": None,
            }
        ]
        helper = session.get(Person, match.helper_id)
        assert helper is not None
        assert (
            match_endings.person_leaves(session=session, services=services, person=helper, now=services.clock.now())
            == 1
        )
        privacy.cancel_jobs_about(session=session, person=helper)
        pending = session.exec(
            select(ScheduledJob).where(
                col(ScheduledJob.kind).startswith("match."), ScheduledJob.status == JobStatus.PENDING
            )
        ).all()
        assert pending == []
        ended = store.get_match(session=session, match_id=match_id)
        assert ended is not None and (ended.state, ended.end_reason) == ("ended", "erased")
    # The family is told without the helper's name; the helper (who left) is not written to.
    with services.db.session() as session:
        family_notice = session.exec(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"match.end:{match_id}:{match.family_id}")
        ).one()
        assert "Hulp" not in str(family_notice.payload)
        assert not session.exec(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"match.end:{match_id}:{match.helper_id}")
        ).all()


def test_a_vog_that_no_longer_covers_children_pauses_the_match_and_tells_the_coordinator(services: Services) -> None:
    match_id = _agreed_match(services, date(2026, 10, 17), trial_end=date(2026, 11, 28))
    with services.db.session() as session:
        match = store.get_match(session=session, match_id=match_id)
        assert match is not None
        profile = session.get(VolunteerProfile, match.helper_id)
        assert profile is not None
        profile.vog_date = date(2023, 10, 16)  # three years old on Friday 16 October: too old on the 17th
        session.add(profile)
    clock = services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(datetime(2026, 10, 16, 13, 5, tzinfo=UTC) - clock.now())
    Tick(services).run_due()
    with services.db.session() as session:
        paused = store.get_match(session=session, match_id=match_id)
        assert paused is not None and (paused.state, paused.paused_from) == ("paused", "trial")
        assert store.next_occurrence(session=session, match_id=match_id, now=clock.now()) is None
    assert _keys(services, f"match.vog:{match_id}:"), "the coordinator is told"
    assert not _keys(services, "match.remind:"), "no reminder for a time the helper may not come to"


def test_the_weekly_picture_names_matches_that_started_and_trials_that_end(services: Services) -> None:
    from services import match_insight

    match_id = _agreed_match(services, date(2026, 10, 10), trial_end=date(2026, 10, 24))
    with services.db.session() as session:
        match = store.get_match(session=session, match_id=match_id)
        assert match is not None
        lines = match_insight.week_lines(
            session=session,
            family_ids=[match.family_id],
            now=services.clock.now(),
            zone="Europe/Amsterdam",
            language="en",
        )
    assert any("Fam ↔ Hulp" in line and "started" in line for line in lines)
    clock = services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(days=14))
    with services.db.session() as session:
        lines = match_insight.week_lines(
            session=session, family_ids=[match.family_id], now=clock.now(), zone="Europe/Amsterdam", language="en"
        )
    assert any("the trial ends" in line for line in lines)


def test_two_times_called_off_in_a_row_reach_the_coordinator_as_a_concern(services: Services) -> None:
    from storage.models import Concern

    match_id = _agreed_match(services, date(2026, 10, 10), trial_end=date(2026, 11, 21))
    with services.db.session() as session:
        match = store.get_match(session=session, match_id=match_id)
        assert match is not None
        family = session.get(Person, match.family_id)
        first, second = store.occurrences(session=session, match_id=match_id)[:2]
        now = services.clock.now()
        done = match_runs.skip(session=session, services=services, person=family, occurrence_id=first.id or 0, now=now)
        assert done.result == match_runs.Skipped.DONE and done.other_name == "Hulp"
        again = match_runs.skip(session=session, services=services, person=family, occurrence_id=first.id or 0, now=now)
        assert again.result == match_runs.Skipped.GONE, "called off once"
        assert not session.exec(select(Concern).where(Concern.family_id == match.family_id)).all()
        match_runs.skip(session=session, services=services, person=family, occurrence_id=second.id or 0, now=now)
        concern = session.exec(select(Concern).where(Concern.family_id == match.family_id)).one()
        assert concern.source == "match_missed"
    assert len(_keys(services, "match.skip:")) == 2, "the helper was told both times"


def test_the_anonymous_figures_count_a_started_match_by_kind(services: Services) -> None:
    from services import match_figures

    match_id = _agreed_match(services, date(2026, 10, 10), trial_end=date(2026, 11, 21), reviews=())
    start, end = START - timedelta(days=1), START + timedelta(days=60)
    with services.db.session() as session:
        rows = match_figures.rows(session=session, start=start, end=end, threshold=1)
        match = store.get_match(session=session, match_id=match_id)
        assert match is not None
    values = {(row.metric, row.category): row.value for row in rows}
    assert values[("matches_started", "")] == "1" and values[("matches_by_kind", match.kind)] == "1"
    assert values[("matches_ended", "")] == "0"
    assert {row.metric for row in rows} <= {
        "matches_started",
        "matches_by_kind",
        "median_weeks_matched",
        "match_times_held_share",
        "matches_ended",
        "give_backs_offered",
        "give_backs_happened_share",
        "matches_ended_by_reason",
    }, "counts, shares and kinds only"
