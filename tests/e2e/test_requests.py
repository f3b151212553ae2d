"""Help requests end to end: a family asks, a fitting volunteer accepts, both are guided until it is done.

Each test makes its own neighbourhood, so volunteers of other tests never fit; the clock only moves forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from services.i18n import format_stamp
from storage import people
from storage.models import Concern, HelpRequest, OutboxMessage, RequestOffer
from tests.e2e.care_world import local_now, move_to, quiet_world, reset_group
from tests.e2e.harness import Chat, Harness, expect, seen, tr
from tests.e2e.request_world import (
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
    tag,
)


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_requests(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_requests(harness)


def test_the_whole_life_of_a_request_in_english(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Lindenwijk {tag()}")
    family = new_family(coordinator, person, "Amira", area)
    bram = new_volunteer(coordinator, person, "Bram", area, ["Groceries"])
    cleo = new_volunteer(coordinator, person, "Cleo", area, ["Groceries", "A meal"])
    elsewhere = new_volunteer(coordinator, person, "Dirk", new_area(harness, f"Elders {tag()}"), ["Groceries"])

    asked = ask(
        family, "groceries", street="Lindenlaan 4", share_phone=True, note="Two bags of rice, the shop is closed"
    )
    expect(asked.replies, "Sent! We are asking volunteers nearby")
    request = last_request(harness, family)
    assert request.status == "open" and request.note == "Two bags of rice, the shop is closed"
    with harness.session() as session:
        profile = people.get_family(session=session, person_id=request.family_id)
    assert profile is not None and profile.street == "Lindenlaan 4" and profile.share_phone and profile.phone

    # Both fitting volunteers get a short summary, never the address, phone or note; nobody elsewhere does.
    harness.settle()
    for volunteer in (bram, cleo):
        offer = offers_to(volunteer)[-1]
        assert "Amira in Lindenwijk" in seen(offer.text) and "Groceries" in offer.text
        assert "Lindenlaan" not in offer.text and "rice" not in offer.text and "+31" not in offer.text
        assert [label for row in offer.buttons for label in row] == ["✅ Accept", "Not this time"]
    assert not offers_to(elsewhere)

    replies = bram.tap("✅ Accept", message=offers_to(bram)[-1])
    details = expect(replies, "Thank you for helping!", "Address: Lindenlaan 4", "rice")
    assert "Phone: +31" in details
    assert "You accepted this" in (offers_to(bram)[-1].text or "") and not offers_to(bram)[-1].buttons
    harness.settle()
    expect(family.texts(), "Good news: Bram will help you")
    withdrawn = offers_to(cleo)[-1]
    assert "Already taken by someone else" in withdrawn.text and not withdrawn.buttons
    assert "Lindenlaan" not in withdrawn.text

    family.say("/menu")
    expect(family.tap("My requests"), "Groceries", "accepted by Bram")

    # The day before at 18:00 both are reminded; the volunteer again with the address.
    move_to(harness, local_now(harness).replace(hour=18, minute=0))
    harness.tick()
    expect(bram.texts(), "A reminder of the task you accepted", "Lindenlaan 4")
    expect(family.texts(), "A reminder: Bram comes to help you")

    # After the task (ends Tuesday 22:00), both are asked the next morning whether it happened.
    move_to(harness, local_now(harness).replace(hour=10, minute=1) + timedelta(days=2))
    harness.tick()
    expect([bram.last.text], "Did this go ahead, with Amira?")
    expect([family.last.text], "Did this go ahead, with Bram?")
    expect(bram.tap("✅ Yes, it happened"), "How did it go?")
    expect(bram.tap("😊 Good"), "anything your coordinator should know")
    expect(bram.tap("👍 No, all fine"), "Thank you for helping!")
    assert last_request(harness, family).status == "done"
    expect(family.tap("✅ Yes, it happened"), "How did it go?")
    expect(family.tap("😊 Good"), "Would you like to thank Bram?")
    expect(family.tap("💛 Say thank you"), "We passed on your thanks to Bram")
    harness.settle()
    expect(bram.texts(), "Amira says thank you for your help")
    family.say("/menu")
    replies = family.tap("My requests")
    expect(replies, "Groceries", "done")
    assert "💛 Thank Bram" not in family.last_buttons()

    # Retention: the free text goes after the retention period; the figures stay. (Everybody's check-ins are
    # quieted first, so the jump in time does not flood the coordinator with other tests' due work.)
    quiet_world(harness)
    move_to(harness, harness.clock.now() + timedelta(days=harness.settings.request_retention_days + 1))
    harness.tick()
    purged = last_request(harness, family)
    assert purged.note is None and purged.text_purged_at is not None
    assert purged.kind == "groceries" and purged.status == "done"
    with harness.session() as session:
        reminders = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith(f"remind:request.remind:{purged.id}:"))
        ).all()
    # Our copies of the reminders go too: emptied with the request's text, or deleted by the retention job.
    assert all(row.payload == {} for row in reminders), "our copies of the reminders go too"


def test_the_whole_life_of_a_request_in_dutch(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> None:
    area = new_area(harness, f"Kerkbuurt {tag()}")
    family = new_family(coordinator, person, "Sanne", area, language="nl")
    joost = new_volunteer(coordinator, person, "Joost", area, ["Company or a walk"], language="nl")

    asked = ask(family, "company", language="nl", children=False, street="Kerkstraat 1", voice_note=True)
    sent = (
        "Sent! We are asking volunteers nearby. You will get a message as soon as someone accepts. "
        "You can see your requests under /menu, My requests."
    )
    assert tr("nl", sent) != sent
    expect(asked.replies, tr("nl", sent))
    harness.settle()
    offer = offers_to(joost)[-1]
    assert tr("nl", "✅ Accept") in [label for row in offer.buttons for label in row]
    assert "Sanne" in offer.text and "Kerkstraat" not in offer.text
    replies = joost.tap(tr("nl", "✅ Accept"), message=offer)
    expect(replies, "Kerkstraat 1", "🎤 Sanne")
    assert "voice" in joost.last.raw, "the family's voice note follows the details, only to this volunteer"
    harness.settle()
    expect(family.texts(), "Joost")
    assert tr("nl", "🎉 Good news: {volunteer} will help you.") != "🎉 Good news: {volunteer} will help you."
    expect(family.texts(), tr("nl", "🎉 Good news: {volunteer} will help you.").split("{")[0])

    move_to(harness, local_now(harness).replace(hour=10, minute=1) + timedelta(days=2))
    harness.tick()
    expect(joost.tap(tr("nl", "✅ Yes, it happened")), tr("nl", "Thank you! How did it go?"))
    expect(family.tap(tr("nl", "✅ Yes, it happened")), tr("nl", "Thank you! How did it go?"))
    assert last_request(harness, family).status == "done"


def test_no_fitting_volunteer_goes_to_the_coordinator_who_places_it_by_name(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Leegveld {tag()}")
    family = new_family(coordinator, person, "Fenna", area)
    helper = new_volunteer(coordinator, person, "Gijs", new_area(harness, f"Overkant {tag()}"), ["Groceries"])
    before = len(coordinator.user.messages)

    asked = ask(family, "groceries")
    expect(asked.replies, "no volunteer nearby fits this", "coordinator")
    harness.settle()
    alert = expect(coordinator.texts()[before:], "No volunteer fits this request of Fenna")
    assert "Groceries" in alert
    assert not offers_to(helper)

    replies = coordinator.tap("📌 Ask a volunteer yourself")
    expect(replies, "Whom shall we ask?")
    assert "Gijs" in coordinator.last_buttons(), "a volunteer from another neighbourhood may be asked by name"
    expect(coordinator.tap("Gijs"), "We asked Gijs")
    harness.settle()
    offer = offers_to(helper)[-1]
    assert "Coco asks whether you could help with this" in seen(offer.text)
    helper.tap("✅ Accept", message=offer)
    harness.settle()
    expect(coordinator.texts(), "Gijs accepted the request of Fenna")
    expect(family.texts(), "Good news: Gijs will help you")
    assert last_request(harness, family).assigned_volunteer_id == person_id(harness, helper)


def test_two_volunteers_tapping_accept_at_once_give_one_assignment(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Dubbel {tag()}")
    family = new_family(coordinator, person, "Hana", area)
    ida = new_volunteer(coordinator, person, "Ida", area, ["A meal"])
    jan = new_volunteer(coordinator, person, "Jan", area, ["A meal"])
    ask(family, "meal")
    harness.settle()
    ida_offer, jan_offer = offers_to(ida)[-1], offers_to(jan)[-1]

    # Both tap before the bot handled either tap, and Ida taps twice.
    ida.user.press("✅ Accept", message=ida_offer)
    jan.user.press("✅ Accept", message=jan_offer)
    ida.user.press_raw(ida_offer, ida_offer.callback_data[0][0])
    harness.settle()

    request = last_request(harness, family)
    assert request.status == "accepted"
    winner, _loser = (ida, jan) if request.assigned_volunteer_id == person_id(harness, ida) else (jan, ida)
    assert winner is ida, "the first tap handled wins"
    assert jan.user.callback_answers[-1] == "Already taken, thank you!"
    assert ida.user.callback_answers[-1] == "You already accepted this. Thank you!"
    assert "Already taken by someone else" in (offers_to(jan)[-1].text or "") and not offers_to(jan)[-1].buttons
    assert sum("Thank you for helping!" in text for text in ida.texts()) == 1
    assert sum("Good news" in text for text in family.texts()) == 1
    # Jan's late tap and the withdrawal both set his message to the same text; whichever came second got
    # Telegram's "message is not modified", which is nobody's concern: no coordinator is alerted.
    not_modified = [
        rejection
        for rejection in harness.sandbox.rejections
        if "not modified" in rejection.reason and str(rejection.params.get("chat_id")) == str(jan.id)
    ]
    assert len(not_modified) == 1
    assert not any("could not be delivered" in text for text in coordinator.texts())
    with harness.session() as session:
        accepted = session.exec(
            select(RequestOffer).where(RequestOffer.request_id == request.id, RequestOffer.response == "accepted")
        ).all()
    assert len(accepted) == 1


def test_a_family_cancels_and_the_volunteer_is_told(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Stopwijk {tag()}")
    family = new_family(coordinator, person, "Kim", area)
    lotte = new_volunteer(coordinator, person, "Lotte", area, ["A ride"])
    ask(family, "lift", children=False, destination="the hospital")
    harness.settle()
    offer = offers_to(lotte)[-1].text
    assert "Lift to: the hospital" in offer, "where the lift goes is shown before accepting"
    expect(lotte.tap("✅ Accept", message=offers_to(lotte)[-1]), "Lift to: the hospital")
    family.say("/menu")
    family.tap("My requests")
    starts_at = last_request(harness, family).starts_at
    assert starts_at is not None
    when = format_stamp(starts_at, "Europe/Amsterdam", "en")
    expect(family.tap(f"✖️ Cancel: {kind_button('lift', 'en')}, {when}"), "Cancel this request?")
    expect(family.tap("Yes, cancel it"), "Your request is cancelled")
    harness.settle()
    expect(lotte.texts(), "Kim cancelled this request; you do not need to go")
    assert last_request(harness, family).status == "cancelled"
    # The cancel button pressed again (a stale message) changes nothing.
    family.user.press_raw(family.last, f"rq:cxy:{last_request(harness, family).id}")
    harness.settle()
    assert family.user.callback_answers[-1] == "This request was already closed."


def test_an_unanswered_request_is_raised_then_expires(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Stilte {tag()}")
    family = new_family(coordinator, person, "Maud", area)
    nina = new_volunteer(coordinator, person, "Nina", area, ["Small chores"])
    ask(family, "chores")
    harness.settle()
    expect(nina.tap("Not this time", message=offers_to(nina)[-1]), "") if False else nina.tap(
        "Not this time", message=offers_to(nina)[-1]
    )
    assert "You passed on this one" in (offers_to(nina)[-1].text or "")
    before = len(coordinator.user.messages)

    # 12 hours before Tuesday 18:00 nobody has accepted: the family's coordinator hears of it.
    move_to(harness, local_now(harness).replace(hour=6) + timedelta(days=1, minutes=1))
    harness.tick()
    expect(coordinator.texts()[before:], "Nobody has accepted this request of Maud yet (asked: 1)")
    coordinator.say("/requests")
    expect(coordinator.texts()[-1:], "Maud", "Small chores")

    # After its end (Tuesday 22:00) it expires: the family is told, and it is no longer open.
    move_to(harness, local_now(harness).replace(hour=22, minute=5))
    harness.tick()
    expect(family.texts(), "Sadly nobody could take this request in time")
    assert last_request(harness, family).status == "expired"
    family.say("/menu")
    expect(family.tap("My requests"), "expired")


def test_forged_and_stale_buttons_change_nothing(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Vals {tag()}")
    family = new_family(coordinator, person, "Olga", area)
    other_family = new_family(coordinator, person, "Pieter", area)
    piet = new_volunteer(coordinator, person, "Quinn", area, ["Groceries"])
    rosa = new_volunteer(coordinator, person, "Rosa", area, ["A meal"])
    ask(family, "groceries")
    ask(other_family, "meal")
    harness.settle()
    request = last_request(harness, family)
    with harness.session() as session:
        quinn_offer = session.exec(select(RequestOffer).where(RequestOffer.request_id == request.id)).one()

    # Rosa forges Quinn's offer id; a family forges coordinator and volunteer buttons; junk and huge ids.
    forged = [
        (rosa, f"vo:acc:{quinn_offer.id}"),
        (rosa, "vo:acc:999999999"),
        (rosa, "vo:acc:1e9"),
        (other_family, f"rq:cxy:{request.id}"),
        (other_family, f"td:{request.id}:done"),
        (other_family, f"ap:pv:{request.id}:{person_id(harness, rosa)}"),
        (other_family, f"rq:for:{person_id(harness, family)}"),
        (rosa, f"ap:ok:{person_id(harness, rosa)}"),
        (rosa, f"vt:cxy:{request.id}"),
        (other_family, "vo:acc:" + "9" * 30),
        (other_family, "db:1:r:good:x:y"),
    ]
    for chat, data in forged:
        before = len(chat.user.callback_answers)
        chat.user.press_raw(chat.user.messages[-1], data)
        harness.settle()
        answers = chat.user.callback_answers[before:]
        assert answers and "no longer works" in answers[-1], (data, answers)
    stored = last_request(harness, family)
    assert stored.status == "open" and stored.assigned_volunteer_id is None
    assert offered_ids(harness, request.id or 0) == {person_id(harness, piet)}
    rosa_id = person_id(harness, rosa)
    with harness.session() as session:
        rosa_profile = people.get_volunteer(session=session, person_id=rosa_id)
    assert rosa_profile is not None and rosa_profile.status == "approved" and rosa_profile.approved_by_id != rosa_id


def test_a_child_related_request_goes_only_to_volunteers_approved_for_children(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Kinderrijk {tag()}")
    family = new_family(coordinator, person, "Sara", area)
    trusted = new_volunteer(coordinator, person, "Tom", area, ["Babysitting", "A ride"], vog_age_days=100)
    no_vog = new_volunteer(coordinator, person, "Uma", area, ["Babysitting", "A ride"], vog_age_days=None)
    adults_only = new_volunteer(coordinator, person, "Vera", area, ["Babysitting", "A ride"], children=False)

    ask(family, "babysitting")
    harness.settle()
    assert offers_to(trusted) and not offers_to(no_vog) and not offers_to(adults_only)

    # A lift is for everyone, until the family says it is for a child.
    ask(family, "lift", children=True, destination="school")
    harness.settle()
    assert len(offers_to(trusted)) == 2 and not offers_to(no_vog) and not offers_to(adults_only)
    ask(family, "lift", children=False, destination="the market")
    harness.settle()
    assert len(offers_to(trusted)) == 3 and offers_to(no_vog) and offers_to(adults_only)

    # A coordinator placing the babysitting by name is offered only volunteers approved for children.
    request = last_request(harness, family)
    with harness.session() as session:
        babysitting = session.exec(
            select(HelpRequest).where(HelpRequest.family_id == request.family_id, HelpRequest.kind == "babysitting")
        ).one()
    coordinator.user.press_raw(coordinator.last, f"ap:place:{babysitting.id}")
    harness.settle()
    buttons = coordinator.last_buttons()
    assert any("Tom" in label for label in buttons) and not any("Uma" in label or "Vera" in label for label in buttons)
    coordinator.user.press_raw(coordinator.last, f"ap:pv:{babysitting.id}:{person_id(harness, no_vog)}")
    harness.settle()
    assert seen(coordinator.user.callback_answers[-1]) == "Uma may not do this task."
    assert person_id(harness, no_vog) not in offered_ids(harness, babysitting.id or 0)


def test_the_support_volunteer_is_asked_first_then_the_others(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Steun {tag()}")
    family = new_family(coordinator, person, "Wiesje", area)
    namesake = new_area(harness, f"Elders {tag()}")
    new_family(coordinator, person, "Wiesje", namesake)  # two families of one name: the list tells them apart
    support = new_volunteer(coordinator, person, "Xander", area, ["Homework help"])
    other = new_volunteer(coordinator, person, "Yara", area, ["Homework help"])

    coordinator.say("/menu")
    replies = coordinator.tap("Support pairs")
    while f"🤝 Wiesje · {area}" not in coordinator.last_buttons() and "More ▶" in coordinator.last_buttons():
        replies = coordinator.tap("More ▶")  # a coordinator with many families pages, as a person would
    expect(replies, "Wiesje")
    assert f"🤝 Wiesje · {namesake}" in coordinator.last_buttons()
    expect(coordinator.tap(f"🤝 Wiesje · {area}"), "Who will be the support volunteer of Wiesje?")
    expect(coordinator.tap("Xander"), "Xander is now the support volunteer of Wiesje")
    harness.settle()
    expect(support.texts(), "You are now the support volunteer of Wies")
    expect(family.texts(), "Xander is now your support volunteer")

    ask(family, "homework", day="Tomorrow")
    harness.settle()
    assert "The family you support asks you first" in offers_to(support)[-1].text
    assert not offers_to(other)
    harness.advance(hours=harness.settings.request_support_wait_hours, minutes=1)
    harness.tick()
    assert offers_to(other), "after the support volunteer's head start the others are asked"


def test_a_coordinator_asks_on_a_familys_behalf(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Namens {tag()}")
    family = new_family(coordinator, person, "Zoë", area, language="nl")
    helper = new_volunteer(coordinator, person, "Abel", area, ["Groceries"])
    coordinator.say("/menu")
    coordinator.tap("Ask help for a family")
    while "Zoë" not in coordinator.last_buttons() and "More ▶" in coordinator.last_buttons():
        coordinator.tap("More ▶")  # a coordinator with many families pages, as a person would
    replies = coordinator.tap("Zoë")
    expect(replies, "A request on behalf of Zoë")
    expect(replies, "What would you like help with?")
    coordinator.tap(kind_button("groceries", "en"))
    coordinator.tap("Tomorrow")
    coordinator.say("10:30-11:30")
    expect(coordinator.tap("Skip"), "For: Zoë")
    expect(coordinator.tap("✅ Send"), "You will hear when a volunteer accepts")
    harness.settle()
    expect(family.texts(), tr("nl", "📝 {coordinator} asked for help for you:").split("{")[0])
    assert offers_to(helper)
    request = last_request(harness, family)
    assert request.created_by_id == person_id(harness, coordinator) and request.family_id == person_id(harness, family)


def test_a_family_gives_something_back(harness: Harness, coordinator: Chat, person: Callable[..., Chat]) -> None:
    area = new_area(harness, f"Geven {tag()}")
    family = new_family(coordinator, person, "Bo", area)
    before = len(coordinator.user.messages)
    family.say("/menu")
    expect(family.tap("💛 Offer something back"), "What could you offer?")
    expect(family.tap(kind_button("meal", "en")), "Who would you like to offer it to?")
    expect(family.tap("To someone in the neighbourhood"), "Your coordinator will get in touch")
    harness.settle()
    expect(coordinator.texts()[before:], "Bo would like to help someone in the neighbourhood", "A meal")


def test_a_volunteer_raises_a_concern_in_the_debrief(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Zorg {tag()}")
    family = new_family(coordinator, person, "Cas", area)
    helper = new_volunteer(coordinator, person, "Dana", area, ["Company or a walk"])
    ask(family, "company", children=False)
    harness.settle()
    helper.tap("✅ Accept", message=offers_to(helper)[-1])
    move_to(harness, local_now(harness).replace(hour=10, minute=1) + timedelta(days=2))
    harness.tick()
    expect(helper.tap("✖️ It did not happen"), "Thank you for letting us know")
    assert last_request(harness, family).status == "not_happened"
    expect(helper.tap("🔔 I am worried about something"), "A coordinator will get in touch with you soon")
    harness.settle()
    family_id, helper_id = person_id(harness, family), person_id(harness, helper)
    with harness.session() as session:
        concern = session.exec(
            select(Concern).where(Concern.family_id == family_id, Concern.source == "volunteer")
        ).first()
    assert concern is not None and concern.raised_by_id == helper_id
    # The family's own answer comes later and does not change the outcome.
    expect(family.tap("✅ Yes, it happened"), "How did it go?")
    assert last_request(harness, family).status == "not_happened"
