"""The usual wait: each finished wait paired with the start of that family's latest wait before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import cases, migrate
from storage.case_tables import CaseStep
from storage.db import Database
from storage.models import Person

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_finished_waits_pair_each_end_with_its_own_start(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    db = Database(sqlite_url)
    with db.session() as session:
        ids = []
        for telegram_id in (1, 2, 3):
            person = Person(telegram_id=telegram_id, created_at=START, updated_at=START)
            session.add(person)
            session.flush()
            assert person.id is not None
            ids.append(person.id)
        one, two, three = ids
        steps = [
            (one, None, "waiting", 0),
            (one, "waiting", "active", 14),
            (one, "active", "waiting", 30),  # a second wait of the same family
            (one, "waiting", "active", 51),
            (two, None, "waiting", 5),
            (two, "waiting", "active", 40),
            (three, None, "waiting", 10),  # still waiting: no pair
        ]
        for family, source, target, day in steps:
            session.add(CaseStep(family_id=family, from_state=source, to_state=target, at=START + timedelta(days=day)))
        session.flush()
        pairs = cases.finished_waits(session=session, team_id=None, since=START)
    waits = sorted((end - start).days for start, end in pairs)
    assert waits == [14, 21, 35]
