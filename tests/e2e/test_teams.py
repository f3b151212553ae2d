"""Two teams in one deployment: a coordinator sees and acts on their own team's families and volunteers only.

Team A is the first team (the admin's, as after upgrading); team B is made for each test. Ann works in team A;
Bea and Bob in team B. Every coordinator button and command tried by Ann on team B's family is refused, also
for a family nobody in team B has taken yet (which any coordinator of its own team may act on); concerns of a
team B family reach team B only, in team B's group; lists show one's own team; the admin sees all.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from storage import care, people, teams
from storage import concerns as concern_store
from storage import questions as questions_store
from storage.case_tables import Team
from storage.match_tables import Match, MatchReview
from storage.models import Area, AuditEntry, ConsentRequest, HelpRequest
from tests.e2e.care_world import (
    family_id,
    new_coordinator,
    new_family,
    office_morning,
    profile,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect
from tests.e2e.test_concerns import new_volunteer
from tests.e2e.test_rights import COORDINATOR_BUTTONS, forge, pid

_group_ids = itertools.count(-1_009_700_000_000)
_names = itertools.count(1)
OTHER_TEAM = "belongs to another team"
NOBODY = "Nobody has picked this up"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    quiet_world(harness)
    reset_group(harness)
    # Other tests' people pick "the first neighbourhood": none of another team's may be left to pick.
    with harness.session() as session:
        first = teams.default_team_id(session=session)
        session.execute(update(Area).where(col(Area.team_id) != first).values(active=False))


@dataclass
class Teams:
    admin: Chat
    ann: Chat  # team A (the first team)
    bea: Chat  # team B, Bente's primary
    bob: Chat  # team B
    bente: Chat  # team B's family
    team_b: int


def make_team(harness: Harness, name: str) -> int:
    with harness.session() as session:
        team = teams.create_team(session=session, name=name, now=harness.clock.now())
        assert team.id is not None
        return team.id


def move(harness: Harness, chat: Chat, team_id: int) -> None:
    with harness.session() as session:
        teams.set_person_team(session=session, person_id=pid(harness, chat), team_id=team_id)


@pytest.fixture
def world(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> Teams:
    team_b = make_team(harness, f"Team B {next(_names)}-{len(harness.sandbox.calls)}")
    ann = new_coordinator(coordinator, person, "Ann")
    bea = new_coordinator(coordinator, person, "Bea")
    bob = new_coordinator(coordinator, person, "Bob")
    move(harness, bea, team_b)
    move(harness, bob, team_b)
    bente = new_family(bea, person, "Bente")  # invited by Bea: in Bea's team
    return Teams(coordinator, ann, bea, bob, bente, team_b)


def refusals(harness: Harness, actor: Chat) -> list[AuditEntry]:
    with harness.session() as session:
        return list(
            session.exec(
                select(AuditEntry).where(
                    AuditEntry.actor_id == pid(harness, actor), col(AuditEntry.action).endswith(":refused")
                )
            )
        )


def unassign(harness: Harness, family: Chat) -> None:
    """Nobody of the family's team has taken it yet: any coordinator of that team may act on it."""
    with harness.session() as session:
        stored = people.get_family(session=session, person_id=family_id(harness, family))
        assert stored is not None
        people.set_family_coordinators(session=session, profile=stored, primary_id=None, partner_id=None)


def test_the_family_is_in_the_team_of_the_coordinator_who_invited_it(harness: Harness, world: Teams) -> None:
    assert profile(harness, world.bente).team_id == world.team_b
    assert harness.person(world.bente.id).team_id == world.team_b


