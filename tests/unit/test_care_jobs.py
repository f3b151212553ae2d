"""Check-in and concern jobs without Telegram: many families due at once, the chain, the topic resolver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col
from telegram.error import BadRequest

from bot.tick import Tick
from bot.topics import TopicResolver
from domain.clock import FakeClock
from domain.urgent_terms import UrgentCategory
from services import checkins, claims, concerns, unreachable
from services.context import Services
from services.escalation import raise_concern
from services.groups import set_coordinator_group
from services.safety import safety_numbers_text
from services.settings import Settings
from storage import care, job_store, migrate, people
from storage import concerns as concern_store
from storage.db import Database
from storage.models import CheckIn, FamilyProfile, JobStatus, OutboxMessage, Person, Role, ScheduledJob

# Monday 23 November 2026, 10:00 in Amsterdam: office hours.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    migrate.upgrade(sqlite_url)
    db = Database(sqlite_url)
    settings = Settings(database_url=sqlite_url, _env_file=None)  # type: ignore[call-arg]
    found = Services(settings=settings, db=db, clock=FakeClock(NOW), instance="test")
    found.jobs.update(checkins.JOBS)
    found.jobs.update(unreachable.JOBS)
    yield found
    db.dispose()


def add_families(services: Services, count: int, *, start_id: int = 1_000_000) -> list[int]:
    with services.db.session() as session:
        persons = [
            Person(
                telegram_id=start_id + index,
                language="nl" if index % 2 else "en",
                role=Role.FAMILY,
                display_name=f"Gezin {index}",
                consent_version="1",
                consent_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
            for index in range(count)
        ]
        session.add_all(persons)
        session.flush()
        session.add_all([FamilyProfile(person_id=person.id, checkin_rhythm="weekly") for person in persons])
        return [int(person.id) for person in persons if person.id is not None]


def add_coordinator(services: Services, telegram_id: int, name: str) -> int:
    with services.db.session() as session:
        person = people.ensure_person(session=session, telegram_id=telegram_id, language="en", now=NOW)
        people.record_consent(session=session, person=person, role=Role.COORDINATOR, version="1", now=NOW)
        people.set_display_name(session=session, person=person, name=name, now=NOW)
        people.ensure_coordinator_profile(session=session, person=person)
        assert person.id is not None
        return person.id


def test_thousands_of_families_due_at_the_same_minute_get_one_check_in_each(services: Services) -> None:
    count = 1_001  # more than two of the tick's batches of 500
    ids = add_families(services, count)
    with services.db.session() as session:
        for family_id in ids:
            job_store.schedule_job(
                session=session,
                kind="checkin.send",
                due_at=NOW,
                dedupe_key=f"checkin.send:{family_id}:seed",
                now=NOW,
                subject_id=family_id,
            )
    tick = Tick(services)
    # How fast is for the benchmarks (bench/); here only that each runs, and once.
    assert tick.run_due() == count
    assert tick.run_due() == 0, "nothing runs twice"
    with services.db.session() as session:
        sent = session.execute(select(func.count()).where(col(OutboxMessage.purpose) == "checkin")).scalar_one()
        chats = session.execute(
            select(func.count(func.distinct(OutboxMessage.chat_id))).where(col(OutboxMessage.purpose) == "checkin")
        ).scalar_one()
        assert sent == chats == count
        assert session.execute(select(func.count()).select_from(CheckIn)).scalar_one() == count
        pending = session.execute(
            select(func.count()).where(
                col(ScheduledJob.kind) == "checkin.send", col(ScheduledJob.status) == JobStatus.PENDING
            )
        ).scalar_one()
        assert pending == count, "each family has exactly its next check-in"
        # The default rhythm's weekday and time: Tuesday at 09:30 in Amsterdam, a week on.
        assert care.next_job_due(session=session, kind="checkin.send", subject_id=ids[0]) == datetime(
            2026, 12, 1, 8, 30, tzinfo=UTC
        )


def test_the_chain_without_acknowledgement_and_its_audit(services: Services) -> None:
    (family_id,) = add_families(services, 1)
    primary = add_coordinator(services, 11, "Pia")
    partner = add_coordinator(services, 12, "Dex")
    other = add_coordinator(services, 13, "Coco")
    with services.db.session() as session:
        care.set_duo_partner(session=session, coordinator_id=primary, partner_id=partner)
        care.set_coordinators(session=session, family_id=family_id, primary_id=primary)
        family = people.get_person(session=session, person_id=family_id)
        assert family is not None
        concern, new = raise_concern(
            session=session, services=services, family=family, raised_by=family, source="talk", now=NOW
        )
        assert new and concern.id is not None
        concern_id = concern.id
    tick = Tick(services)
    clock = services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(minutes=31))
    assert tick.run_due() == 1
    clock.advance(timedelta(minutes=31))
    assert tick.run_due() == 1
    clock.advance(timedelta(hours=5))
    assert tick.run_due() == 0
    with services.db.session() as session:
        steps = concern_store.escalation_steps(session=session, concern_id=concern_id)
        assert [(s.level, s.target, s.notified) for s in steps] == [
            (0, "primary", [primary]),
            (1, "partner", [partner]),
            (2, "all", [primary, partner, other]),
        ]
        alerts = session.execute(
            select(OutboxMessage.chat_id).where(col(OutboxMessage.purpose) == "alert").order_by(OutboxMessage.id)
        ).all()
        assert [row[0] for row in alerts] == [11, 12, 11, 12, 13]


def test_a_claim_stops_the_chain(services: Services) -> None:
    (family_id,) = add_families(services, 1)
    primary = add_coordinator(services, 21, "Pia")
    with services.db.session() as session:
        care.set_coordinators(session=session, family_id=family_id, primary_id=primary)
        family = people.get_person(session=session, person_id=family_id)
        coordinator = people.get_person(session=session, person_id=primary)
        assert family is not None and coordinator is not None
        concern, _new = raise_concern(
            session=session, services=services, family=family, raised_by=family, source="talk", now=NOW
        )
        assert claims.take(session=session, services=services, concern=concern, coordinator=coordinator, now=NOW)
        again, new = raise_concern(
            session=session, services=services, family=family, raised_by=family, source="talk", now=NOW
        )
        assert not new and again.id == concern.id, "an open concern is reused"
    clock = services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(hours=3))
    Tick(services).run_due()
    with services.db.session() as session:
        assert [s.level for s in concern_store.escalation_steps(session=session, concern_id=concern.id or 0)] == [0]


def test_safety_numbers_put_the_fitting_line_first() -> None:
    suicide = safety_numbers_text([UrgentCategory.SUICIDE])
    violence = safety_numbers_text([UrgentCategory.VIOLENCE])
    for text in (suicide, violence):
        assert "112" in text and "0800-2000" in text and "0800-0113" in text
    assert suicide.index("0800-0113") < suicide.index("0800-2000")
    assert violence.index("0800-2000") < violence.index("0800-0113")


def test_the_escalation_policy_follows_the_settings(services: Services) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        office_days="0,1,2,3",
        escalation_wait_office_minutes=10,
        escalation_morning_rule="",
    )
    services.settings = settings
    policy = concerns.policy(services)
    assert policy.office_days == (0, 1, 2, 3)
    assert policy.wait_office == timedelta(minutes=10)
    assert policy.morning_rule is None


class FakeBot:
    """Answers the Bot API methods the topic resolver uses, like the real server would."""

    def __init__(self, *, forum: bool = True) -> None:
        self.forum = forum
        self.topics: set[int] = set()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.next_id = 100

    async def do_api_request(self, method: str, api_kwargs: dict[str, Any]) -> Any:
        self.calls.append((method, dict(api_kwargs)))
        self.next_id += 1
        if method == "createForumTopic":
            if not self.forum:
                raise BadRequest("the chat is not a forum")
            self.topics.add(self.next_id)
            return {"message_thread_id": self.next_id, "name": api_kwargs["name"]}
        thread = api_kwargs.get("message_thread_id")
        if thread is not None and thread not in self.topics:
            raise BadRequest("message thread not found")
        return {"message_id": self.next_id}


def topic_row(services: Services, family_id: int, text: str) -> OutboxMessage:
    with services.db.session() as session:
        family = people.get_person(session=session, person_id=family_id)
        assert family is not None
        concerns.post_to_topic(
            session=session, services=services, family=family, key=f"t:{text}", text=text, now=NOW, concern_id=None
        )
        return session.execute(select(OutboxMessage).where(col(OutboxMessage.dedupe_key) == f"t:{text}")).scalar_one()


def test_the_topic_resolver_creates_reuses_and_recreates_topics(services: Services) -> None:
    (family_id,) = add_families(services, 1)
    with services.db.session() as session:
        set_coordinator_group(session=session, chat_id=-1001)
    resolver = TopicResolver(services)
    bot = FakeBot()
    first = topic_row(services, family_id, "one")
    result = asyncio.run(resolver.call(bot, first))  # type: ignore[arg-type]
    with services.db.session() as session:
        resolver.after_sent(session=session, row=first, result=result, now=NOW)
        topic = care.get_topic(session=session, family_id=family_id)
        assert topic is not None and topic.chat_id == -1001
        link = care.get_relay_link(session=session, chat_id=-1001, message_id=result["message_id"])
        assert link is not None and link.family_id == family_id, "a reply to it finds the family"
    thread = topic.thread_id
    sent = [kwargs for method, kwargs in bot.calls if method == "sendMessage"]
    assert sent[0]["message_thread_id"] == thread and "family_topic" not in sent[0] and "waakvlam_relay" not in sent[0]

    asyncio.run(resolver.call(bot, topic_row(services, family_id, "two")))  # type: ignore[arg-type]
    assert [method for method, _ in bot.calls].count("createForumTopic") == 1

    bot.topics.clear()  # someone deleted the topic
    asyncio.run(resolver.call(bot, topic_row(services, family_id, "three")))  # type: ignore[arg-type]
    with services.db.session() as session:
        again = care.get_topic(session=session, family_id=family_id)
    assert again is not None and again.thread_id != thread
    assert bot.calls[-1][1]["message_thread_id"] == again.thread_id


def test_without_a_forum_messages_go_to_the_group_itself(services: Services) -> None:
    (family_id,) = add_families(services, 1)
    with services.db.session() as session:
        set_coordinator_group(session=session, chat_id=-1002)
    resolver = TopicResolver(services)
    bot = FakeBot(forum=False)
    asyncio.run(resolver.call(bot, topic_row(services, family_id, "plain")))  # type: ignore[arg-type]
    method, kwargs = bot.calls[-1]
    assert method == "sendMessage" and kwargs["chat_id"] == -1002 and "message_thread_id" not in kwargs


def test_an_escalated_concern_that_turns_urgent_alerts_everyone_again(services: Services) -> None:
    (family_id,) = add_families(services, 1)
    primary = add_coordinator(services, 31, "Pia")
    partner = add_coordinator(services, 32, "Dex")
    with services.db.session() as session:
        care.set_duo_partner(session=session, coordinator_id=primary, partner_id=partner)
        care.set_coordinators(session=session, family_id=family_id, primary_id=primary)
        family = people.get_person(session=session, person_id=family_id)
        assert family is not None
        concern, _new = raise_concern(
            session=session, services=services, family=family, raised_by=family, source="talk", now=NOW
        )
    clock = services.clock
    assert isinstance(clock, FakeClock)
    for _step in range(2):
        clock.advance(timedelta(minutes=31))
        Tick(services).run_due()
    with services.db.session() as session:
        family = people.get_person(session=session, person_id=family_id)
        assert family is not None
        again, new = raise_concern(
            session=session, services=services, family=family, raised_by=family, source="urgent", now=NOW, urgent=True
        )
        assert new and again.id == concern.id and again.urgent and again.escalation_level == 2
        chats = session.execute(
            select(OutboxMessage.chat_id).where(col(OutboxMessage.purpose) == "alert").order_by(OutboxMessage.id)
        ).all()
    # primary; partner; everyone; and everyone again, now urgent
    assert [row[0] for row in chats] == [31, 32, 31, 32, 31, 32]


def test_the_tick_gives_way_to_the_event_loop_while_many_jobs_run(services: Services) -> None:
    """300 due jobs: updates and the sender keep their turn between jobs, and each job runs once."""
    ran: list[int] = []

    def record(*, session: Any, job: ScheduledJob, services: Services, now: datetime) -> None:
        ran.append(job.id or 0)

    services.jobs["test.record"] = record
    with services.db.session() as session:
        for number in range(300):
            job_store.schedule_job(
                session=session, kind="test.record", due_at=NOW, dedupe_key=f"record:{number}", now=NOW
            )

    async def scenario() -> tuple[int, int]:
        turns = 0
        done = asyncio.Event()

        async def other_work() -> None:
            nonlocal turns
            while not done.is_set():
                turns += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(other_work())
        count = await Tick(services).run_due_async(batch=50)
        done.set()
        await other
        return count, turns

    count, turns = asyncio.run(scenario())
    assert count == 300 and sorted(ran) == sorted(set(ran)) and len(ran) == 300
    assert turns >= 300, "other work ran between the jobs"
    assert Tick(services).run_due() == 0, "nothing runs twice"
