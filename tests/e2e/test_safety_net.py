"""The safety net holds when Telegram fails: nothing an urgent message causes is lost, and nobody is told
something that did not happen. Telegram's failures are one-shot faults of the sandbox (`fail_next`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlmodel import col, select

from storage import concerns as concern_store
from storage.models import Concern, InboxStatus, InboxUpdate, OutboxMessage, OutboxStatus
from tests.e2e.care_world import (
    Team,
    family_id,
    make_team,
    new_family,
    office_morning,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect

FALSE_APOLOGY = ("Sorry", "Nothing you sent is lost", "went wrong")


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


def concerns_of(harness: Harness, chat: Chat) -> list[Concern]:
    with harness.session() as session:
        return list(concern_store.concerns_of(session=session, family_id=family_id(harness, chat)))


def last_update_of(harness: Harness, chat: Chat) -> InboxUpdate:
    with harness.session() as session:
        row = session.exec(
            select(InboxUpdate).where(InboxUpdate.chat_id == chat.id).order_by(col(InboxUpdate.update_id).desc())
        ).first()
        assert row is not None
        return row


def outbox_to(harness: Harness, chat: Chat, purpose: str) -> list[OutboxMessage]:
    with harness.session() as session:
        return list(
            session.exec(
                select(OutboxMessage).where(OutboxMessage.chat_id == chat.id, OutboxMessage.purpose == purpose)
            )
        )


def no_false_apology(texts: list[str]) -> None:
    wrong = [text for text in texts if any(words in text for words in FALSE_APOLOGY)]
    assert not wrong, f"the person was told something went wrong although it went through: {wrong}"


@pytest.mark.parametrize("status", [500, 429])
def test_an_urgent_message_is_not_lost_when_the_numbers_cannot_be_sent_at_first(
    harness: Harness, team: Team, person: Callable[..., Chat], status: int
) -> None:
    family = new_family(team.primary, person, f"Mira{status}")
    before = {chat.id: len(chat.user.messages) for chat in (team.admin, team.primary, team.partner, family)}
    harness.sandbox.fail_next(family.id, status, retry_after=1)
    family.user.send("I want to kill myself")
    harness.settle()
    assert harness.sandbox.fail_next_pending() == 0, "Telegram refused the first answer to the family"

    # The concern and every coordinator's alert were committed, whatever happened to the family's answer.
    (concern,) = concerns_of(harness, family)
    assert concern.urgent
    for chat in (team.admin, team.primary, team.partner):
        expect(texts_since(chat, before[chat.id]), "URGENT", f"Mira{status}")

    # The numbers are delivered by the outbox's retry (fake clock: past the sender's backoff), once.
    harness.advance(seconds=5)
    harness.settle()
    expect(texts_since(team.primary, before[team.primary.id]), "I want to kill myself")
    seen = texts_since(family, before[family.id])
    numbers = [text for text in seen if "0800-0113" in text]
    assert len(numbers) == 1, seen
    expect(numbers, "112", "passed your message on to the coordinators")
    no_false_apology(seen)
    (safety,) = outbox_to(harness, family, "safety")
    assert safety.status == OutboxStatus.SENT and safety.attempts >= 1
    update = last_update_of(harness, family)
    assert update.status == InboxStatus.DONE and update.attempts == 1


def test_a_failed_talk_confirmation_arrives_later_and_nobody_is_told_it_went_wrong(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Ruud")
    family.say("/talk")
    before = {chat.id: len(chat.user.messages) for chat in (team.primary, family)}
    harness.sandbox.fail_next(family.id, 502)
    family.user.send("Could someone call me this week?")
    harness.settle()
    assert harness.sandbox.fail_next_pending() == 0

    (concern,) = concerns_of(harness, family)
    assert not concern.urgent
    expect(texts_since(team.primary, before[team.primary.id]), "Ruud")
    assert last_update_of(harness, family).status == InboxStatus.DONE, "the update's effect stands"

    harness.advance(seconds=5)
    harness.settle()
    seen = texts_since(family, before[family.id])
    confirmations = [text for text in seen if "passed this on to your coordinator" in text]
    assert len(confirmations) == 1, seen
    no_false_apology(seen)
    (queued,) = outbox_to(harness, family, "reply")
    assert queued.status == OutboxStatus.SENT


def test_someone_who_declined_consent_gets_the_numbers_and_the_coordinators_only_what_they_need(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    newcomer = person("Noor", language_code="en")
    newcomer.say("/start")
    newcomer.tap("We are a family")
    expect(newcomer.tap("No, thank you"), "stored nothing about you")
    before = {chat.id: len(chat.user.messages) for chat in (team.admin, team.primary, team.partner)}

    replies = newcomer.say("I want to kill myself tonight")
    answer = expect(replies, "113", "0800-0113", "112")
    expect([answer], "did not pass on what you wrote", "told the coordinators")
    assert "have been alerted" not in answer and "passed your message on" not in answer

    # Every coordinator is alerted, without their words, and can answer them through the bot.
    for chat in (team.admin, team.primary, team.partner):
        seen = texts_since(chat, before[chat.id])
        alert = expect(seen, "URGENT", "has not signed up")
        assert not any("kill" in text for text in seen), "what they wrote is not passed on"
    admin_alert = next(m for m in team.admin.user.messages[before[team.admin.id] :] if "URGENT" in (m.text or ""))
    assert "reply to this message" in alert
    with harness.session() as session:
        stored = session.exec(select(Concern).where(Concern.raised_by_id == harness.person(newcomer.id).id)).all()
    assert [(c.urgent, c.family_id, c.source) for c in stored] == [(True, None, "urgent")]
    assert harness.person(newcomer.id).consent_at is None

    heard = len(newcomer.user.messages)
    team.admin.user.send("Hi, this is Coco. Can I call you?", reply_to=admin_alert)
    harness.settle()
    expect(texts_since(newcomer, heard), "Can I call you?")


def test_a_failed_update_is_tried_again_after_a_pause_and_handled_once(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Iris")
    before = len(family.user.messages)
    harness.sandbox.fail_next(family.id, 400)  # the handler itself fails (not a reply Telegram takes later)
    family.user.send("/help")
    harness.settle()
    waiting = last_update_of(harness, family)
    assert (waiting.status, waiting.attempts) == (InboxStatus.NEW, 1), "kept, to be tried again"
    assert waiting.not_before is not None and waiting.error and "BadRequest" in waiting.error
    assert texts_since(family, before) == [], "no apology while it is still being tried"

    harness.advance(seconds=harness.settings.inbox_retry_seconds)
    harness.settle()
    handled = last_update_of(harness, family)
    assert (handled.status, handled.attempts) == (InboxStatus.DONE, 2)
    seen = texts_since(family, before)
    assert len(seen) == 1 and "/menu" in seen[0], seen
    no_false_apology(seen)


def test_an_update_that_keeps_failing_is_handed_to_a_coordinator_and_the_person_told_the_truth(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Bram")
    before = {chat.id: len(chat.user.messages) for chat in (team.admin, team.primary, team.partner, family)}
    attempts = harness.settings.inbox_max_attempts
    harness.sandbox.fail_next(family.id, 400, count=attempts)
    family.user.send("/help")
    harness.settle()
    for _ in range(attempts):
        harness.advance(seconds=harness.settings.inbox_retry_seconds * 4**attempts)
        harness.settle()
    row = last_update_of(harness, family)
    assert (row.status, row.attempts) == (InboxStatus.FAILED, attempts)
    assert harness.sandbox.fail_next_pending() == 0
    # The family's duo and the admins, once each, without what was written.
    for chat in (team.primary, team.partner, team.admin):
        (alert,) = texts_since(chat, before[chat.id])
        expect([alert], "could not handle a message from Bram", f"update {row.update_id}")
    (told,) = texts_since(family, before[family.id])
    assert "could not handle your last message" in told and "told a coordinator" in told
    assert "Nothing you sent is lost" not in told
