"""Lasting matches end to end, with the clock moved: proposed in /match, agreed by both sides, ten weeks of
every other Saturday across a daylight-saving change (exact dates, each reminder once, a restart), "not this
time", a holiday, the visit log, a difficult visit reaching the coordinator, the trial-end question to all
three, a stop; erasure by one side mid-match; bad input; forged buttons."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from services import match_figures, match_reviews, match_runs
from storage import matches as store
from storage import people, volunteers
from storage.match_tables import Match, MatchGiveBack
from storage.models import (
    Area,
    AuditEntry,
    Concern,
    HelpRequest,
    JobStatus,
    RequestOffer,
    ScheduledJob,
    VolunteerProfile,
)
from tests.e2e.care_world import (
    AMS,
    Team,
    family_id,
    local_now,
    make_team,
    move_to,
    new_family,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect, seen
from tests.e2e.request_world import kind_button, new_area, new_volunteer, quiet_requests
from tests.e2e.request_world import new_family as new_family_in
from tests.e2e.test_erasure import delete_my_data

MATCH_JOBS = (*match_runs.JOBS, *match_reviews.JOBS)
_filler_ids = itertools.count(930_000_000)  # Telegram ids of volunteers stored directly (no chat)


def quiet_matches(harness: Harness) -> None:
    """Cancel pending match work of earlier tests, so only this test's jobs run when the clock moves."""
    with harness.session() as session:
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.kind).in_(MATCH_JOBS), col(ScheduledJob.status) == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    quiet_requests(harness)
    quiet_matches(harness)
    reset_group(harness)
    yield
    quiet_world(harness)
    quiet_matches(harness)


@pytest.fixture
def team(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> Team:
    return make_team(harness, coordinator, person, tag=str(len(harness.sandbox.calls)))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMS)


def next_dst_sunday(after: date) -> date:
    day = after
    while True:
        if day.weekday() == 6 and at(day, 12).utcoffset() != at(day - timedelta(days=1), 12).utcoffset():
            return day
        day += timedelta(days=1)


def count(chat: Chat, fragment: str) -> int:
    return sum(fragment in seen(message.text or "") for message in chat.user.messages)


def the_match(harness: Harness, family: Chat) -> Match:
    with harness.session() as session:
        found = session.exec(select(Match).where(Match.family_id == family_id(harness, family))).all()
        assert len(found) == 1
        return found[0]


def occurrence_days(harness: Harness, match_id: int) -> list[tuple[date, str, str | None]]:
    with harness.session() as session:
        return [
            (row.day, row.starts_at.astimezone(AMS).strftime("%H:%M"), row.outcome)
            for row in store.occurrences(session=session, match_id=match_id)
        ]


def propose(
    coordinator: Chat,
    family: str,
    helper: str,
    first: date,
    *,
    kind: str = "🛏 A child sleeps over",
    rhythm: str = "Every other week",
    window: str = "14:00-17:00",
    trial: str = "6 weeks",
) -> list[str]:
    coordinator.say("/match")
    expect(coordinator.tap("➕ Propose a match"), "Which family")
    expect(coordinator.tap_listed(family), "Who is the helper")
    expect(coordinator.tap_listed(helper), "What kind of help")
    expect(coordinator.tap(kind), "How often")
    expect(coordinator.tap(rhythm), "first time")
    expect(coordinator.say(f"{first:%d-%m-%Y}"), "what time")
    expect(coordinator.say(window), "trial end")
    expect(coordinator.tap(trial), "Review dates")
    summary = expect(coordinator.tap("No review dates for now"), "The proposal")
    assert family in summary and helper in summary
    return coordinator.tap("✅ Send the proposal")


@pytest.fixture
def make_sides(
    harness: Harness, team: Team, coordinator: Chat, person: Callable[..., Chat]
) -> Callable[[str, str], tuple[Chat, Chat]]:
    """A family of the team's primary coordinator and an approved helper (VOG, children), by names no other
    test uses: the shared bot lists every earlier test's volunteers too."""

    def make(family_name: str, helper_name: str) -> tuple[Chat, Chat]:
        area = new_area(harness, f"Kopwijk-{len(harness.sandbox.calls)}")
        family = new_family(team.primary, person, family_name)
        helper = new_volunteer(coordinator, person, helper_name, area, ["Babysitting"], vog_age_days=30, children=True)
        quiet_world(harness)  # the family's own check-ins would ask "how are things" while the clock moves
        return family, helper

    return make


