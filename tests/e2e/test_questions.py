"""The family's own questions end to end, with the clock moved: naming, linking, reviews, decisions, casework."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

import pytest
from sqlmodel import col, select

from domain.matches import Rhythm, RhythmKind
from services.casework import QUESTIONS
from services.question_reviews import FAMILY_ANSWER, WHY
from storage import care
from storage import matches as matches_store
from storage import questions as store
from storage.models import CaseworkMeeting, FamilyQuestion, QuestionReview, TimelineEvent
from tests.e2e.care_world import AMS, family_id, move_to, new_coordinator, quiet_world, reset_group
from tests.e2e.harness import Chat, Harness, expect, seen
from tests.e2e.request_world import (
    ask,
    last_request,
    monday_morning,
    new_area,
    new_family,
    new_volunteer,
    quiet_requests,
    tag,
)

REVIEW = "Does the help with"
LONG_WORDS = ("I would like someone to help me find my way in this town, " * 40).strip()


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    quiet_requests(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_world(harness)
    quiet_requests(harness)


def checkins_off(harness: Harness, chat: Chat) -> None:
    """No check-ins for this family: weeks pass in these tests, and unanswered check-ins would open concerns."""
    with harness.session() as session:
        care.set_rhythm(session=session, family_id=family_id(harness, chat), rhythm="off")


def questions_of(harness: Harness, chat: Chat) -> list[FamilyQuestion]:
    with harness.session() as session:
        return store.family_questions(session=session, family_id=family_id(harness, chat))


def my_questions(family: Chat) -> list[str]:
    family.say("/menu")
    return family.tap("🎯 My questions")


def add_question(family: Chat, choice: str, words: str | None = None) -> list[str]:
    my_questions(family)
    expect(family.tap("➕ Add a question"), "What would you like help with?")
    replies = family.tap(choice)
    if words is not None:
        replies = family.say(words)
    return replies


def open_questions_card(coordinator: Chat, name: str) -> list[str]:
    coordinator.say("/families")
    coordinator.tap_listed(name)
    return coordinator.tap("🎯 Questions and casework")


def at_local(moment: datetime, hour: int, minute: int) -> datetime:
    return datetime.combine(moment.astimezone(AMS).date(), time(hour, minute), tzinfo=AMS)


def reviews_sent(chat: Chat) -> list[str]:
    return [seen(message.text or "") for message in chat.user.messages if REVIEW in (message.text or "")]


def test_questions_lead_reviews_stop_help_that_does_not_help_and_casework_decides(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Kerkwijk {tag()}")
    family = new_family(coordinator, person, f"Amira{tag()}", area)
    name = family.user.first_name
    bram = new_volunteer(coordinator, person, f"Bram{tag()}", area, ["Babysitting", "A ride"])
    checkins_off(harness, family)
    fid = family_id(harness, family)
    start = harness.clock.now()

    # Two questions: a plain suggestion, and one in the family's own words that was far too long.
    expect(add_question(family, "A break for me"), "Saved: A break for me")
    replies = add_question(family, "✍️ In my own words", LONG_WORDS)
    expect(replies, "That is a lot for one question", "I kept what you wrote")
    saved = expect(family.tap("Keep the first part"), "Saved:")
    assert "…" in saved and len(saved) < 600
    first, second = questions_of(harness, family)
    assert (first.theme, first.text) == ("break", "A break for me")
    assert second.theme == "own" and second.text.endswith("…") and len(second.text) <= 300

    # A one-off request, taken by Bram, is linked to the first question by the coordinator.
    ask(family, "babysitting")
    request = last_request(harness, family)
    harness.settle()
    bram.tap("✅ Accept")
    card = open_questions_card(coordinator, name)
    expect(card, f"Questions of {name}", "A break for me", "no reviews yet", "Next casework meeting")
    coordinator.tap("🔗 Link help to question 1")
    coordinator.tap(next(label for label in coordinator.last_buttons() if "Babysitting" in label))
    expect(my_questions(family), "A break for me", "Help: 🧸 Babysitting (a volunteer will come)")
    # A lasting match (every time agreed anew: a walk with Bram) serves the second question.
    with harness.session() as session:
        walk = matches_store.create_match(
            session=session,
            family_id=fid,
            helper_id=family_id(harness, bram),
            coordinator_id=family_id(harness, coordinator),
            kind="company",
            involves_children=False,
            rhythm=Rhythm(
                RhythmKind.AGREED, first=start.date(), start=time(15, 0), length=timedelta(hours=2)
            ).to_json(),
            trial_end=start.date() + timedelta(weeks=8),
            reviews=[],
            now=start,
        )
        matches_store.set_state(
            session=session, match_id=walk.id or 0, expected=["proposed"], now=start, state="trial", started_at=start
        )
    open_questions_card(coordinator, name)
    coordinator.tap("🔗 Link help to question 2")
    coordinator.tap(next(label for label in coordinator.last_buttons() if label.startswith("🤝")))
    assert coordinator.user.callback_answers[-1] == "Linked."
    expect(my_questions(family), "find my way", f"with {bram.user.first_name} (")

    # The family lets Bram, who helps, read its first question; he alone is told, in his language.
    family.tap("1. A break for me")
    expect(family.tap("👤 Choose who may read it"), "Only the helper you choose")
    expect(family.tap(bram.user.first_name), "that helper may read this question now")
    expect(bram.texts(), "shared one of its questions with you", "A break for me")
    with harness.session() as session:
        linked = store.questions_linked_to(session=session, kind="request", ref_id=request.id or 0)
        assert [q.id for q in linked] == [first.id]
        assert session.get(FamilyQuestion, first.id).first_help_at is not None

    # The casework agenda reaches the family's coordinator three days before the meeting: the questions in the
    # family's words and their reviews, kinds and dates of concerns, never what anyone wrote.
    family.say("Our neighbour keeps shouting at the children")
    family.tap("Yes, pass it on")
    with harness.session() as session:
        meeting = store.next_meeting(session=session, family_id=fid)
    assert meeting is not None and meeting.meeting_on == (start.astimezone(AMS) + timedelta(weeks=4)).date()
    agenda_at = at_local(datetime.combine(meeting.meeting_on - timedelta(days=3), time(9, 0), tzinfo=AMS), 9, 0)
    move_to(harness, agenda_at - timedelta(minutes=1))
    harness.tick()
    assert not any("Casework meeting about" in text for text in coordinator.texts()[-5:])
    move_to(harness, agenda_at + timedelta(minutes=1))
    harness.tick()
    agenda = expect(coordinator.texts(), f"Casework meeting about {name}", "A break for me", "Concerns")
    assert "shouting" not in agenda and "neighbour" not in agenda
    assert "Lasting matches (the visit log)" in agenda and "no visits yet" in agenda
    assert "Decisions due" in agenda
    # While the concern is open the family is not asked for reviews; the coordinator closes it first.
    alert = next(m for m in reversed(coordinator.user.messages) if "✅ Close" in str(m.buttons))
    coordinator.tap("✅ Close", message=alert)
    expect(coordinator.tap("No note"), "Closed")

    # Reviews: four weeks after naming, one question a week at the most, the one waiting longest first.
    first_review = at_local(start + timedelta(weeks=4), 10, 31)
    move_to(harness, first_review)
    harness.tick()
    assert len(reviews_sent(family)) == 1 and "A break for me" in reviews_sent(family)[-1]
    expect(bram.texts(), f"How is it going for you, helping {name}?")
    expect(family.tap("👎 No"), "Thank you")
    harness.tick()
    assert len(reviews_sent(family)) == 1, "never two review messages in one week"
    move_to(harness, first_review + timedelta(days=7))
    harness.tick()
    assert len(reviews_sent(family)) == 2 and "find my way" in reviews_sent(family)[-1]
    expect(family.tap("👍 Yes, it helps"), "Thank you")

    # The meeting is recorded: the open decisions (one per question), then the next date; the family hears.
    open_questions_card(coordinator, name)
    coordinator.tap("📝 Record the casework meeting")
    expect(coordinator.texts()[-4:], "A decision about", "Continue, change or stop")
    coordinator.tap("▶️ Continue", message=_message_with(coordinator, "find my way"))
    expect(coordinator.tap("Give it more time"), "The family hears it with the other decisions")
    coordinator.tap("4 weeks")
    expect(family.texts(), "Your coordinators talked about how the help is going", "we go on with the help")
    with harness.session() as session:
        held = session.exec(select(CaseworkMeeting).where(CaseworkMeeting.id == meeting.id)).one()
        assert held.held_at is not None
        following = store.next_meeting(session=session, family_id=fid)
        assert following is not None and following.meeting_on == meeting.meeting_on + timedelta(weeks=4)

    # A second "no" about the first question: a decision for the coordinator, who stops the help. A request
    # linked to it that is still open is cancelled; the helper and the family are told kindly.
    move_to(harness, first_review + timedelta(weeks=4, hours=-2))
    ask(family, "lift", children=False, destination="The hospital")
    lift = last_request(harness, family)
    open_questions_card(coordinator, name)
    coordinator.tap("🔗 Link help to question 1")
    coordinator.tap(next(label for label in coordinator.last_buttons() if "ride" in label.lower()))
    move_to(harness, first_review + timedelta(weeks=4))
    harness.tick()
    assert "A break for me" in reviews_sent(family)[-1]
    expect(family.tap("👎 No"), "Help that does not help should change")
    decision = expect(coordinator.texts(), "A decision about", "answered 'no' twice", "👎 👎")
    assert "A break for me" in decision
    coordinator.tap("⏹ Stop", message=_message_with(coordinator, "answered 'no' twice"))
    expect(coordinator.tap("It does not help"), "the help for this question stops")
    harness.settle()
    assert last_request(harness, family).id == lift.id and last_request(harness, family).status == "cancelled"
    expect(bram.texts(), "decided to stop this help", "Thank you")
    expect(family.texts(), "we stop this help", "nobody's fault")
    assert [q.state for q in questions_of(harness, family)] == ["stopped", "active"]
    with harness.session() as session:
        assert matches_store.get_match(session=session, match_id=walk.id or 0).state == "trial"  # type: ignore[union-attr]
    with harness.session() as session:
        kinds = [event.kind for event in care.timeline(session=session, family_id=fid, limit=50)]
    assert {"question_named", "question_linked", "question_reviewed", "question_decided", "casework_held"} <= set(kinds)

    # Over twelve weeks the stopped question is never asked again; the other one comes back in its rhythm.
    asked = len(reviews_sent(family))
    for week in range(9, 13):
        move_to(harness, first_review + timedelta(weeks=week - 4, minutes=5))
        harness.tick()
    assert all("A break for me" not in text for text in reviews_sent(family)[asked:])
    assert sum("find my way" in text for text in reviews_sent(family)) == 2, "weeks 5 and 9"
    # Each meeting in these twelve weeks had its agenda three days before it (the first, and the one four
    # weeks after it was recorded), once each, and neither holds what anyone wrote.
    agendas = [text for text in coordinator.texts() if f"Casework meeting about {name}" in text]
    assert len(agendas) == 2, agendas
    assert all("shouting" not in text and "neighbour" not in text for text in agendas)
    assert "Lasting matches (the visit log)" in agendas[1]

    # The evaluation figures count themes and answers, never words (small counts withheld).
    stats = expect(
        coordinator.say(f"/stats {start.astimezone(AMS):%d-%m-%Y} {harness.clock.now().astimezone(AMS):%d-%m-%Y}"),
        "The families' own questions",
        "Questions named by families",
    )
    assert "Theme: A break for me" in stats and "Stopped because: It does not help" in stats
    assert "find my way" not in stats and "swimming" not in stats
    assert "Lasting matches started" in stats and "Kind: " in stats, "the walk with Bram is counted (withheld)"
    assert bram.user.first_name not in stats


def _message_with(chat: Chat, fragment: str) -> object:
    """The latest message of this chat that contains `fragment` and still has buttons."""
    return next(m for m in reversed(chat.user.messages) if fragment in (m.text or "") and m.buttons)


def test_bad_input_forged_buttons_and_other_coordinators_change_nothing(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Molenwijk {tag()}")
    family = new_family(coordinator, person, f"Wies{tag()}", area)
    other_family = new_family(coordinator, person, f"Joep{tag()}", area)
    checkins_off(harness, family)

    # Empty words get a kind answer and the step stays; a non-text message too.
    my_questions(family)
    family.tap("➕ Add a question")
    family.tap("✍️ In my own words")
    expect(family.say("  ."), "I could not find a question in that")
    expect(family.send("sticker"), "Please write the question as text")
    expect(family.say("Someone to go swimming with my son"), "Saved: Someone to go swimming with my son")
    (question,) = questions_of(harness, family)

    # Rewording keeps the question; another family cannot open it, nor answer its review.
    my_questions(family)
    family.tap("1. Someone to go swimming with my son")
    family.tap("✏️ Put it in other words")
    expect(family.say("Someone to go swimming with my sons"), "Saved: Someone to go swimming with my sons")
    assert questions_of(harness, family)[0].text == "Someone to go swimming with my sons"
    my_questions(other_family)
    before = questions_of(harness, family)[0]
    other_family.user.press_raw(other_family.last, f"fq:doneyes:{question.id}")
    harness.settle()
    assert other_family.user.callback_answers[-1].startswith("That button no longer works")
    assert questions_of(harness, family)[0].state == before.state == "active"

    # The review: the family's tap counts once; a second tap and another family's forged tap change nothing.
    move_to(harness, at_local(harness.clock.now() + timedelta(weeks=4), 10, 31))
    harness.tick()
    review_message = next(m for m in reversed(family.user.messages) if REVIEW in (m.text or ""))
    with harness.session() as session:
        review = session.exec(select(QuestionReview).where(col(QuestionReview.question_id) == question.id)).one()
    other_family.user.press_raw(other_family.last, FAMILY_ANSWER.data(review.id, "no"))
    harness.settle()
    family.tap("👍 Yes, it helps", message=review_message)
    family.user.press_raw(review_message, FAMILY_ANSWER.data(review.id, "no"))
    harness.settle()
    assert family.user.callback_answers[-1].startswith("This question was answered already")
    with harness.session() as session:
        assert [r.answer for r in store.reviews_of(session=session, question_id=question.id or 0)] == ["helps"]

    # A coordinator who is not the family's cannot open its questions, nor take a forged decision.
    stranger = _other_coordinator(coordinator, person)
    stranger.say("/menu")
    stranger.user.press_raw(stranger.last, QUESTIONS.data(family_id(harness, family)))
    harness.settle()
    assert stranger.user.callback_answers[-1] == "Sorry, you cannot do this for this family."
    with harness.session() as session:
        decision = store.create_decision(
            session=session,
            question_id=question.id or 0,
            family_id=question.family_id,
            cause="two_nos",
            now=harness.clock.now(),
        )
    stranger.user.press_raw(stranger.last, WHY.data(decision.id, "stop", "not_helping"))
    harness.settle()
    assert stranger.user.callback_answers[-1].startswith("That button no longer works")
    assert questions_of(harness, family)[0].state == "active"
    # A reason that does not belong to the decision is refused even for the family's own coordinator.
    coordinator.user.press_raw(coordinator.last, WHY.data(decision.id, "stop", "helps"))
    harness.settle()
    assert coordinator.user.callback_answers[-1].startswith("That button no longer works")
    with harness.session() as session:
        assert store.get_decision(session=session, decision_id=decision.id or 0).decided_at is None
        audit = session.exec(select(TimelineEvent).where(col(TimelineEvent.family_id) == question.family_id)).all()
    assert all("swimming" not in str(event.detail) for event in audit), "the timeline holds no words"


def _other_coordinator(admin: Chat, person: Callable[..., Chat]) -> Chat:
    return new_coordinator(admin, person, f"Otto{tag()}")
