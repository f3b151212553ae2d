"""Names people and neighbourhoods are given: invisible ones are refused kindly, invisible edges are
stripped, and a name is always isolated (FSI ... PDI) where it reaches a message, so a bidi control in it
cannot reverse the rest of a left-to-right line."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from storage.models import Area
from tests.e2e.harness import Chat, Harness, expect

INVISIBLE_NAMES = [
    "\u200b",  # zero-width space
    "\u2060\u2060",  # word joiners
    "\ufeff",  # byte-order mark
    "\u202e",  # right-to-left override alone
    "\u200b \u200c \u200d",  # zero-width space, non-joiner, joiner
    "\u2066\u2069",  # an empty isolate
    "\u0301\u0308",  # combining marks alone
    "\u3164",  # Hangul filler: a "letter" that draws nothing
    "\u2800\u2800",  # blank Braille patterns
]
REFUSED = "Please send a name that others can read"


def start_family_sign_up(chat: Chat) -> None:
    chat.say("/start")
    chat.tap("We are a family")
    expect(chat.tap("Yes, I agree"), "What name shall we call you by?")


def test_invisible_names_are_refused_kindly_at_sign_up(person: Callable[..., Chat], harness: Harness) -> None:
    chat = person("Ghost", language_code="en")
    start_family_sign_up(chat)
    for name in INVISIBLE_NAMES:
        replies = chat.say(name)
        expect(replies, REFUSED)
        assert harness.person(chat.id).display_name is None, repr(name)
    # Invisible characters at the edges go; the name stays.
    expect(chat.say("\u200b\u2060Mira\ufeff\u202e"), "Nice to meet you, Mira.")
    assert harness.person(chat.id).display_name == "Mira"


def test_a_bidi_override_in_a_name_is_isolated_in_messages(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    name = "Ali\u202eX"
    chat = person("Ali", language_code="en")
    start_family_sign_up(chat)
    before = len(coordinator.user.messages)
    chat.say(name)
    greeting = chat.user.messages[-2].text or ""
    assert "Nice to meet you" in greeting
    assert f"\u2068{name}\u2069." in greeting, repr(greeting)
    chat.tap("My neighbourhood is not listed")
    chat.tap("0")
    harness.settle()
    # The coordinators' notice (English, left to right) isolates the name too: the override ends at the PDI.
    notice = next(m.text or "" for m in coordinator.user.messages[before:] if "New family signed up" in (m.text or ""))
    assert f"\u2068{name}\u2069" in notice, repr(notice)


def test_an_invisible_neighbourhood_name_is_refused(harness: Harness, coordinator: Chat) -> None:
    coordinator.say("/areas")
    expect(coordinator.tap("➕ Add a neighbourhood"), "Type the name of the neighbourhood")
    expect(coordinator.say("\u200b\u2060"), REFUSED)
    with harness.session() as session:
        names = [area.name for area in session.exec(select(Area)).all()]
    assert not any(not name.strip("\u200b\u2060 ") for name in names)
    expect(coordinator.say("\u200bBloemwijk-Zuid\u200b"), "Added: Bloemwijk-Zuid")
    with harness.session() as session:
        assert session.exec(select(Area).where(Area.name == "Bloemwijk-Zuid")).first() is not None