def test_a_match_is_proposed_agreed_and_runs_every_other_saturday_across_dst_until_it_stops(
    harness: Harness, team: Team, make_sides: Callable[[str, str], tuple[Chat, Chat]]
) -> None:
    family, helper = make_sides("Mirjam", "Henk")
    pia = team.primary
    dst = next_dst_sunday(local_now(harness).date() + timedelta(days=21))
    first = dst - timedelta(days=15)  # a Saturday two weeks before the clocks change
    assert first.weekday() == 5
    move_to(harness, at(first - timedelta(days=12), 10))

    expect(propose(pia, "Mirjam", "Henk", first), "Proposal sent to both sides")
    offer = expect([family.last.text or ""], "A proposal for a lasting match", "Henk", "every other week on Saturday")
    assert "never see your concerns" in offer
    expect([helper.last.text or ""], "A proposal for a lasting match", "Mirjam", "14:00-17:00")
    match = the_match(harness, family)
    assert match.state == "proposed"

    before = len(pia.user.messages)
    expect(family.tap("✅ Yes, I agree"), "as soon as Henk agrees")
    assert the_match(harness, family).state == "proposed", "a match starts only when both agreed"
    expect(helper.tap("✅ Yes, I agree"), "the trial starts")
    expect(texts_since(pia, before), "has started")
    expect([family.last.text or ""], "trial until", "The first time")
    assert the_match(harness, family).state == "trial"
    # The helper now has the family's address only if the family gave one; the match meeting is recorded.
    pia.say("/match")
    pia.tap("🤝 Mirjam ↔ Henk")
    expect(pia.tap("📝 Match meeting held"), "Match meeting: held on")
    pia.say("/families")
    expect(pia.tap_listed("Mirjam"), "Match with Henk: 🌱 in its trial")

    # The first Saturday: a reminder the day before, once, to both; the visit log afterwards.
    move_to(harness, at(first - timedelta(days=1), 13, 59))
    harness.tick()
    assert count(family, "Tomorrow") == count(helper, "Tomorrow") == 0
    move_to(harness, at(first - timedelta(days=1), 14, 1))
    harness.tick()
    harness.tick()
    assert count(family, "Tomorrow") == count(helper, "Tomorrow") == 1
    move_to(harness, at(first, 17, 1))
    harness.tick()
    expect([helper.last.text or ""], "How did it go with Mirjam")
    expect(helper.tap("✅ It happened"), "Noted")
    expect(family.tap("😊 Good"), "Thank you")

    # The second Saturday (the day before the clocks change): the family says "not this time".
    second = first + timedelta(days=14)
    move_to(harness, at(second - timedelta(days=1), 14, 5))
    harness.tick()
    assert count(family, "Tomorrow") == 2
    before = len(helper.user.messages)
    expect(family.tap("🙅 Not this time"), "Henk is told")
    expect(texts_since(helper, before), "Mirjam cannot make it this time")
    move_to(harness, at(second, 17, 5))
    harness.tick()
    assert count(helper, "How did it go") == 1, "no visit log for a time that was called off"

    # A holiday of the helper covers the third Saturday (after the change): no reminder, nobody's miss.
    third = second + timedelta(days=14)
    pia.say("/match")
    pia.tap("🤝 Mirjam ↔ Henk")
    expect(pia.tap("🏖 Holiday of the helper"), "first and the last day")
    expect(pia.say(f"{third - timedelta(days=2):%d-%m-%Y} - {third + timedelta(days=1):%d-%m-%Y}"), "Holiday saved")
    expect([helper.last.text or ""], "No meetings of your match")

    # The bot is down across the fourth reminder and starts again: the reminder goes out once.
    fourth = third + timedelta(days=14)
    move_to(harness, at(third - timedelta(days=1), 14, 5))
    harness.tick()
    assert count(family, "Tomorrow") == 2, "no reminder in a holiday"
    move_to(harness, at(fourth - timedelta(days=1), 13, 0))
    harness.tick()
    harness.stop()
    move_to(harness, at(fourth - timedelta(days=1), 14, 30))
    harness.start()
    harness.tick()
    harness.tick()
    assert count(family, "Tomorrow") == count(helper, "Tomorrow") == 3

    # The fourth Saturday is the trial's last day: all three are asked; the helper found the visit difficult.
    move_to(harness, at(fourth, 10, 5))
    before = len(pia.user.messages)
    harness.tick()
    expect([family.last.text or ""], "The trial of your match with Henk ends today")
    expect([helper.last.text or ""], "The trial of your match with Mirjam ends today")
    expect(texts_since(pia, before), "Review of the match of Mirjam with Henk")
    before = len(pia.user.messages)
    expect(family.tap("👍 Continue"), "coordinator will let you know")
    expect(texts_since(pia, before), "Mirjam (the family) answered: 👍 Continue")
    move_to(harness, at(fourth, 17, 5))
    harness.tick()
    before = len(pia.user.messages)
    expect(helper.tap("⚠️ It was difficult"), "A coordinator will get in touch")
    expect(texts_since(pia, before), "Mirjam", "a visit of their lasting match was difficult")
    with harness.session() as session:
        concern = session.exec(
            select(Concern).where(Concern.family_id == family_id(harness, family), Concern.source == "match_difficult")
        ).first()
        assert concern is not None

    days = occurrence_days(harness, match.id or 0)
    assert [day for day, _start, _outcome in days[:4]] == [first + timedelta(days=14 * n) for n in range(4)]
    # 14:00 on the wall every time, also after the change; stored in UTC an hour apart.
    assert {start for _day, start, _outcome in days} == {"14:00"}
    with harness.session() as session:
        rows = store.occurrences(session=session, match_id=match.id or 0)
        # Which way the clocks go depends on where the shared test clock is (spring or autumn).
        assert abs(rows[1].starts_at.hour - rows[2].starts_at.hour) == 1
        assert rows[1].starts_at.astimezone(AMS).utcoffset() != rows[2].starts_at.astimezone(AMS).utcoffset()
    assert [outcome for _day, _start, outcome in days[:4]] == ["happened", "skipped", "holiday", "difficult"]

    # The coordinator decides at the review: stop, with a reason. Both are told kindly; no more reminders.
    pia_review = next(m for m in reversed(pia.user.messages) if "Review of the match" in (m.text or ""))
    expect(pia.tap("⏹ Stop", message=pia_review), "Why does the match end")
    before = {chat.id: len(chat.user.messages) for chat in (family, helper)}
    expect(pia.tap("Not a good fit"), "ended")
    expect(texts_since(family, before[family.id]), "The match with Henk has ended", "Thank you")
    expect(texts_since(helper, before[helper.id]), "The match with Mirjam has ended")
    assert the_match(harness, family).state == "ended"
    move_to(harness, at(fourth + timedelta(days=13), 15, 0))
    harness.tick()
    assert count(family, "Tomorrow") == 3, "a stopped match has no more occurrences"

    # The family card and timeline show the match.
    pia.say("/families")
    card = expect(pia.tap_listed("Mirjam"), "Check-ins")
    assert "Match with Henk" not in card  # only open matches on the card
    pia.tap("🕑 Timeline")
    expect([pia.last.text or ""], "Match ended", "Match review decided", "Match visit logged")


