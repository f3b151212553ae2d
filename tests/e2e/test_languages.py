"""Every shipped language end to end: sign-up, a help request and a check-in, read in the family's language.

The coordinator works in Dutch throughout: coordinators see their own language, whatever the family's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from services.i18n import (
    LANGUAGE_NAMES,
    RTL_LANGUAGES,
    first_strong_direction,
    format_day,
    language_name,
    shipped_languages,
)
from tests.e2e.care_world import (
    invite_link,
    local_now,
    new_coordinator,
    office_morning,
    quiet_world,
    reset_group,
    texts_since,
)
from tests.e2e.harness import Chat, Harness, expect, tr
from tests.e2e.request_world import (
    approve,
    ask,
    inviter_language,
    new_area,
    offers_to,
    quiet_requests,
    sign_up_volunteer,
    tag,
)

LANGUAGES = ("nl", "en", "ar", "tr", "pl", "uk")
NAMES = {"nl": "Sanne", "en": "Mira", "ar": "Amal", "tr": "Elif", "pl": "Zofia", "uk": "Oksana"}
SAMPLES = {
    "nl": "Kan iemand morgenmiddag helpen met de boodschappen? Mijn dochter is ziek en ik kan niet weg.",
    "tr": "Yarın öğleden sonra alışverişte bana yardım edebilecek biri var mı? Kızım hasta ve dışarı çıkamıyorum.",
}


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_world(harness)
    quiet_requests(harness)
    reset_group(harness)
    office_morning(harness)
    yield
    quiet_world(harness)
    quiet_requests(harness)


def translated(language: str, msgid: str) -> str:
    """The catalog's text; in any language but English it must really be a translation."""
    text = tr(language, msgid)
    if language != "en":
        assert text != msgid, f"{language} has no translation for {msgid!r}"
    return text


def test_every_language_is_shipped() -> None:
    assert set(LANGUAGES) <= set(shipped_languages())


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_up_help_request_and_check_in_in_each_language(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat], language: str
) -> None:
    name = NAMES[language]
    area = new_area(harness, f"Wijk {language} {tag()}")
    coach = new_coordinator(coordinator, person, f"Coach{language}", language="nl")

    # Sign-up through the coach's invite, with Telegram's regional language code.
    family = person(name, language_code=f"{language}-{language.upper()}")
    link = invite_link(coach, tr(inviter_language(coach), "A family"))
    replies = family.say(f"/start {link}")
    expect(replies, translated(language, "Do you agree that we store this?"))
    expect(
        family.tap(translated(language, "Yes, I agree")),
        translated(language, "What name shall we call you by? A first name is enough."),
    )
    family.say(name)
    family.tap(area)
    expect(family.tap("0"), translated(language, "What would you like to do?"))
    assert harness.person(family.id).language == language

    # A help request, offered to a volunteer who speaks the family's language, in that volunteer's language.
    helper = sign_up_volunteer(
        person, f"Helper{language}", area, ["Groceries"], language=language, languages=(LANGUAGE_NAMES[language],)
    )
    expect(approve(coordinator, f"Helper{language}", 30, True, helper), f"Helper{language} is approved")
    asked = ask(family, "groceries", language=language)
    sent = (
        "Sent! We are asking volunteers nearby. You will get a message as soon as someone accepts. "
        "You can see your requests under /menu, My requests."
    )
    expect(asked.replies, translated(language, sent))
    offer = offers_to(helper)[-1]
    tomorrow = local_now(harness).date() + timedelta(days=1)
    assert format_day(tomorrow, language) in offer.text, "the day is written in the reader's language"
    assert name in offer.text
    before = len(family.user.messages)
    helper.tap(translated(language, "✅ Accept"), message=offer)
    harness.settle()
    expect(texts_since(family, before), translated(language, "🎉 Good news: {volunteer} will help you.").split("{")[0])

    # A check-in, sent by the coach (in Dutch) and answered by the family (in their language).
    coach.say("/families")
    coach.tap_listed(name, more=translated("nl", "More ▶"))
    coach.tap(translated("nl", "📨 Send a check-in now"))
    harness.settle()
    checkin = family.last
    assert translated(language, "😊 Good") in [label for row in checkin.buttons for label in row]
    good = "Thank you, good to hear! 😊 You can always reach us through /menu."
    expect(family.tap(translated(language, "😊 Good")), translated(language, good))

    # The coach's card of this family is in Dutch, and names the family's language.
    coach.say("/families")
    card = coach.tap_listed(name, more=translated("nl", "More ▶"))
    assert translated("nl", "📨 Send a check-in now") in coach.last_buttons()
    assert any(language_name(language, "nl") in text or LANGUAGE_NAMES[language] in text for text in card), card

    if language in RTL_LANGUAGES:
        # Right-to-left: every message the family got starts (after isolated names) with Arabic text.
        for message in family.user.messages:
            if message.text:
                assert first_strong_direction(message.text) == "R", message.text[:80]


def test_free_text_in_another_language_is_offered_a_switch_and_labelled_for_the_coordinator(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    coach = new_coordinator(coordinator, person, "Coachlabel", language="nl")
    family = person("Derya", language_code="nl")
    link = invite_link(coach, tr(inviter_language(coach), "A family"))
    family.say(f"/start {link}")
    family.tap(tr("nl", "Yes, I agree"))
    family.say("Derya")
    family.tap(tr("nl", "My neighbourhood is not listed"))
    family.tap("0")

    replies = family.say(SAMPLES["tr"])
    expect(replies, tr("nl", "Shall I pass this on to your coordinator? A person will read it."))
    question = "It looks like you wrote in {language}. Shall I write to you in {language} from now on?"
    expect(replies, translated("tr", question).format(language="Türkçe"))
    assert harness.person(family.id).language == "nl", "detection never switches by itself"

    before = len(coach.user.messages)
    family.tap(tr("nl", "Yes, pass it on"))
    harness.settle()
    relayed = texts_since(coach, before)
    expect(relayed, tr("nl", "🌐 Written in {language}").format(language="Turks"))
    assert relayed[-1] == SAMPLES["tr"], "the message itself is passed on as it is"

    # Dutch text from a Dutch family: no offer, no label.
    before_family = len(family.user.messages)
    family.say(SAMPLES["nl"])
    assert not any("Türkçe" in text for text in texts_since(family, before_family))

    # Asked once, not again and again; then Yes switches the interface.
    before_family = len(family.user.messages)
    family.say(SAMPLES["tr"])
    assert not any("Türkçe" in text for text in texts_since(family, before_family))
    family.tap(translated("tr", "Yes, in {language}").format(language="Türkçe"))
    assert harness.person(family.id).language == "tr"
    expect(family.say("/menu"), translated("tr", "What would you like to do?"))
