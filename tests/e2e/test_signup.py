"""Sign-up, consent, invites, privacy rights and bad input, through the real Bot API protocol."""

from __future__ import annotations

import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlmodel import select

from services.i18n import format_moment
from storage.models import FamilyProfile, Invite, Person, VolunteerArea, VolunteerProfile, VolunteerSkill
from storage.privacy import EXPORT_POLICY
from tests.e2e.harness import Chat, Harness, expect, seen, tr
from tests.e2e.request_world import new_area, tag

HOSTILE_NAME = "<b>Ali & Co</b>"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def sign_up_family(chat: Chat, name: str, language: str = "en", area: str | None = None) -> list[str]:
    chat.say("/start")
    chat.tap(tr(language, "We are a family"))
    chat.tap(tr(language, "Yes, I agree"))
    chat.say(name)
    chat.tap(area or tr(language, "My neighbourhood is not listed"))
    chat.tap("2")
    return chat.say("4, 7")


def asked(chat: Chat, question: str) -> str:
    """The latest bot message that asked this, as its reader sees it now (after any edits)."""
    return next(seen(m.text or "") for m in reversed(chat.user.messages) if question in seen(m.text or ""))


def chosen(language: str, label: str) -> str:
    """The line a retired question keeps: what was tapped, in the reader's language."""
    return tr(language, "→ {choice}").format(choice=label)