def started(
    harness: Harness, coordinator: Chat, family: Chat, helper: Chat, family_name: str, helper_name: str
) -> Match:
    """A weekly match on Wednesdays, proposed and agreed by both."""
    first = local_now(harness).date() + timedelta(days=3)
    while first.weekday() != 2:
        first += timedelta(days=1)
    sent = propose(coordinator, family_name, helper_name, first, kind="🚶 Company or a walk", rhythm="Weekly")
    expect(sent, "Proposal sent")
    family.tap("✅ Yes, I agree")
    expect(helper.tap("✅ Yes, I agree"), "the trial starts")
    match = the_match(harness, family)
    assert match.state == "trial"
    return match


def test_erasure_by_one_side_ends_the_match_and_tells_the_other_without_details(
    harness: Harness, team: Team, make_sides: Callable[[str, str], tuple[Chat, Chat]]
) -> None:
    family, helper = make_sides("Wietske", "Gerrit")
    match = started(harness, team.primary, family, helper, "Wietske", "Gerrit")
    expect(family.say("/mydata"), "Lasting matches")
    exported = json.loads(family.last.document_bytes)
    assert [row["id"] for row in exported["tables"]["match"]] == [match.id]
    assert exported["tables"]["matchoccurrence"], "the planned times are in the export"

    before = {chat.id: len(chat.user.messages) for chat in (family, team.primary)}
    delete_my_data(helper)
    told = expect(texts_since(family, before[family.id]), "The match has ended", "no longer with Waakvlam")
    assert "Gerrit" not in told
    expect(texts_since(team.primary, before[team.primary.id]), "one side left Waakvlam")
    ended = the_match(harness, family)
    assert (ended.state, ended.end_reason) == ("ended", "erased")
    with harness.session() as session:
        pending = session.exec(
            select(ScheduledJob).where(
                col(ScheduledJob.kind).in_(MATCH_JOBS), col(ScheduledJob.status) == JobStatus.PENDING
            )
        ).all()
        assert not pending, "no reminders or reviews of an ended match"
        assert store.next_occurrence(session=session, match_id=ended.id or 0, now=harness.clock.now()) is None


def test_a_family_that_leaves_mid_match_is_not_named_to_its_helper(
    harness: Harness, team: Team, make_sides: Callable[[str, str], tuple[Chat, Chat]]
) -> None:
    family, helper = make_sides("Bregje", "Teun")
    started(harness, team.primary, family, helper, "Bregje", "Teun")
    before = len(helper.user.messages)
    delete_my_data(family)
    told = expect(texts_since(helper, before), "The match has ended", "no longer with Waakvlam")
    assert "Bregje" not in told