def test_every_coordinator_button_on_another_teams_family_is_refused(
    harness: Harness, world: Teams, person: Callable[..., Chat]
) -> None:
    unassign(harness, world.bente)
    fid = family_id(harness, world.bente)
    world.bente.say("/talk")
    world.bente.say("We need some help")
    volunteer = new_volunteer(person, "Vera")
    move(harness, volunteer, world.team_b)
    ann, vera_id = pid(harness, world.ann), pid(harness, volunteer)
    now = harness.clock.now()
    with harness.session() as session:
        concern = concern_store.concerns_of(session=session, family_id=fid)[0]
        area = people.add_area(session=session, name=f"Bwijk-{fid}", now=now, team_id=world.team_b)
        request = HelpRequest(family_id=fid, created_by_id=fid, kind="groceries", status="open", created_at=now)
        consent = ConsentRequest(kind="primary", family_id=fid, requester_id=ann, approver_id=ann, created_at=now)
        session.add(request)
        session.add(consent)
        session.flush()
        question = questions_store.create_question(
            session=session, family_id=fid, text="Bente's question", theme="own", state="active", now=now
        )
        meeting = questions_store.create_meeting(session=session, family_id=fid, meeting_on=now.date())
        decision = questions_store.create_decision(
            session=session, question_id=question.id or 0, family_id=fid, cause="two_nos", now=now
        )
        match = Match(
            family_id=fid,
            helper_id=vera_id,
            kind="company",
            state="trial",
            rhythm={"kind": "weekly", "first": "2030-01-05", "start": "14:00", "minutes": 120},
            trial_end=date(2030, 2, 1),
            created_at=now,
            updated_at=now,
        )
        session.add(match)
        session.flush()
        review = MatchReview(match_id=match.id or 0, due_on=date(2030, 2, 1), asked_at=now)
        session.add(review)
        session.flush()
        values: dict[str, Any] = {
            "match": match.id,
            "review": review.id,
            "family": fid,
            "concern": concern.id,
            "request": request.id,
            "area": area.id,
            "consent": consent.id,
            "person": vera_id,
            "question": question.id,
            "meeting": meeting.id,
            "decision": decision.id,
            "team": world.team_b,
        }
    before = profile(harness, world.bente)
    try:
        for pattern, (samples, _any_coordinator) in COORDINATOR_BUTTONS.items():
            for sample in samples:
                data = sample.format(**values)
                assert re.match(pattern, data), (pattern, data)
                answer, shown = forge(world.ann, data)
                assert answer or shown, f"{data}: no answer"
                assert not any("Bente" in text for text in shown), f"{data}: shown to another team"
        # The family's card says why: another team's (other buttons answer that they no longer work).
        for data in (f"cr:open:{fid}", f"cr:rh:{fid}:off", f"cr:now:{fid}"):
            answer, shown = forge(world.ann, data)
            assert OTHER_TEAM in answer or any(OTHER_TEAM in text for text in shown), (data, answer, shown)
    finally:
        with harness.session() as session:
            stored = session.get(HelpRequest, values["request"])
            if stored is not None:
                stored.status = "cancelled"
                session.add(stored)
            stored_match = session.get(Match, values["match"])
            assert stored_match is not None and stored_match.state == "trial", "a forged button changed a match"
            stored_match.state = "ended"
            session.add(stored_match)
    reasons = [row.detail.get("reason") for row in refusals(harness, world.ann)]
    assert reasons.count("not_their_team") >= 10, reasons
    after = profile(harness, world.bente)
    assert (after.checkin_rhythm, after.primary_coordinator_id) == (before.checkin_rhythm, None)
    with harness.session() as session:
        assert concern_store.concerns_of(session=session, family_id=fid)[0].status == "open"
        vera = people.get_volunteer(session=session, person_id=values["person"])
        assert vera is not None and vera.status == "pending", "Ann could not approve team B's volunteer"
    # Bea, of the family's own team, may: the same button opens the card.
    expect(forge(world.bea, f"cr:open:{fid}")[1], "Bente", "Check-ins:")


