"""What a family (or volunteer) is told about their message: passed on, kept, when they hear back, the numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain import escalation as rules
from domain.urgent import SAFETY_NUMBERS, SafetyNumber, numbers_for
from domain.urgent_terms import UrgentCategory
from services.concerns import family_policy
from services.context import Services
from services.i18n import _, format_when, h, hi
from storage.db import Session
from storage.models import Person


def number_line(number: SafetyNumber) -> str:
    """One safety number, with what it is for."""
    if number.key == "emergency":
        return _("🚨 In danger right now: call {number}.").format(number=hi(number.number))
    if number.key == "veilig_thuis":
        return _(
            "🏠 Violence or abuse at home, or worried about a child: {name}, {number} (free, day and night)."
        ).format(name=h(number.name), number=hi(number.number))
    return _("💬 Thinking about suicide: {name}, call {short} or {number} (free, day and night).").format(
        name=h(number.name), short=hi(number.short_number or ""), number=hi(number.number)
    )


def safety_numbers_text(categories: Sequence[UrgentCategory] = ()) -> str:
    """Every safety number, the ones that fit these categories first."""
    first = list(numbers_for(categories))
    rest = [number for number in SAFETY_NUMBERS.values() if number not in first]
    return "\n".join(number_line(number) for number in first + rest)


def waiting_text() -> str:
    """The truth when no coordinator can receive a concern yet: it is kept, and the numbers for now."""
    return (
        _(
            "No coordinator is available through the bot yet. Your message is kept and will reach the first "
            "coordinator who is; I will tell you when it has."
        )
        + "\n\n"
        + _("If it cannot wait:")
        + "\n"
        + safety_numbers_text()
    )


def when_seen_text(
    services: Services,
    person: Person,
    now: datetime,
    *,
    urgent: bool,
    waiting: bool = False,
    session: Session | None = None,
) -> str:
    """What the family is told about when a coordinator will see the message (the truth when nobody can).

    With a session, the office hours are those of the person's team (`concerns.family_policy`)."""
    if waiting:
        return waiting_text()
    pol = family_policy(services, session, person.id)
    in_office = rules.is_office_hours(now, pol)
    if urgent:
        if in_office:
            return _("The coordinators have been alerted right away.")
        return _(
            "The coordinators have been alerted. It is outside office hours, so they may only see it by {when}."
        ).format(when=h(format_when(rules.next_office_open(now, pol), person.timezone, person.language)))
    when = h(format_when(rules.expected_contact_by(now, pol), person.timezone, person.language))
    if in_office:
        return _("A coordinator will contact you by {when}.").format(when=when)
    return _("It is outside office hours now. A coordinator will see your message and contact you by {when}.").format(
        when=when
    )


def passed_on_text(
    services: Services,
    person: Person,
    now: datetime,
    *,
    new: bool,
    waiting: bool = False,
    session: Session | None = None,
) -> str:
    """The family's confirmation: passed on, when they will hear back, and out of hours the numbers.

    While the concern waits for a coordinator who can receive it, the family hears exactly that.
    """
    if waiting:
        if not new:
            return _("✓ Kept with your earlier message. It will reach the first coordinator who is available.")
        return waiting_text()
    if not new:
        return _("✓ Passed on to your coordinator.")
    seen = when_seen_text(services, person, now, urgent=False, session=session)
    lines = [_("✓ I have passed this on to your coordinator."), seen]
    if not rules.is_office_hours(now, family_policy(services, session, person.id)):
        lines.append(_("If it cannot wait:") + "\n" + safety_numbers_text())
    lines.append(_("You can send more (text, a voice note or a photo); I will pass it on too."))
    return "\n\n".join(lines)


def urgent_outcome_text(
    services: Services,
    person: Person,
    now: datetime,
    *,
    consented: bool,
    alerted: bool,
    waiting: bool = False,
    session: Session | None = None,
) -> str:
    """What the person is told after the numbers: only what happened."""
    if waiting and consented:
        return _(
            "No coordinator is available through the bot yet. Your message is kept and will reach the first "
            "coordinator who is. Please call the numbers above if you or someone else is in danger."
        )
    if not alerted:
        return _("I could not reach a coordinator just now. Please call one of these numbers.")
    if not consented:
        return _(
            "You have not signed up, so I did not pass on what you wrote. I have told the coordinators that "
            "someone here may be in danger; a coordinator may write to you in this chat."
        )
    return (
        _("I have passed your message on to the coordinators.")
        + " "
        + when_seen_text(services, person, now, urgent=True, session=session)
    )


def bot_cannot_help_text() -> str:
    """The first line of every safety answer."""
    return _("I am a bot, so I cannot help you myself. Please call now if you or someone else is in danger:")


def slowed_text() -> str:
    """The one notice a person gets when their messages are relayed more slowly than they write them."""
    return "\n\n".join(
        [
            _(
                "You are sending a lot at once, so I am passing your messages on a little more slowly. "
                "None are lost: your coordinator gets every one, in the order you sent them."
            ),
            _("If it cannot wait:") + "\n" + safety_numbers_text(),
        ]
    )


def not_reached_text(name: str) -> str:
    """For a coordinator: their message could not reach this person."""
    return _(
        "✗ Not delivered: {name} can no longer be reached through the bot (blocked it or left Telegram). "
        "Please get in touch another way."
    ).format(name=hi(name))


def urgent_needs_note_text() -> str:
    """For a coordinator closing an urgent concern without a note."""
    return _("An urgent concern is closed only with a short note of what was done. Please write one.")