def test_bad_input_gets_a_short_kind_answer_and_nothing_half_made(
    harness: Harness,
    team: Team,
    coordinator: Chat,
    make_sides: Callable[[str, str], tuple[Chat, Chat]],
    person: Callable[..., Chat],
) -> None:
    family, helper = make_sides("Fenna", "Lammert")
    pia = team.primary
    today = local_now(harness).date()
    pia.say("/match")
    pia.tap("➕ Propose a match")
    pia.tap_listed("Fenna")
    pia.tap_listed("Lammert")
    pia.tap("🚶 Company or a walk")
    pia.tap("Weekly")
    expect(pia.say(f"{today - timedelta(days=3):%d-%m-%Y}"), "from today on")
    expect(pia.say("tomorrow-ish"), "from today on")
    pia.say(f"{today + timedelta(days=7):%d-%m-%Y}")
    expect(pia.say("banana"), "such as 14:00-17:00")
    pia.say("10:00-12:00")
    expect(pia.say(f"{today + timedelta(days=2):%d-%m-%Y}"), "The trial must end after the first time")
    expect(pia.say(f"{today + timedelta(days=300):%d-%m-%Y}"), "within four months")
    expect(pia.tap("4 weeks"), "Review dates")
    expect(pia.say(f"{today + timedelta(days=10):%d-%m-%Y}"), "come after the trial end")
    expect(pia.tap("No review dates for now"), "The proposal")
    expect(pia.tap("✖️ Cancel"), "Nothing was sent")
    with harness.session() as session:
        assert not session.exec(select(Match).where(Match.family_id == family_id(harness, family))).all()

    # Help with children needs a helper approved for children with a valid VOG.
    area = new_area(harness, f"Kopwijk-kids-{len(harness.sandbox.calls)}")
    new_volunteer(coordinator, person, "Karel", area, ["Company or a walk"], vog_age_days=None, children=False)
    pia.say("/match")
    pia.tap("➕ Propose a match")
    pia.tap_listed("Fenna")
    pia.tap_listed("Karel")
    pia.tap("🛏 A child sleeps over")
    pia.tap("Every other week")
    pia.say(f"{today + timedelta(days=7):%d-%m-%Y}")
    pia.say("15:00-11:00")
    pia.tap("6 weeks")
    pia.tap("No review dates for now")
    expect(pia.tap("✅ Send the proposal"), "needs a valid VOG")

    # A decline ends the proposal; a tap on the old proposal, or a decline after agreeing, changes nothing.
    match = started(harness, pia, family, helper, "Fenna", "Lammert")
    offer = next(m for m in reversed(family.user.messages) if "A proposal for a lasting match" in (m.text or ""))
    answers = len(family.user.callback_answers)
    family.user.press_raw(offer, f"ms:no:{match.id}")
    harness.settle()
    assert "already been answered" in family.user.callback_answers[answers]
    assert the_match(harness, family).state == "trial"
    # Someone who is not a side of the match cannot call off one of its times or answer for it.
    stranger = new_family(pia, person, "Nelleke")
    with harness.session() as session:
        occurrence = store.next_occurrence(session=session, match_id=match.id or 0, now=harness.clock.now())
        assert occurrence is not None
    for data in (f"ms:skip:{occurrence.id}", f"ms:yes:{match.id}", f"ms:log:{occurrence.id}:difficult"):
        answers = len(stranger.user.callback_answers)
        stranger.user.press_raw(stranger.last, data)
        harness.settle()
        assert stranger.user.callback_answers[answers:], data
    with harness.session() as session:
        fresh = store.get_occurrence(session=session, occurrence_id=occurrence.id or 0)
        assert fresh is not None and fresh.outcome is None


def test_a_proposal_declined_by_one_side_does_not_start(
    harness: Harness, team: Team, make_sides: Callable[[str, str], tuple[Chat, Chat]]
) -> None:
    family, helper = make_sides("Hiske", "Sjoerd")
    first = local_now(harness).date() + timedelta(days=8)
    expect(propose(team.primary, "Hiske", "Sjoerd", first, kind="🚶 Company or a walk", rhythm="Weekly"), "sent")
    before = len(team.primary.user.messages)
    expect(helper.tap("✖️ No, thank you"), "will not go ahead")
    expect(texts_since(team.primary, before), "Sjoerd declined the proposed match with Hiske")
    assert the_match(harness, family).state == "declined"
    answers = len(family.user.callback_answers)
    family.tap("✅ Yes, I agree")
    assert "already been answered" in family.user.callback_answers[answers]
    assert the_match(harness, family).state == "declined"


