"""A new family's rough edges in the request dialogue: telling requests apart, its neighbourhood, typed times.

Each test makes its own neighbourhood and people; the clock only moves forward (see tests/e2e/test_requests.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from services.i18n import format_stamp
from storage import people
from tests.e2e.care_world import AMS, local_now, move_to, reset_group
from tests.e2e.care_world import new_family as new_family_without_area
from tests.e2e.harness import Chat, Harness, expect, seen, tr
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

ZONE = "Europe/Amsterdam"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_requests(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_requests(harness)


def _start_asking(chat: Chat, kind: str, language: str = "en", day: str = "Tomorrow") -> list[str]:
    """/menu, Ask for help, the kind, (no children), the day: the dialogue then asks what time."""
    chat.say("/menu")
    chat.tap(tr(language, "🙋 Ask for help"))
    chat.tap(kind_button(kind, language))
    if kind in ("lift", "company", "other"):
        chat.tap(tr(language, "No"))
    return chat.tap(tr(language, day))


def _local(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment.astimezone(AMS)


def test_my_requests_tells_lifts_apart_by_date_and_closes_past_ones(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Datumwijk {tag()}")
    family = new_family(coordinator, person, "Farah", area, language="nl")
    # Asked later for an earlier day: the list goes by date, not by when it was asked.
    ask(family, "lift", language="nl", children=False, day="Tomorrow", typed_time="14:30", destination="de school")
    later = last_request(harness, family)
    ask(family, "lift", language="nl", children=False, day="Today", typed_time="16:00", destination="het ziekenhuis")
    sooner = last_request(harness, family)
    lift = kind_button("lift", "nl")
    button = tr("nl", "✖️ Cancel: {what}, {when}")
    assert button.startswith("✖️ Intrekken"), "in the reader's language"
    labels = [button.format(what=lift, when=format_stamp(_local(r.starts_at), ZONE, "nl")) for r in (sooner, later)]
    assert labels[0] != labels[1] and labels[0].endswith(" 16:00") and labels[1].endswith(" 14:30")

    family.say("/menu")
    listed = expect(family.tap(tr("nl", "My requests")), lift, "16:00", "14:30")
    assert [label for label in family.last_buttons() if label.startswith("✖️")] == labels
    assert listed.index("16:00") < listed.index("14:30"), "ordered by date, soonest first"

    # Today's lift is over: marked done, with no button to withdraw it; tomorrow's can still be withdrawn.
    move_to(harness, local_now(harness).replace(hour=17, minute=0))
    family.say("/menu")
    listed = expect(family.tap(tr("nl", "My requests")), "✔️")
    assert "16:00" in listed.split("✔️")[1] and "14:30" in listed.split("✔️")[0], "coming up first, then the past"
    assert [label for label in family.last_buttons() if label.startswith("✖️")] == labels[1:]
    # A kept old button for the past lift changes nothing.
    for data in (f"rq:cx:{sooner.id}", f"rq:cxy:{sooner.id}"):
        before = len(family.user.callback_answers)
        family.user.press_raw(family.last, data)
        harness.settle()
        assert (
            tr("nl", "That button no longer works. Send /menu for the current options.")
            in (family.user.callback_answers[before:])
        )
    assert last_request(harness, family).id == sooner.id and last_request(harness, family).status == "open"
    expect(family.tap(labels[1]), tr("nl", "Cancel this request?"), "14:30")


def test_the_neighbourhood_chosen_in_a_request_is_kept_used_and_shown(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Buurtkeuze {tag()}")
    family = new_family_without_area(coordinator, person, "Noor")
    helper = new_volunteer(coordinator, person, "Hidde", area, ["Groceries"])
    _start_asking(family, "groceries")
    expect(family.tap("Evening (18:00-22:00)"), "In which neighbourhood?")
    family.tap(area)
    family.tap(tr("en", "Skip"))
    expect(family.tap(tr("en", "Skip")), "Please check the request", f"Where: {area}")
    expect(family.tap("✅ Send"), "Sent! We are asking volunteers nearby")
    request = last_request(harness, family)
    family_id = person_id(harness, family)
    with harness.session() as session:
        chosen = next(found for found in people.active_areas(session=session) if found.name == area)
        profile = people.get_family(session=session, person_id=family_id)
    assert request.area_id == chosen.id
    assert profile is not None and profile.area_id == chosen.id, "kept for the next request"
    harness.settle()
    assert f"Noor in {area}" in seen(offers_to(helper)[-1].text), "matched and shown with the chosen neighbourhood"

    # The next request knows the neighbourhood and does not ask again.
    _start_asking(family, "groceries")
    replies = family.tap("Evening (18:00-22:00)")
    assert not any("In which neighbourhood?" in text for text in replies)


def test_an_overnight_window_ends_the_next_day_or_is_explained(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Nachtwijk {tag()}")
    family = new_family(coordinator, person, "Lina", area)
    _start_asking(family, "company")
    replies = family.say("23:00-19:00")
    expect(replies, "An end time before the start time means the next day", "Did you mean 19:00-23:00?")
    assert not any("longer than 12 hours. For longer help" in text for text in replies)
    expect(replies, "What time on")
    expect(family.say("22:00-06:00"), "Which street")
    family.tap("Skip")
    expect(family.tap("Skip"), "Please check the request")
    family.tap("✅ Send")
    request = last_request(harness, family)
    start, end = _local(request.starts_at), _local(request.ends_at)
    assert (start.hour, end.hour) == (22, 6) and end.date() == start.date() + timedelta(days=1)
    assert end - start == timedelta(hours=8)


@pytest.mark.parametrize(
    ("typed", "hour", "minute"),
    [
        ("half drie", 14, 30),
        ("kwart over vier", 16, 15),
        ("kwart voor vijf", 16, 45),
        ("10 uur", 10, 0),
        ("tien uur", 10, 0),
    ],
)
def test_dutch_spoken_times_are_understood(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat], typed: str, hour: int, minute: int
) -> None:
    area = new_area(harness, f"Spreektijd {tag()}")
    family = new_family(coordinator, person, "Daan", area, language="nl")
    _start_asking(family, "company", language="nl")
    sorry = tr("nl", "Sorry, that time does not work. Please try again, for example 14:30 or 19:00-23:00.")
    expect(family.say("rond theetijd"), sorry)
    replies = family.say(typed)
    assert sorry not in replies
    family.tap(tr("nl", "Skip"))
    family.tap(tr("nl", "Skip"))
    family.tap(tr("nl", "✅ Send"))
    start = _local(last_request(harness, family).starts_at)
    assert (start.hour, start.minute) == (hour, minute)
    assert start.date() == local_now(harness).date() + timedelta(days=1)