def test_family_signs_up_in_english(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Mira", language_code="en-GB")
    replies = chat.say("/start")
    expect(replies, "Hello! I am Waakvlam")
    assert "We are a family" in chat.last_buttons() and "🌐 Other language" in chat.last_buttons()
    assert harness.person(chat.id).consent_at is None
    replies = chat.tap("We are a family")
    expect(replies, "What we store", "Do you agree")
    replies = chat.tap("Yes, I agree")
    expect(replies, "What name shall we call you by?")
    replies = chat.say("Mira")
    expect(replies, "Nice to meet you, Mira")
    expect(replies, "Which neighbourhood")
    chat.tap("My neighbourhood is not listed")
    replies = chat.tap("2")
    expect(replies, "How old are they?")
    replies = chat.say("4, 7")
    expect(replies, "All set, Mira!")
    expect(replies, "What would you like to do?")
    with harness.session() as session:
        stored = session.exec(select(Person).where(Person.telegram_id == chat.id)).one()
        family = session.get(FamilyProfile, stored.id)
    assert stored.language == "en" and stored.role == "family" and stored.consent_version
    assert family is not None and family.children_count == 2 and family.children_ages == "4,7"


def test_family_signs_up_in_dutch_from_a_regional_language_code(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Sanne", language_code="nl-NL")
    replies = chat.say("/start")
    expect(
        replies,
        tr(
            "nl",
            "Hello! I am Waakvlam, the neighbourhood help assistant. I help you find a hand nearby "
            "and stay in touch with your coordinator.",
        ),
    )
    replies = sign_up_family(chat, "Sanne", language="nl")
    expect(replies, tr("nl", "What would you like to do?"))
    assert tr("nl", "What would you like to do?") != "What would you like to do?"
    assert harness.person(chat.id).language == "nl"


def test_no_language_code_means_dutch_and_language_can_be_changed(
    person: Callable[..., Chat], harness: Harness
) -> None:
    chat = person("Noor", language_code=None, username=None, last_name=None)
    chat.say("/start")
    assert harness.person(chat.id).language == "nl"
    chat.tap(tr("nl", "🌐 Other language"))
    replies = chat.tap("English")
    expect(replies, "From now on I will write in this language: English.")
    assert harness.person(chat.id).language == "en"
    expect(replies, "Are you signing up as a family"), "sign-up goes on at once, in the chosen language"
    assert asked(chat, tr("nl", "Which language do you want?")).endswith(chosen("nl", "English"))
    replies = chat.say("/start")
    expect(replies, "Let us continue where you were")
    expect(replies, "Are you signing up as a family")


def invite_for(coordinator: Chat, role: str = "A family") -> str:
    coordinator.say("/invite")
    return expect(coordinator.tap(role), "t.me/").split("?start=")[1].split()[0]


def test_an_invite_opened_in_a_language_we_do_not_ship_asks_for_the_language_first(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    link = invite_for(coordinator)
    family = person("Hodan", language_code="so")
    replies = family.say(f"/start {link}")
    expect(replies, tr("nl", "Which language do you want?"))
    assert not any("<b>" in text or tr("nl", "Do you agree that we store this?") in text for text in replies)
    assert {"English", "العربية", "Nederlands"} <= set(family.last_buttons())
    replies = family.tap("English")
    expect(replies, "From now on I will write in this language: English.")
    expect(replies, "What we store", "Do you agree"), "the invite is kept through the choice: no role question"
    assert not any("Are you signing up" in text for text in replies)
    family.tap("Yes, I agree")
    family.say("Hodan")
    family.tap("My neighbourhood is not listed")
    expect(family.tap("0"), "All set, Hodan!")
    with harness.session() as session:
        stored = session.exec(select(Person).where(Person.telegram_id == family.id)).one()
        profile = session.get(FamilyProfile, stored.id)
    assert stored.language == "en" and stored.role == "family"
    assert profile is not None and profile.primary_coordinator_id == harness.person(coordinator.id).id

    # The invite is checked again after the choice: used by someone else meanwhile, it grants nothing.
    link = invite_for(coordinator, "A coordinator")
    slow = person("Noa", language_code=None)
    expect(slow.say(f"/start {link}"), tr("nl", "Which language do you want?"))
    quick = person("Quin", language_code="en")
    quick.say(f"/start {link}")
    quick.tap("Yes, I agree")
    expect(quick.say("Quin"), "Welcome to the team, Quin")
    replies = slow.tap("Polski")
    expect(replies, tr("pl", "From now on I will write in this language: {language}.").format(language="Polski"))
    used = (
        "This invite link has already been used. Ask your coordinator for a new one. You can also sign up without it."
    )
    expect(replies, tr("pl", used))
    expect(
        replies, tr("pl", "Are you signing up as a family that could use a hand, or as a neighbour who wants to help?")
    )
    slow.tap(tr("pl", "We are a family"))
    slow.tap(tr("pl", "Yes, I agree"))
    slow.say("Noa")
    assert harness.person(slow.id).role == "family", "not a coordinator through a used link"


def test_refusing_consent_stores_nothing_but_the_language(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Bo", language_code="en")
    chat.say("/start")
    chat.tap("I want to help")
    replies = chat.tap("No, thank you")
    expect(replies, "stored nothing about you except your language")
    stored = harness.person(chat.id)
    assert stored.consent_at is None and stored.role is None and stored.display_name is None
    replies = chat.say("/mydata")
    expect(replies, "except your language choice (English)")


def test_volunteer_signs_up_and_waits_for_approval(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    with harness.session() as session:
        from storage import people

        people.add_area(session=session, name="Poort", now=harness.clock.now())
    chat = person("Joost", language_code="en")
    chat.say("/start")
    chat.tap("I want to help")
    chat.tap("Yes, I agree")
    chat.say("Joost")
    expect([chat.last.text], "Which neighbourhoods")
    chat.tap("▫️ Poort")
    assert "✅ Poort" in chat.last_buttons(), "the toggle shows the choice"
    chat.tap("Done")
    assert asked(chat, "Which neighbourhoods").endswith(chosen("en", "Poort")), "Done keeps what was ticked"
    chat.tap("▫️ Babysitting")
    chat.tap("▫️ Groceries")
    chat.tap("Done")
    assert asked(chat, "What can you help with?").endswith(chosen("en", "Babysitting, Groceries"))
    replies = chat.tap("Done")
    expect(replies, "Please choose at least one") if replies else None
    chat.tap("▫️ Weekday evenings")
    chat.tap("Done")
    chat.tap("▫️ Nederlands")
    chat.tap("▫️ English")
    replies = chat.tap("Done")
    expect(replies, "intake", "VOG")
    with harness.session() as session:
        stored = session.exec(select(Person).where(Person.telegram_id == chat.id)).one()
        profile = session.get(VolunteerProfile, stored.id)
        skills = set(session.exec(select(VolunteerSkill.skill).where(VolunteerSkill.volunteer_id == stored.id)))
        areas = list(session.exec(select(VolunteerArea).where(VolunteerArea.volunteer_id == stored.id)))
    assert profile is not None and profile.status == "pending"
    assert skills == {"babysitting", "groceries"} and len(areas) == 1
    assert profile.languages == "en,nl" and profile.availability != 0
    harness.settle()
    expect([m.text or "" for m in coordinator.user.messages], "New volunteer waiting for intake: Joost")


def test_hostile_name_is_escaped_everywhere_it_is_shown(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    chat = person(HOSTILE_NAME, language_code="en")
    chat.say("/start")
    chat.tap("We are a family")
    chat.tap("Yes, I agree")
    replies = chat.say(HOSTILE_NAME)
    expect(replies, f"Nice to meet you, {HOSTILE_NAME}")
    chat.tap("My neighbourhood is not listed")
    replies = chat.tap("0")
    expect(replies, f"All set, {HOSTILE_NAME}!")
    replies = chat.say("/mydata")
    expect(replies, f"Name: {HOSTILE_NAME}")
    replies = chat.say("/start")
    expect(replies, f"Welcome back, {HOSTILE_NAME}!")
    harness.settle()
    expect([m.text or "" for m in coordinator.user.messages], f"New family signed up: {HOSTILE_NAME}")


def test_invite_links_valid_used_expired_and_forged(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    def used_invites() -> int:
        with harness.session() as session:
            return len(session.exec(select(Invite).where(Invite.used_at.is_not(None))).all())  # type: ignore[union-attr]

    used_before = used_invites()
    coordinator.say("/invite")
    replies = coordinator.tap("A family")
    link = expect(replies, "t.me/").split("?start=")[1].split()[0]
    family = person("Lina", language_code="en")
    replies = family.say(f"/start {link}")
    expect(replies, "What we store"), "an invited family skips the role question"
    family.tap("Yes, I agree")
    family.say("Lina")
    family.tap("My neighbourhood is not listed")
    family.tap("0")
    admin = harness.person(coordinator.id)
    with harness.session() as session:
        stored = session.exec(select(Person).where(Person.telegram_id == family.id)).one()
        profile = session.get(FamilyProfile, stored.id)
    assert profile is not None and profile.primary_coordinator_id == admin.id

    second = person("Lina2", language_code="en")
    replies = second.say(f"/start {link}")
    expect(replies, "already been used")
    expect(replies, "Are you signing up as a family")

    coordinator.say("/invite")
    expired_link = expect(coordinator.tap("A volunteer"), "t.me/").split("?start=")[1].split()[0]
    harness.advance(hours=harness.settings.invite_valid_hours + 1)
    late = person("Late", language_code="en")
    expect(late.say(f"/start {expired_link}"), "has expired")

    for forged in ["iAAAAAAAAAAAAAAAAAAAAAAAAAAA", "../../etc", "i" + "x" * 80, "<b>x</b>"]:
        stranger = person("Eve", language_code="en")
        expect(stranger.say(f"/start {forged}"), "not valid")
    assert used_invites() == used_before + 1, "only the one valid link was used; the others granted nothing"


def test_coordinator_invite_needs_admin_and_makes_a_coordinator(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    coordinator.say("/invite")
    link = expect(coordinator.tap("A coordinator"), "t.me/").split("?start=")[1].split()[0]
    colleague = person("Kim", language_code="en")
    colleague.say(f"/start {link}")
    colleague.tap("Yes, I agree")
    replies = colleague.say("Kim")
    expect(replies, "Welcome to the team, Kim")
    assert harness.person(colleague.id).role == "coordinator"
    # A coordinator without admin rights cannot invite coordinators; a forged button changes nothing.
    colleague.say("/invite")
    assert "A coordinator" not in colleague.last_buttons()
    colleague.user.press_raw(colleague.last, "inv:coordinator")
    harness.settle()
    assert "You cannot create this invite." in colleague.user.callback_answers[-1]


def test_each_question_keeps_the_answer_tapped_escaped_and_in_the_readers_language(
    person: Callable[..., Chat], harness: Harness
) -> None:
    area = new_area(harness, f"<b>Oost & Zuid {tag()}")
    chat = person("Yusuf", language_code="tr")
    role_question = "Are you signing up as a family that could use a hand, or as a neighbour who wants to help?"
    chat.say("/start")
    chat.tap(tr("tr", "We are a family"))
    assert asked(chat, tr("tr", role_question)).endswith(chosen("tr", tr("tr", "We are a family")))
    assert not chat.user.messages[-2].buttons, "the buttons are gone, so nothing is tapped twice"
    chat.tap(tr("tr", "Yes, I agree"))
    notice = next(m for m in reversed(chat.user.messages) if tr("tr", "Do you agree that we store this?") in m.text)
    assert seen(notice.text or "").endswith(chosen("tr", tr("tr", "Yes, I agree")))
    # A notice longer than one message comes in parts cut between paragraphs; each keeps its own markup.
    index = chat.user.messages.index(notice)
    parts = [m for m in chat.user.messages[index - 1 : index + 1] if m.entities]
    assert any(entity["type"] == "bold" for m in parts for entity in m.entities), "the notice keeps its own markup"
    chat.say("Yusuf")
    chat.tap(area)
    where = next(m for m in reversed(chat.user.messages) if tr("tr", "Which neighbourhood do you live in?") in m.text)
    assert seen(where.text or "").endswith(chosen("tr", area)), "a coordinator's area name is shown as typed"
    assert "&lt;b&gt;Oost &amp; Zuid" in (where.html or ""), "and escaped"
    chat.tap("2")
    children = "How many children live with you? This helps us find the right help. You may skip this."
    assert asked(chat, tr("tr", children)).endswith(chosen("tr", "2"))
    # In Arabic the line reads right to left.
    arabic = person("Amal", language_code="ar")
    arabic.say("/start")
    arabic.tap(tr("ar", "I want to help"))
    assert asked(arabic, tr("ar", role_question)).endswith(chosen("ar", tr("ar", "I want to help")))
    assert chosen("ar", "x").startswith("←")


def test_mydata_shows_times_in_the_persons_zone_and_language(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Femke", language_code="nl")
    sign_up_family(chat, "Femke", language="nl")
    stored = harness.person(chat.id)
    assert stored.consent_at is not None and stored.timezone == "Europe/Amsterdam"
    local = format_moment(stored.consent_at, "Europe/Amsterdam", "nl")
    assert stored.consent_at.hour != stored.consent_at.astimezone(AMSTERDAM).hour, "the test needs an offset"
    replies = chat.say("/mydata")
    line = tr("nl", "Consent given: {when} (version {version})").format(
        when=local, version=harness.settings.consent_version
    )
    expect(replies, line)
    assert stored.consent_at.strftime("%H:%M") not in expect(replies, line), "not in UTC"


# What the privacy notice says for each table the export finds about a person (storage.privacy.EXPORT_POLICY).
NOTICE_FOR_TABLE = {
    "person": "your Telegram account number",
    "familyprofile": "street, house number and phone number",
    "volunteerprofile": "the date of your VOG",
    "volunteerarea": "where and when you can help",
    "volunteerskill": "with what",
    "coordinatorprofile": "your duo partner",
    "invite": "the invite links you made",
    "dialoguestate": "unfinished conversations",
    "helprequest": "your requests for help",
    "requestoffer": "the requests offered to you",
    "taskoutcome": "how they went",
    "checkin": "how often we check in with you, and your answers",
    "concern": "concerns you or others raised",
    "escalationstep": "who was told",
    "familytopic": "your own topic in the coordinators' group",
    "relaylink": "which messages were passed on",
    "timelineevent": "a timeline of what happened",
    "auditentry": "who looked at your record",
    "inboxupdate": "the messages between you and the bot",
    "outboxmessage": "the messages between you and the bot",
    "consentrequest": "what you asked colleagues to agree to",
    "scheduledjob": "planned reminders and check-ins",
    "familyquestion": "what you want to change, in your words",
    "questionlink": "which help is linked to each question",
    "questionreview": "your answers to 'does it help?'",
    "questiondecision": "what your coordinators decided about each question",
    "caseplan": "how often and when your casework meetings are",
    "caseworkmeeting": "when your casework meetings are",
    "match": "who is matched with whom",
    "matchoccurrence": "whether each time happened",
    "matchholiday": "holidays",
    "matchreview": "the reviews",
    "casestep": "the steps of your case",
    "intaketalk": "when your intake talks are",
    "referral": "who referred you",
    "matchmember": "which adults belong to it",
    "matchgiveback": "what a family offered its support volunteer",
}


def test_privacy_notice_names_everything_stored_in_every_language(person: Callable[..., Chat]) -> None:
    personal = {name for name, policy in EXPORT_POLICY.items() if policy.personal}
    assert personal == set(NOTICE_FOR_TABLE), "a table about people was added: say in the notice what it holds"
    notice = seen(expect(person("Pim", language_code="en").say("/privacy"), "What we store"))
    missing = {name: text for name, text in NOTICE_FOR_TABLE.items() if text not in notice}
    assert not missing, f"/privacy does not say it stores: {missing}"
    for language in ("nl", "ar", "tr", "pl", "uk"):
        translated = seen(expect(person("Pim", language_code=language).say("/privacy"), "VOG"))
        assert "your Telegram account number" not in translated and "For families" not in translated


def test_mydata_sends_a_readable_message_and_a_json_document(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Ada", language_code="en")
    sign_up_family(chat, "Ada")
    replies = chat.say("/mydata")
    expect(replies, "What Waakvlam stores about you", "Name: Ada", "Children: 2")
    document = chat.last
    data = json.loads(document.document_bytes)
    assert data["person"]["display_name"] == "Ada"
    assert data["family_profile"]["children_ages"] == "4,7"


def test_delete_erases_after_confirmation(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Dirk", language_code="en")
    sign_up_family(chat, "Dirk")
    expect(chat.say("/delete"), "cannot be undone")
    expect(chat.tap("No, keep it"), "Nothing was deleted")
    assert harness.person(chat.id) is not None
    chat.say("/delete")
    expect(chat.tap("Yes, delete everything"), "Your data has been deleted")
    assert harness.person(chat.id) is None
    # Pressing the old button again grants nothing and raises nothing.
    chat.user.press_raw(chat.user.messages[-2], "del:yes")
    harness.settle()
    expect(chat.say("/start"), "Hello! I am Waakvlam")


def test_bad_input_gets_a_kind_answer_and_a_way_forward(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Tess", language_code="en")
    expect(chat.say("/nonsense"), "I do not know that command", "/start")
    expect(chat.say("hello?"), "not sure what you would like", "/start")
    expect(chat.send("sticker"), "cannot do anything with this here")
    expect(chat.send("voice"), "cannot do anything with this here")
    expect(chat.send("photo"), "cannot do anything with this here")
    expect(chat.send("location", latitude=52.37, longitude=5.21), "cannot do anything with this here")
    chat.say("/start")
    chat.tap("We are a family")
    # In the middle of a dialogue: unexpected things are answered and the question asked again.
    replies = chat.send("sticker")
    expect(replies, "did not understand")
    expect(replies, "Do you agree")
    expect(chat.say("/start"), "Let us continue where you were")
    chat.tap("Yes, I agree")
    replies = chat.send("voice")
    expect(replies, "What name shall we call you by?")
    # A double tap on an old button changes nothing.
    chat.user.press_raw(chat.user.messages[0], "su:role:family")
    harness.settle()
    assert harness.person(chat.id).role == "family"
    # A button pressed days later, from a message long gone: the role is checked now, on the server.
    harness.advance(days=3)
    chat.user.press_raw(chat.user.messages[0], "menu:invite")
    harness.settle()
    assert "no longer works" in chat.user.callback_answers[-1]
    assert not any("t.me/" in text and "start=" in text for text in chat.texts()), "no invite for a family"
    expect(chat.say("/cancel"), "Stopped")
    expect(chat.say("/cancel"), "nothing to stop")


def test_edited_messages_never_rerun_anything(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Ed", language_code="en")
    sent = chat.user.send("/start")
    harness.settle()
    before = len(chat.user.messages)
    chat.user.edit(sent, "/delete")
    harness.settle()
    assert len(chat.user.messages) == before


def test_groups_other_than_the_coordinators_group_are_refused(
    sandbox: object, person: Callable[..., Chat], harness: Harness
) -> None:
    member = person("Gert", language_code="en")
    group = harness.sandbox.group(-100777, "Buurtapp", forum=False, supergroup=True)
    group.send(member.user, "/start")
    harness.settle()
    texts = [message.text or "" for message in group.messages]
    expect(texts, "only work in a private chat")
    assert harness.person(member.id) is None, "nothing is stored about people in foreign groups"


def test_a_restart_in_the_middle_of_sign_up_continues_where_it_was(
    person: Callable[..., Chat], harness: Harness
) -> None:
    chat = person("Rosa", language_code="en")
    chat.say("/start")
    chat.tap("We are a family")
    chat.tap("Yes, I agree")
    harness.stop()
    harness.start()
    replies = chat.say("Rosa")
    expect(replies, "Nice to meet you, Rosa")
    expect(replies, "Which neighbourhood")
