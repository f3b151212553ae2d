"""People the bot cannot reach, and concerns that nobody can receive yet, end to end.

A coordinator who blocked the bot must not hold a concern: it moves on at once (the next step of the
chain) and their claimed concerns go to the others with the full context. A reply to a family that
blocked the bot is never reported as sent. A concern raised before any coordinator can receive it
waits visibly, the family hears the truth, and the first coordinator who can receive it gets it with
its messages and buttons. Every open concern can be opened from a list and from the family card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from sqlmodel import select

from domain.clock import FakeClock
from sandbox import Sandbox
from services.settings import Settings
from storage import concerns as concern_store
from storage.models import Concern, EscalationStep
from tests.e2e.care_world import (
    Team,
    family_id,
    make_team,
    move_to,
    new_family,
    next_local,
    office_morning,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import TOKEN, Chat, Harness, expect, next_user_id, seen
from tests.e2e.request_world import ask, new_area, new_volunteer, offers_to, quiet_requests, tag
from tests.e2e.request_world import new_family as family_in_area

GONE = "can no longer be reached through the bot"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    quiet_requests(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    quiet_world(harness)
    reset_group(harness)


@pytest.fixture
def team(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> Team:
    return make_team(harness, coordinator, person, tag="unreachable")


def talk(family: Chat, text: str) -> list[str]:
    family.say("/talk")
    return family.say(text)


def block_unnoticed(harness: Harness, chat: Chat) -> None:
    """They block the bot, but the bot never got Telegram's update about it (it was down for a day):
    it only learns when a message to them is refused with 403."""
    world = harness.sandbox.world
    with world.lock:
        world.chats[chat.id].bot_status = "kicked"


def all_buttons(chat: Chat) -> list[str]:
    return [label for message in chat.user.messages for row in message.buttons for label in row]


def last_with(chat: Chat, fragment: str) -> object:
    return next(message for message in reversed(chat.user.messages) if fragment in seen(message.text or ""))


def concern_of(harness: Harness, chat: Chat) -> Concern:
    with harness.session() as session:
        found = concern_store.concerns_of(session=session, family_id=family_id(harness, chat))
    assert found, "no concern"
    return found[0]


def steps_of(harness: Harness, concern: Concern) -> list[tuple[int, str]]:
    with harness.session() as session:
        rows = session.exec(
            select(EscalationStep).where(EscalationStep.concern_id == concern.id).order_by(EscalationStep.id)  # type: ignore[arg-type]
        )
        return [(step.level, step.target) for step in rows]


# --- a coordinator who blocked the bot ----------------------------------------------------------------


def test_a_friday_evening_concern_for_a_blocked_primary_reaches_the_partner_at_once(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Roos")
    move_to(harness, next_local(harness, 4, time(19, 0)))  # Friday 19:00: the next office morning is Monday
    block_unnoticed(harness, team.primary)
    partner_before = len(team.partner.user.messages)

    expect(talk(family, "The children have not eaten since this morning"), "passed this on")

    # No clock movement: the refusal of the alert to the primary moves the chain on at once.
    to_partner = texts_since(team.partner, partner_before)
    card = expect(to_partner, "Roos wants to talk to someone")
    expect([card], "Pia", "can no longer be reached", "comes to you")
    expect(to_partner, "The children have not eaten since this morning")
    assert "✋ I'll take this" in all_buttons(team.partner)
    concern = concern_of(harness, family)
    assert steps_of(harness, concern)[:2] == [(0, "primary"), (1, "partner")]
    assert not harness.person(team.primary.id).reachable

    # The partner takes it from the card, as from any alert.
    team.partner.tap("✋ I'll take this")
    assert concern_of(harness, family).claimed_by_id == harness.person(team.partner.id).id


def test_the_concerns_of_a_coordinator_who_blocked_the_bot_go_to_the_others_with_their_messages(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Saar")
    talk(family, "My landlord wants us out by Friday")
    team.primary.tap("✋ I'll take this")
    assert concern_of(harness, family).status == "claimed"
    partner_before = len(team.partner.user.messages)

    harness.sandbox.block(team.primary.id)  # Telegram tells the bot at once
    harness.settle()

    to_partner = texts_since(team.partner, partner_before)
    card = expect(to_partner, "Saar wants to talk to someone")
    expect([card], "Pia", "can no longer be reached", "comes to you")
    expect(to_partner, "My landlord wants us out by Friday")
    concern = concern_of(harness, family)
    assert concern.status == "open" and concern.claimed_by_id is None and concern.acknowledged_at is None

    # What the family writes next goes to the partner, not into the blocked chat.
    family.say("They changed the locks")
    assert team.partner.user.messages[-1].text == "They changed the locks"
    team.partner.tap("✋ I'll take this")
    assert concern_of(harness, family).claimed_by_id == harness.person(team.partner.id).id


# --- a family that blocked the bot ------------------------------------------------------------------


def test_a_reply_to_a_family_that_blocked_the_bot_is_reported_as_not_delivered_and_flagged(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Tess")
    talk(family, "Can we talk about school tomorrow?")
    copied = team.primary.user.messages[-1]
    team.primary.tap("✋ I'll take this")
    block_unnoticed(harness, family)
    before = len(team.primary.user.messages)

    team.primary.user.send("Yes, I will call you at 10", reply_to=copied)
    harness.settle()

    to_primary = texts_since(team.primary, before)
    assert not any("Sent to" in text for text in to_primary)
    expect(to_primary, "On its way to Tess")
    expect(to_primary, "✗ Not delivered", "Tess", "can no longer be reached")
    flagged = expect(to_primary, "Tess can no longer be reached through the bot", "Their concern is still open")
    expect([flagged], "Cannot be reached through the bot since")
    assert not harness.person(family.id).reachable
    concern = concern_of(harness, family)
    assert concern.status == "claimed"

    # The family card says so too.
    team.primary.tap("📋 Family and check-ins", message=last_with(team.primary, "Tess wants to talk to someone"))
    expect(texts_since(team.primary, before), "Open concerns: 1", "Cannot be reached through the bot since")


def test_a_reply_to_a_family_known_to_have_blocked_the_bot_is_refused_at_once(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Uma")
    talk(family, "Is there a food bank nearby?")
    copied = team.primary.user.messages[-1]
    harness.sandbox.block(family.id)
    harness.settle()
    before = len(team.primary.user.messages)
    team.primary.user.send("There is one on the Markt", reply_to=copied)
    harness.settle()
    replies = texts_since(team.primary, before)
    expect(replies, "✗ Not delivered", "Uma")
    assert not any("On its way" in text or "Sent to" in text for text in replies)


# --- a volunteer who blocked the bot while holding a task ---------------------------------------------


def test_a_volunteer_who_blocked_the_bot_with_an_accepted_task_is_named_with_the_task(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Blok {tag()}")
    from tests.e2e.request_world import new_family as request_family

    family = request_family(coordinator, person, "Vera", area)
    volunteer = new_volunteer(coordinator, person, "Wim", area, ["Groceries"])
    ask(family, "groceries", day="Tomorrow", window="Morning (9:00-12:00)")
    volunteer.tap("✅ Accept", message=offers_to(volunteer)[-1])
    before = len(coordinator.user.messages)

    harness.sandbox.block(volunteer.id)
    harness.settle()

    alert = expect(texts_since(coordinator, before), "Wim", GONE)
    expect([alert], "Accepted tasks", "Vera")


# --- no coordinator yet ---------------------------------------------------------------------------


FRESH_ADMIN = 910_001


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A new deployment of its own: no coordinator has started the bot yet (the admin will later)."""
    sandbox = Sandbox(token=TOKEN)
    sandbox.start()
    folder: Path = tmp_path_factory.mktemp("fresh")
    settings = Settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=sandbox.base_url,
        database_url=f"sqlite:///{folder}/waakvlam.sqlite3",
        bot_admin_ids=[FRESH_ADMIN],
        poll_timeout=1,
        insight_digest_enabled=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    world = Harness(sandbox, settings, FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)))
    world.start()
    yield world
    world.stop()
    sandbox.stop()
    assert not sandbox.refusals, f"the bot made calls Telegram would refuse: {sandbox.refusals[:5]}"


