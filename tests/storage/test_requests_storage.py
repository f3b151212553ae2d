"""Help requests against real databases: first accept wins under real concurrency, the matching query is
the domain rule, every transition is a compare-and-set, and retention deletes only what it should."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from domain import matching as match_rules
from domain import requests as rules
from domain import volunteers as volunteer_rules
from domain.availability import ALL_SLOTS, mask_for_window
from domain.clock import FakeClock
from storage import matching as match_store
from storage import migrate, outbox_store, people
from storage import requests as store
from storage import volunteers as volunteer_store
from storage.db import Database
from storage.models import (
    Area,
    FamilyProfile,
    HelpRequest,
    OutboxMessage,
    OutboxStatus,
    Person,
    VolunteerArea,
    VolunteerProfile,
    VolunteerSkill,
    VolunteerStatus,
)

ZONE = "Europe/Amsterdam"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate.upgrade(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _person(session: object, telegram_id: int, role: str, now: datetime, language: str = "nl") -> Person:
    person = Person(
        telegram_id=telegram_id, language=language, role=role, display_name=f"P{telegram_id}", consent_at=now
    )
    session.add(person)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return person


def _volunteer(
    session: object,
    telegram_id: int,
    now: datetime,
    *,
    areas: list[int],
    skills: list[str],
    availability: int = ALL_SLOTS,
    languages: str = "nl",
    status: str = VolunteerStatus.APPROVED,
    vog: date | None = None,
    children_ok: bool = False,
    paused_until: date | None = None,
    cap: int = 3,
    last_asked_at: datetime | None = None,
) -> Person:
    person = _person(session, telegram_id, "volunteer", now)
    assert person.id is not None
    session.add(  # type: ignore[attr-defined]
        VolunteerProfile(
            person_id=person.id,
            status=status,
            availability=availability,
            languages=languages,
            vog_date=vog,
            children_ok=children_ok,
            paused_until=paused_until,
            weekly_cap=cap,
            last_asked_at=last_asked_at,
        )
    )
    for area_id in areas:
        session.add(VolunteerArea(volunteer_id=person.id, area_id=area_id))  # type: ignore[attr-defined]
    for skill in skills:
        session.add(VolunteerSkill(volunteer_id=person.id, skill=skill))  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return person


def _family(session: object, telegram_id: int, now: datetime, area_id: int | None, language: str = "nl") -> Person:
    person = _person(session, telegram_id, "family", now, language=language)
    assert person.id is not None
    session.add(FamilyProfile(person_id=person.id, area_id=area_id))  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    return person


def _area(session: object, name: str) -> int:
    area = Area(name=name)
    session.add(area)  # type: ignore[attr-defined]
    session.flush()  # type: ignore[attr-defined]
    assert area.id is not None
    return area.id


def _request(session: object, family: Person, now: datetime, **overrides: object) -> HelpRequest:
    assert family.id is not None
    values: dict[str, object] = {
        "family_id": family.id,
        "created_by_id": family.id,
        "kind": "groceries",
        "involves_children": False,
        "starts_at": now + timedelta(days=2),
        "ends_at": now + timedelta(days=2, hours=2),
        "flexible_week": False,
        "area_id": None,
        "destination": None,
        "note": "bring bags",
        "voice_file_id": None,
        "now": now,
    }
    values.update(overrides)
    return store.create_request(session=session, **values)  # type: ignore[arg-type]


def _window(now: datetime, years: int = 3) -> match_store.MatchWindow:
    today = now.astimezone(UTC).date()
    return match_store.MatchWindow(
        today=today,
        week_start=volunteer_rules.week_start(now, ZONE),
        vog_cutoff=volunteer_rules.vog_cutoff(today=today, years=years),
    )


# --- first accept wins ----------------------------------------------------------------------------


def test_first_accept_wins_with_many_volunteers_tapping_at_once(db: Database, clock: FakeClock) -> None:
    """Eight volunteers in eight threads (eight connections) accept in the same instant: exactly one wins."""
    now = clock.now()
    with db.session() as session:
        area = _area(session, "Poort")
        family = _family(session, 1, now, area)
        volunteers = [_volunteer(session, 100 + n, now, areas=[area], skills=["groceries"]) for n in range(8)]
        request = _request(session, family, now, area_id=area)
        for volunteer in volunteers:
            assert store.record_offer(session=session, request_id=request.id, volunteer_id=volunteer.id, now=now)
    request_id = request.id
    assert request_id is not None
    barrier = threading.Barrier(len(volunteers))
    results: dict[int, store.AcceptResult] = {}
    errors: list[BaseException] = []

    def tap(volunteer_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            with db.session() as session:
                results[volunteer_id] = store.accept(
                    session=session, request_id=request_id, volunteer_id=volunteer_id, now=now
                )
        except BaseException as error:  # surfaced below, with the thread's own traceback
            errors.append(error)

    threads = [threading.Thread(target=tap, args=(volunteer.id,)) for volunteer in volunteers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    winners = [vid for vid, result in results.items() if result == store.AcceptResult.ACCEPTED]
    assert len(winners) == 1, results
    assert all(result == store.AcceptResult.TAKEN for vid, result in results.items() if vid != winners[0])
    with db.session() as session:
        stored = store.get_request(session=session, request_id=request_id)
        offers = store.offers_for(session=session, request_id=request_id)
    assert stored is not None and stored.status == rules.RequestStatus.ACCEPTED
    assert stored.assigned_volunteer_id == winners[0]
    assert [offer.volunteer_id for offer in offers if offer.response == store.OfferResponse.ACCEPTED] == winners


def test_a_double_tap_accepts_once(db: Database, clock: FakeClock) -> None:
    """The same volunteer's two taps race in two threads: one acceptance, the other sees it is theirs."""
    now = clock.now()
    with db.session() as session:
        family = _family(session, 2, now, None)
        volunteer = _volunteer(session, 200, now, areas=[], skills=["groceries"])
        request = _request(session, family, now)
        store.record_offer(session=session, request_id=request.id, volunteer_id=volunteer.id, now=now)
    barrier = threading.Barrier(2)
    results: list[store.AcceptResult] = []

    def tap() -> None:
        barrier.wait(timeout=10)
        with db.session() as session:
            results.append(
                store.accept(session=session, request_id=request.id or 0, volunteer_id=volunteer.id or 0, now=now)
            )

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == sorted([store.AcceptResult.ACCEPTED, store.AcceptResult.ALREADY_YOURS])


