"""After a task: a "Difficult" rating or a worry reaches a coordinator as a concern about that task, and what
a volunteer then writes goes with it. A volunteer who writes in /talk before choosing the family keeps it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import Concern
from tests.e2e.care_world import local_now, move_to, reset_group, texts_since
from tests.e2e.harness import Chat, Harness, expect
from tests.e2e.request_world import (
    ask,
    last_request,
    monday_morning,
    new_area,
    new_family,
    new_volunteer,
    offers_to,
    person_id,
    quiet_requests,
    tag,
)


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_requests(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_requests(harness)


def task_done(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat], family_name: str, helper_name: str
) -> tuple[Chat, Chat]:
    """A family and a volunteer whose company task took place two days ago; both are asked how it went."""
    area = new_area(harness, f"Na {tag()}")
    family = new_family(coordinator, person, family_name, area)
    helper = new_volunteer(coordinator, person, helper_name, area, ["Company or a walk"])
    ask(family, "company", children=False)
    harness.settle()
    helper.tap("✅ Accept", message=offers_to(helper)[-1])
    move_to(harness, local_now(harness).replace(hour=10, minute=1) + timedelta(days=2))
    harness.tick()
    return family, helper


def concerns_about(harness: Harness, family: Chat) -> list[Concern]:
    with harness.session() as session:
        return list(session.exec(select(Concern).where(Concern.family_id == person_id(harness, family))).all())


def test_a_family_rating_a_task_difficult_reaches_the_coordinator_and_is_not_asked_for_thanks(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family, _helper = task_done(harness, coordinator, person, "Noor", "Otto")
    expect(family.tap("✅ Yes, it happened"), "How did it go?")
    before = len(coordinator.user.messages)
    replies = family.tap("😟 Difficult")
    answer = expect(replies, "sorry it was difficult", "coordinator")
    assert not any("thank" in text.lower() for text in replies), replies
    assert "Talk to someone" in family.last_buttons() and "💛 Say thank you" not in family.last_buttons()
    harness.settle()
    request = last_request(harness, family)
    (concern,) = concerns_about(harness, family)
    assert concern.source == "task_hard" and concern.request_id == request.id and concern.status == "open"
    assert concern.raised_by_id == person_id(harness, family)
    card = expect(texts_since(coordinator, before), "Noor rated a task as difficult")
    assert "Company or a walk" in card and "Otto" in card and "Difficult" in card, card
    assert answer

    # "Talk to someone" leads straight to writing; what the family writes joins the same concern.
    expect(family.tap("Talk to someone"), "What would you like to tell us?")
    expect(family.say("He was rude to my mother"), "passed")
    assert coordinator.user.messages[-1].text == "He was rude to my mother"
    assert len(concerns_about(harness, family)) == 1


def test_a_volunteer_rating_a_task_difficult_reaches_the_coordinator_and_can_say_why(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family, helper = task_done(harness, coordinator, person, "Pim", "Quirine")
    expect(helper.tap("✅ Yes, it happened"), "How did it go?")
    before = len(coordinator.user.messages)
    expect(helper.tap("😟 Difficult"), "What made it difficult?")
    harness.settle()
    (concern,) = concerns_about(harness, family)
    assert concern.source == "volunteer" and concern.raised_by_id == person_id(harness, helper)
    assert concern.request_id == last_request(harness, family).id
    card = expect(texts_since(coordinator, before), "Volunteer Quirine raised a concern about Pim")
    assert "Company or a walk" in card and "Difficult" in card, card
    expect(helper.say("The flat was very cold and there was no food"), "passed")
    assert coordinator.user.messages[-1].text == "The flat was very cold and there was no food"
    assert len(concerns_about(harness, family)) == 1


def test_a_volunteer_worry_after_a_task_is_a_concern_and_what_they_write_goes_with_it(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family, helper = task_done(harness, coordinator, person, "Rik", "Sofie")
    expect(helper.tap("✅ Yes, it happened"), "How did it go?")
    expect(helper.tap("😐 OK"), "Is there anything your coordinator should know?")
    before = len(coordinator.user.messages)
    expect(helper.tap("🔔 I am worried about something"), "What worries you?")
    harness.settle()
    (concern,) = concerns_about(harness, family)
    assert concern.source == "volunteer" and concern.request_id == last_request(harness, family).id
    expect(texts_since(coordinator, before), "Volunteer Sofie raised a concern about Rik", "Company or a walk")
    helper.send("voice")
    harness.settle()
    assert coordinator.user.messages[-1].media_kind == "voice", "a voice note goes on as it is"
    family_texts = family.texts()
    assert not any("Sofie raised" in text for text in family_texts), "the family sees none of this"


def test_a_volunteer_who_writes_before_choosing_the_family_keeps_the_text(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family, helper = task_done(harness, coordinator, person, "Tijn", "Jelle")
    expect(helper.tap("✅ Yes, it happened"), "How did it go?")
    expect(helper.tap("😊 Good"), "Is there anything your coordinator should know?")
    helper.tap("👍 No, all fine")
    expect(helper.say("/talk"), "Which family is it about?")
    before = len(coordinator.user.messages)
    expect(helper.say("The boy had a bruise on his arm"), "kept your message", "Which family")
    expect(helper.say("He said he fell"), "kept your message")
    assert "Tijn" in helper.last_buttons()
    expect(helper.tap("Tijn"), "passed")
    harness.settle()
    (concern,) = concerns_about(harness, family)
    assert concern.source == "volunteer" and concern.raised_by_id == person_id(harness, helper)
    copied = [message.text for message in coordinator.user.messages[before:]]
    assert copied[-2:] == ["The boy had a bruise on his arm", "He said he fell"], copied
    expect(texts_since(coordinator, before), "Volunteer Jelle raised a concern about Tijn")


def test_a_debrief_button_of_someone_else_is_answered_once_as_no_longer_working(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family, _helper = task_done(harness, coordinator, person, "Lotte", "Bram")
    request = last_request(harness, family)
    before = len(family.user.callback_answers)
    family.user.press_raw(family.last, f"db:worry:{request.id}")  # a worry is the volunteer's question
    harness.settle()
    assert family.user.callback_answers[before:] == ["That button no longer works. Send /menu for the current options."]
