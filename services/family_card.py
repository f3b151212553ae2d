"""A family's card for coordinators: the families they see, a family's context, check-in settings and controls.

The card shows what a coordinator needs (never message contents); its buttons change the check-in rhythm,
send a check-in now, show the answers over time and the timeline. Who becomes the family's primary
coordinator (its "I am their primary coordinator" button) is `services.coordinator_requests`. Every decision
goes through `services.permissions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domain import checkins as rules
from domain.cases import state_of
from services import concerns
from services.callbacks import Button
from services.case_texts import STATE_LABELS
from services.casework import QUESTIONS
from services.checkins import (
    DAYPART_LABELS,
    RHYTHM_BUTTONS,
    TIMELINE_LABELS,
    answer_label,
    change_rhythm,
    rhythm_sentence,
    send_checkin,
    sent_today,
    wait_for_quiet_end,
    weekday_name,
)
from services.context import Services
from services.i18n import _, format_day, format_stamp, format_when, h, hi, use_language
from services.match_management import match_lines_for_family
from services.permissions import Action, authorize, refusal_text
from services.team_admin import FAMILY_MOVE
from storage import care, people
from storage import concerns as concern_store
from storage import insight as insight_store
from storage.db import Session
from storage.models import FamilyProfile, Person, Role, TimelineEvent

Rows = list[list[tuple[str, str]]]

# The card's buttons: cr:<action>:<family>[:<value>] (FAMILY_CARD, cr:open, lives in services.concerns).
SEND_NOW = Button("cr", "now", int)
RHYTHM = Button("cr", "rh", int, str)
WEEKDAY = Button("cr", "day", int, int)
DAYPART = Button("cr", "part", int, str)
AUTO_STEP_DOWN = Button("cr", "auto", int, str)
ANSWERS = Button("cr", "ans", int)
TIMELINE = Button("cr", "tl", int)
MINE = Button("cr", "mine", int)
# The case screen (services.cases.OPEN, defined here too: services.cases builds on this module).
CASE = Button("ca", "open", int)
# /families: a page of the list.
FAMILIES_PAGE = Button("cr", "fam", int)


def _next_due(session: Session, family_id: int) -> datetime | None:
    """When the family's next rhythmic check-in is due."""
    return care.next_job_due(session=session, kind="checkin.send", subject_id=family_id)


def _card_extras(
    session: Session, services: Services, family: Person, profile: FamilyProfile, language: str
) -> list[str]:
    """The card's lines beyond the context: open concerns, the support volunteer, the latest events."""
    assert family.id is not None
    volunteer = (
        people.get_person(session=session, person_id=profile.support_volunteer_id)
        if profile.support_volunteer_id
        else None
    )
    with use_language(language):
        lines = [
            _("Open concerns: {count}").format(
                count=hi(insight_store.open_concern_count(session=session, family_id=family.id))
            ),
            _("Support volunteer: {name}").format(name=hi(concerns.name_of(volunteer)))
            if volunteer is not None
            else _("Support volunteer: none yet"),
            *match_lines_for_family(session=session, family_id=family.id, language=language),
        ]
        events = care.timeline(session=session, family_id=family.id, limit=5)
        if events:
            lines += ["", _("<b>Latest</b> (🕑 Timeline for more):")]
            lines += timeline_lines(events=events, language=language, zone=services.settings.timezone)
            lines.append("")
    return lines


def _ticked(selected: bool, label: str) -> str:
    """A button's label, ticked when it is the current setting."""
    return ("✓ " if selected else "") + label