def test_accepting_a_closed_request_changes_nothing(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        family = _family(session, 3, now, None)
        volunteer = _volunteer(session, 300, now, areas=[], skills=["groceries"])
        request = _request(session, family, now)
        assert store.apply_event(
            session=session, request_id=request.id or 0, event=rules.RequestEvent.FAMILY_CANCEL, now=now
        )
    with db.session() as session:
        result = store.accept(session=session, request_id=request.id or 0, volunteer_id=volunteer.id or 0, now=now)
        stored = store.get_request(session=session, request_id=request.id or 0)
    assert result == store.AcceptResult.CLOSED
    assert (
        stored is not None and stored.status == rules.RequestStatus.CANCELLED and stored.assigned_volunteer_id is None
    )


# --- transitions ----------------------------------------------------------------------------------


def test_transitions_are_compare_and_set(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        family = _family(session, 4, now, None)
        volunteer = _volunteer(session, 400, now, areas=[], skills=["groceries"])
        other = _volunteer(session, 401, now, areas=[], skills=["groceries"])
        request = _request(session, family, now)
        request_id = request.id or 0
        assert store.accept(session=session, request_id=request_id, volunteer_id=volunteer.id or 0, now=now)
    with db.session() as session:
        # Somebody else's task cannot be given back, and an event that does not apply changes nothing.
        assert (
            store.apply_event(
                session=session,
                request_id=request_id,
                event=rules.RequestEvent.VOLUNTEER_CANCEL,
                now=now,
                volunteer_id=other.id,
            )
            is None
        )
        assert (
            store.apply_event(session=session, request_id=request_id, event=rules.RequestEvent.EXPIRE, now=now) is None
        )
        changed = store.apply_event(
            session=session,
            request_id=request_id,
            event=rules.RequestEvent.VOLUNTEER_CANCEL,
            now=now,
            volunteer_id=volunteer.id,
        )
        assert changed is not None and changed[1] == rules.RequestStatus.ACCEPTED
        assert changed[0].status == rules.RequestStatus.OPEN and changed[0].assigned_volunteer_id is None
    with db.session() as session:
        first = store.apply_event(
            session=session, request_id=request_id, event=rules.RequestEvent.FAMILY_CANCEL, now=now
        )
        second = store.apply_event(
            session=session, request_id=request_id, event=rules.RequestEvent.FAMILY_CANCEL, now=now
        )
    assert first is not None and first[0].closed_at is not None and second is None


def test_offers_are_recorded_once_and_answered_once(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        family = _family(session, 5, now, None)
        volunteer = _volunteer(session, 500, now, areas=[], skills=["groceries"])
        request = _request(session, family, now)
        offer = store.record_offer(session=session, request_id=request.id or 0, volunteer_id=volunteer.id or 0, now=now)
        again = store.record_offer(session=session, request_id=request.id or 0, volunteer_id=volunteer.id or 0, now=now)
        assert offer is not None and again is None
        profile = people.get_volunteer(session=session, person_id=volunteer.id or 0)
        assert profile is not None and profile.last_asked_at is not None
        assert store.respond_offer(
            session=session, offer_id=offer.id or 0, response=store.OfferResponse.DECLINED, now=now
        )
        assert not store.respond_offer(
            session=session, offer_id=offer.id or 0, response=store.OfferResponse.WITHDRAWN, now=now
        )


def test_an_unsent_offer_is_withdrawn_but_a_sent_one_is_not(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        for key in ("unsent", "sent"):
            outbox_store.enqueue(session=session, dedupe_key=key, chat_id=9, payload={"text": key}, now=now)
        rows = {row.dedupe_key: row for row in session.exec(select(OutboxMessage))}
        outbox_store.mark_sent(session=session, message_id=rows["sent"].id or 0, now=now, telegram_message_id=77)
    with db.session() as session:
        assert store.withdraw_unsent(session=session, outbox_id=rows["unsent"].id or 0)
        assert not store.withdraw_unsent(session=session, outbox_id=rows["sent"].id or 0)
        unsent = store.outbox_row(session=session, outbox_id=rows["unsent"].id or 0)
    assert unsent is not None and unsent.status == OutboxStatus.FAILED


# --- matching -------------------------------------------------------------------------------------


def test_the_matching_query_is_the_domain_rule_on_a_random_population(db: Database, clock: FakeClock) -> None:
    """For many random requests, SQL plus `rank` picks exactly whom `domain.matching` picks over everybody."""
    rng = random.Random(20261124)
    now = clock.now()
    today = now.date()
    window = _window(now)
    skills = ["babysitting", "lift", "groceries", "meal", "company", "homework", "chores"]
    with db.session() as session:
        areas = [_area(session, f"Wijk {n}") for n in range(4)]
        families = [
            _family(session, 10_000 + n, now, rng.choice([*areas, None]), language=rng.choice(["nl", "en", "ar"]))
            for n in range(6)
        ]
        for n in range(240):
            _volunteer(
                session,
                20_000 + n,
                now,
                areas=rng.sample(areas, rng.randint(0, 2)),
                skills=rng.sample(skills, rng.randint(1, 3)),
                availability=rng.getrandbits(21),
                languages=rng.choice(["", "nl", "en", "ar,en", "nl-NL", "pl"]),
                status=rng.choice([VolunteerStatus.APPROVED] * 4 + [VolunteerStatus.PENDING, VolunteerStatus.REJECTED]),
                vog=rng.choice([None, today - timedelta(days=rng.randint(0, 1500)), today + timedelta(days=3)]),
                children_ok=rng.random() < 0.6,
                paused_until=rng.choice([None, None, today, today - timedelta(days=1), today + timedelta(days=5)]),
                cap=rng.choice([0, 1, 3]),
                last_asked_at=rng.choice([None, now - timedelta(hours=rng.randint(1, 500))]),
            )
        everyone = list(session.exec(select(VolunteerProfile.person_id)))
        # Some offers this week (and one before it) so the caps bite.
        old_family = families[0]
        for _n in range(30):
            request = _request(session, old_family, now, kind="other")
            store.record_offer(session=session, request_id=request.id or 0, volunteer_id=rng.choice(everyone), now=now)
        old = _request(session, old_family, now, kind="other")
        store.record_offer(
            session=session,
            request_id=old.id or 0,
            volunteer_id=everyone[0],
            now=window.week_start - timedelta(hours=1),
        )
    with db.session() as session:
        all_candidates = [
            candidate
            for person_id in everyone
            if (candidate := match_store.candidate(session=session, volunteer_id=person_id, window=window)) is not None
        ]
        assert len(all_candidates) == len(everyone)
        for _round in range(40):
            family = rng.choice(families)
            profile = people.get_family(session=session, person_id=family.id or 0)
            start = now + timedelta(hours=rng.randint(2, 200))
            flexible = rng.random() < 0.2
            need = match_rules.RequestNeed(
                kind=rng.choice(list(rules.RequestKind)).value,
                involves_children=rng.random() < 0.3,
                area_id=profile.area_id if profile else None,
                slots_mask=mask_for_window(
                    None if flexible else start,
                    None if flexible else start + timedelta(hours=3),
                    ZONE,
                    flexible_week=flexible,
                ),
                family_language=family.language,
                support_volunteer_id=rng.choice([None, rng.choice(everyone)]),
                family_id=family.id,
            )
            exclude = set(rng.sample(everyone, 5))
            expected = match_rules.rank(all_candidates, need, today=window.today, limit=1000, exclude=exclude)
            coarse = match_store.matching_candidates(
                session=session, need=need, window=window, exclude=exclude, limit=1000
            )
            # The SQL never drops an eligible volunteer, and after the exact rule the order is the domain's.
            assert match_rules.rank(coarse, need, today=window.today, limit=1000, exclude=exclude) == expected
            first_page = match_store.matching_candidates(
                session=session, need=need, window=window, exclude=exclude, limit=5
            )
            page = [candidate.person_id for candidate in first_page if candidate.person_id in set(expected)]
            assert page == expected[: len(page)]


def test_paused_capped_and_child_rules_in_the_query(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    today = now.date()
    window = _window(now)
    with db.session() as session:
        area = _area(session, "Haven")
        family = _family(session, 30, now, area)
        fits = _volunteer(
            session, 3000, now, areas=[area], skills=["babysitting"], vog=today - timedelta(days=30), children_ok=True
        )
        _volunteer(
            session,
            3001,
            now,
            areas=[area],
            skills=["babysitting"],
            vog=today - timedelta(days=30),
            children_ok=True,
            paused_until=today,
        )
        _volunteer(
            session,
            3002,
            now,
            areas=[area],
            skills=["babysitting"],
            vog=today - timedelta(days=4 * 365),
            children_ok=True,
        )
        _volunteer(
            session, 3003, now, areas=[area], skills=["babysitting"], vog=today - timedelta(days=30), children_ok=False
        )
        _volunteer(
            session,
            3004,
            now,
            areas=[area],
            skills=["babysitting"],
            vog=today - timedelta(days=30),
            children_ok=True,
            cap=0,
        )
        _volunteer(
            session,
            3005,
            now,
            areas=[area],
            skills=["babysitting"],
            vog=today - timedelta(days=30),
            children_ok=True,
            status=VolunteerStatus.PENDING,
        )
        need = match_rules.RequestNeed(
            kind="babysitting",
            involves_children=True,
            area_id=area,
            slots_mask=ALL_SLOTS,
            family_language="nl",
            support_volunteer_id=None,
            family_id=family.id,
        )
        found = match_store.matching_candidates(session=session, need=need, window=window)
    assert [candidate.person_id for candidate in found] == [fits.id]


# --- retention, volunteers ------------------------------------------------------------------------


def test_retention_purges_only_old_closed_texts(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        family = _family(session, 40, now, None)
        old = _request(session, family, now, destination="hospital", voice_file_id="voice-1")
        recent = _request(session, family, now)
        still_open = _request(session, family, now)
        store.apply_event(
            session=session,
            request_id=old.id or 0,
            event=rules.RequestEvent.FAMILY_CANCEL,
            now=now - timedelta(days=100),
        )
        store.apply_event(session=session, request_id=recent.id or 0, event=rules.RequestEvent.FAMILY_CANCEL, now=now)
        # A message the volunteer wrote to the family about the old task, sent long ago.
        key = f"taskmsg:{old.id}:1:2:3"
        outbox_store.enqueue(session=session, dedupe_key=key, chat_id=2, payload={"text": "I come at six"}, now=now)
        row = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).one()
        row.status = OutboxStatus.SENT
        session.add(row)
    with db.session() as session:
        assert store.purge_texts(session=session, closed_before=now - timedelta(days=90), now=now) == 1
        copy = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"taskmsg:{old.id}:1:2:3")).one()
        assert copy.payload == {}, "our copy of a message about the task goes with its free text"
        assert store.purge_texts(session=session, closed_before=now - timedelta(days=90), now=now) == 0
        rows = {row.id: row for row in session.exec(select(HelpRequest))}
    assert rows[old.id].note is None and rows[old.id].destination is None and rows[old.id].voice_file_id is None
    assert rows[old.id].text_purged_at is not None and rows[old.id].kind == "groceries"
    assert rows[recent.id].note == "bring bags" and rows[still_open.id].note == "bring bags"
    with db.session() as session:
        cancelled = session.exec(select(HelpRequest).where(HelpRequest.status == "cancelled")).all()
    assert len(cancelled) >= 2


def test_approval_is_once_and_rejection_withdraws(db: Database, clock: FakeClock) -> None:
    now = clock.now()
    with db.session() as session:
        coordinator = _person(session, 50, "coordinator", now)
        volunteer = _volunteer(session, 5000, now, areas=[], skills=["lift"], status=VolunteerStatus.PENDING, cap=3)
        vid = volunteer.id or 0
        assert volunteer_store.approve_volunteer(
            session=session,
            volunteer_id=vid,
            approver_id=coordinator.id or 0,
            vog_date=now.date(),
            children_ok=True,
            weekly_cap=2,
            now=now,
        )
        assert not volunteer_store.approve_volunteer(
            session=session,
            volunteer_id=vid,
            approver_id=coordinator.id or 0,
            vog_date=None,
            children_ok=False,
            weekly_cap=5,
            now=now,
        )
        profile = people.get_volunteer(session=session, person_id=vid)
        assert profile is not None and profile.weekly_cap == 2 and profile.children_ok
        assert volunteer_store.set_pause(session=session, volunteer_id=vid, until=now.date() + timedelta(days=6))
        assert volunteer_store.reject_volunteer(session=session, volunteer_id=vid) == VolunteerStatus.APPROVED
        assert volunteer_store.reject_volunteer(session=session, volunteer_id=vid) is None
        session.refresh(profile)
        assert profile.status == VolunteerStatus.REJECTED and not profile.children_ok