def test_lists_show_only_the_own_teams_families_requests_and_volunteers(
    harness: Harness, world: Teams, person: Callable[..., Chat]
) -> None:
    unassign(harness, world.bente)
    fid = family_id(harness, world.bente)
    volunteer = new_volunteer(person, "Vince")
    move(harness, volunteer, world.team_b)
    now = harness.clock.now()
    with harness.session() as session:
        session.add(HelpRequest(family_id=fid, created_by_id=fid, kind="groceries", status="open", created_at=now))
    try:
        shown = world.ann.say("/families")
        assert not any("Bente" in text for text in shown)
        assert "Bente" not in world.ann.last_buttons()
        shown = world.ann.say("/requests")
        assert not any("Bente" in text for text in shown), shown
        assert not any("Bente" in label for label in world.ann.last_buttons())
        shown = world.ann.say("/volunteers")
        assert not any("Vince" in text for text in shown), shown
        assert not any("Vince" in label for label in world.ann.last_buttons())
        world.bente.say("/talk")
        world.bente.say("Could someone call me?")
        assert not any("Bente" in text for text in world.ann.say("/concerns"))
        assert not any("Bente" in label for label in world.ann.last_buttons())
        # Team B's coordinators see them.
        expect(world.bob.say("/concerns"), "Bente")
        expect(world.bob.say("/volunteers"), "Vince")
        expect(world.bob.say("/requests"), "Bente")
        # The admin sees every team's.
        expect(world.admin.say("/volunteers"), "Vince")
        expect(world.admin.say("/requests"), "Bente")
    finally:
        with harness.session() as session:
            session.execute(update(HelpRequest).where(col(HelpRequest.family_id) == fid).values(status="cancelled"))


def test_topic_commands_of_another_team_are_refused(harness: Harness, world: Teams) -> None:
    group: Any = harness.sandbox.group(next(_group_ids), "Team B", forum=True, supergroup=True)
    with harness.session() as session:
        teams.set_group(session=session, team_id=world.team_b, chat_id=group.chat_id)
    unassign(harness, world.bente)
    world.bente.say("/talk")
    world.bente.say("Hello, is anyone there?")
    (topic,) = [t for t in group.topics.values() if t.name == "Bente"]
    family_before = len(world.bente.user.messages)
    for text in ("/close done", "/take", "/family", "/answers", "/checkin", "/rhythm off", "I am not your team"):
        before = len(group.topics[topic.thread_id].messages)
        group.send(world.ann.user, text, thread_id=topic.thread_id)
        harness.settle()
        replies = [m.text or "" for m in group.topics[topic.thread_id].messages[before:]]
        expect(replies, "Sorry")
        assert not any("Check-ins:" in reply or "Check-in answers" in reply for reply in replies), replies
    assert len(world.bente.user.messages) == family_before, "nothing reached the family"
    reasons = {row.detail.get("reason") for row in refusals(harness, world.ann)}
    assert "not_their_team" in reasons


def test_a_concern_of_team_b_escalates_within_team_b_and_its_group(harness: Harness, world: Teams) -> None:
    group_a: Any = harness.sandbox.group(next(_group_ids), "Team A", forum=True, supergroup=True)
    group_b: Any = harness.sandbox.group(next(_group_ids), "Team B", forum=True, supergroup=True)
    group_a.send(world.admin.user, "/setgroup")  # the admin's own team: team A
    harness.settle()
    with harness.session() as session:
        teams.set_group(session=session, team_id=world.team_b, chat_id=group_b.chat_id)
    before = {chat.id: len(chat.user.messages) for chat in (world.admin, world.ann, world.bea, world.bob)}
    a_topics = set(group_a.topics)
    world.bente.say("/talk")
    world.bente.say("We are struggling with the rent")
    expect(texts_since(world.bea, before[world.bea.id]), "Bente wants to talk to someone")
    for _step in range(4):
        harness.advance(minutes=31)
        harness.tick()
    expect(texts_since(world.bob, before[world.bob.id]), NOBODY, "Bente")
    for chat in (world.ann, world.admin):
        assert not any("Bente" in text for text in texts_since(chat, before[chat.id])), "another team heard of it"
    assert [t.name for t in group_b.topics.values()] == ["Bente"]
    assert set(group_a.topics) == a_topics, "team A's group got no topic of team B's family"
    assert not any("Bente" in (m.text or "") for m in group_a.messages)


def test_the_admin_sees_every_teams_family(harness: Harness, world: Teams) -> None:
    fid = family_id(harness, world.bente)
    expect(forge(world.admin, f"cr:open:{fid}")[1], "Bente", "Check-ins:")


