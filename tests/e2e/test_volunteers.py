"""Volunteers end to end: approval after intake, cancelling a task, pausing, an expiring VOG, a family that
starts helping too, the helper profile, and two accepts at once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.clock import FakeClock
from sandbox import Sandbox
from services.settings import Settings
from storage import people
from tests.conftest import create_postgres_database, drop_postgres_database, requires_postgres
from tests.e2e.care_world import local_now, move_to, quiet_world, reset_group
from tests.e2e.harness import ADMIN_ID, TOKEN, Chat, Harness, expect, next_user_id
from tests.e2e.request_world import (
    approve,
    ask,
    kind_button,
    last_request,
    monday_morning,
    new_area,
    new_family,
    new_volunteer,
    offered_ids,
    offers_to,
    person_id,
    quiet_requests,
    sign_up_volunteer,
    tag,
)


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    # Check-ins of earlier tests' families would all fall due when this module moves the clock.
    quiet_world(harness)
    quiet_requests(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_world(harness)
    quiet_requests(harness)


def test_only_approved_volunteers_get_requests_and_rejection_is_kind(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Intake {tag()}")
    family = new_family(coordinator, person, "Eva", area)
    waiting = sign_up_volunteer(person, "Finn", area, ["Groceries"])
    turned_down = sign_up_volunteer(person, "Gert", area, ["Groceries"])
    ask(family, "groceries")
    harness.settle()
    assert not offers_to(waiting) and not offers_to(turned_down), "pending volunteers see no request"

    coordinator.say("/volunteers")
    assert "✅ Approve Finn" in coordinator.last_buttons() and "✖️ Reject Gert" in coordinator.last_buttons()
    expect(coordinator.tap("✖️ Reject Gert"), "Reject Gert as a volunteer?")
    expect(coordinator.tap("Yes, reject"), "Gert is rejected and has been told")
    harness.settle()
    expect(turned_down.texts(), "your coordinator decided not to go ahead for now")

    coordinator.say("/volunteers")
    coordinator.tap("✅ Approve Finn")
    expect(coordinator.say("31-12-2999"), "That date is in the future")
    expect(coordinator.tap("No VOG yet"), "Finn is approved for tasks without children")
    harness.settle()
    expect(waiting.texts(), "you are approved as a volunteer", "without children")
    # A second coordinator tap on the old Approve button does nothing.
    coordinator.user.press_raw(coordinator.last, f"ap:ok:{person_id(harness, waiting)}")
    harness.settle()
    assert coordinator.user.callback_answers[-1] == "Already approved."

    ask(family, "groceries", day="Tomorrow", window="Morning (9:00-12:00)")
    harness.settle()
    assert offers_to(waiting) and not offers_to(turned_down)
    with harness.session() as session:
        profile = people.get_volunteer(session=session, person_id=person_id(harness, waiting))
    assert profile is not None and profile.weekly_cap == harness.settings.volunteer_weekly_cap
    assert profile.approved_by_id == person_id(harness, coordinator)


def test_a_volunteer_cancels_and_the_request_goes_back_to_matching(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Terug {tag()}")
    family = new_family(coordinator, person, "Hilde", area)
    first = new_volunteer(coordinator, person, "Ivo", area, ["Small chores"])
    second = new_volunteer(coordinator, person, "Jet", area, ["Small chores"])
    ask(family, "chores")
    harness.settle()
    first.tap("✅ Accept", message=offers_to(first)[-1])
    harness.settle()
    assert "Already taken" in (offers_to(second)[-1].text or "")
    before_coordinator = len(coordinator.user.messages)

    first.say("/menu")
    replies = first.tap("My tasks")
    expect(replies, "Your tasks", "Hilde")
    expect(first.tap(f"✖️ Cancel: {kind_button('chores', 'en')}"), "Cancel this task?")
    expect(first.tap("Yes, cancel it"), "We told the family and your coordinator")
    harness.settle()
    expect(family.texts(), "Ivo can no longer help with this request. We are looking for someone else.")
    expect(coordinator.texts()[before_coordinator:], "Ivo cancelled the task for Hilde")
    request = last_request(harness, family)
    assert request.status == "open" and request.assigned_volunteer_id is None
    # Jet, whose offer was withdrawn when Ivo took it, is asked again; Ivo is not.
    again = offers_to(second)[-1]
    assert "This request is open again" in again.text and again.buttons
    expect(second.tap("✅ Accept", message=again), "Thank you for helping!")
    harness.settle()
    assert last_request(harness, family).assigned_volunteer_id == person_id(harness, second)
    expect(family.texts(), "Good news: Jet will help you")
    first.say("/tasks")
    expect([first.last.text], "You have no upcoming tasks")


def test_a_volunteer_who_deletes_their_data_gives_the_task_back(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Weg {tag()}")
    family = new_family(coordinator, person, "Lieke", area)
    leaving = new_volunteer(coordinator, person, "Mats", area, ["Groceries"])
    staying = new_volunteer(coordinator, person, "Nora", area, ["Groceries"])
    ask(family, "groceries")
    harness.settle()
    leaving.tap("✅ Accept", message=offers_to(leaving)[-1])
    leaving.say("/delete")
    expect(leaving.tap("Yes, delete everything"), "Your data has been deleted")
    # At once, not only when a reminder finds the task without its volunteer: it goes back to the others.
    request = last_request(harness, family)
    assert request.status == "open" and request.assigned_volunteer_id is None
    expect(family.texts(), "Mats can no longer help with this request")
    again = offers_to(staying)[-1]
    assert "This request is open again" in again.text and again.buttons


def test_a_paused_volunteer_gets_nothing_until_resuming(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Vakantie {tag()}")
    family = new_family(coordinator, person, "Karin", area)
    resting = new_volunteer(coordinator, person, "Lars", area, ["A meal"])
    active = new_volunteer(coordinator, person, "Mila", area, ["A meal"])

    resting.say("/menu")
    expect(resting.tap("Pause or resume"), "You receive requests that fit you")
    expect(resting.tap("Pause for 1 week"), "You are on a pause until")
    ask(family, "meal")
    harness.settle()
    assert offers_to(active) and not offers_to(resting)

    resting.say("/menu")
    resting.tap("Pause or resume")
    expect(resting.tap("▶️ Resume now"), "Welcome back!")
    ask(family, "meal", day="Tomorrow", window="Afternoon (13:00-17:00)")
    harness.settle()
    assert offers_to(resting)
    # A pause runs out by itself: paused for a week, the volunteer is asked again the week after.
    resting.say("/menu")
    resting.tap("Pause or resume")
    resting.tap("Pause for 1 week")
    move_to(harness, harness.clock.now() + timedelta(days=7))
    before = len(offers_to(resting))
    ask(family, "meal", day="Tomorrow")
    harness.settle()
    assert len(offers_to(resting)) == before + 1


def test_an_expiring_vog_is_reminded_and_then_no_longer_counts_for_children(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Verloop {tag()}")
    family = new_family(coordinator, person, "Noor", area)
    years = harness.settings.vog_valid_years
    # A VOG from three years ago minus ten days: it counts for ten more days.
    age = (
        local_now(harness).date() - local_now(harness).date().replace(year=local_now(harness).year - years)
    ).days - 10
    olga = new_volunteer(coordinator, person, "Olga", area, ["Babysitting"], vog_age_days=age)
    before = len(coordinator.user.messages)
    harness.tick()
    expect(olga.texts(), "Your VOG counts for tasks with children until")
    expect(coordinator.texts()[before:], "The VOG of Olga counts for tasks with children until")

    ask(family, "babysitting")
    harness.settle()
    assert len(offers_to(olga)) == 1, "still valid: she is asked"

    move_to(harness, harness.clock.now() + timedelta(days=11))
    ask(family, "babysitting")
    harness.settle()
    assert len(offers_to(olga)) == 1, "the VOG no longer counts: no more tasks with children"
    request = last_request(harness, family)
    assert person_id(harness, olga) not in offered_ids(harness, request.id or 0)

    # The coordinator enters the new VOG date; children's tasks reach her again.
    coordinator.say("/volunteers")
    expect(coordinator.tap("📄 New VOG date: Olga"), "What date is on the VOG of Olga?")
    today = local_now(harness).date()
    coordinator.say(f"{today - timedelta(days=2):%d-%m-%Y}")
    expect(coordinator.tap("Yes, also with children"), "The VOG date of Olga is saved", "Olga may help with tasks")
    ask(family, "babysitting", day="Tomorrow", window="Afternoon (13:00-17:00)")
    harness.settle()
    assert len(offers_to(olga)) == 2


def approved_line(coordinator: Chat, name: str) -> str:
    """The line of the approved-volunteers list that names `name`, paging as a person would."""
    listed = expect(coordinator.tap("📋 Approved volunteers and their VOG"), "Approved volunteers")
    while name not in listed and "More ▶" in coordinator.last_buttons():
        listed = "\n".join(text or "" for text in coordinator.tap("More ▶"))
    return next(line for line in listed.splitlines() if name in line)


def test_a_too_old_vog_is_explained_listed_and_corrected_for_children(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Oud {tag()}")
    years = harness.settings.vog_valid_years
    today = local_now(harness).date()
    old = today.replace(year=today.year - years) - timedelta(days=20)
    volunteer = sign_up_volunteer(person, "Quinten", area, ["Babysitting"])
    coordinator.say("/volunteers")
    coordinator.tap("✅ Approve Quinten")
    # Approved, but not for children, and the coordinator reads why: the date and the rule.
    said = expect(coordinator.say(f"{old:%d-%m-%Y}"), "Quinten is approved for tasks without children")
    expect([said], "Why: the VOG of", f"{old:%B} {old.day}, {old.year}", f"for {years} years", "counted until")
    # The list of approved volunteers shows the VOG date and that children are not covered.
    coordinator.say("/volunteers")
    line = approved_line(coordinator, "Quinten")
    assert f"{old:%B} {old.day}, {old.year}, too old" in line and "only tasks without children" in line
    # The date was typed wrong: corrected, and cleared for children again (all checked on the server).
    expect(coordinator.tap("📄 VOG date: Quinten"), "What date is on the VOG of Quinten?")
    coordinator.say(f"{today - timedelta(days=40):%d-%m-%Y}")
    expect(coordinator.tap("Yes, also with children"), "The VOG date of Quinten is saved", "may help with tasks")
    with harness.session() as session:
        profile = people.get_volunteer(session=session, person_id=person_id(harness, volunteer))
        assert profile is not None and profile.children_ok and profile.vog_date == today - timedelta(days=40)
    expect(volunteer.texts(), "You may also help with tasks with children.")
    coordinator.say("/volunteers")
    line = approved_line(coordinator, "Quinten")
    assert "too old" not in line and "also tasks with children" in line


def test_a_family_starts_helping_others_with_its_coordinators_approval(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Samen {tag()}")
    helper_family = new_family(coordinator, person, "Pim", area)
    asking = new_family(coordinator, person, "Quirine", area)
    before = len(coordinator.user.messages)

    helper_family.say("/menu")
    expect(helper_family.tap("🤝 Help others too"), "Families who were helped often like to help others too")
    expect(helper_family.tap("🙋 Yes, I would like to help"), "Your helper profile", f"Neighbourhoods: {area}")
    helper_family.tap("🧰 What I can help with")
    helper_family.tap("▫️ A meal")
    expect(helper_family.tap("Done"), "Can help with: A meal")
    helper_family.tap("🕒 When I am available")
    helper_family.tap("▫️ Weekday evenings")
    helper_family.tap("Done")
    expect(helper_family.tap("✅ Send to my coordinator"), "Your coordinator will have a short talk with you")
    harness.settle()
    expect(coordinator.texts()[before:], "Pim would like to help others too")

    # Not yet approved: no offers. After approval the family gets requests of others, never its own.
    ask(asking, "meal")
    harness.settle()
    assert not offers_to(helper_family)
    expect(approve(coordinator, "Pim", None, False), "Pim is approved")
    with harness.session() as session:
        profile = people.get_family(session=session, person_id=person_id(harness, helper_family))
    assert profile is not None and profile.may_volunteer
    ask(asking, "meal", day="Tomorrow", window="Evening (18:00-22:00)")
    harness.settle()
    assert offers_to(helper_family)
    expect(helper_family.tap("✅ Accept", message=offers_to(helper_family)[-1]), "Thank you for helping!")
    ask(helper_family, "meal")
    harness.settle()
    own = last_request(harness, helper_family)
    assert person_id(harness, helper_family) not in offered_ids(harness, own.id or 0)
    helper_family.say("/menu")
    helper_family.tap("🤝 Help others too")
    expect(helper_family.tap("My tasks"), "Quirine")


def test_a_volunteer_changes_the_helper_profile(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Profiel {tag()}")
    family = new_family(coordinator, person, "Roos", area)
    volunteer = new_volunteer(coordinator, person, "Sem", area, ["Groceries"])
    ask(family, "homework")
    harness.settle()
    assert not offers_to(volunteer)

    volunteer.say("/menu")
    expect(volunteer.tap("My helper profile"), "Can help with: Groceries", "Requests per week at most: 3")
    volunteer.tap("🧰 What I can help with")
    volunteer.tap("▫️ Homework help")
    volunteer.tap("Done")
    volunteer.tap("🔢 Requests per week")
    expect(volunteer.tap("1"), "Requests per week at most: 1")
    expect(volunteer.tap("✅ Save"), "Saved")
    ask(family, "homework", day="Tomorrow", window="Afternoon (13:00-17:00)")
    ask(family, "homework", day="Tomorrow", window="Morning (9:00-12:00)")
    harness.settle()
    assert len(offers_to(volunteer)) == 1, "a weekly cap of one: the second request is not offered"


# --- on PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_world() -> Iterator[tuple[Sandbox, Harness]]:
    """A second sandbox and bot on a fresh PostgreSQL database (the shared one runs on SQLite)."""
    url, name = create_postgres_database()
    sandbox = Sandbox(token=TOKEN)
    sandbox.start()
    settings = Settings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=sandbox.base_url,
        database_url=url,
        bot_admin_ids=[ADMIN_ID],
        poll_timeout=1,
        _env_file=None,  # type: ignore[call-arg]
    )
    world = Harness(sandbox, settings, FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)))
    world.start()
    try:
        yield sandbox, world
    finally:
        world.stop()
        sandbox.stop()
        drop_postgres_database(name)
    assert not sandbox.refusals, f"the bot made calls Telegram would refuse: {sandbox.refusals[:5]}"


@requires_postgres
def test_two_volunteers_accepting_at_once_on_postgresql(pg_world: tuple[Sandbox, Harness]) -> None:
    sandbox, world = pg_world
    monday_morning(world)

    def make(name: str, user_id: int | None = None) -> Chat:
        return Chat(world, sandbox.user(user_id or next_user_id(), name, language_code="en"))

    admin = make("Coco", ADMIN_ID)
    admin.say("/start")
    admin.tap("Yes, I agree")
    admin.say("Coco")
    area = new_area(world, "Postgreswijk")
    family = new_family(admin, make_person(make), "Tess", area)
    volunteers = [new_volunteer(admin, make_person(make), name, area, ["Groceries"]) for name in ("Ugo", "Vik", "Wim")]
    ask(family, "groceries")
    world.settle()
    offers = [offers_to(volunteer)[-1] for volunteer in volunteers]
    for volunteer, offer in zip(volunteers, offers, strict=True):
        volunteer.user.press("✅ Accept", message=offer)
        volunteer.user.press_raw(offer, offer.callback_data[0][0])
    world.settle()
    request = last_request(world, family)
    assert request.status == "accepted"
    winners = [v for v in volunteers if sum("Thank you for helping!" in text for text in v.texts()) == 1]
    assert len(winners) == 1 and request.assigned_volunteer_id == person_id(world, winners[0])
    for volunteer in volunteers:
        if volunteer is not winners[0]:
            assert "Already taken, thank you!" in volunteer.user.callback_answers
            assert not offers_to(volunteer)[-1].buttons
    assert sum("Good news" in text for text in family.texts()) == 1


def make_person(make: Callable[..., Chat]) -> Callable[..., Chat]:
    """The `person` fixture's signature on top of a plain factory."""

    def factory(first_name: str = "Sanne", **kwargs: object) -> Chat:
        return make(first_name)

    return factory