def _controls(profile: FamilyProfile, fid: int, language: str) -> Rows:
    """The card's buttons for the check-in settings, the answers, the timeline and taking the family over."""
    auto = profile.checkin_auto_step_down
    return [
        [(_("📨 Send a check-in now"), SEND_NOW.data(fid))],
        [
            (_ticked(profile.checkin_rhythm == rhythm, _(label)), RHYTHM.data(fid, rhythm.value))
            for rhythm, label in RHYTHM_BUTTONS.items()
        ],
        [
            (
                _ticked(profile.checkin_weekday == day, weekday_name(day, language, "abbreviated")),
                WEEKDAY.data(fid, day),
            )
            for day in range(7)
        ],
        [
            (_ticked(profile.checkin_daypart == part, _(label)), DAYPART.data(fid, part.value))
            for part, label in DAYPART_LABELS.items()
        ],
        [
            (
                _("Lower automatically: on") if auto else _("Lower automatically: off"),
                AUTO_STEP_DOWN.data(fid, "off" if auto else "on"),
            )
        ],
        [(_("📈 Answers over time"), ANSWERS.data(fid)), (_("🕑 Timeline"), TIMELINE.data(fid))],
        [(_("🎯 Questions and casework"), QUESTIONS.data(fid))],
        [(_("📂 Case: {state}").format(state=_(STATE_LABELS[state_of(profile.case_state)])), CASE.data(fid))],
        [(_("🙋 I am their primary coordinator"), MINE.data(fid))],
    ]


def _admin_rows(rows: Rows, coordinator: Person, family: Person) -> Rows:
    """An admin may move the family to another team from its card (checked again when pressed)."""
    if not coordinator.is_admin or family.id is None:
        return rows
    with use_language(coordinator.language):
        return [*rows, [(_("🔀 Move to another team"), FAMILY_MOVE.data(family.id))]]


def family_card(*, session: Session, services: Services, family: Person, language: str) -> tuple[str, Rows]:
    """The family's context, check-in settings and the controls."""
    assert family.id is not None
    profile = care.get_family_profile(session=session, family_id=family.id)
    assert profile is not None
    fid = family.id
    with use_language(language):
        lines = [concerns.family_context(session, family, language)]
        lines += _card_extras(session, services, family, profile, language)
        if profile.checkin_rhythm == rules.Rhythm.OFF:
            lines.append(_("Check-ins: off."))
        else:
            lines.append(
                _("Check-ins: {rhythm}, on {weekday}, {daypart}.").format(
                    rhythm=h(rhythm_sentence(profile.checkin_rhythm)),
                    weekday=h(weekday_name(profile.checkin_weekday, language)),
                    daypart=h(_(DAYPART_LABELS[rules.Daypart(profile.checkin_daypart)]).lower()),
                )
            )
        if profile.checkin_paused_until is not None:
            lines.append(_("Paused until {day}.").format(day=h(format_day(profile.checkin_paused_until, language))))
        due = _next_due(session, fid)
        if due is not None:
            lines.append(_("Next check-in: {when}.").format(when=h(format_when(due, family.timezone, language))))
        lines.append(
            _("Lower the rhythm automatically after {count} good answers: {state}.").format(
                count=hi(services.settings.checkin_step_down_after),
                state=_("on") if profile.checkin_auto_step_down else _("off"),
            )
        )

        rows = _controls(profile, fid, language)
        # Every open concern opens from here: its card and messages, to take, answer or close it.
        rows[:0] = concerns.open_concern_rows(
            session, concern_store.open_concerns(session=session, family_id=fid, limit=5)
        )
    return "\n".join(lines), rows


def answers_text(*, session: Session, family: Person, language: str) -> str:
    """The family's latest check-in answers, oldest first, with its streaks."""
    assert family.id is not None
    profile = care.get_family_profile(session=session, family_id=family.id)
    checkins = care.recent_checkins(session=session, family_id=family.id, limit=12)
    with use_language(language):
        lines = [_("<b>Check-in answers of {name}</b>").format(name=hi(concerns.name_of(family)))]
        for checkin in reversed(checkins):
            day = h(format_day(rules.local_date(checkin.sent_at or checkin.due_at, zone=family.timezone), language))
            if checkin.answer:
                state = h(answer_label(checkin.answer))
            elif checkin.missed:
                state = _("— no answer")
            else:
                state = _("… waiting for an answer")
            lines.append(f"{day}: {state}")
        if not checkins:
            lines.append(_("No check-ins yet."))
        if profile is not None:
            lines.append(
                _("Good answers in a row: {good}. Missed in a row: {missed}.").format(
                    good=hi(profile.good_streak), missed=hi(profile.missed_checkins)
                )
            )
    return "\n".join(lines)