def test_a_team_has_a_unique_name(harness: Harness) -> None:
    with harness.session() as session:
        first = teams.default_team_id(session=session)
        team = session.get(Team, first)
        assert team is not None
        assert teams.team_by_name(session=session, name=team.name.upper()) is not None


# --- administration: /teams -------------------------------------------------------------------------


def audit_rows(harness: Harness, action: str, subject_id: int) -> list[AuditEntry]:
    with harness.session() as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.subject_id == subject_id))
        )


def team_name(harness: Harness, team_id: int) -> str:
    with harness.session() as session:
        team = teams.get_team(session=session, team_id=team_id)
        assert team is not None
        return team.name


def test_an_admin_makes_a_team_with_a_clean_unique_name(harness: Harness, world: Teams) -> None:
    expect(world.admin.say("/teams"), "Teams", "coordinator", "famil")
    world.admin.tap("➕ New team")
    name = f"Noord {next(_names)}-{len(harness.sandbox.calls)}"
    expect(world.admin.say(f"  {name.replace(' ', '   ')}  "), f"Team {name} is made")
    world.admin.say("/teams")
    assert name in world.admin.last_buttons()
    world.admin.tap("➕ New team")
    expect(world.admin.say(name.upper()), "There is already a team called")
    world.admin.say("/cancel")
    # Coordinators cannot.
    expect(world.ann.say("/teams"), "only an admin")
    answer, _shown = forge(world.ann, "tm:new")
    assert "only an admin" in answer.lower()
    answer, _shown = forge(world.ann, f"tm:to:{pid(harness, world.ann)}:{world.team_b}")
    assert "only an admin" in answer.lower()
    assert harness.person(world.ann.id).team_id != world.team_b


def pid_of(session: Any, chat: Chat) -> int:
    found = people.get_person_by_telegram_id(session=session, telegram_id=chat.id)
    assert found is not None and found.id is not None
    return found.id


def test_moving_a_coordinator_leaves_the_families_with_the_team(harness: Harness, world: Teams) -> None:
    with harness.session() as session:
        care.set_duo_partner(
            session=session, coordinator_id=pid_of(session, world.bea), partner_id=pid_of(session, world.bob)
        )
    assert profile(harness, world.bente).partner_coordinator_id == pid(harness, world.bob)
    world.admin.say("/teams")
    shown = world.admin.tap(team_name(harness, world.team_b))
    expect(shown, "Bea (coordinator)", "Bob (coordinator)", "1 family")
    expect(world.admin.tap("Move Bea to another team"), "Bea is in the team", "Move to which team?")
    first = team_name(harness, teams_default(harness))
    bea_before = len(world.bea.user.messages)
    expect(world.admin.tap(first), f"Bea is now in the team {first}")
    expect(texts_since(world.bea, bea_before), f"An admin moved you to the team {first}")
    assert harness.person(world.bea.id).team_id == teams_default(harness)
    moved = profile(harness, world.bente)
    assert moved.team_id == world.team_b, "the family stays with its team"
    assert (moved.primary_coordinator_id, moved.partner_coordinator_id) == (pid(harness, world.bob), None)
    (row,) = audit_rows(harness, "team_moved", pid(harness, world.bea))
    assert (row.detail["from"], row.detail["to"]) == (world.team_b, teams_default(harness))
    # Bea, now of the other team, is refused Bente's card.
    answer, _shown = forge(world.bea, f"cr:open:{family_id(harness, world.bente)}")
    assert OTHER_TEAM in answer


def teams_default(harness: Harness) -> int:
    with harness.session() as session:
        return teams.default_team_id(session=session)


