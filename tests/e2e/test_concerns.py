"""Concerns end to end: the escalation chain, claiming and closing, relays, urgent words, the group."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from storage import concerns as concern_store
from storage.models import Concern, EscalationStep
from tests.e2e.care_world import (
    AMS,
    Team,
    audit_actions,
    coordinators_group,
    family_id,
    local_now,
    make_team,
    move_to,
    new_family,
    next_local,
    office_morning,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect, tr

_group_ids = itertools.count(-1_009_000_000_000)
NOBODY = "Nobody has picked this up"


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


def talk(family: Chat, text: str) -> list[str]:
    family.say("/talk")
    return family.say(text)


def concerns_of(harness: Harness, chat: Chat) -> list[Concern]:
    with harness.session() as session:
        return list(reversed(concern_store.concerns_of(session=session, family_id=family_id(harness, chat))))


def steps_of(harness: Harness, concern: Concern) -> list[tuple[int, str]]:
    with harness.session() as session:
        rows = session.exec(select(EscalationStep).where(EscalationStep.concern_id == concern.id))
        return [(step.level, step.target) for step in rows]


def test_a_concern_climbs_the_chain_until_everyone_knows(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Hanna")
    before = {chat.id: len(chat.user.messages) for chat in (team.admin, team.primary, team.partner)}
    replies = talk(family, "We are struggling with the rent")
    expect(replies, "passed this on to your coordinator", "contact you by")
    to_primary = texts_since(team.primary, before[team.primary.id])
    expect(to_primary, "Hanna wants to talk to someone", "Hanna · neighbourhood not listed · English")
    expect(to_primary, "Recent check-ins: none yet", "Open help requests: 0")
    expect(to_primary, "We are struggling with the rent")
    assert not texts_since(team.partner, before[team.partner.id])

    harness.advance(minutes=29)
    harness.tick()
    assert not texts_since(team.partner, before[team.partner.id])
    harness.advance(minutes=2)
    harness.tick()
    expect(texts_since(team.partner, before[team.partner.id]), NOBODY, "Hanna wants to talk to someone")
    assert not any(NOBODY in text for text in texts_since(team.admin, before[team.admin.id]))
    harness.advance(minutes=31)
    harness.tick()
    expect(texts_since(team.admin, before[team.admin.id]), NOBODY, "Hanna")
    assert sum(NOBODY in text for text in texts_since(team.primary, before[team.primary.id])) == 1
    harness.advance(hours=3)
    harness.tick()
    assert sum(NOBODY in text for text in texts_since(team.admin, before[team.admin.id])) == 1, "the chain ends"

    (concern,) = concerns_of(harness, family)
    assert steps_of(harness, concern) == [(0, "primary"), (1, "partner"), (2, "all")]
    assert audit_actions(harness, family_id(harness, family)).count("escalation_step") == 3


def test_taking_a_concern_stops_the_chain_and_the_conversation_goes_both_ways(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Ilse")
    talk(family, "Can someone help me with a letter from the council?")
    copied = team.primary.user.messages[-1]
    assert copied.text == "Can someone help me with a letter from the council?"
    partner_before = len(team.partner.user.messages)
    team.primary.tap("✋ I'll take this")
    harness.settle()
    assert team.primary.user.callback_answers[-1] == "You have taken this. The others can see it."
    expect(texts_since(team.partner, partner_before), "has taken the concern about Ilse")
    expect([family.last.text or ""], "has picked up your message and will be in touch")
    harness.advance(hours=2)
    harness.tick()
    assert not any(NOBODY in text for text in texts_since(team.partner, partner_before))

    # The coordinator answers by replying to the family's message; the family's answer comes back.
    family_before = len(family.user.messages)
    team.primary.user.send("Yes, bring it on Tuesday at 10", reply_to=copied)
    harness.settle()
    expect(texts_since(team.primary, len(team.primary.user.messages) - 1), "On its way to Ilse")
    expect(texts_since(family, family_before), "Message from Pia", "your coordinator")
    assert family.user.messages[-1].text == "Yes, bring it on Tuesday at 10"
    expect(family.say("Thank you, see you then"), "Passed on")
    assert team.primary.user.messages[-1].text == "Thank you, see you then"

    # Closing asks for a short note in private.
    team.primary.tap("✅ Close")
    harness.settle()
    expect([team.primary.last.text or ""], "Write a short note")
    expect(team.primary.say("Visited, letter sorted"), "Closed. Thank you")
    (concern,) = concerns_of(harness, family)
    assert concern.status == "closed" and concern.close_note == "Visited, letter sorted"
    actions = audit_actions(harness, family_id(harness, family))
    assert "concern_claimed" in actions and "concern_closed" in actions


def test_out_of_office_hours_the_family_hears_when_and_the_numbers(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Joris")
    friday_night = next_local(harness, 4, local_now(harness).time().replace(hour=23, minute=0))
    move_to(harness, friday_night)
    replies = talk(family, "I could use a chat")
    reply = expect(replies, "outside office hours", "Monday", "09:00")
    expect([reply], "112", "0800-2000", "0800-0113")
    partner_before = len(team.partner.user.messages)
    monday = friday_night + timedelta(days=3)
    move_to(harness, monday.replace(hour=8, minute=59))
    harness.tick()
    assert not texts_since(team.partner, partner_before)
    move_to(harness, monday.replace(hour=9, minute=1))
    harness.tick()
    expect(texts_since(team.partner, partner_before), NOBODY, "Joris")


def test_urgent_words_in_dutch_and_english_bring_the_numbers_and_alert_everyone(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    dutch = new_family(team.primary, person, "Sanne", language="nl")
    before = {chat.id: len(chat.user.messages) for chat in (team.admin, team.primary, team.partner)}
    replies = dutch.say("Mijn man slaat me en ik durf niet naar huis")
    answer = expect(replies, "112", "0800-2000", "0800-0113")
    safety = "I am a bot, so I cannot help you myself. Please call now if you or someone else is in danger:"
    assert answer.startswith(tr("nl", safety)) and tr("nl", safety) != safety, "in the family's own language"
    for chat in (team.admin, team.primary, team.partner):
        expect(texts_since(chat, before[chat.id]), "URGENT", "Sanne")
    expect(texts_since(team.primary, before[team.primary.id]), "Mijn man slaat me")
    (concern,) = concerns_of(harness, dutch)
    assert concern.urgent and steps_of(harness, concern) == [(2, "all")]
    assert "urgent_detected" in audit_actions(harness, family_id(harness, dutch))

    english = new_family(team.primary, person, "Tom")
    english.say("/talk")
    replies = english.say("I just want to kill myself")
    answer = expect(replies, "113", "0800-0113", "112")
    assert answer.index("0800-0113") < answer.index("0800-2000"), "the fitting number comes first"
    expect(replies, "passed your message on to the coordinators")
    expect(texts_since(team.partner, before[team.partner.id]), "URGENT", "Tom")
    # Tiredness is not danger: "doodmoe" is offered for forwarding, not alerted.
    replies = dutch.say("Ik ben doodmoe vandaag")
    assert not any("112" in text for text in replies)


def test_free_text_outside_a_dialogue_is_offered_for_forwarding(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Kees")
    expect(family.say("Is there a food bank nearby?"), "Shall I pass this on to your coordinator?")
    expect(family.tap("No, thanks"), "I have not passed it on")
    expect(family.say("Can someone call me tomorrow?"), "Shall I pass this on")
    before = len(team.primary.user.messages)
    expect(family.tap("Yes, pass it on"), "passed this on to your coordinator")
    expect(texts_since(team.primary, before), "Kees sent a message for the coordinators")
    assert team.primary.user.messages[-1].text == "Can someone call me tomorrow?"
    # While the concern is open, a photo goes straight on, as it is; right after the message it follows,
    # one acknowledgement was enough. A while later the next message is acknowledged again.
    assert not any("Passed on" in text for text in family.send("photo"))
    assert team.primary.user.messages[-1].media_kind == "photo"
    harness.advance(minutes=5)
    expect(family.say("And a lift on Friday, if possible"), "Passed on")


def forum(harness: Harness, admin: Chat, *, forum: bool = True, supergroup: bool = True) -> object:
    group = harness.sandbox.group(next(_group_ids), "Coördinatoren", forum=forum, supergroup=supergroup)
    group.send(admin.user, "/setgroup")
    harness.settle()
    assert coordinators_group(harness) == group.chat_id
    return group


def test_a_concern_is_relayed_both_ways_through_a_forum_topic_with_a_voice_note(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    group: object = forum(harness, team.admin)
    family = new_family(team.primary, person, "Lotte")
    talk(family, "School called about our son")
    harness.settle()
    (topic,) = [t for t in group.topics.values() if t.name == "Lotte"]  # type: ignore[attr-defined]
    shown = [message.text or "" for message in topic.messages]
    expect(shown, "This topic holds the family's timeline")
    expect(shown, "Lotte wants to talk to someone", "Whatever you write in this topic goes to the family")
    expect(shown, "School called about our son")
    expect(texts_since(team.primary, 0), "Their messages are in the family's topic")

    # A coordinator writes in the topic: it reaches the family, and counts as taking the concern.
    family_before = len(family.user.messages)
    group.send(team.primary.user, "I will call you at 3", thread_id=topic.thread_id)  # type: ignore[attr-defined]
    harness.settle()
    expect(texts_since(family, family_before), "Message from Pia")
    assert family.user.messages[-1].text == "I will call you at 3"
    (concern,) = concerns_of(harness, family)
    assert concern.claimed_by_id == harness.person(team.primary.id).id and concern.acknowledged_at is not None

    # The family's voice note and text come back into the topic, as they are.
    family.send("voice")
    family.say("Thank you!")
    harness.settle()
    latest = group.topics[topic.thread_id].messages  # type: ignore[attr-defined]
    assert latest[-2].media_kind == "voice" and latest[-1].text == "Thank you!"
    group.send_voice(team.primary.user, thread_id=topic.thread_id)  # type: ignore[attr-defined]
    harness.settle()
    assert family.user.messages[-1].media_kind == "voice"

    # Someone deletes the topic: the next message makes a new one.
    group.delete_topic(topic.thread_id)  # type: ignore[attr-defined]
    family.say("Are you still there?")
    harness.settle()
    (again,) = [t for t in group.topics.values() if t.name == "Lotte"]  # type: ignore[attr-defined]
    assert again.thread_id != topic.thread_id
    assert "Are you still there?" in [message.text for message in again.messages]
    expect([message.text or "" for message in again.messages], "This topic holds the family's timeline")
    group.send(team.partner.user, "/close Called, all fine", thread_id=again.thread_id)  # type: ignore[attr-defined]
    harness.settle()
    expect([m.text or "" for m in group.topics[again.thread_id].messages], "Closed by Dex", "Called, all fine")  # type: ignore[attr-defined]
    assert concerns_of(harness, family)[0].status == "closed"


def test_a_concern_can_be_taken_from_the_topic_card(harness: Harness, team: Team, person: Callable[..., Chat]) -> None:
    group: object = forum(harness, team.admin)
    family = new_family(team.primary, person, "Mees")
    talk(family, "Hello?")
    harness.settle()
    (topic,) = [t for t in group.topics.values() if t.name == "Mees"]  # type: ignore[attr-defined]
    card = next(m for m in topic.messages if "I'll take this" in str(m.buttons))
    group.press(team.partner.user, "✋ I'll take this", message=card)  # type: ignore[attr-defined]
    harness.settle()
    assert team.partner.user.callback_answers[-1] == "You have taken this. The others can see it."
    expect([m.text or "" for m in group.topics[topic.thread_id].messages], "Dex")  # type: ignore[attr-defined]
    expect(texts_since(team.primary, 0), "Dex has taken the concern about Mees")


def test_a_coordinators_group_that_migrated_to_a_supergroup(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    group: object = forum(harness, team.admin, forum=False, supergroup=False)
    old_id = group.chat_id  # type: ignore[attr-defined]
    new_id = group.migrate_to_supergroup(by=team.admin.user)  # type: ignore[attr-defined]
    harness.settle()
    assert coordinators_group(harness) == new_id != old_id
    family = new_family(team.primary, person, "Nina")
    talk(family, "Just checking in")
    harness.settle()
    shown = [message.text or "" for message in harness.sandbox.delivered(new_id)]
    expect(shown, "Nina wants to talk to someone")
    expect(shown, "Just checking in")
    assert local_now(harness).tzinfo == AMS


def new_volunteer(person: Callable[..., Chat], name: str) -> Chat:
    chat = person(name, language_code="en")
    chat.say("/start")
    chat.tap("I want to help")
    chat.tap("Yes, I agree")
    chat.say(name)
    for _step in range(4):  # neighbourhoods, skills, times, languages: the first option, then Done
        if "none to choose" not in (chat.last.text or ""):
            chat.user.press(0)
            chat.harness.settle()
        chat.tap("Done")
    return chat


def test_a_volunteer_raises_a_concern_about_a_family_that_never_reaches_the_family(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    from storage.models import HelpRequest

    family = new_family(team.primary, person, "Olaf")
    volunteer = new_volunteer(person, "Vera")
    with harness.session() as session:
        session.add(
            HelpRequest(
                family_id=family_id(harness, family),
                created_by_id=family_id(harness, family),
                kind="groceries",
                status="accepted",
                assigned_volunteer_id=harness.person(volunteer.id).id,
                created_at=harness.clock.now(),
            )
        )
    family_before = len(family.user.messages)
    primary_before = len(team.primary.user.messages)
    expect(volunteer.say("/talk"), "Which family is it about?")
    volunteer.tap("Olaf")
    expect(volunteer.say("The children seemed hungry today"), "passed this on")
    expect(texts_since(team.primary, primary_before), "Volunteer Vera raised a concern about Olaf")
    copied = team.primary.user.messages[-1]
    assert copied.text == "The children seemed hungry today"
    team.primary.user.send("Thank you Vera, I will visit them", reply_to=copied)
    harness.settle()
    expect(texts_since(volunteer, 0), "Message from coordinator Pia")
    assert volunteer.user.messages[-1].text == "Thank you Vera, I will visit them"
    assert len(family.user.messages) == family_before, "the family sees none of this"


def test_danger_in_the_middle_of_sign_up_is_answered_and_the_dialogue_goes_on(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    newcomer = person("Wim", language_code="nl")
    newcomer.say("/start")
    newcomer.tap(tr("nl", "We are a family"))
    admin_before = len(team.admin.user.messages)
    replies = newcomer.say("ik wil niet meer leven")
    expect(replies, "113", "0800-0113", "112")
    expect(texts_since(team.admin, admin_before), "URGENT")
    # The sign-up question is still open: consent is asked again, and nothing was stored as consent.
    expect(newcomer.say("/start"), tr("nl", "Do you agree that we store this?"))
    assert harness.person(newcomer.id).consent_at is None


def test_an_urgent_concern_is_closed_only_with_a_note(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Roos")
    family.say("I just want to kill myself")
    harness.settle()
    (concern,) = concerns_of(harness, family)
    assert concern.urgent
    alert = next(m for m in reversed(team.primary.user.messages) if "✅ Close" in str(m.buttons))
    expect(team.primary.tap("✅ Close", message=alert), "urgent concern about Roos", "short note")
    assert "No note" not in team.primary.last_buttons()
    # An old or forged 'No note' button does not close it either.
    answers = len(team.primary.user.callback_answers)
    team.primary.user.press_raw(alert, f"cc:nonote:{concern.id}")
    harness.settle()
    assert "only with a short note" in team.primary.user.callback_answers[answers:][-1]
    assert concerns_of(harness, family)[0].status == "open"
    # In the family's topic, /close without a note is refused too.
    group: object = forum(harness, team.admin)
    family.say("Are you there?")
    harness.settle()
    (topic,) = [t for t in group.topics.values() if t.name == "Roos"]  # type: ignore[attr-defined]
    group.send(team.primary.user, "/close", thread_id=topic.thread_id)  # type: ignore[attr-defined]
    harness.settle()
    expect([m.text or "" for m in group.messages[-2:]], "only with a short note")  # type: ignore[attr-defined]
    assert concerns_of(harness, family)[0].status == "open"
    expect(team.primary.say("Called her, she is safe with her sister"), "Closed")
    closed = concerns_of(harness, family)[0]
    assert closed.status == "closed" and closed.close_note == "Called her, she is safe with her sister"