def timeline_lines(*, events: list[TimelineEvent], language: str, zone: str) -> list[str]:
    """One line per event, newest first: when, and what kind of thing happened (never contents)."""
    lines = []
    with use_language(language):
        for item in events:
            label = _(TIMELINE_LABELS[item.kind]) if item.kind in TIMELINE_LABELS else item.kind
            if item.kind == "checkin_answered" and item.detail.get("answer"):
                label += ": " + answer_label(str(item.detail["answer"]))
            lines.append(f"{h(format_stamp(item.at, zone, language))} · {h(label)}")
    return lines


def timeline_text(*, session: Session, family: Person, language: str, zone: str) -> str:
    """The family's timeline: the latest 30 events, newest first."""
    assert family.id is not None
    events = care.timeline(session=session, family_id=family.id, limit=30)
    with use_language(language):
        lines = [_("<b>Timeline of {name}</b>").format(name=hi(concerns.name_of(family)))]
        lines += timeline_lines(events=events, language=language, zone=zone)
        if not events:
            lines.append(_("Nothing yet."))
    return "\n".join(lines)


def send_now(*, session: Session, services: Services, family: Person, coordinator: Person, now: datetime) -> str:
    """A coordinator's 'send a check-in now': at once, or at the end of quiet hours; never twice a day."""
    assert family.id is not None
    if family.telegram_id is None or family.consent_at is None:
        return _("{name} can no longer be reached through the bot.").format(name=hi(concerns.name_of(family)))
    if sent_today(session=session, family=family, now=now) is not None:
        return _("{name} already had a check-in today.").format(name=hi(concerns.name_of(family)))
    people.audit(session=session, actor_id=coordinator.id, action="checkin_sent_now", subject_id=family.id, now=now)
    later = wait_for_quiet_end(
        session=session,
        services=services,
        family=family,
        kind="checkin.manual",
        subject_id=family.id,
        key=lambda later: f"checkin.manual:{family.id}:{later:%Y%m%d}",
        now=now,
    )
    if later is not None:
        return _("It is quiet hours for the family; the check-in goes out at {when}.").format(
            when=h(format_when(later, family.timezone, coordinator.language))
        )
    send_checkin(session=session, services=services, family=family, now=now, due_at=now, manual=True)
    return _("The check-in is on its way to {name}.").format(name=hi(concerns.name_of(family)))


@dataclass(frozen=True)
class Families:
    """The families a coordinator sees in /families: their own, or (an admin without own families) all."""

    own: bool  # the coordinator's own families (else all, or none)
    see_all: bool  # an admin without families of their own, who sees every family
    names: list[tuple[str, int]]  # (name, family id), in list order


def families_of(*, session: Session, coordinator: Person, now: datetime) -> Families:
    """The families listed in /families for this coordinator; an admin without families of their own sees all."""
    own = care.families(session=session, coordinator_id=coordinator.id, limit=None)
    see_all = not own and bool(
        authorize(session=session, actor=coordinator, action=Action.SEE_ALL_FAMILIES, now=now, audit=False)
    )
    everyone = own or (care.families(session=session, limit=None) if see_all else [])
    return Families(
        own=bool(own), see_all=see_all, names=[(concerns.name_of(family), family.id or 0) for family in everyone]
    )


@dataclass(frozen=True)
class CardView:
    """What a tap on the card leads to: a short answer, a message (the card again, edited in place), or stale."""

    note: str | None = None
    text: str | None = None
    rows: Rows | None = None
    edit: bool = False  # the card is shown again in place of the tapped one
    retire: bool = False  # the tapped message loses its buttons
    stale: bool = False  # no such family any more, or the value makes no sense: the button no longer works


STALE = CardView(stale=True)


def family_allowed(
    session: Session, coordinator: Person, family_id: int, action: Action, now: datetime
) -> tuple[Person, FamilyProfile] | CardView:
    """The family and its profile when it exists and the coordinator may do this, else the answer to give."""
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if family is None or profile is None or family.role != Role.FAMILY:
        return STALE
    decision = authorize(session=session, actor=coordinator, action=action, family_id=family_id, now=now)
    if not decision:
        return CardView(note=refusal_text(decision))
    return family, profile