def test_a_concern_before_any_coordinator_waits_visibly_and_reaches_the_first_one(fresh: Harness) -> None:
    family = Chat(fresh, fresh.sandbox.user(next_user_id(), "Yara", language_code="en"))
    family.say("/start")
    family.tap("We are a family")
    family.tap("Yes, I agree")
    family.say("Yara")
    family.tap("My neighbourhood is not listed")
    family.tap("0")

    # The family is told the truth, not "passed on".
    replies = talk(family, "We have no food left this week")
    told = expect(replies, "No coordinator is available", "kept", "112")
    assert "passed this on" not in told and "contact you by" not in told
    expect(family.say("And the heating is broken"), "Kept with your earlier message")
    family.say("/menu")
    again = expect(family.tap("We need help again"), "No coordinator is available")
    assert "contact you by" not in again
    concern = concern_of(fresh, family)
    assert concern.waiting_since is not None and concern.status == "open"

    # The first coordinator (here the admin) signs up and gets it: card, buttons, both messages.
    admin = Chat(fresh, fresh.sandbox.user(FRESH_ADMIN, "Ada", language_code="en"))
    admin.say("/start")
    admin.tap("Yes, I agree")
    replies = admin.say("Ada")
    card = expect(replies, "Yara wants to talk to someone", "No coordinator could receive this since")
    expect(replies, "We have no food left this week")
    expect(replies, "And the heating is broken")
    labels = all_buttons(admin)
    assert "✋ I'll take this" in labels and "✅ Close" in labels
    assert card
    expect(texts_since(family, 0), "Your message has now reached a coordinator")
    assert concern_of(fresh, family).waiting_since is None

    # /concerns lists every open concern; a tap sends it again to act on.
    listed = admin.say("/concerns")
    expect(listed, "Open concerns", "Yara", "not taken yet")
    before = len(admin.user.messages)
    admin.tap(next(label for label in admin.last_buttons() if "Yara" in label))
    expect(texts_since(admin, before), "Yara wants to talk to someone")
    admin.tap("✋ I'll take this", message=admin.user.messages[before])
    assert concern_of(fresh, family).claimed_by_id is not None
    expect([family.last.text or ""], "has picked up your message")

    # The family card opens it too, and the reply goes to the family.
    admin.tap("📋 Family and check-ins", message=admin.user.messages[before])
    card_message = admin.last
    expect([card_message.text or ""], "Open concerns: 1")
    before = len(admin.user.messages)
    admin.tap(next(label for row in card_message.buttons for label in row if "Yara" in label), message=card_message)
    shown = admin.user.messages[before]
    family_before = len(family.user.messages)
    admin.user.send("I will bring a food parcel at 14:00", reply_to=shown)
    fresh.settle()
    expect(texts_since(admin, before), "On its way to Yara")
    assert family.user.messages[-1].text == "I will bring a food parcel at 14:00"
    assert len(family.user.messages) > family_before