def test_an_admin_moves_a_family_from_its_card_and_the_history_follows(harness: Harness, world: Teams) -> None:
    team_c = make_team(harness, f"Team C {next(_names)}-{len(harness.sandbox.calls)}")
    move(harness, world.ann, team_c)
    fid = family_id(harness, world.bente)
    world.bente.say("/talk")
    world.bente.say("Hello")
    expect(forge(world.admin, f"cr:open:{fid}")[1], "Bente")
    assert "🔀 Move to another team" in world.admin.last_buttons()
    assert "🔀 Move to another team" not in (forge(world.bea, f"cr:open:{fid}") and world.bea.last_buttons())
    expect(world.admin.tap("🔀 Move to another team"), "Bente is in the team", "Move to which team?")
    ann_before = len(world.ann.user.messages)
    expect(world.admin.tap(team_name(harness, team_c)), "Bente is now in the team")
    expect(texts_since(world.ann, ann_before), "The family Bente has moved to your team")
    moved = profile(harness, world.bente)
    assert moved.team_id == team_c and moved.primary_coordinator_id is None, "Bea is not in team C"
    (row,) = audit_rows(harness, "team_moved", fid)
    assert (row.detail["from"], row.detail["to"]) == (world.team_b, team_c)
    # The timeline kept what came before, and says it moved.
    shown = forge(world.ann, f"cr:tl:{fid}")[1]
    expect(shown, "Moved to another team", "Concern raised")
    # Now Bea is refused, Ann (team C, nobody took the family yet) may open the card.
    assert OTHER_TEAM in forge(world.bea, f"cr:open:{fid}")[0]
    expect(forge(world.ann, f"cr:open:{fid}")[1], "Bente", "Check-ins:")


def test_a_teams_own_office_hours_and_escalation_wait(harness: Harness, world: Teams) -> None:
    world.admin.say("/teams")
    world.admin.tap(team_name(harness, world.team_b))
    expect(world.admin.tap("🕘 Office hours"), "Office hours of", "deployment's settings")
    expect(world.admin.tap("Every day"), "Days: Mon, Tue, Wed, Thu, Fri, Sat, Sun", "Set for this team")
    world.admin.tap("🕘 Type the hours")
    expect(world.admin.say("half nine"), "could not read")
    expect(world.admin.say("13:00-18:30"), "Hours: 13:00 to 18:30")
    expect(world.bente.say("/talk") + world.bente.say("Is anyone there?"), "outside office hours")
    bea, bente = pid(harness, world.bea), family_id(harness, world.bente)
    with harness.session() as session:
        for concern in concern_store.concerns_of(session=session, family_id=bente):
            concern_store.close(
                session=session, concern_id=concern.id or 0, coordinator_id=bea, note=None, now=harness.clock.now()
            )
        care.set_duo_partner(session=session, coordinator_id=bea, partner_id=pid_of(session, world.bob))
    quiet_world(harness)
    world.admin.tap("Mon–Fri")
    expect(world.admin.tap("Wait 15 min"), "waits 15 minutes")
    world.admin.tap("🕘 Type the hours")
    expect(world.admin.say("08:00-18:30"), "Hours: 08:00 to 18:30", "waits 15 minutes")
    with harness.session() as session:
        team = teams.get_team(session=session, team_id=world.team_b)
        assert team is not None and team.office_days == "0,1,2,3,4" and team.escalation_wait_office_minutes == 15
    bob_before = len(world.bob.user.messages)
    expect(world.bente.say("/talk") + world.bente.say("We need to talk"), "contact you by")
    harness.advance(minutes=16)
    harness.tick()
    expect(texts_since(world.bob, bob_before), NOBODY, "Bente")
    # Back to the deployment's settings.
    world.admin.say("/teams")
    world.admin.tap(team_name(harness, world.team_b))
    world.admin.tap("🕘 Office hours")
    expect(world.admin.tap("Use the deployment's settings"), "deployment's settings")
    with harness.session() as session:
        team = teams.get_team(session=session, team_id=world.team_b)
        assert team is not None and team.office_days is None and team.escalation_wait_office_minutes is None


# --- figures and the digest per team ---------------------------------------------------------------


def csv_rows(chat: Chat, command: str) -> list[dict[str, str]]:
    import csv
    import io

    before = len(chat.user.messages)
    chat.say(command)
    (document,) = [
        m.document_bytes or b""
        for m in chat.user.messages[before:]
        if m.media_kind == "document" and (m.document_name or "").endswith(".csv")
    ]
    return list(csv.DictReader(io.StringIO(document.decode("utf-8"))))


