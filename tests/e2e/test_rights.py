"""Coordinators' rights end to end, with FORGED buttons: each handler checks on the server who may do what.

The sandbox lets a test press any callback data on any message (`press_raw`), as a modified client could.
Pia and Dex are a duo; Olga is a coordinator of another duo (no families of her own); Coco is the admin.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, select
from telegram.ext import CallbackQueryHandler, CommandHandler

from conversations.dialogue import DialogueRouter
from storage import concerns as concern_store
from storage import people, teams
from storage import questions as questions_store
from storage.match_tables import Match, MatchReview
from storage.models import AuditEntry, Concern, ConsentRequest, HelpRequest
from tests.e2e.care_world import (
    Team,
    family_id,
    make_team,
    new_coordinator,
    new_family,
    office_morning,
    profile,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect, seen

_group_ids = itertools.count(-1_009_500_000_000)
NOT_THEIRS = "this family has other coordinators"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    quiet_world(harness)
    reset_group(harness)


@pytest.fixture
def team(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> Team:
    return make_team(harness, coordinator, person, tag=str(len(harness.sandbox.calls)))


def pid(harness: Harness, chat: Chat) -> int:
    found = harness.person(chat.id)
    assert found is not None and found.id is not None
    return int(found.id)


def forge(chat: Chat, data: str) -> tuple[str, list[str]]:
    """Press made-up callback data on the person's latest message: (the bot's button answer, new messages)."""
    before = len(chat.user.messages)
    answers = len(chat.user.callback_answers)
    chat.user.press_raw(chat.last, data)
    chat.harness.settle()
    given = chat.user.callback_answers[answers:]
    return (given[-1] if given else ""), texts_since(chat, before)


def refusals(harness: Harness, actor: Chat) -> list[tuple[str, int | None]]:
    with harness.session() as session:
        rows = session.exec(
            select(AuditEntry).where(
                AuditEntry.actor_id == pid(harness, actor), col(AuditEntry.action).endswith(":refused")
            )
        )
        return [(row.action, row.subject_id) for row in rows]


def concern_of(harness: Harness, family: Chat) -> Concern:
    with harness.session() as session:
        return concern_store.concerns_of(session=session, family_id=family_id(harness, family))[0]


def talk(family: Chat, text: str) -> None:
    family.say("/talk")
    family.say(text)


@dataclass
class World:
    team: Team
    olga: Chat
    family: Chat


@pytest.fixture
def world(harness: Harness, team: Team, person: Callable[..., Chat]) -> World:
    olga = new_coordinator(team.admin, person, "Olga")
    family = new_family(team.primary, person, "Femke")
    return World(team, olga, family)


# --- the attacks of the report ---------------------------------------------------------------------


def test_another_duos_coordinator_cannot_open_the_card_answers_or_timeline(harness: Harness, world: World) -> None:
    fid = family_id(harness, world.family)
    for data in (f"cr:open:{fid}", f"cr:tl:{fid}", f"cr:ans:{fid}"):
        answer, shown = forge(world.olga, data)
        assert NOT_THEIRS in answer.lower(), (data, answer)
        assert not any("Femke" in text for text in shown), (data, shown)
    assert [action for action, _subject in refusals(harness, world.olga)].count("view_family:refused") == 3
    # The family's own coordinators still open it.
    expect(forge(world.team.partner, f"cr:open:{fid}")[1], "Femke", "Check-ins:")


def test_another_duos_coordinator_cannot_switch_check_ins_off_or_send_one(harness: Harness, world: World) -> None:
    fid = family_id(harness, world.family)
    before = profile(harness, world.family).checkin_rhythm
    assert before != "off"
    family_before = len(world.family.user.messages)
    for data in (f"cr:rh:{fid}:off", f"cr:now:{fid}", f"cr:auto:{fid}:on", f"cr:step:{fid}:monthly"):
        answer, _shown = forge(world.olga, data)
        assert NOT_THEIRS in answer.lower(), (data, answer)
    assert profile(harness, world.family).checkin_rhythm == before
    assert profile(harness, world.family).checkin_auto_step_down is False
    assert len(world.family.user.messages) == family_before, "no check-in went out"
    assert ("change_checkins:refused", fid) in refusals(harness, world.olga)


def test_a_take_over_asks_the_primary_who_answers_and_an_admin_take_over_tells_the_previous_primary(
    harness: Harness, world: World
) -> None:
    team, fid = world.team, family_id(harness, world.family)
    pia, dex = pid(harness, team.primary), pid(harness, team.partner)

    # Olga, of another duo, cannot even ask.
    answer, _shown = forge(world.olga, f"cr:mine:{fid}")
    assert NOT_THEIRS in answer.lower()
    assert profile(harness, world.family).primary_coordinator_id == pia

    # Dex (the partner) asks; Pia gets the question with buttons, nothing changes yet.
    pia_before = len(team.primary.user.messages)
    answer, _shown = forge(team.partner, f"cr:mine:{fid}")
    assert "I have asked Pia" in seen(answer)
    assert profile(harness, world.family).primary_coordinator_id == pia
    question = expect(
        texts_since(team.primary, pia_before), "Dex would like to become the primary coordinator of Femke"
    )
    assert question and team.primary.last_buttons() == ["✅ Agree", "No"]
    with harness.session() as session:
        (request,) = session.exec(select(ConsentRequest).where(ConsentRequest.family_id == fid))
    # Nobody else may answer it, not even Dex himself.
    for chat in (world.olga, team.partner):
        answer, _shown = forge(chat, f"cr:yes:{request.id}")
        assert "not yours to answer" in answer
    assert profile(harness, world.family).primary_coordinator_id == pia

    dex_before = len(team.partner.user.messages)
    expect(team.primary.tap("✅ Agree"), "Dex is now the primary coordinator of Femke")
    assert profile(harness, world.family).primary_coordinator_id == dex
    expect(texts_since(team.partner, dex_before), "Pia agreed: you are now the primary coordinator of Femke")
    assert forge(team.primary, f"cr:yes:{request.id}")[0], "a second answer changes nothing"
    assert profile(harness, world.family).primary_coordinator_id == dex

    # The admin takes over at once; the previous primary (Dex) is told.
    dex_before = len(team.partner.user.messages)
    answer, _shown = forge(team.admin, f"cr:mine:{fid}")
    assert "You are now the primary coordinator of Femke" in seen(answer)
    expect(texts_since(team.partner, dex_before), "Coco is now the primary coordinator of Femke, instead of you")
    with harness.session() as session:
        rows = session.exec(
            select(AuditEntry).where(AuditEntry.subject_id == fid, AuditEntry.action == "primary_coordinator_set")
        )
        assert [row.detail["previous"] for row in rows] == [pia, dex]


def test_closing_or_taking_a_concern_needs_an_alert_about_it(harness: Harness, world: World) -> None:
    talk(world.family, "Could someone call me?")
    concern = concern_of(harness, world.family)
    assert concern.status == "open"
    for data in (f"cc:close:{concern.id}", f"cc:nonote:{concern.id}", f"cc:take:{concern.id}"):
        answer, _shown = forge(world.olga, data)
        assert "went to other coordinators" in answer, (data, answer)
    concern = concern_of(harness, world.family)
    assert concern.status == "open" and concern.claimed_by_id is None and concern.acknowledged_at is None
    actions = [action for action, _subject in refusals(harness, world.olga)]
    assert actions.count("close_concern:refused") == 2 and "claim_concern:refused" in actions
    # The partner (of the family's duo) may close it, even before the chain reached him.
    answer, _shown = forge(world.team.partner, f"cc:nonote:{concern.id}")
    assert answer == "Closed."
    assert concern_of(harness, world.family).status == "closed"


def test_a_coordinator_without_families_sees_only_their_own_empty_list(harness: Harness, world: World) -> None:
    shown = world.olga.say("/families")
    expect(shown, "You have no families of your own yet")
    assert not any("All families" in text for text in shown)
    assert world.olga.last_buttons() == ["👥 My duo partner"]
    # The admin still sees every family (here: their own first, as before).
    expect(world.team.admin.say("/families"), "families")


def test_only_an_admin_adds_or_removes_a_neighbourhood(harness: Harness, world: World) -> None:
    with harness.session() as session:
        area = people.add_area(session=session, name="Oostwijk-rights", now=harness.clock.now())
        area_id = area.id
    shown = world.olga.say("/areas")
    expect(shown, "Only an admin coordinator can add or remove neighbourhoods")
    assert not world.olga.last_buttons()
    answer, _shown = forge(world.olga, "area:add")
    assert "only an admin" in answer.lower()
    world.olga.say("Nepwijk")
    answer, _shown = forge(world.olga, f"area:del:{area_id}")
    assert "only an admin" in answer.lower()
    answer, _shown = forge(world.olga, f"area:delok:{area_id}")
    assert "only an admin" in answer.lower()
    with harness.session() as session:
        names = [a.name for a in people.active_areas(session=session)]
    assert "Nepwijk" not in names and "Oostwijk-rights" in names
    assert ("manage_areas:refused", None) in refusals(harness, world.olga)
    # The admin can.
    expect(world.team.admin.say("/areas"), "Neighbourhoods")
    # One tap only asks; nothing is removed before the admin confirms.
    expect(world.team.admin.tap("Remove Oostwijk-rights"), "Remove the neighbourhood", "0 families have it")
    with harness.session() as session:
        assert "Oostwijk-rights" in [a.name for a in people.active_areas(session=session)]
    world.team.admin.tap("Yes, remove Oostwijk-rights")
    with harness.session() as session:
        assert "Oostwijk-rights" not in [a.name for a in people.active_areas(session=session)]


def test_a_duo_partner_is_asked_first(harness: Harness, world: World) -> None:
    """Choosing a duo partner opens all of their families, so the colleague agrees first."""
    pia_before = len(world.team.primary.user.messages)
    _answer, shown = forge(world.olga, f"cr:duo:{pid(harness, world.team.primary)}")
    expect(shown, "I have asked Pia")
    olga = pid(harness, world.olga)
    with harness.session() as session:
        stored = people.get_coordinator(session=session, person_id=olga)
        assert stored is None or stored.duo_partner_id is None
    assert profile(harness, world.family).partner_coordinator_id == pid(harness, world.team.partner)
    expect(texts_since(world.team.primary, pia_before), "Olga would like to be your duo partner")
    olga_before = len(world.olga.user.messages)
    world.team.primary.tap("No")
    expect(texts_since(world.olga, olga_before), "Pia would rather not be your duo partner")
    assert profile(harness, world.family).partner_coordinator_id == pid(harness, world.team.partner)


def test_another_duos_coordinator_cannot_use_the_topic_commands_or_write_to_the_family(
    harness: Harness, world: World
) -> None:
    group: Any = harness.sandbox.group(next(_group_ids), "Coördinatoren", forum=True, supergroup=True)
    group.send(world.team.admin.user, "/setgroup")
    harness.settle()
    talk(world.family, "Hello, are you there?")
    harness.settle()
    (topic,) = [t for t in group.topics.values() if t.name == "Femke"]
    family_before = len(world.family.user.messages)
    for text in ("/close done", "/take", "/family", "/answers", "/checkin", "I am not your coordinator"):
        before = len(group.topics[topic.thread_id].messages)
        group.send(world.olga.user, text, thread_id=topic.thread_id)
        harness.settle()
        replies = [m.text or "" for m in group.topics[topic.thread_id].messages[before:]]
        expect(replies, "Sorry")
        assert not any("Check-ins:" in reply or "Check-in answers" in reply for reply in replies), replies
    assert len(world.family.user.messages) == family_before, "nothing reached the family"
    concern = concern_of(harness, world.family)
    assert concern.status == "open" and concern.claimed_by_id is None
    actions = {action for action, _subject in refusals(harness, world.olga)}
    assert {"close_concern:refused", "claim_concern:refused", "view_family:refused"} <= actions
    assert {"change_checkins:refused", "write_to_family:refused"} <= actions


# --- no coordinator button or command without a rights check --------------------------------------

# Every callback pattern the bot registers is listed here, or in NOT_FOR_COORDINATORS with the reason. A new
# button fails test_every_button_pattern_is_classified until it is added, with forged data to try.
# Values: forged data ({family}, {concern}, {request}, {area}, {consent}, {person} are filled in), and
# whether a coordinator of another duo must be refused too (False: any coordinator may, only non-coordinators
# are refused).
COORDINATOR_BUTTONS: dict[str, tuple[list[str], bool]] = {
    r"^cr:open(:|$)": (["cr:open:{family}"], True),
    r"^cr:tl(:|$)": (["cr:tl:{family}"], True),
    r"^cr:ans(:|$)": (["cr:ans:{family}"], True),
    r"^cr:now(:|$)": (["cr:now:{family}"], True),
    r"^cr:rh(:|$)": (["cr:rh:{family}:off"], True),
    r"^cr:day(:|$)": (["cr:day:{family}:3"], True),
    r"^cr:part(:|$)": (["cr:part:{family}:evening"], True),
    r"^cr:auto(:|$)": (["cr:auto:{family}:on"], True),
    r"^cr:step(:|$)": (["cr:step:{family}:monthly"], True),
    r"^cr:keep(:|$)": (["cr:keep:{family}"], True),
    r"^cr:mine(:|$)": (["cr:mine:{family}"], True),
    r"^cr:yes(:|$)": (["cr:yes:{consent}"], True),
    r"^cr:no(:|$)": (["cr:no:{consent}"], True),
    r"^cr:fam(:|$)": (["cr:fam:0", "cr:fam:1"], False),
    r"^cr:duo(:|$)": (["cr:duo:0", "cr:duo:{person}"], False),
    r"^cc:take(:|$)": (["cc:take:{concern}"], True),
    r"^cc:close(:|$)": (["cc:close:{concern}"], True),
    r"^cc:nonote(:|$)": (["cc:nonote:{concern}"], True),
    r"^cc:show(:|$)": (["cc:show:{concern}"], True),
    r"^area:add(:|$)": (["area:add"], True),
    r"^area:del(:|$)": (["area:del:{area}"], True),
    r"^area:delok(:|$)": (["area:delok:{area}"], True),
    r"^menu:areas$": (["menu:areas"], False),
    r"^inv:": (["inv:coordinator"], True),
    r"^inv:family(:|$)": (["inv:family"], False),
    r"^inv:volunteer(:|$)": (["inv:volunteer"], False),
    r"^inv:referrer(:|$)": (["inv:referrer"], False),
    r"^ca:open(:|$)": (["ca:open:{family}"], True),
    r"^ca:to(:|$)": (["ca:to:{family}:intake:waiting", "ca:to:{family}:intake:closed"], True),
    r"^ca:close(:|$)": (["ca:close:{family}:intake:moved"], True),
    r"^ca:talk(:|$)": (["ca:talk:{family}"], True),
    r"^ca:held(:|$)": (["ca:held:{family}:1"], True),
    r"^inv:coordinator(:|$)": (["inv:coordinator"], True),
    r"^ap:place(:|$)": (["ap:place:{request}"], True),
    r"^ap:pv(:|$)": (["ap:pv:{request}:{person}"], True),
    r"^ap:pair(:|$)": (["ap:pair:{family}"], True),
    r"^ap:pairpg(:|$)": (["ap:pairpg:{family}:1"], True),
    r"^ap:pairv(:|$)": (["ap:pairv:{family}:{person}"], True),
    r"^ap:unpair(:|$)": (["ap:unpair:{family}"], True),
    r"^rq:for(:|$)": (["rq:for:{family}"], True),
    r"^ap:pg(:|$)": (["ap:pg:pairs:1", "ap:pg:askfor:0", "ap:pg:approved:0"], False),
    r"^ap:no(:|$)": (["ap:no:{person}"], False),
    r"^ap:noy(:|$)": (["ap:noy:{person}"], False),
    r"^ap:keep(:|$)": (["ap:keep:{person}"], False),
    r"^ap:ok(:|$)": (["ap:ok:{person}"], False),
    r"^ap:vog(:|$)": (["ap:vog:{person}"], False),
    r"^in:p(:|$)": (["in:p:st:4w"], False),
    r"^in:c(:|$)": (["in:c:st"], False),
    r"^cw:q(:|$)": (["cw:q:{family}"], True),
    r"^cw:rw(:|$)": (["cw:rw:{family}:2"], True),
    r"^cw:cwk(:|$)": (["cw:cwk:{family}:6"], True),
    r"^cw:links(:|$)": (["cw:links:{question}"], True),
    r"^cw:link(:|$)": (["cw:link:{question}:{request}"], True),
    r"^cw:linkm(:|$)": (["cw:linkm:{question}:{match}"], True),
    r"^cw:sugg(:|$)": (["cw:sugg:{family}"], True),
    r"^cw:rec(:|$)": (["cw:rec:{meeting}"], True),
    r"^cw:next(:|$)": (["cw:next:{meeting}:4"], True),
    r"^qd:pick(:|$)": (["qd:pick:{decision}:stop"], True),
    r"^qd:why(:|$)": (["qd:why:{decision}:stop:not_helping"], True),
    r"^mt:open(:|$)": (["mt:open:{match}"], True),
    r"^mt:meet(:|$)": (["mt:meet:{match}"], True),
    r"^mt:pause(:|$)": (["mt:pause:{match}"], True),
    r"^mt:resume(:|$)": (["mt:resume:{match}"], True),
    r"^mt:end(:|$)": (["mt:end:{match}"], True),
    r"^mt:why(:|$)": (["mt:why:{match}:not_a_fit"], True),
    r"^mt:hol(:|$)": (["mt:hol:{match}:family"], True),
    r"^mt:adj(:|$)": (["mt:adj:{match}"], True),
    r"^mt:hh(:|$)": (["mt:hh:{match}"], True),
    r"^mt:hhp(:|$)": (["mt:hhp:{match}:{person}"], True),
    r"^mt:hhpg(:|$)": (["mt:hhpg:{match}:1", "mt:hhpg:{match}:-1"], True),
    r"^mt:dec(:|$)": (["mt:dec:{review}:stop"], True),
    r"^mt:list(:|$)": (["mt:list"], False),
    r"^menu:matches$": (["menu:matches"], False),
    # Teams: admins only (tests/e2e/test_teams.py moves people and families across teams).
    r"^tm:list(:|$)": (["tm:list"], True),
    r"^tm:new(:|$)": (["tm:new"], True),
    r"^tm:open(:|$)": (["tm:open:{team}"], True),
    r"^tm:mv(:|$)": (["tm:mv:{person}"], True),
    r"^tm:to(:|$)": (["tm:to:{person}:{team}"], True),
    r"^tm:fmv(:|$)": (["tm:fmv:{family}"], True),
    r"^tm:fto(:|$)": (["tm:fto:{family}:{team}"], True),
    r"^tm:hrs(:|$)": (["tm:hrs:{team}"], True),
    r"^tm:days(:|$)": (["tm:days:{team}:six"], True),
    r"^tm:time(:|$)": (["tm:time:{team}"], True),
    r"^tm:wait(:|$)": (["tm:wait:{team}:15"], True),
    r"^tm:dflt(:|$)": (["tm:dflt:{team}"], True),
}
NOT_FOR_COORDINATORS = {
    r"^lang:": "anyone's language",
    r"^area:keep(:|$)": "'No, keep it' on removing a neighbourhood changes nothing",
    r"^del:yes(:|$)": "anyone erases their own data",
    r"^del:no(:|$)": "anyone keeps their own data",
    r"^cf:yes(:|$)": "a family forwards its own message",
    r"^cf:no(:|$)": "a family declines to forward its own message",
    r"^ci:-?[0-9]+(:|$)": "a family's own check-in answer",
    r"^cp:-?[0-9]+(:|$)": "a family pauses its own check-ins",
    r"^cp:resume(:|$)": "a family resumes its own check-ins",
    r"^cc:about(:|$)": "a volunteer chooses a family they helped",
    r"^ca:again(:|$)": "a family asks for more support for itself",
    r"^menu:[A-Za-z0-9_-]+(:|$)": "the menu shows each role its own entries; each entry checks again",
    r"^menu:talk$": "families and volunteers",
    r"^menu:ask$": "families",
    r"^menu:vprofile$": "volunteers",
    r"^vo:acc(:|$)": "a volunteer's own offer",
    r"^vo:no(:|$)": "a volunteer's own offer",
    r"^td:": "a volunteer's own task",
    r"^db:rate(:|$)": "a volunteer's or family's own debrief",
    r"^db:worry(:|$)": "a volunteer's own debrief",
    r"^db:fine(:|$)": "a volunteer's own debrief",
    r"^db:skip(:|$)": "a family's own debrief",
    r"^vt:cx(:|$)": "a volunteer's own task",
    r"^vt:cxy(:|$)": "a volunteer's own task",
    r"^vt:keep(:|$)": "a volunteer's own task",
    r"^vt:msg(:|$)": "a task message from its volunteer to its family (test_task_messages)",
    r"^vt:ans(:|$)": "a task message from its family to its volunteer (test_task_messages)",
    r"^vt:pause(:|$)": "a volunteer's own pause",
    r"^vt:resume(:|$)": "a volunteer's own pause",
    r"^vt:list(:|$)": "a volunteer's own lists",
    r"^vt:pmenu(:|$)": "a volunteer's own lists",
    r"^vp:new(:|$)": "a volunteer's own profile",
    r"^vp:edit(:|$)": "a volunteer's own profile",
    r"^vp:save(:|$)": "a volunteer's own profile",
    r"^vp:stop(:|$)": "a volunteer's own profile",
    r"^vp:t(:|$)": "a volunteer's own profile",
    r"^vp:done(:|$)": "a volunteer's own profile",
    r"^vp:cap(:|$)": "a volunteer's own profile",
    r"^vp:": "a volunteer's own profile (a button of another step)",
    r"^rq:cx(:|$)": "a family's own request",
    r"^rq:cxy(:|$)": "a family's own request",
    r"^rq:keep(:|$)": "a family's own request",
    r"^rq:thank(:|$)": "a family's own request",
    r"^rq:give(:|$)": "a family offers something back",
    r"^rq:to(:|$)": "a family offers something back",
    r"^rq:kind(:|$)": "a step of the request dialogue, entered through a checked entry point",
    r"^rq:kids(:|$)": "a step of the request dialogue",
    r"^rq:day(:|$)": "a step of the request dialogue",
    r"^rq:time(:|$)": "a step of the request dialogue",
    r"^rq:area(:|$)": "a step of the request dialogue",
    r"^rq:street(:|$)": "a step of the request dialogue",
    r"^rq:note(:|$)": "a step of the request dialogue",
    r"^rq:ok(:|$)": "a step of the request dialogue (checked again when sending)",
    r"^rq:(kind|kids|day|time|area|street|note|ok):": "a step of the request dialogue",
    r"^ap:novog(:|$)": "a step of the approval dialogue, entered through ap:ok / ap:vog",
    r"^ap:kids(:|$)": "a step of the approval dialogue (checked again when finishing)",
    r"^su:lang(:|$)": "sign-up",
    r"^su:role(:|$)": "sign-up",
    r"^su:consent(:|$)": "sign-up",
    r"^su:area(:|$)": "sign-up",
    r"^su:kids(:|$)": "sign-up",
    r"^su:ages(:|$)": "sign-up",
    r"^su:varea(:|$)": "sign-up",
    r"^su:skill(:|$)": "sign-up",
    r"^su:time(:|$)": "sign-up",
    r"^su:vlang(:|$)": "sign-up",
    r"^su:": "sign-up",
    r"^fq:list(:|$)": "a family's own questions",
    r"^fq:add(:|$)": "a family names its own question",
    r"^fq:theme(:|$)": "a step of naming a question",
    r"^fq:open(:|$)": "a family's own question",
    r"^fq:reword(:|$)": "a family's own question",
    r"^fq:vol(:|$)": "a family's own question",
    r"^fq:share(:|$)": "a family's own question",
    r"^fq:with(:|$)": "a family's own question",
    r"^fq:done(:|$)": "a family's own question",
    r"^fq:doneyes(:|$)": "a family's own question",
    r"^fq:keep(:|$)": "a step of naming a question",
    r"^fq:again(:|$)": "a step of naming a question",
    r"^fq:sugg(:|$)": "a family answers a suggestion made to it",
    r"^qr:fam(:|$)": "a family's own review",
    r"^qr:help(:|$)": "a helper's own review",
    r"^mtp:new(:|$)": "the match proposal starts only for coordinators; every step is checked again when sending",
    r"^mtp:fam(:|$)": "a step of the match proposal (the family's rights are checked at once, and when sending)",
    r"^mtp:fpg(:|$)": "a step of the match proposal",
    r"^mtp:hlp(:|$)": "a step of the match proposal (helper candidates only for the family's coordinators)",
    r"^mtp:hpg(:|$)": "a step of the match proposal",
    r"^mtp:kind(:|$)": "a step of the match proposal",
    r"^mtp:rh(:|$)": "a step of the match proposal",
    r"^mtp:day(:|$)": "a step of the match proposal",
    r"^mtp:days(:|$)": "a step of the match proposal",
    r"^mtp:trial(:|$)": "a step of the match proposal",
    r"^mtp:rev(:|$)": "a step of the match proposal",
    r"^mtp:send(:|$)": "a step of the match proposal (checked again when sending)",
    r"^mtp:drop(:|$)": "a step of the match proposal that sends nothing",
    r"^mtp:hh(:|$)": "a step of the match proposal (the household's adults are checked again when sending)",
    r"^mtp:hhp(:|$)": "a step of the match proposal (the household's adults are checked again when sending)",
    r"^mtp:hhpg(:|$)": "a step of the match proposal (each page of the household list checks the family's rights)",
    r"^ms:yes(:|$)": "a side's own answer to a proposed match (test_matches)",
    r"^ms:no(:|$)": "a side's own answer to a proposed match (test_matches)",
    r"^ms:hyes(:|$)": "an adult of a support household's own answer to its match (test_matches)",
    r"^ms:hno(:|$)": "an adult of a support household's own answer to its match (test_matches)",
    r"^ms:skip(:|$)": "a side calls off one time of its own match (test_matches)",
    r"^ms:log(:|$)": "the helper's own visit log (test_matches)",
    r"^ms:feel(:|$)": "the family's own feeling after a visit (test_matches)",
    r"^ms:rev(:|$)": "a side's own review answer (test_matches)",
    r"^ms:msg(:|$)": "a side writes to the other side of its own match (test_matches)",
    r"^menu:refer$": "referrers only: /refer checks the role on the server (test_referrals)",
    r"^rf:why(:|$)": "a step of the referral dialogue, entered through a checked entry point",
    r"^rf:lang(:|$)": "a step of the referral dialogue",
    r"^rf:how(:|$)": "a step of the referral dialogue",
    r"^rf:make(:|$)": "a step of the referral dialogue (the referrer's right checked again when creating)",
    r"^rf:": "a step of the referral dialogue (a button of another step)",
    r"^rl:ans(:|$)": "a family answers the referral it opened itself (sign-up)",
    r"^rl:share(:|$)": "a family decides what its referrer may hear (sign-up)",
    r"^ms:pool(:|$)": "the family asks for a time its helper called off to go to the pool (test_matches)",
    r"^ms:poolok(:|$)": "the family's own OK to send a called-off time to the pool (test_matches)",
    r"^ms:poolno(:|$)": "the family's own 'no' to the pool changes nothing",
    r"^ms:gave(:|$)": "a family or its support volunteer says whether their own offer back happened (test_matches)",
    "": "the fallback for any other button",
}
# Commands coordinators use in a private chat (a family must be refused) and in a family's topic.
COORDINATOR_COMMANDS = {
    "families",
    "areas",
    "invite",
    "volunteers",
    "digest",
    "stats",
    "export",
    "concerns",
    "match",
    "waiting",
}
COORDINATOR_COMMANDS |= {"teams"}
TOPIC_COMMANDS = {"close", "take", "family", "checkin", "answers", "rhythm"}
OTHER_COMMANDS = {"cancel", "help", "privacy", "language", "mydata", "delete", "menu", "setgroup", "start"}
OTHER_COMMANDS |= {"tasks", "requests", "talk", "ask"}  # everyone's own lists and dialogues
OTHER_COMMANDS |= {"refer", "referrals"}  # referrers only, checked on the server (test_referrals)


def registered(harness: Harness) -> tuple[set[str], set[str]]:
    """Every callback pattern and command the running bot has, also inside the dialogues."""
    patterns: set[str] = set()
    commands: set[str] = set()

    def walk(handlers: Any) -> None:
        for handler in handlers:
            if isinstance(handler, DialogueRouter):
                for dialogue in handler.dialogues.values():
                    walk(dialogue.entry_points)
                    for state in dialogue.states.values():
                        walk(state)
            elif isinstance(handler, CallbackQueryHandler):
                pattern = handler.pattern
                patterns.add(pattern.pattern if isinstance(pattern, re.Pattern) else str(pattern or ""))
            elif isinstance(handler, CommandHandler):
                commands.update(handler.commands)

    application = harness.runtime.application
    assert application is not None
    for group in application.handlers.values():
        walk(group)
    return patterns, commands


def test_every_button_pattern_and_command_is_classified(harness: Harness) -> None:
    patterns, commands = registered(harness)
    unknown = patterns - set(COORDINATOR_BUTTONS) - set(NOT_FOR_COORDINATORS)
    assert not unknown, f"new buttons without a rights test: {sorted(unknown)} (add them to COORDINATOR_BUTTONS)"
    assert set(COORDINATOR_BUTTONS) <= patterns, "a listed coordinator button no longer exists"
    unknown_commands = commands - COORDINATOR_COMMANDS - TOPIC_COMMANDS - OTHER_COMMANDS
    assert not unknown_commands, f"new commands without a rights test: {sorted(unknown_commands)}"


def test_every_coordinator_button_refuses_a_family_and_another_duos_coordinator(
    harness: Harness, world: World, person: Callable[..., Chat]
) -> None:
    fid = family_id(harness, world.family)
    talk(world.family, "We need some help")
    outsider = new_family(world.team.partner, person, "Gijs")
    dex, pia, olga = (pid(harness, chat) for chat in (world.team.partner, world.team.primary, world.olga))
    concern_id = concern_of(harness, world.family).id
    now = harness.clock.now()
    with harness.session() as session:
        area = people.add_area(session=session, name="Westwijk-rights", now=now)
        request = HelpRequest(family_id=fid, created_by_id=fid, kind="groceries", status="open", created_at=now)
        consent = ConsentRequest(kind="primary", family_id=fid, requester_id=dex, approver_id=pia, created_at=now)
        session.add(request)
        session.add(consent)
        session.flush()
        question = questions_store.create_question(
            session=session, family_id=fid, text="Femke's question", theme="own", state="active", now=now
        )
        meeting = questions_store.create_meeting(session=session, family_id=fid, meeting_on=now.date())
        decision = questions_store.create_decision(
            session=session, question_id=question.id or 0, family_id=fid, cause="two_nos", now=now
        )
        match = Match(
            family_id=fid,
            helper_id=olga,
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
        values = {
            "match": match.id,
            "review": review.id,
            "family": fid,
            "concern": concern_id,
            "request": request.id,
            "area": area.id,
            "consent": consent.id,
            "person": olga,
            "question": question.id,
            "meeting": meeting.id,
            "decision": decision.id,
            "team": teams.default_team_id(session=session),
        }
    rhythm = profile(harness, world.family).checkin_rhythm
    try:
        for pattern, (samples, duo_only) in COORDINATOR_BUTTONS.items():
            for sample in samples:
                data = sample.format(**values)
                assert re.match(pattern, data), (pattern, data)
                answer, shown = forge(outsider, data)
                assert answer or shown, f"{data}: a family got no answer"
                assert not any("Femke" in text for text in shown), f"{data}: a family saw the other family"
                if duo_only:
                    before = len(refusals(harness, world.olga))
                    answer, shown = forge(world.olga, data)
                    assert answer, f"{data}: another duo's coordinator got no answer"
                    assert not any("Femke" in text for text in shown), f"{data}: shown to another duo's coordinator"
                    assert len(refusals(harness, world.olga)) > before, f"{data}: refusal not audited"
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
    assert profile(harness, world.family).checkin_rhythm == rhythm
    assert profile(harness, world.family).primary_coordinator_id == pid(harness, world.team.primary)
    assert concern_of(harness, world.family).status == "open"
    with harness.session() as session:
        assert questions_store.get_decision(session=session, decision_id=values["decision"]).decided_at is None
        assert questions_store.get_meeting(session=session, meeting_id=values["meeting"]).held_at is None
        assert questions_store.get_question(session=session, question_id=values["question"]).state == "active"
        assert not questions_store.links_of(session=session, question_ids=[values["question"]])[values["question"]]


def test_every_coordinator_command_refuses_a_family(harness: Harness, world: World) -> None:
    for command in sorted(COORDINATOR_COMMANDS):
        replies = world.family.say(f"/{command}")
        assert replies, f"/{command}: no answer"
        assert not any("Femke" in text and "Check-ins:" in text for text in replies)
        assert not any("t.me/" in text for text in replies), f"/{command}: a family got an invite link"