def test_the_sides_write_to_each_other_through_the_bot_and_coordinators_see_only_that_they_did(
    harness: Harness, team: Team, make_sides: Callable[[str, str], tuple[Chat, Chat]], person: Callable[..., Chat]
) -> None:
    family, helper = make_sides("Roosje", "Wessel")
    match = started(harness, team.primary, family, helper, "Roosje", "Wessel")
    expect(helper.tap("💬 Write to Roosje"), "Write one message for Roosje", "stay private")
    before = len(family.user.messages)
    expect(helper.say("Shall we bake a cake on Wednesday?"), "Sent to Roosje")
    got = expect(texts_since(family, before), "A message from Wessel", "Shall we bake a cake on Wednesday?")
    assert str(helper.id) not in got, "no account of the helper in the message"
    before = len(helper.user.messages)
    family.tap("💬 Write to Wessel")
    expect(family.say("Yes, lovely!"), "Sent to Wessel")
    expect(texts_since(helper, before), "A message from Roosje", "Yes, lovely!")
    # Reciprocity: the helper is the family's support volunteer now, so the family can offer something back.
    family.say("/menu")
    family.tap("💛 Offer something back")
    expect(family.tap(kind_button("meal", "en")), "Who would you like to offer it to?")
    before = len(helper.user.messages)
    expect(family.tap("To Wessel"), "Your coordinator will get in touch")
    expect(texts_since(helper, before), "Roosje would like to do something for you in return", "A meal")
    # Whether it happened is recorded: either side taps once, the first answer counts; counted, never as points.
    offer_back = helper.last
    ask_family = next(m for m in reversed(family.user.messages) if "Once it has happened" in (m.text or ""))
    before = len(family.user.messages)
    expect(helper.tap("✅ It happened", message=offer_back), "Noted")
    expect(texts_since(family, before), "Wessel noted that what was offered back has happened")
    answers = len(family.user.callback_answers)
    family.tap("❌ It did not happen", message=ask_family)
    assert "answered already" in family.user.callback_answers[answers]
    with harness.session() as session:
        given = session.exec(select(MatchGiveBack).where(MatchGiveBack.match_id == match.id)).all()
        assert [(row.kind, row.outcome, row.answered_by) for row in given] == [("meal", "happened", "helper")]
        start = harness.clock.now() - timedelta(days=1)
        end = harness.clock.now() + timedelta(seconds=1)
        figures = match_figures.rows(session=session, start=start, end=end, threshold=1)
        counted = {row.metric: row.value for row in figures}
        assert counted["give_backs_offered"] == "1" and counted["give_backs_happened_share"] == "100%"
        assert not any("Roosje" in row.category or "Wessel" in row.category for row in figures)
    # The coordinator's timeline shows that the sides are in touch, never what they wrote.
    team.primary.say("/families")
    team.primary.tap_listed("Roosje")
    timeline = expect(team.primary.tap("🕑 Timeline"), "A message passed between the sides of a match")
    assert "cake" not in timeline and "lovely" not in timeline
    # Someone else cannot write into the match.
    stranger = new_family(team.primary, person, "Tjitske")
    answers = len(stranger.user.callback_answers)
    stranger.user.press_raw(stranger.last, f"ms:msg:{match.id}")
    harness.settle()
    assert "no longer open" in stranger.user.callback_answers[answers]