def test_figures_and_the_digest_count_the_own_teams_families(harness: Harness, world: Teams) -> None:
    unassign(harness, world.bente)
    fid = family_id(harness, world.bente)
    now = harness.clock.now()
    name_b = team_name(harness, world.team_b)
    with harness.session() as session:
        for _n in range(6):
            session.add(HelpRequest(family_id=fid, created_by_id=fid, kind="groceries", status="open", created_at=now))
    try:
        bob = csv_rows(world.bob, "/export week")
        assert {(r["metric"], r["value"]) for r in bob} >= {("requests", "6")}
        assert not any(r["metric"].startswith("team_") for r in bob), "a coordinator gets no split"
        expect(world.bob.say("/stats week"), f"Families of the team {name_b}")
        admin = csv_rows(world.admin, "/export week")
        assert ("team_requests", name_b, "6") in {(r["metric"], r["category"], r["value"]) for r in admin}
        assert ("team_families_active", team_name(harness, teams_default(harness))) in {
            (r["metric"], r["category"]) for r in admin
        }
        expect(world.admin.say("/stats week"), "Families of all teams", "Per team", f"{name_b}: ")
        ann = csv_rows(world.ann, "/export week")
        admin_a = {
            r["metric"][5:]: r["value"]
            for r in admin
            if r["metric"].startswith("team_") and r["category"] == team_name(harness, teams_default(harness))
        }
        assert {r["metric"]: r["value"] for r in ann if r["metric"] == "requests"} == {
            "requests": admin_a["requests"]
        }, "Ann's figures are her team's"
        # The digest: team B's family with nobody yet is in team B's picture, not in team A's.
        expect(world.bob.say("/digest"), "Requests nobody took", "Bente")
        assert not any("Bente" in text for text in world.ann.say("/digest"))
    finally:
        with harness.session() as session:
            session.execute(update(HelpRequest).where(col(HelpRequest.family_id) == fid).values(status="cancelled"))


def test_a_volunteer_signing_up_alone_joins_the_team_of_its_neighbourhood(
    harness: Harness, world: Teams, person: Callable[..., Chat]
) -> None:
    from tests.e2e.request_world import sign_up_volunteer, tag

    area = f"Zuidrand {tag()}"
    with harness.session() as session:
        people.add_area(session=session, name=area, now=harness.clock.now(), team_id=world.team_b)
    before_bea, before_ann = len(world.bea.user.messages), len(world.ann.user.messages)
    wim = sign_up_volunteer(person, "Wim", area, ["Groceries"])
    assert harness.person(wim.id).team_id == world.team_b, "its intake belongs to the neighbourhood's team"
    expect(texts_since(world.bea, before_bea), "New volunteer waiting for intake: Wim")
    assert not any("Wim" in text for text in texts_since(world.ann, before_ann)), "team A never hears of Wim"


def test_a_volunteer_of_another_team_raises_a_concern_and_the_familys_team_answers_it(
    harness: Harness, world: Teams, person: Callable[..., Chat]
) -> None:
    volunteer = new_volunteer(person, "Vera")
    move(harness, volunteer, teams_default(harness))  # she helps in a neighbourhood of team A as well
    with harness.session() as session:
        session.add(
            HelpRequest(
                family_id=pid(harness, world.bente),
                created_by_id=pid(harness, world.bente),
                kind="groceries",
                status="accepted",
                assigned_volunteer_id=pid(harness, volunteer),
                created_at=harness.clock.now(),
            )
        )
    before = len(world.bea.user.messages)
    volunteer.say("/talk")
    volunteer.tap("Bente")
    expect(volunteer.say("The children seemed hungry today"), "passed this on")
    expect(texts_since(world.bea, before), "Volunteer Vera raised a concern about Bente")
    copied = world.bea.user.messages[-1]
    world.bea.user.send("Thank you Vera, I will visit them", reply_to=copied)
    harness.settle()
    expect(texts_since(volunteer, 0), "Message from coordinator Bea")
    assert volunteer.user.messages[-1].text == "Thank you Vera, I will visit them"
