"""What a volunteer meets around a task: what the task is before accepting, a reminder also at short notice,
and one message at a time with the family through the bot (never a phone number or account)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from storage.models import Concern, OutboxMessage
from tests.e2e.care_world import move_to, quiet_world, reset_group
from tests.e2e.harness import Chat, Harness, expect, seen
from tests.e2e.request_world import (
    ask,
    kind_button,
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

REMINDER = "A reminder of the task you accepted"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_requests(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_requests(harness)


def test_the_offer_says_what_the_task_is_but_not_the_address(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Omschrijf {tag()}")
    family = new_family(coordinator, person, "Ilse", area)
    helper = new_volunteer(coordinator, person, "Joep", area, ["A ride"])

    # "Something else" asks what it is; the family reads it back before sending.
    family.say("/menu")
    family.tap("🙋 Ask for help")
    expect(family.tap("🤝 Something else"), "What do you need help with?", "do not write your address")
    expect(family.say("Carry a cupboard upstairs"), "Is it for a child")
    ask_rest = family.tap("No")
    expect(ask_rest, "When do you need it?")
    family.tap("Tomorrow")
    family.tap("Evening (18:00-22:00)")
    family.say("Eikstraat 9")
    family.user.press_reply_button("No, thank you")
    harness.settle()
    family.tap("Skip")
    confirm = expect(family.texts()[-1:], "Please check the request", "Details: Carry a cupboard upstairs")
    assert "Eikstraat 9" in confirm
    family.tap("✅ Send")
    request = last_request(harness, family)
    assert request.kind == "other" and request.destination == "Carry a cupboard upstairs"

    offer = seen(offers_to(helper)[-1].text)
    assert "Details: Carry a cupboard upstairs" in offer and "Eikstraat" not in offer
    # A lift shows where it goes, never the street the volunteer comes to.
    ask(family, "lift", children=False, destination="the station")
    lift = seen(offers_to(helper)[-1].text)
    assert "Lift to: the station" in lift and "Eikstraat" not in lift
    details = expect(helper.tap("✅ Accept", message=offers_to(helper)[-2]), "Thank you for helping!")
    assert "Address: Eikstraat 9" in details and "Details: Carry a cupboard upstairs" in details
    family.say("/menu")
    expect(family.tap("My requests"), "Something else")


def test_a_task_accepted_at_short_notice_is_reminded_once(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Gauw {tag()}")
    family = new_family(coordinator, person, "Kees", area)
    helper = new_volunteer(coordinator, person, "Lien", area, ["Groceries"])
    # Monday 10:00: a task at 10:10, well inside the two hours of the short-notice reminder.
    ask(family, "groceries", day="Today", window=None, typed_time="10:10")
    expect(helper.tap("✅ Accept", message=offers_to(helper)[-1]), "You will get a reminder")
    harness.tick()
    assert sum(REMINDER in text for text in helper.texts()) == 1, "reminded although the usual moment had passed"
    expect(family.texts(), "A reminder: Lien comes to help you")
    harness.advance(minutes=5)
    harness.tick()
    harness.advance(hours=1)
    harness.tick()
    assert sum(REMINDER in text for text in helper.texts()) == 1, "never two reminders"
    assert sum("A reminder: Lien comes" in text for text in family.texts()) == 1


def test_volunteer_and_family_write_to_each_other_about_the_task(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Bericht {tag()}")
    family = new_family(coordinator, person, "Mila", area)
    other_family = new_family(coordinator, person, "Nout", area)
    helper = new_volunteer(coordinator, person, "Olaf", area, ["Groceries"])
    other_helper = new_volunteer(coordinator, person, "Pim", area, ["A meal"])
    ask(family, "groceries", street="Berkenlaan 3", share_phone=True)
    helper.tap("✅ Accept", message=offers_to(helper)[-1])
    request = last_request(harness, family)
    assert "💬 Message the family" in helper.last_buttons()

    expect(helper.tap("💬 Message the family"), "Write one message for Mila", "phone number and account stay private")
    expect(helper.say("I come at 18:30. Is the shopping list ready?"), "Sent to Mila")
    harness.settle()
    message = family.last
    text = seen(message.text or "")
    assert "A message from Olaf, the volunteer for your request" in text and "Is the shopping list ready?" in text
    assert str(helper.id) not in text and "+31" not in text
    assert [label for row in message.buttons for label in row] == ["💬 Answer"]

    expect(family.tap("💬 Answer"), "Write one message for Olaf")
    expect(family.say("Yes, thank you!"), "Sent to Olaf")
    harness.settle()
    answer = seen(helper.last.text or "")
    assert "An answer from Mila about your task" in answer and "Yes, thank you!" in answer
    assert str(family.id) not in answer
    # From /tasks too.
    helper.say("/tasks")
    assert any(label.startswith("💬 Message the family") for label in helper.last_buttons())

    # Only this task's volunteer and family: forged and wrong-side buttons do nothing.
    for chat, data in [
        (other_family, f"vt:ans:{request.id}"),
        (other_helper, f"vt:msg:{request.id}"),
        (family, f"vt:msg:{request.id}"),
        (helper, f"vt:ans:{request.id}"),
        (other_helper, "vt:msg:999999999"),
    ]:
        before = len(chat.user.callback_answers)
        chat.user.press_raw(chat.user.messages[-1], data)
        harness.settle()
        answers = chat.user.callback_answers[before:]
        assert answers and "no longer open" in answers[-1], (data, answers)

    # Danger words go the way a family's ordinary messages go: the numbers and the coordinators, not the family.
    heard = len(family.user.messages)
    helper.tap(f"💬 Message the family: {kind_button('groceries', 'en')}")
    replies = helper.say("I want to kill myself tonight")
    expect(replies, "112", "113")
    harness.settle()
    assert len(family.user.messages) == heard, "a danger sign is not passed to the family"
    with harness.session() as session:
        urgent = session.exec(
            select(Concern).where(Concern.raised_by_id == person_id(harness, helper), Concern.urgent)
        ).all()
    assert urgent
    helper.say("/cancel")

    # Once the task is over the buttons stop working.
    family.say("/menu")
    family.tap("My requests")
    family.tap(next(label for label in family.last_buttons() if label.startswith("✖️ Cancel: 🛒 Groceries")))
    family.tap("Yes, cancel it")
    before = len(family.user.callback_answers)
    family.user.press_raw(family.user.messages[-1], f"vt:ans:{request.id}")
    harness.settle()
    assert "no longer open" in family.user.callback_answers[before:][-1]

    # Our copies of what they wrote go with the request's free text after the retention period (emptied, or
    # deleted by the outbox's own retention job).
    def copies() -> list[OutboxMessage]:
        with harness.session() as session:
            return list(
                session.exec(
                    select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith(f"taskmsg:{request.id}:"))
                ).all()
            )

    assert len(copies()) == 2
    quiet_world(harness)
    move_to(harness, harness.clock.now() + timedelta(days=harness.settings.request_retention_days + 1))
    harness.tick()
    assert all(row.payload == {} for row in copies())