def test_a_time_the_helper_called_off_goes_to_the_pool_only_with_the_familys_ok(
    harness: Harness, team: Team, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Poolwijk-{len(harness.sandbox.calls)}")
    family = new_family_in(team.primary, person, "Anouk", area)
    helper = new_volunteer(coordinator, person, "Brecht", area, ["Company or a walk"], vog_age_days=30, children=True)
    quiet_world(harness)
    match = started(harness, team.primary, family, helper, "Anouk", "Brecht")
    anouk, bram = family_id(harness, family), family_id(harness, helper)
    with harness.session() as session:
        occurrence = store.next_occurrence(session=session, match_id=match.id or 0, now=harness.clock.now())
        assert occurrence is not None
    move_to(harness, occurrence.starts_at.astimezone(AMS) - timedelta(days=1, minutes=-5))
    harness.tick()
    harness.tick()
    # The family's own "not this time" offers nothing: only the helper's does.
    before = len(family.user.messages)
    expect(helper.tap("🙅 Not this time"), "Anouk is told")
    told = expect(texts_since(family, before), "Brecht cannot make it this time", "other volunteers")
    assert told
    expect(family.tap("📣 Ask other volunteers"), "Shall I ask other volunteers for this one time?", "Company")
    with harness.session() as session:
        assert not session.exec(select(HelpRequest).where(HelpRequest.family_id == anouk)).all()
    confirm = family.last
    expect(family.tap("✅ Yes, ask them"), "other volunteers are asked")
    with harness.session() as session:
        made = session.exec(select(HelpRequest).where(HelpRequest.family_id == anouk)).all()
        assert len(made) == 1
        request = made[0]
        assert (request.kind, request.starts_at, request.ends_at) == (
            "company",
            occurrence.starts_at,
            occurrence.ends_at,
        )
        offers = session.exec(select(RequestOffer).where(RequestOffer.request_id == request.id)).all()
        assert [offer.response for offer in offers if offer.volunteer_id == bram] == ["declined"]
        fresh = store.get_occurrence(session=session, occurrence_id=occurrence.id or 0)
        assert fresh is not None and fresh.pool_request_id == request.id
    # A double tap, or the old button again, makes no second request.
    answers = len(family.user.callback_answers)
    family.user.press_raw(confirm, f"ms:poolok:{occurrence.id}")
    harness.settle()
    assert "already asked" in family.user.callback_answers[answers]
    family.user.press_raw(confirm, f"ms:pool:{occurrence.id}")
    harness.settle()
    assert "already asked" in family.user.callback_answers[answers + 1]
    with harness.session() as session:
        assert len(session.exec(select(HelpRequest).where(HelpRequest.family_id == anouk)).all()) == 1
    # The helper cannot send a time to the pool, nor can the family send a time that was not called off.
    with harness.session() as session:
        following = store.next_occurrence(session=session, match_id=match.id or 0, now=harness.clock.now())
        assert following is not None
    for chat, data in ((helper, f"ms:poolok:{occurrence.id}"), (family, f"ms:poolok:{following.id}")):
        answers = len(chat.user.callback_answers)
        chat.user.press_raw(chat.last, data)
        harness.settle()
        assert "can no longer go to other volunteers" in chat.user.callback_answers[answers], data
    team.primary.say("/families")
    team.primary.tap_listed("Anouk")
    expect(team.primary.tap("🕑 Timeline"), "a called-off time went to other volunteers")


def test_a_running_match_gets_a_new_rhythm_time_and_review_date_and_both_sides_are_told(
    harness: Harness, team: Team, make_sides: Callable[[str, str], tuple[Chat, Chat]]
) -> None:
    family, helper = make_sides("Lotte", "Sander")
    pia = team.primary
    # Two weeks before a clock change: the new rhythm's first two Saturdays lie on either side of it.
    dst = next_dst_sunday(local_now(harness).date() + timedelta(days=21))
    move_to(harness, at(dst - timedelta(days=14), 9))
    match = started(harness, pia, family, helper, "Lotte", "Sander")
    today = local_now(harness).date()
    with harness.session() as session:
        old = [row.day for row in store.occurrences(session=session, match_id=match.id or 0)]
        assert old
    first = dst - timedelta(days=8)
    assert first.weekday() == 5
    pia.say("/match")
    pia.tap("🤝 Lotte ↔ Sander")
    expect(pia.tap("🔧 Change the rhythm or time"), "How often do they meet from now on")
    expect(pia.tap("Every other week"), "first time")
    expect(pia.say(f"{first:%d-%m-%Y}"), "what time")
    expect(pia.say("10:00-12:30"), "Review dates")
    expect(pia.say(f"{today - timedelta(days=1):%d-%m-%Y}"), "come after the trial end")
    review = date.fromisoformat(match.trial_end.isoformat()) + timedelta(days=30)
    summary = expect(pia.say(f"{review:%d-%m-%Y}"), "The change", "every other week on Saturday", "10:00-12:30")
    assert summary
    before = {chat.id: len(chat.user.messages) for chat in (family, helper)}
    saved = pia.tap("✅ Save the change")
    expect(saved, "Saved")
    expect(saved, "Match", "every other week on Saturday")
    for chat, other in ((family, "Sander"), (helper, "Lotte")):
        told = expect(texts_since(chat, before[chat.id]), f"changed the match with {other}", "From now on")
        assert "every week on Wednesday" in seen(told), "what it was before is said too"
    changed = the_match(harness, family)
    assert changed.rhythm["kind"] == "every_other_week" and changed.reviews == [review.isoformat()]
    with harness.session() as session:
        rows = store.occurrences(session=session, match_id=match.id or 0)
        future = [row for row in rows if row.starts_at > harness.clock.now()]
        assert future and not {row.day for row in future} & set(old), "the old rhythm's times are gone"
        assert [row.day for row in future] == [first + timedelta(days=14 * n) for n in range(len(future))]
        # 10:00 on the wall every time, across the clock change too: an hour apart in UTC.
        assert len(future) >= 2 and future[1].day == dst + timedelta(days=6)
        assert {row.starts_at.astimezone(AMS).strftime("%H:%M") for row in future} == {"10:00"}
        assert abs(future[0].starts_at.hour - future[1].starts_at.hour) == 1
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "match_adjust")).all()
        assert [entry.detail["match"] for entry in audited if entry.detail.get("match") == match.id] == [match.id]
        pending = session.exec(
            select(ScheduledJob).where(
                col(ScheduledJob.kind) == match_runs.REMIND, col(ScheduledJob.status) == JobStatus.PENDING
            )
        ).all()
        every = session.exec(select(ScheduledJob).where(col(ScheduledJob.kind) == match_runs.REMIND)).all()
        assert {job.subject_id for job in pending} == {row.id for row in future}, [
            (job.subject_id, job.status, job.dedupe_key) for job in every
        ]
    # The reminders follow the new rhythm, once each.
    reminded = count(family, "Tomorrow")
    move_to(harness, at(first - timedelta(days=1), 10, 5))
    harness.tick()
    harness.tick()
    assert count(family, "Tomorrow") == count(helper, "Tomorrow") == reminded + 1
    pia.say("/families")
    pia.tap_listed("Lotte")
    expect(pia.tap("🕑 Timeline"), "Match adjusted")
    # An ended match cannot change.
    pia.say("/match")
    pia.tap("🤝 Lotte ↔ Sander")
    pia.tap("⏹ End the match")
    pia.tap("Not a good fit")
    answers = len(pia.user.callback_answers)
    pia.user.press_raw(pia.last, f"mt:adj:{match.id}")
    harness.settle()
    assert pia.user.callback_answers[answers:]
    assert the_match(harness, family).rhythm["kind"] == "every_other_week"


def propose_steps(coordinator: Chat, family: str, helper: str, first: date) -> None:
    """The proposal up to its summary: a sleepover every other week, 15:00-11:00, a trial of six weeks."""
    coordinator.say("/match")
    coordinator.tap("➕ Propose a match")
    coordinator.tap_listed(family)
    coordinator.tap_listed(helper)
    coordinator.tap("🛏 A child sleeps over")
    coordinator.tap("Every other week")
    coordinator.say(f"{first:%d-%m-%Y}")
    coordinator.say("15:00-11:00")
    coordinator.tap("6 weeks")
    expect(coordinator.tap("No review dates for now"), "The proposal")


