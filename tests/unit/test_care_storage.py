"""Storage for check-ins and concerns: every race is one conditional update, answered once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from storage import care, job_store, migrate, people
from storage import concerns as concern_store
from storage.db import Database
from storage.models import Person, Role

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    yield database
    database.dispose()


def _person(db: Database, telegram_id: int, role: str, name: str) -> int:
    with db.session() as session:
        person = people.ensure_person(session=session, telegram_id=telegram_id, language="en", now=NOW)
        people.record_consent(session=session, person=person, role=role, version="1", now=NOW)
        people.set_display_name(session=session, person=person, name=name, now=NOW)
        if role == Role.FAMILY:
            people.save_family_profile(
                session=session,
                person=person,
                area_id=None,
                children_count=None,
                children_ages=None,
                primary_coordinator_id=None,
            )
        else:
            people.ensure_coordinator_profile(session=session, person=person)
        assert person.id is not None
        return person.id


def test_a_check_in_is_answered_once_and_only_by_its_own_family(db: Database) -> None:
    family = _person(db, 1, Role.FAMILY, "Mira")
    other = _person(db, 2, Role.FAMILY, "Noor")
    with db.session() as session:
        checkin = care.create_checkin(session=session, family_id=family, due_at=NOW, now=NOW)
        assert checkin.id is not None
        checkin_id = checkin.id
    with db.session() as session:
        assert not care.answer_checkin(session=session, checkin_id=checkin_id, family_id=other, answer="good", now=NOW)
        assert care.answer_checkin(session=session, checkin_id=checkin_id, family_id=family, answer="so_so", now=NOW)
        assert not care.answer_checkin(session=session, checkin_id=checkin_id, family_id=family, answer="good", now=NOW)
        assert not care.mark_missed(session=session, checkin_id=checkin_id)
        assert not care.mark_reminded(session=session, checkin_id=checkin_id, now=NOW)
    with db.session() as session:
        stored = care.get_checkin(session=session, checkin_id=checkin_id)
        assert stored is not None and stored.answer == "so_so"
        assert [c.id for c in care.recent_checkins(session=session, family_id=family)] == [checkin_id]


def test_missed_check_ins_count_up_and_an_answer_resets_them(db: Database) -> None:
    family = _person(db, 3, Role.FAMILY, "Ada")
    with db.session() as session:
        first = care.create_checkin(session=session, family_id=family, due_at=NOW, now=NOW)
        assert first.id is not None
        assert care.mark_missed(session=session, checkin_id=first.id)
        assert not care.mark_missed(session=session, checkin_id=first.id)
        assert care.add_missed(session=session, family_id=family) == 1
        assert care.add_missed(session=session, family_id=family) == 2
        care.set_counters(session=session, family_id=family, missed=0, good_streak=4)
        profile = care.get_family_profile(session=session, family_id=family)
        assert profile is not None and profile.missed_checkins == 0 and profile.good_streak == 4


def test_a_concern_is_claimed_by_one_coordinator_and_closed_once(db: Database) -> None:
    family = _person(db, 4, Role.FAMILY, "Lina")
    kim = _person(db, 5, Role.COORDINATOR, "Kim")
    sam = _person(db, 6, Role.COORDINATOR, "Sam")
    with db.session() as session:
        concern = concern_store.create_concern(
            session=session, family_id=family, raised_by_id=family, source="talk", now=NOW
        )
        assert concern.id is not None
        concern_id = concern.id
        assert concern_store.open_concern(session=session, family_id=family) is not None
    later = NOW + timedelta(minutes=5)
    with db.session() as session:
        assert concern_store.claim(session=session, concern_id=concern_id, coordinator_id=kim, now=later)
        assert not concern_store.claim(session=session, concern_id=concern_id, coordinator_id=sam, now=later)
        assert not concern_store.acknowledge(session=session, concern_id=concern_id, now=later), (
            "claiming acknowledged it"
        )
    with db.session() as session:
        stored = concern_store.get_concern(session=session, concern_id=concern_id)
        assert stored is not None and stored.claimed_by_id == kim and stored.acknowledged_at == later
        assert concern_store.close(
            session=session, concern_id=concern_id, coordinator_id=sam, note="Called, all fine", now=later
        )
        assert not concern_store.close(session=session, concern_id=concern_id, coordinator_id=sam, note=None, now=later)
    with db.session() as session:
        stored = concern_store.get_concern(session=session, concern_id=concern_id)
        assert stored is not None and stored.status == "closed" and stored.close_note == "Called, all fine"
        assert concern_store.open_concern(session=session, family_id=family) is None


def test_escalation_steps_list_everyone_alerted_once(db: Database) -> None:
    family = _person(db, 7, Role.FAMILY, "Rosa")
    with db.session() as session:
        concern = concern_store.create_concern(
            session=session, family_id=family, raised_by_id=None, source="x", now=NOW
        )
        assert concern.id is not None
        concern_store.add_escalation_step(
            session=session, concern_id=concern.id, level=0, target="primary", notified=[3], now=NOW
        )
        concern_store.add_escalation_step(
            session=session, concern_id=concern.id, level=1, target="partner", notified=[4], now=NOW
        )
        concern_store.add_escalation_step(
            session=session, concern_id=concern.id, level=2, target="all", notified=[3, 4, 5], now=NOW
        )
        assert concern_store.notified_ids(session=session, concern_id=concern.id) == [3, 4, 5]


def test_duo_partners_pair_both_ways_and_families_follow(db: Database) -> None:
    family = _person(db, 8, Role.FAMILY, "Bo")
    kim = _person(db, 9, Role.COORDINATOR, "Kim")
    sam = _person(db, 10, Role.COORDINATOR, "Sam")
    with db.session() as session:
        care.set_coordinators(session=session, family_id=family, primary_id=kim)
        care.set_duo_partner(session=session, coordinator_id=kim, partner_id=sam)
    with db.session() as session:
        profile = care.get_family_profile(session=session, family_id=family)
        assert profile is not None and (profile.primary_coordinator_id, profile.partner_coordinator_id) == (kim, sam)
        partner = people.get_coordinator(session=session, person_id=sam)
        assert partner is not None and partner.duo_partner_id == kim
        assert [p.id for p in care.families(session=session, coordinator_id=sam)] == [family]


def test_topics_and_relay_links_keep_ids_only_and_follow_a_migration(db: Database) -> None:
    family = _person(db, 11, Role.FAMILY, "Ed")
    with db.session() as session:
        care.save_topic(session=session, family_id=family, chat_id=-100, thread_id=42)
        care.add_relay_link(session=session, chat_id=-100, message_id=7, family_id=family, now=NOW)
        care.add_relay_link(session=session, chat_id=-100, message_id=7, family_id=family, now=NOW)
    with db.session() as session:
        assert care.family_for_thread(session=session, chat_id=-100, thread_id=42) == family
        care.move_topics(session=session, old_chat_id=-100, new_chat_id=-1001)
        care.move_relay_links(session=session, old_chat_id=-100, new_chat_id=-1001)
    with db.session() as session:
        assert care.family_for_thread(session=session, chat_id=-1001, thread_id=42) == family
        link = care.get_relay_link(session=session, chat_id=-1001, message_id=7)
        assert link is not None and link.family_id == family
        care.drop_topic(session=session, family_id=family, thread_id=41)
        assert care.get_topic(session=session, family_id=family) is not None, "only the named thread is dropped"
        care.drop_topic(session=session, family_id=family, thread_id=42)
        assert care.get_topic(session=session, family_id=family) is None


def test_the_next_check_in_is_the_earliest_pending_job(db: Database) -> None:
    family = _person(db, 12, Role.FAMILY, "Jo")
    with db.session() as session:
        assert care.next_job_due(session=session, kind="checkin.send", subject_id=family) is None
        job_store.schedule_job(
            session=session,
            kind="checkin.send",
            due_at=NOW + timedelta(days=7),
            dedupe_key="a",
            now=NOW,
            subject_id=family,
        )
        assert care.next_job_due(session=session, kind="checkin.send", subject_id=family) == NOW + timedelta(days=7)
        job_store.cancel_jobs(session=session, kind="checkin.send", subject_id=family)
        assert care.next_job_due(session=session, kind="checkin.send", subject_id=family) is None


def test_timeline_keeps_kinds_and_finds_the_last_event(db: Database) -> None:
    family = _person(db, 13, Role.FAMILY, "Vi")
    with db.session() as session:
        people.add_timeline(session=session, family_id=family, kind="relay_out", now=NOW, actor_id=None)
        people.add_timeline(session=session, family_id=family, kind="relay_out", now=NOW + timedelta(hours=1))
        people.add_timeline(session=session, family_id=family, kind="relay_in", now=NOW + timedelta(hours=2))
    with db.session() as session:
        assert care.last_event_at(session=session, family_id=family, kinds=("relay_out",)) == NOW + timedelta(hours=1)
        assert [item.kind for item in care.timeline(session=session, family_id=family)] == [
            "relay_in",
            "relay_out",
            "relay_out",
        ]
        assert isinstance(session.get(Person, family), Person)
