"""Check-ins end to end, with the clock moved: rhythm, DST, restarts, quiet hours, answers, silence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta

import pytest

from storage import people
from storage.models import Role
from tests.e2e.care_world import (
    AMS,
    Team,
    audit_actions,
    checkins,
    family_id,
    local_now,
    make_team,
    move_to,
    new_family,
    next_checkin_at,
    next_local,
    office_morning,
    profile,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect, next_user_id, seen, tr

CHECKIN = "How are things at home at the moment?"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    quiet_world(harness)


@pytest.fixture
def team(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> Team:
    return make_team(harness, coordinator, person, tag=str(len(harness.sandbox.calls)))


def open_card(coordinator: Chat, name: str) -> list[str]:
    coordinator.say("/families")
    return coordinator.tap_listed(name)


def send_now(harness: Harness, coordinator: Chat, name: str) -> str:
    open_card(coordinator, name)
    coordinator.tap("📨 Send a check-in now")
    harness.settle()
    return coordinator.user.callback_answers[-1]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMS)


def next_dst_sunday(after: date) -> date:
    """The next Sunday on which Amsterdam changes its clocks."""
    day = after
    while True:
        if day.weekday() == 6 and at(day, 12).utcoffset() != at(day - timedelta(days=1), 12).utcoffset():
            return day
        day += timedelta(days=1)


def count_checkins(chat: Chat) -> int:
    return sum(CHECKIN in (message.text or "") for message in chat.user.messages)


def test_weekly_rhythm_fires_once_a_week_at_local_time_across_dst_and_a_restart(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    sunday = next_dst_sunday(local_now(harness).date() + timedelta(days=14))
    friday_before, friday_after = sunday - timedelta(days=2), sunday + timedelta(days=5)
    move_to(harness, at(sunday - timedelta(days=6), 10))
    family = new_family(team.primary, person, "Wies")
    open_card(team.primary, "Wies")
    team.primary.tap("Weekly")
    card = team.primary.tap("Fri") or [team.primary.last.text or ""]
    expect(card, "every week, on Friday, morning")
    assert next_checkin_at(harness, family) == at(friday_before, 9, 30)

    move_to(harness, at(friday_before, 9, 29))
    harness.tick()
    assert count_checkins(family) == 0
    move_to(harness, at(friday_before, 9, 31))
    harness.tick()
    harness.tick()
    assert count_checkins(family) == 1
    expect(family.tap("😊 Good"), "good to hear")

    # The bot is down across the next due time, and starts again after it: the check-in goes out once.
    move_to(harness, at(friday_after, 9, 0))
    harness.tick()
    harness.stop()
    move_to(harness, at(friday_after, 9, 40))
    harness.start()
    harness.tick()
    harness.tick()
    assert count_checkins(family) == 2
    sent = [checkin.sent_at for checkin in checkins(harness, family)]
    assert [moment.astimezone(AMS).strftime("%a %H:%M") for moment in sent] == ["Fri 09:31", "Fri 09:40"]
    assert sent[0].utcoffset() == sent[1].utcoffset()  # both stored in UTC ...
    assert at(friday_before, 9, 30).utcoffset() != at(friday_after, 9, 30).utcoffset()  # ... across the change
    assert next_checkin_at(harness, family) == at(friday_after + timedelta(days=7), 9, 30)


def test_quiet_hours_are_respected_and_never_twice_a_day(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Quinn")
    open_card(team.primary, "Quinn")
    team.primary.tap("Weekly")
    team.primary.tap("Wed")
    wednesday = next_local(harness, 2, time(9, 30), min_days=1).date()
    assert next_checkin_at(harness, family) == at(wednesday, 9, 30)

    # "Send now" at 22:00 waits for the end of the quiet hours.
    move_to(harness, at(wednesday - timedelta(days=1), 22))
    expect([send_now(harness, team.primary, "Quinn")], "quiet hours", "08:00")
    harness.tick()
    assert count_checkins(family) == 0
    move_to(harness, at(wednesday, 7, 59))
    harness.tick()
    assert count_checkins(family) == 0
    move_to(harness, at(wednesday, 8, 1))
    harness.tick()
    assert count_checkins(family) == 1
    # The rhythm's check-in of the same day is skipped: never twice in a day.
    move_to(harness, at(wednesday, 9, 31))
    harness.tick()
    assert count_checkins(family) == 1
    expect([send_now(harness, team.primary, "Quinn")], "already had a check-in today")
    assert next_checkin_at(harness, family) == at(wednesday + timedelta(days=7), 9, 30)

    # The bot was down all day: a check-in due in the morning does not go out at 21:30, but at 08:00.
    move_to(harness, at(wednesday + timedelta(days=7), 21, 30))
    harness.tick()
    assert count_checkins(family) == 1
    move_to(harness, at(wednesday + timedelta(days=8), 8, 0))
    harness.tick()
    assert count_checkins(family) == 2
    last = checkins(harness, family)[-1]
    assert last.sent_at is not None and last.sent_at.astimezone(AMS).strftime("%H:%M") == "08:00"


def test_each_answer_leads_where_it_should(harness: Harness, team: Team, person: Callable[..., Chat]) -> None:
    family = new_family(team.primary, person, "Amal")
    other = new_family(team.primary, person, "Bram")
    primary = team.primary

    send_now(harness, primary, "Amal")
    expect(family.tap("😊 Good"), "Thank you, good to hear")
    checkin_message = family.user.messages[-2]
    good = checkins(harness, family)[-1]
    # A double tap answers once; a forged button (another family's check-in) changes nothing.
    family.user.press_raw(checkin_message, f"ci:{good.id}:not_good")
    harness.settle()
    assert family.user.callback_answers[-1] == "You already answered this check-in. Thank you!"
    send_now(harness, primary, "Bram")
    forged = checkins(harness, other)[-1]
    family.user.press_raw(checkin_message, f"ci:{forged.id}:good")
    harness.settle()
    assert "no longer works" in family.user.callback_answers[-1]
    assert checkins(harness, other)[-1].answer is None

    harness.advance(days=1)
    send_now(harness, primary, "Amal")
    replies = family.tap("😐 So-so")
    expect(replies, "Would something help?")
    assert family.last_buttons() == ["🙋 Ask for practical help", "💬 A word with my coordinator", "No, thanks"]
    before = len(primary.user.messages)
    expect(family.tap("💬 A word with my coordinator"), "passed this on to your coordinator", "contact you by")
    alert = expect(texts_since(primary, before), "Amal answered the check-in 'so-so'")
    expect([alert], "Recent check-ins: 😊", "😐", "Open help requests: 0", "English")
    primary.tap("✅ Close")
    expect(primary.tap("No note"), "Closed")

    harness.advance(days=1)
    send_now(harness, primary, "Amal")
    before = len(primary.user.messages)
    replies = family.tap("😟 Not good")
    expect(replies, "I have let your coordinator know", "A coordinator will contact you by")
    expect(texts_since(primary, before), "Amal answered the check-in: not good")
    primary.tap("✅ Close")
    primary.tap("No note")

    harness.advance(days=1)
    send_now(harness, primary, "Amal")
    before = len(primary.user.messages)
    family.tap("💬 I want to talk to someone")
    expect(texts_since(primary, before), "Amal answered the check-in: wants to talk to someone")
    expect(family.send("voice"), "Passed on")
    assert primary.user.messages[-1].media_kind == "voice", "the voice note is passed on as it is"

    # The coordinator sees the answers over time; opening the record is audited.
    open_card(primary, "Amal")
    replies = primary.tap("📈 Answers over time")
    text = expect(replies, "Check-in answers of Amal")
    assert text.index("Good") < text.index("So-so") > 0 and "Not good" in text and "I want to talk" in text
    assert audit_actions(harness, family_id(harness, family)).count("family_record_opened") >= 2
    assert profile(harness, family).good_streak == 0


def test_an_answered_check_in_keeps_the_answer_in_the_familys_language(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    english = new_family(team.primary, person, "Gwen")
    send_now(harness, team.primary, "Gwen")
    question = english.last
    english.tap("😊 Good")
    assert seen(question.text or "").endswith("\n\n→ 😊 Good") and not question.buttons
    assert CHECKIN in (question.text or ""), "the question itself stays as it was"

    arabic = new_family(team.primary, person, "Huda", language="ar")
    send_now(harness, team.primary, "Huda")
    question = arabic.last
    arabic.tap(tr("ar", "😐 So-so"))
    follow_up = arabic.last
    expect(arabic.tap(tr("ar", "No, thanks")), tr("ar", "Alright. We are here whenever you need us."))
    assert seen(question.text or "").endswith(tr("ar", "→ {choice}").format(choice=tr("ar", "😐 So-so")))
    assert seen(follow_up.text or "").endswith("← " + tr("ar", "No, thanks"))


def test_so_so_can_lead_to_a_help_request(harness: Harness, team: Team, person: Callable[..., Chat]) -> None:
    family = new_family(team.primary, person, "Cor")
    send_now(harness, team.primary, "Cor")
    family.tap("😐 So-so")
    expect(family.tap("🙋 Ask for practical help"), "What would you like to do?")
    harness.advance(days=1)
    send_now(harness, team.primary, "Cor")
    family.tap("😐 So-so")
    expect(family.tap("No, thanks"), "We are here whenever you need us")


def test_no_answer_brings_one_reminder_and_missed_check_ins_reach_the_coordinator(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Daan")
    open_card(team.primary, "Daan")
    team.primary.tap("Off")  # only the coordinator's check-ins, to count them plainly
    assert next_checkin_at(harness, family) is None
    start = local_now(harness)
    send_now(harness, team.primary, "Daan")
    move_to(harness, start + timedelta(hours=24, minutes=1))
    harness.tick()
    expect([family.last.text or ""], "Just a gentle reminder, Daan")
    assert "😊 Good" in family.last_buttons()
    harness.advance(hours=2)
    harness.tick()
    assert sum("gentle reminder" in (m.text or "") for m in family.user.messages) == 1
    before = len(team.primary.user.messages)
    move_to(harness, start + timedelta(hours=72, minutes=2))
    harness.tick()
    assert checkins(harness, family)[-1].missed and profile(harness, family).missed_checkins == 1
    assert not any("No contact" in text for text in texts_since(team.primary, before))

    send_now(harness, team.primary, "Daan")
    move_to(harness, local_now(harness) + timedelta(hours=72, minutes=1))
    harness.tick()
    assert profile(harness, family).missed_checkins == 2
    alert = expect(texts_since(team.primary, before), "No contact with Daan")
    expect([alert], "Recent check-ins: —")
    # Answering again resets the count.
    family.user.press(0)
    harness.settle()
    assert profile(harness, family).missed_checkins == 0


def test_a_family_that_blocked_the_bot_reaches_the_coordinator(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Eva")
    harness.sandbox.block(family.id)
    before = len(team.primary.user.messages)
    send_now(harness, team.primary, "Eva")
    harness.settle()
    expect(texts_since(team.primary, before), "Eva can no longer be reached through the bot")
    assert not harness.person(family.id).reachable
    harness.sandbox.unblock(family.id)


def test_good_answers_offer_a_lower_rhythm_or_lower_it_automatically(
    harness: Harness, team: Team, person: Callable[..., Chat]
) -> None:
    family = new_family(team.primary, person, "Femke")
    open_card(team.primary, "Femke")
    team.primary.tap("Weekly")
    for day in range(3):
        if day:
            harness.advance(days=1)
        send_now(harness, team.primary, "Femke")
        family.tap("😊 Good")
    harness.settle()
    offer = expect([team.primary.last.text or ""], "Femke answered 'good' 3 times in a row")
    expect([offer], "from every week to every two weeks")
    team.primary.tap("Yes, lower it")
    assert "every two weeks" in team.primary.user.callback_answers[-1]
    assert profile(harness, family).checkin_rhythm == "biweekly"

    open_card(team.primary, "Femke")
    team.primary.tap("Lower automatically: off")
    assert profile(harness, family).checkin_auto_step_down
    for _day in range(3):
        harness.advance(days=1)
        send_now(harness, team.primary, "Femke")
        replies = family.tap("😊 Good")
    expect(replies, "from now on we will check in every four weeks")
    assert profile(harness, family).checkin_rhythm == "monthly"
    expect([team.primary.last.text or ""], "now every four weeks (automatically)")


def test_pause_for_a_holiday_and_we_need_help_again(harness: Harness, team: Team, person: Callable[..., Chat]) -> None:
    family = new_family(team.primary, person, "Gijs")
    family.say("/menu")
    expect(family.tap("Pause check-ins"), "How long shall we pause")
    replies = family.tap("2 weeks")
    expect(replies, "paused until")
    today = local_now(harness).date()
    assert profile(harness, family).checkin_paused_until == today + timedelta(weeks=2)
    due = next_checkin_at(harness, family)
    assert due is not None and due.astimezone(AMS).date() > today + timedelta(weeks=2)

    before = len(team.primary.user.messages)
    family.say("/menu")
    replies = family.tap("We need help again")
    expect(replies, "We are here for you", "contact you by", "every week again")
    stored = profile(harness, family)
    assert stored.checkin_rhythm == "weekly" and stored.checkin_paused_until is None
    due = next_checkin_at(harness, family)
    assert due is not None and due - harness.clock.now() <= timedelta(days=7)
    expect(texts_since(team.primary, before), "Gijs tapped 'we need help again'")


def test_a_coordinator_with_many_families_pages_through_all_of_them(harness: Harness, team: Team) -> None:
    """/families shows 20 a page with More / Back, so nobody whose name sorts late is out of reach."""
    primary_id = harness.person(team.primary.id).id
    names = [f"Gezin {number:02d}" for number in range(55)]  # more than the 50 the list once stopped at
    with harness.session() as session:
        for number, name in enumerate(names):
            family = people.ensure_person(
                session=session, telegram_id=next_user_id(), language="en", now=harness.clock.now()
            )
            people.record_consent(
                session=session, person=family, role=Role.FAMILY, version="1", now=harness.clock.now()
            )
            people.set_display_name(session=session, person=family, name=name, now=harness.clock.now())
            people.save_family_profile(
                session=session,
                person=family,
                area_id=None,
                children_count=number % 3,
                children_ages=None,
                primary_coordinator_id=primary_id,
            )
    seen_names: list[str] = []
    team.primary.say("/families")
    for _page in range(3):
        labels = team.primary.last_buttons()
        seen_names += [label for label in labels if label.startswith("Gezin ")]
        if "More ▶" not in labels:
            break
        team.primary.tap("More ▶")
    assert seen_names == names, "every family once, in order of name, 20 a page"
    assert "◀ Back" in team.primary.last_buttons()
    expect(team.primary.tap("Gezin 54"), "Gezin 54")
