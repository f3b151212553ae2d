"""Bulk-created worlds: families and volunteers written with direct inserts, not through conversations.

Each family: a signed-up person, a profile in a neighbourhood, one check-in of two weeks ago (answered),
two finished jobs (its reminder and its 'missed' moment) and its next `checkin.send` job. Each volunteer:
a person, an approved profile (nine in ten) with availability, languages, a VOG date, one or two
neighbourhoods and two skills. Neighbourhoods hold about `PER_AREA` volunteers and families each, so a
bigger city has more neighbourhoods, not fuller ones. One family in twenty has an open help request that
was offered to three volunteers this week.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlmodel import col

from domain.requests import RequestKind
from storage.db import Database
from storage.models import (
    Area,
    CheckIn,
    FamilyProfile,
    HelpRequest,
    JobStatus,
    Person,
    RequestOffer,
    ScheduledJob,
    VolunteerArea,
    VolunteerProfile,
    VolunteerSkill,
)

PER_AREA = 200
FAMILY_TELEGRAM_BASE = 10_000_000
VOLUNTEER_TELEGRAM_BASE = 20_000_000
SKILLS = [kind.value for kind in RequestKind if kind is not RequestKind.OTHER]
CHUNK = 5_000


@dataclass
class World:
    families: int = 0
    volunteers: int = 0
    family_ids: list[int] | None = None


def _chunks(rows: list[dict[str, Any]], size: int = CHUNK) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _insert(db: Database, model: type[Any], rows: list[dict[str, Any]]) -> None:
    table = model.__table__
    for chunk in _chunks(rows):
        with db.session() as session:
            session.execute(insert(table), chunk)


def _next_id(db: Database, model: type[Any]) -> int:
    with db.session() as session:
        return int(session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1


def _ensure_areas(db: Database, count: int, now: datetime) -> list[int]:
    with db.session() as session:
        existing = list(session.execute(select(col(Area.id)).order_by(col(Area.id))).scalars())
    missing = count - len(existing)
    if missing > 0:
        first = len(existing)
        _insert(
            db,
            Area,
            [{"name": f"Wijk {first + index:05d}", "active": True, "created_at": now} for index in range(missing)],
        )
        with db.session() as session:
            existing = list(session.execute(select(col(Area.id)).order_by(col(Area.id))).scalars())
    return existing


def _person(person_id: int, telegram_id: int, role: str, name: str, language: str, now: datetime) -> dict[str, Any]:
    return {
        "id": person_id,
        "telegram_id": telegram_id,
        "language": language,
        "role": role,
        "is_admin": False,
        "display_name": name,
        "consent_version": "2026-11",
        "consent_at": now - timedelta(days=60),
        "timezone": "Europe/Amsterdam",
        "reachable": True,
        "unreachable_since": None,
        "anonymised_at": None,
        "created_at": now - timedelta(days=60),
        "updated_at": now - timedelta(days=60),
    }


def add_families(
    db: Database,
    *,
    count: int,
    now: datetime,
    start_index: int = 0,
    due_at: datetime | None = None,
    history: bool = True,
    seed: int = 1,
) -> list[int]:
    """Add `count` families; their next check-in is due at `due_at` (default: spread over two weeks)."""
    rng = random.Random(seed + start_index)
    first_id = _next_id(db, Person)
    areas = _ensure_areas(db, max(1, (start_index + count + PER_AREA - 1) // PER_AREA), now)
    persons, profiles, checkins, jobs = [], [], [], []
    ids = []
    for offset in range(count):
        index = start_index + offset
        person_id = first_id + offset
        ids.append(person_id)
        language = "nl" if index % 3 else rng.choice(["en", "ar", "tr", "pl", "uk"])
        persons.append(_person(person_id, FAMILY_TELEGRAM_BASE + index, "family", f"Gezin {index}", language, now))
        profiles.append(
            {
                "person_id": person_id,
                "area_id": areas[min(len(areas) - 1, index // PER_AREA)],
                "children_count": 2,
                "children_ages": "4,7",
                "primary_coordinator_id": None,
                "partner_coordinator_id": None,
                "support_volunteer_id": None,
                "street": None,
                "phone": None,
                "share_phone": False,
                "checkin_rhythm": "biweekly",
                "checkin_weekday": 0,
                "checkin_daypart": "morning",
                "checkin_paused_until": None,
                "checkin_auto_step_down": False,
                "good_streak": 1,
                "missed_checkins": 0,
                "may_volunteer": False,
            }
        )
        when = due_at if due_at is not None else now + timedelta(minutes=rng.randrange(1, 14 * 24 * 60))
        jobs.append(_job("checkin.send", person_id, when, f"checkin.send:{person_id}:seed", now))
        if history:
            sent = now - timedelta(days=14)
            checkins.append(
                {
                    "family_id": person_id,
                    "due_at": sent,
                    "sent_at": sent,
                    "answer": "good",
                    "answered_at": sent + timedelta(hours=1),
                    "reminded_at": None,
                    "missed": False,
                    "manual": False,
                }
            )
    _insert(db, Person, persons)
    _insert(db, FamilyProfile, profiles)
    if checkins:
        first_checkin = _next_id(db, CheckIn)
        _insert(db, CheckIn, checkins)
        done = []
        for offset in range(len(ids)):
            checkin_id = first_checkin + offset
            sent = now - timedelta(days=14)
            for kind, later in (("checkin.remind", 24), ("checkin.missed", 48)):
                row = _job(kind, checkin_id, sent + timedelta(hours=later), f"{kind}:{checkin_id}", now)
                row.update(status=JobStatus.DONE, done_at=sent + timedelta(hours=later), attempts=1)
                done.append(row)
        jobs.extend(done)
    _insert(db, ScheduledJob, jobs)
    _fix_sequences(db)
    return ids


def _job(kind: str, subject_id: int, due_at: datetime, key: str, now: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject_id": subject_id,
        "due_at": due_at,
        "dedupe_key": key,
        "status": JobStatus.PENDING,
        "attempts": 0,
        "claimed_by": None,
        "claimed_until": None,
        "created_at": now - timedelta(days=14),
        "done_at": None,
        "last_error": None,
    }


def add_volunteers(db: Database, *, count: int, now: datetime, start_index: int = 0, seed: int = 2) -> list[int]:
    rng = random.Random(seed + start_index)
    first_id = _next_id(db, Person)
    areas = _ensure_areas(db, max(1, (start_index + count + PER_AREA - 1) // PER_AREA), now)
    today = now.date()
    persons, profiles, links, skills = [], [], [], []
    ids = []
    for offset in range(count):
        index = start_index + offset
        person_id = first_id + offset
        ids.append(person_id)
        persons.append(
            _person(person_id, VOLUNTEER_TELEGRAM_BASE + index, "volunteer", f"Vrijwilliger {index}", "nl", now)
        )
        asked = rng.random()
        profiles.append(
            {
                "person_id": person_id,
                "status": "approved" if rng.random() < 0.9 else "pending",
                "availability": rng.getrandbits(21),
                "languages": rng.choice(["nl", "nl,en", "en", "nl,ar", "nl,tr", ""]),
                "vog_date": today - timedelta(days=rng.randrange(10, 1500)) if rng.random() < 0.7 else None,
                "children_ok": rng.random() < 0.6,
                "approved_by_id": None,
                "approved_at": now - timedelta(days=30),
                "paused_until": today + timedelta(days=10) if rng.random() < 0.05 else None,
                "weekly_cap": 3,
                "last_asked_at": None if asked < 0.3 else now - timedelta(hours=rng.randrange(1, 2000)),
            }
        )
        home = areas[min(len(areas) - 1, index // PER_AREA)]
        links.append({"volunteer_id": person_id, "area_id": home})
        if rng.random() < 0.3 and len(areas) > 1:
            other = areas[(areas.index(home) + 1) % len(areas)]
            links.append({"volunteer_id": person_id, "area_id": other})
        for skill in rng.sample(SKILLS, 2):
            skills.append({"volunteer_id": person_id, "skill": skill})
    _insert(db, Person, persons)
    _insert(db, VolunteerProfile, profiles)
    _insert(db, VolunteerArea, links)
    _insert(db, VolunteerSkill, skills)
    _fix_sequences(db)
    return ids


def add_requests(db: Database, *, family_ids: list[int], volunteer_ids: list[int], now: datetime, seed: int = 3) -> int:
    """One open request per twenty families, each offered to three volunteers this week."""
    rng = random.Random(seed + len(family_ids))
    chosen = family_ids[::20]
    if not chosen or not volunteer_ids:
        return 0
    first = _next_id(db, HelpRequest)
    requests, offers = [], []
    for offset, family in enumerate(chosen):
        starts = now + timedelta(days=2, hours=rng.randrange(0, 48))
        requests.append(
            {
                "family_id": family,
                "created_by_id": family,
                "kind": rng.choice(SKILLS),
                "involves_children": False,
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "flexible_week": False,
                "area_id": None,
                "destination": None,
                "note": None,
                "voice_file_id": None,
                "status": "open",
                "assigned_volunteer_id": None,
                "accepted_at": None,
                "closed_at": None,
                "escalated_at": None,
                "text_purged_at": None,
                "created_at": now - timedelta(hours=6),
            }
        )
        for volunteer in rng.sample(volunteer_ids, min(3, len(volunteer_ids))):
            offers.append(
                {
                    "request_id": first + offset,
                    "volunteer_id": volunteer,
                    "offered_at": now - timedelta(hours=rng.randrange(1, 72)),
                    "response": "pending",
                    "responded_at": None,
                    "outbox_id": None,
                }
            )
    _insert(db, HelpRequest, requests)
    _insert(db, RequestOffer, offers)
    _fix_sequences(db)
    return len(requests)


def _fix_sequences(db: Database) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them on so the bot's own inserts work."""
    if db.dialect != "postgresql":
        return
    with db.session() as session:
        for table in ("person",):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )


def analyse(db: Database) -> None:
    """PostgreSQL: fresh planner statistics after a bulk load, as autovacuum would soon make them.

    SQLite is left without statistics, as a deployed bot's file is (nothing runs ANALYZE on it).
    """
    if db.dialect != "postgresql":
        return
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