def test_a_volunteer_s_kept_messages_wait_visibly_when_no_coordinator_can_receive_them(fresh: Harness) -> None:
    def person(name: str, **kwargs: object) -> Chat:
        kwargs.setdefault("language_code", "en")
        return Chat(fresh, fresh.sandbox.user(next_user_id(), name, **kwargs))

    admin = Chat(fresh, fresh.sandbox.user(FRESH_ADMIN, "Ada", language_code="en"))
    found = fresh.person(FRESH_ADMIN)
    if found is None or found.display_name is None:  # when this test runs on its own
        admin.say("/start")
        admin.tap("Yes, I agree")
        admin.say("Ada")
    area = new_area(fresh, f"Oost {tag()}")
    family = family_in_area(admin, person, "Noor", area)
    helper = new_volunteer(admin, person, "Vince", area, ["Company or a walk"])
    ask(family, "company", children=False)
    fresh.settle()
    helper.tap("✅ Accept", message=offers_to(helper)[-1])
    fresh.settle()

    # The only coordinator blocked the bot: nobody can receive a concern now.
    fresh.sandbox.block(FRESH_ADMIN)
    fresh.settle()
    before = len(admin.user.messages)
    try:
        expect(helper.say("/talk"), "Which family is it about?")
        expect(helper.say("Noor's door was open all night"), "kept your message")
        told = expect(helper.tap("Noor"), "No coordinator is available", "kept")
        assert "passed this on" not in told and "contact you by" not in told
    finally:
        fresh.sandbox.unblock(FRESH_ADMIN)
    fresh.settle()

    # She unblocked the bot: the concern and the kept message reach her.
    expect(texts_since(admin, before), "Volunteer Vince raised a concern about Noor")
    assert "Noor's door was open all night" in [message.text for message in admin.user.messages[before:]]