View = Literal["card", "answers", "timeline"]


def show(
    *, session: Session, services: Services, coordinator: Person, family_id: int, what: View, now: datetime
) -> CardView:
    """The family's card, its check-in answers or its timeline (`what`: card, answers, timeline), audited."""
    found = family_allowed(session, coordinator, family_id, Action.VIEW_FAMILY, now)
    if isinstance(found, CardView):
        return found
    family, _profile = found
    concerns.audit_opened(session, coordinator, family_id, now, what)
    if what == "answers":
        return CardView(text=answers_text(session=session, family=family, language=coordinator.language))
    if what == "timeline":
        zone = services.settings.timezone
        return CardView(text=timeline_text(session=session, family=family, language=coordinator.language, zone=zone))
    text, rows = family_card(session=session, services=services, family=family, language=coordinator.language)
    rows = _admin_rows(rows, coordinator, family)
    return CardView(text=text, rows=rows)


def change(
    *,
    session: Session,
    services: Services,
    coordinator: Person,
    family_id: int,
    now: datetime,
    rhythm: str | None = None,
    weekday: int | None = None,
    daypart: str | None = None,
    auto_step_down: bool | None = None,
) -> CardView:
    """A change of the check-in settings from the card; the card is shown again, changed."""
    if (rhythm is not None and rhythm not in set(rules.Rhythm)) or (
        daypart is not None and daypart not in set(rules.Daypart)
    ):
        return STALE
    if weekday is not None and not 0 <= weekday <= 6:
        return STALE
    found = family_allowed(session, coordinator, family_id, Action.CHANGE_CHECKINS, now)
    if isinstance(found, CardView):
        return found
    family, _profile = found
    if auto_step_down is not None:
        care.set_rhythm(session=session, family_id=family_id, auto_step_down=auto_step_down)
    else:
        change_rhythm(
            session=session,
            services=services,
            family=family,
            coordinator=coordinator,
            now=now,
            rhythm=rhythm,
            weekday=weekday,
            daypart=daypart,
        )
    text, rows = family_card(session=session, services=services, family=family, language=coordinator.language)
    rows = _admin_rows(rows, coordinator, family)
    return CardView(text=text, rows=rows, edit=True)


def send_now_from_card(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> CardView:
    """'Send a check-in now' on the card."""
    found = family_allowed(session, coordinator, family_id, Action.CHANGE_CHECKINS, now)
    if isinstance(found, CardView):
        return found
    return CardView(
        note=send_now(session=session, services=services, family=found[0], coordinator=coordinator, now=now)
    )


def lower_rhythm(
    *, session: Session, services: Services, coordinator: Person, family_id: int, rhythm: str | None, now: datetime
) -> CardView:
    """The answer to 'lower the check-ins?': yes (to `rhythm`) or no (None)."""
    if rhythm is not None and rhythm not in set(rules.Rhythm):
        return STALE
    found = family_allowed(session, coordinator, family_id, Action.CHANGE_CHECKINS, now)
    if isinstance(found, CardView):
        return found
    if rhythm is None:
        return CardView(note=_("The rhythm stays as it is."), retire=True)
    family, profile = found
    if profile.checkin_rhythm != rhythm:
        change_rhythm(
            session=session, services=services, family=family, coordinator=coordinator, now=now, rhythm=rhythm
        )
        care.set_counters(session=session, family_id=family_id, good_streak=0)
    note = _("Done: the check-ins are now {rhythm}.").format(rhythm=rhythm_sentence(rhythm))
    return CardView(note=note, retire=True)


def card_in_topic(
    *, session: Session, services: Services, coordinator: Person, family_id: int, command: str, now: datetime
) -> CardView:
    """/family, /rhythm, /checkin or /answers in a family's topic."""
    if command == "checkin":
        return send_now_from_card(
            session=session, services=services, coordinator=coordinator, family_id=family_id, now=now
        )
    what: View = "answers" if command == "answers" else "card"
    return show(session=session, services=services, coordinator=coordinator, family_id=family_id, what=what, now=now)
