"""Storage for rights: the facts `authorize` reads, fresh from the rows, and consent requests answered once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from storage import care, migrate
from storage import concerns as concern_store
from storage import rights as store
from storage.db import Database
from storage.models import Role
from tests.unit.test_care_storage import _person

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    migrate.upgrade(sqlite_url)
    database = Database(sqlite_url)
    yield database
    database.dispose()


def test_family_facts_name_the_duo_everyone_alerted_about_open_concerns_and_urgency(db: Database) -> None:
    family = _person(db, 11, Role.FAMILY, "Ada")
    kim = _person(db, 12, Role.COORDINATOR, "Kim")
    sam = _person(db, 13, Role.COORDINATOR, "Sam")
    olga = _person(db, 14, Role.COORDINATOR, "Olga")
    with db.session() as session:
        care.set_duo_partner(session=session, coordinator_id=kim, partner_id=sam)
        care.set_coordinators(session=session, family_id=family, primary_id=kim)
        facts = store.family_facts(session=session, family_id=family)
        assert (facts.primary_id, facts.partner_id, facts.alerted_ids, facts.urgent) == (kim, sam, frozenset(), False)
        concern = concern_store.create_concern(
            session=session, family_id=family, raised_by_id=family, source="talk", now=NOW
        )
        assert concern.id is not None
        concern_store.add_escalation_step(
            session=session, concern_id=concern.id, level=2, target="all", notified=[olga], now=NOW
        )
        assert store.family_facts(session=session, family_id=family).alerted_ids == {olga}
        assert store.concern_facts(session=session, concern=concern).alerted_ids == {olga}
        concern_store.close(session=session, concern_id=concern.id, coordinator_id=kim, note=None, now=NOW)
        assert store.family_facts(session=session, family_id=family).alerted_ids == frozenset(), "closed: no longer"


def test_a_consent_request_is_asked_once_and_answered_once(db: Database) -> None:
    family = _person(db, 21, Role.FAMILY, "Bo")
    kim = _person(db, 22, Role.COORDINATOR, "Kim")
    sam = _person(db, 23, Role.COORDINATOR, "Sam")
    with db.session() as session:
        first = store.ask_consent(
            session=session, kind="primary", requester_id=sam, approver_id=kim, family_id=family, now=NOW
        )
        assert first is not None and first.id is not None
        request_id = first.id
        again = store.ask_consent(
            session=session, kind="primary", requester_id=sam, approver_id=kim, family_id=family, now=NOW
        )
        assert again is None, "the same question waits for its answer"
        duo = store.ask_consent(session=session, kind="duo", requester_id=sam, approver_id=kim, family_id=None, now=NOW)
        assert duo is not None
    later = NOW + timedelta(minutes=1)
    with db.session() as session:
        assert store.answer_consent(session=session, request_id=request_id, accepted=False, now=later)
        assert not store.answer_consent(session=session, request_id=request_id, accepted=True, now=later)
        stored = store.get_consent(session=session, request_id=request_id)
        assert stored is not None and stored.accepted is False and stored.answered_at == later
        assert store.ask_consent(
            session=session, kind="primary", requester_id=sam, approver_id=kim, family_id=family, now=later
        ), "after an answer one may ask again"