def test_a_support_household_of_several_adults_each_agrees_each_has_a_vog_and_each_gets_reminders(
    harness: Harness, team: Team, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Huiswijk-{len(harness.sandbox.calls)}")
    # The family lives where its helpers do: the household list shows those nearby first (a page at a time),
    # and the volunteers earlier test files signed up must not push this test's adults off its first page.
    family = new_family_in(team.primary, person, "Marit", area)
    helper = new_volunteer(coordinator, person, "Jorrit", area, ["Babysitting"], vog_age_days=30, children=True)
    partner = new_volunteer(coordinator, person, "Ingeborg", area, ["Babysitting"], vog_age_days=30, children=True)
    new_volunteer(coordinator, person, "Kasimir", area, ["Babysitting"], vog_age_days=None, children=False)
    later = new_volunteer(coordinator, person, "Wolter", area, ["Babysitting"], vog_age_days=30, children=True)
    quiet_world(harness)
    pia = team.primary
    first = local_now(harness).date() + timedelta(days=5)
    while first.weekday() != 5:
        first += timedelta(days=1)
    # An adult without a VOG blocks a sleepover: checked again when the proposal is sent, nothing is stored.
    propose_steps(pia, "Marit", "Jorrit", first)
    expect(pia.tap("👥 Add an adult of the support household"), "Who else belongs to the support household")
    expect(pia.tap("Kasimir"), "Also in the support household: Kasimir")
    expect(pia.tap("✅ Send the proposal"), "needs a valid VOG")
    with harness.session() as session:
        assert not session.exec(select(Match).where(Match.family_id == family_id(harness, family))).all()

    propose_steps(pia, "Marit", "Jorrit", first)
    pia.tap("👥 Add an adult of the support household")
    expect(pia.tap("Ingeborg"), "Also in the support household: Ingeborg")
    expect(pia.tap("✅ Send the proposal"), "Proposal sent")
    expect([family.last.text or ""], "A proposal for a lasting match", "Also in the support household: Ingeborg")
    expect([partner.last.text or ""], "A lasting match with your support household", "Marit", "Jorrit")
    family.tap("✅ Yes, I agree")
    expect(helper.tap("✅ Yes, I agree"), "as soon as")
    assert the_match(harness, family).state == "proposed", "every adult must agree"
    before = len(pia.user.messages)
    expect(partner.tap("✅ Yes, I agree"), "Everyone agreed: the trial starts")
    expect(texts_since(pia, before), "Ingeborg (support household of Jorrit) agreed")
    expect(texts_since(pia, before), "has started")
    match = the_match(harness, family)
    assert match.state == "trial"
    expect(partner.texts(), "the match with Marit starts with a trial")
    # A stranger cannot answer for an adult of the household.
    with harness.session() as session:
        member = store.members(session=session, match_id=match.id or 0)[0]
    stranger = new_family(pia, person, "Sietske")
    answers = len(stranger.user.callback_answers)
    stranger.user.press_raw(stranger.last, f"ms:hno:{member.id}")
    harness.settle()
    assert stranger.user.callback_answers[answers:]

    # The household's other adult gets the reminder and may tap the visit log; the first tap counts.
    move_to(harness, at(first - timedelta(days=1), 15, 5))
    harness.tick()
    harness.tick()
    assert count(partner, "Tomorrow") == count(helper, "Tomorrow") == 1
    move_to(harness, at(first + timedelta(days=1), 11, 5))
    harness.tick()
    expect([partner.last.text or ""], "How did it go with Marit")
    expect(partner.tap("✅ It happened"), "Noted")
    answers = len(helper.user.callback_answers)
    helper.tap("❌ It did not happen")
    assert "answered already" in helper.user.callback_answers[answers]
    assert next(outcome for _day, _start, outcome in occurrence_days(harness, match.id or 0)) == "happened"

    # Adults join a running match too: again only with a VOG, and each agrees.
    pia.say("/match")
    pia.tap("🤝 Marit ↔ Jorrit")
    expect(pia.tap("👥 Add an adult of the support household"), "Who else belongs")
    expect(pia.tap("Kasimir"), "every adult of the household needs a valid VOG")
    pia.say("/match")
    pia.tap("🤝 Marit ↔ Jorrit")
    pia.tap("👥 Add an adult of the support household")
    expect(pia.tap("Wolter"), "Also in the support household", "Wolter (⏳ not yet)")
    expect(later.tap("✅ Yes, I agree"), "You are part of the match with Marit now")
    # An adult who says no to a running match is only left out; the match goes on.
    third = new_volunteer(coordinator, person, "Femmy", area, ["Babysitting"], vog_age_days=30, children=True)
    pia.say("/match")
    pia.tap("🤝 Marit ↔ Jorrit")
    pia.tap("👥 Add an adult of the support household")
    pia.tap("Femmy")
    expect(third.tap("✖️ No, thank you"), "you do not take part in this match")
    assert the_match(harness, family).state == "trial"

    # A VOG that gets too old for children pauses the match, whoever's it is; everyone is told.
    with harness.session() as session:
        session.execute(
            update(VolunteerProfile)
            .where(col(VolunteerProfile.person_id) == family_id(harness, partner))
            .values(vog_date=local_now(harness).date() - timedelta(days=5 * 365))
        )
    before = len(pia.user.messages)
    move_to(harness, at(first + timedelta(days=13), 15, 5))
    harness.tick()
    harness.tick()
    assert the_match(harness, family).state == "paused"
    expect(texts_since(pia, before), "is paused", "VOG")
    expect([partner.last.text or ""], "is paused for now")
    expect([later.last.text or ""], "is paused for now")
    assert count(partner, "Tomorrow") == 1, "no reminder once the match is paused"
    # An adult who leaves Waakvlam leaves the household; the match itself stays.
    wim = family_id(harness, later)
    delete_my_data(later)
    assert the_match(harness, family).state == "paused"
    with harness.session() as session:
        left = [row for row in store.members(session=session, match_id=match.id or 0) if row.person_id == wim]
        assert left and left[0].declined_at is not None


def approved_fillers(harness: Harness, area: str, count: int) -> list[int]:
    """`count` approved volunteers in `area` (named so they sort first), stored directly: a long list, fast."""
    now = harness.clock.now()
    ids: list[int] = []
    with harness.session() as session:
        (area_id,) = session.exec(select(Area.id).where(Area.name == area)).all()
        for index in range(count):
            filler = people.ensure_person(session=session, telegram_id=next(_filler_ids), language="en", now=now)
            people.record_consent(session=session, person=filler, role="volunteer", version="test", now=now)
            people.set_display_name(session=session, person=filler, name=f"Aafke {index:02d}", now=now)
            people.save_volunteer_profile(
                session=session, person=filler, area_ids=[area_id or 0], skills=[], availability=0, languages=["en"]
            )
            assert filler.id is not None
            volunteers.approve_volunteer(
                session=session,
                volunteer_id=filler.id,
                approver_id=filler.id,
                vog_date=local_now(harness).date() - timedelta(days=30),
                children_ok=True,
                weekly_cap=None,
                now=now,
            )
            ids.append(filler.id)
    return ids


def pick_listed(chat: Chat, label: str) -> tuple[list[str], list[str]]:
    """Tap `label` in a paged list, turning pages: (the replies, every label shown on the way)."""
    shown = list(chat.last_buttons())
    while label not in chat.last_buttons() and "More ▶" in chat.last_buttons():
        chat.tap("More ▶")
        shown += chat.last_buttons()
    return chat.tap(label), shown


def test_an_adult_of_the_household_can_be_picked_from_a_later_page_of_a_long_list(
    harness: Harness, team: Team, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Langwijk-{len(harness.sandbox.calls)}")
    family = new_family_in(team.primary, person, "Roosmarijn", area)
    new_volunteer(coordinator, person, "Jelmer", area, ["Babysitting"], vog_age_days=30, children=True)
    partner = new_volunteer(coordinator, person, "Zwaantje", area, ["Babysitting"], vog_age_days=30, children=True)
    later = new_volunteer(coordinator, person, "Zwier", area, ["Babysitting"], vog_age_days=30, children=True)
    # More approved volunteers near the family than one list ever showed (30): the adults sort after them.
    fillers = approved_fillers(harness, area, 35)
    quiet_world(harness)
    pia = team.primary
    first = local_now(harness).date() + timedelta(days=5)
    while first.weekday() != 5:
        first += timedelta(days=1)
    try:
        # Proposing: the pages turn, the helper is on none of them, the adult on a later one is added.
        propose_steps(pia, "Roosmarijn", "Jelmer", first)
        expect(pia.tap("👥 Add an adult of the support household"), "Who else belongs to the support household")
        assert "More ▶" in pia.last_buttons() and "Zwaantje" not in pia.last_buttons()
        replies, shown = pick_listed(pia, "Zwaantje")
        expect(replies, "Also in the support household: Zwaantje")
        assert "Jelmer" not in shown and len(shown) > 30
        expect(pia.tap("✅ Send the proposal"), "Proposal sent")
        expect([partner.last.text or ""], "A lasting match with your support household", "Roosmarijn")
        # On the match's card: the helper and the household's adult stay off every page.
        pia.say("/match")
        pia.tap("🤝 Roosmarijn ↔ Jelmer")
        expect(pia.tap("👥 Add an adult of the support household"), "Who else belongs")
        replies, shown = pick_listed(pia, "Zwier")
        expect(replies, "Also in the support household", "Zwier (⏳ not yet)")
        assert "Jelmer" not in shown and "Zwaantje" not in shown and len(shown) > 30
        expect([later.last.text or ""], "A lasting match with your support household", "Roosmarijn")
        with harness.session() as session:
            added = {
                row.person_id for row in store.members(session=session, match_id=the_match(harness, family).id or 0)
            }
        assert added == {family_id(harness, partner), family_id(harness, later)}
        # A page far past the end (made up, or the list shrank meanwhile) shows nothing and says so.
        before, answers = len(pia.user.messages), len(pia.user.callback_answers)
        pia.user.press_raw(pia.last, f"mt:hhpg:{the_match(harness, family).id}:999")
        harness.settle()
        assert pia.user.callback_answers[answers:] and len(pia.user.messages) == before
    finally:
        with harness.session() as session:
            for filler in fillers:
                volunteers.reject_volunteer(session=session, volunteer_id=filler)
