"""A family's card for coordinators: context, check-in settings and controls; who is the family's coordinator.

The card shows what a coordinator needs (never message contents); its buttons change the check-in rhythm,
send a check-in now, show the answers over time and the timeline. "I am their primary coordinator" takes a
family over at once for an admin or an unassigned family, and otherwise asks the current primary, who is
always told; a duo partner is asked too. Every decision goes through `services.permissions`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from domain import checkins as rules
from domain.permissions import Decision, Facts
from services import concerns
from services.callbacks import Button
from services.checkins import (
    DAYPART_LABELS,
    RHYTHM_BUTTONS,
    TIMELINE_LABELS,
    _quiet,
    _sent_today,
    answer_label,
    change_rhythm,
    rhythm_sentence,
    send_checkin,
    weekday_name,
)
from services.context import Services
from services.i18n import N_, _, format_day, format_stamp, format_when, h, hi, use_language
from services.outbox import Outgoing, ToPerson, enqueue
from services.permissions import Action, authorize, refusal_text
from storage import care, delivery, people
from storage import insight as insight_store
from storage import rights as consent
from storage.db import Session
from storage.models import ConsentRequest, FamilyProfile, Person, Role, TimelineEvent

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
# /families: a page of the list; 'My duo partner' (0: the choice) and a colleague's answer to a request.
FAMILIES_PAGE = Button("cr", "fam", int)
DUO = Button("cr", "duo", int)
AGREE = Button("cr", "yes", int)
DISAGREE = Button("cr", "no", int)


def _next_due(session: Session, family_id: int) -> datetime | None:
    """When the family's next rhythmic check-in is due."""
    return care.next_job_due(session=session, kind="checkin.send", subject_id=family_id)


def card_extras(
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
        ]
        events = care.timeline(session=session, family_id=family.id, limit=5)
        if events:
            lines += ["", _("<b>Latest</b> (🕑 Timeline for more):")]
            lines += timeline_lines(events, language, services.settings.timezone)
            lines.append("")
    return lines


def family_card(session: Session, services: Services, family: Person, language: str) -> tuple[str, Rows]:
    """The family's context, check-in settings and the controls."""
    assert family.id is not None
    profile = care.get_family_profile(session=session, family_id=family.id)
    assert profile is not None
    fid = family.id
    with use_language(language):
        lines = [concerns.family_context(session, family, language)]
        lines += card_extras(session, services, family, profile, language)
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

        def mark(selected: bool, label: str) -> str:
            """A button's label, ticked when it is the current setting."""
            return ("✓ " if selected else "") + label

        rows = [
            [(_("📨 Send a check-in now"), SEND_NOW.data(fid))],
            [
                (mark(profile.checkin_rhythm == rhythm, _(label)), RHYTHM.data(fid, rhythm.value))
                for rhythm, label in RHYTHM_BUTTONS.items()
            ],
            [
                (
                    mark(profile.checkin_weekday == day, weekday_name(day, language, "abbreviated")),
                    WEEKDAY.data(fid, day),
                )
                for day in range(7)
            ],
            [
                (mark(profile.checkin_daypart == part, _(label)), DAYPART.data(fid, part.value))
                for part, label in DAYPART_LABELS.items()
            ],
            [
                (
                    _("Lower automatically: on") if profile.checkin_auto_step_down else _("Lower automatically: off"),
                    AUTO_STEP_DOWN.data(fid, "off" if profile.checkin_auto_step_down else "on"),
                )
            ],
            [
                (_("📈 Answers over time"), ANSWERS.data(fid)),
                (_("🕑 Timeline"), TIMELINE.data(fid)),
            ],
            [(_("🙋 I am their primary coordinator"), MINE.data(fid))],
        ]
        # Every open concern opens from here: its card and messages, to take, answer or close it.
        rows[:0] = concerns.open_concern_rows(session, care.open_concerns(session=session, family_id=fid, limit=5))
    return "\n".join(lines), rows


def answers_text(session: Session, family: Person, language: str) -> str:
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


def timeline_lines(events: list[TimelineEvent], language: str, zone: str) -> list[str]:
    """One line per event, newest first: when, and what kind of thing happened (never contents)."""
    lines = []
    with use_language(language):
        for item in events:
            label = _(TIMELINE_LABELS[item.kind]) if item.kind in TIMELINE_LABELS else item.kind
            if item.kind == "checkin_answered" and item.detail.get("answer"):
                label += ": " + answer_label(str(item.detail["answer"]))
            lines.append(f"{h(format_stamp(item.at, zone, language))} · {h(label)}")
    return lines


def timeline_text(session: Session, family: Person, language: str, zone: str) -> str:
    """The family's timeline: the latest 30 events, newest first."""
    assert family.id is not None
    events = care.timeline(session=session, family_id=family.id, limit=30)
    with use_language(language):
        lines = [_("<b>Timeline of {name}</b>").format(name=hi(concerns.name_of(family)))]
        lines += timeline_lines(events, language, zone)
        if not events:
            lines.append(_("Nothing yet."))
    return "\n".join(lines)


def send_now(session: Session, services: Services, family: Person, coordinator: Person, now: datetime) -> str:
    """A coordinator's 'send a check-in now': at once, or at the end of quiet hours; never twice a day."""
    assert family.id is not None
    if family.telegram_id is None or family.consent_at is None:
        return _("{name} can no longer be reached through the bot.").format(name=hi(concerns.name_of(family)))
    if _sent_today(session, family, now) is not None:
        return _("{name} already had a check-in today.").format(name=hi(concerns.name_of(family)))
    people.audit(session=session, actor_id=coordinator.id, action="checkin_sent_now", subject_id=family.id, now=now)
    if rules.in_quiet_hours(now, zone=family.timezone, **_quiet(services)):
        later = rules.next_allowed_time(now, zone=family.timezone, **_quiet(services))
        delivery.schedule_job(
            session=session,
            kind="checkin.manual",
            due_at=later,
            dedupe_key=f"checkin.manual:{family.id}:{later:%Y%m%d}",
            now=now,
            subject_id=family.id,
        )
        return _("It is quiet hours for the family; the check-in goes out at {when}.").format(
            when=h(format_when(later, family.timezone, coordinator.language))
        )
    send_checkin(session=session, services=services, family=family, now=now, due_at=now, manual=True)
    return _("The check-in is on its way to {name}.").format(name=hi(concerns.name_of(family)))


def _tell(
    session: Session, person: Person | None, key: str, text: Any, now: datetime, markup: Any = None, **kw: Any
) -> None:
    """A message to another coordinator, in their language, through the outbox."""
    if person is None or person.telegram_id is None:
        return
    with use_language(person.language):
        body = _(text).format(**kw)
        buttons = markup() if callable(markup) else ()
    enqueue(session=session, to=ToPerson(person), message=Outgoing(text=body, buttons=buttons), key=key, now=now)


def _consent_buttons(request_id: int) -> Any:
    """Agree / No under a colleague's request, made in the reader's language when the message is written."""

    def build() -> Rows:
        """The buttons, in the language current when the message is written."""
        return [[(_("✅ Agree"), AGREE.data(request_id)), (_("No"), DISAGREE.data(request_id))]]

    return build


def _make_primary(
    session: Session, family: Person, previous_id: int | None, new: Person, actor: Person, now: datetime, how: str
) -> None:
    """Make `new` the family's primary; the previous primary is always told (unless they did it themselves)."""
    assert family.id is not None and new.id is not None
    care.set_coordinators(session=session, family_id=family.id, primary_id=new.id)
    people.audit(
        session=session,
        actor_id=actor.id,
        action="primary_coordinator_set",
        subject_id=family.id,
        now=now,
        primary=new.id,
        previous=previous_id,
        how=how,
    )
    if previous_id is not None and previous_id not in (actor.id, new.id):
        previous = people.get_person(session=session, person_id=previous_id)
        _tell(
            session,
            previous,
            f"primary:{family.id}:{new.id}:{int(now.timestamp())}",
            N_("{coordinator} is now the primary coordinator of {name}, instead of you."),
            now,
            coordinator=hi(concerns.name_of(new)),
            name=hi(concerns.name_of(family)),
        )


def _take_over(
    session: Session, services: Services, family: Person, profile: FamilyProfile, coordinator: Person, now: datetime
) -> str:
    """'I am their primary coordinator': at once for an admin or an unassigned family; otherwise ask the primary."""
    assert family.id is not None and coordinator.id is not None
    name = hi(concerns.name_of(family))
    previous_id = profile.primary_coordinator_id
    if previous_id == coordinator.id:
        return _("You are already the primary coordinator of {name}.").format(name=name)
    direct = authorize(session=session, actor=coordinator, action=Action.TAKE_OVER, family_id=family.id, now=now)
    if direct:
        _make_primary(session, family, previous_id, coordinator, coordinator, now, str(direct.reason))
        return _("You are now the primary coordinator of {name}.").format(name=name)
    asked = authorize(session=session, actor=coordinator, action=Action.ASK_TAKE_OVER, family_id=family.id, now=now)
    primary = people.get_person(session=session, person_id=previous_id or 0)
    if not asked or primary is None or primary.id is None:
        return refusal_text(asked)
    request = consent.ask_consent(
        session=session,
        kind="primary",
        requester_id=coordinator.id,
        approver_id=primary.id,
        family_id=family.id,
        now=now,
    )
    if request is None or request.id is None:
        return _("You already asked; {primary} has not answered yet.").format(primary=hi(concerns.name_of(primary)))
    _tell(
        session,
        primary,
        f"consent:{request.id}",
        N_("{coordinator} would like to become the primary coordinator of {name}. Do you agree?"),
        now,
        _consent_buttons(request.id),
        coordinator=hi(concerns.name_of(coordinator)),
        name=name,
    )
    return _("I have asked {primary}, the primary coordinator of {name}. You will hear the answer here.").format(
        primary=hi(concerns.name_of(primary)), name=name
    )


def _consent_decision(session: Session, coordinator: Person, request: ConsentRequest, now: datetime) -> Decision:
    """Whether this coordinator may answer the request (only the colleague asked may)."""
    if request.kind == "primary" and request.family_id is not None:
        facts = consent.family_facts(session=session, family_id=request.family_id)
        facts = replace(facts, addressed_to=request.approver_id)
        action = Action.ANSWER_TAKE_OVER
    else:
        facts = Facts(addressed_to=request.approver_id)
        action = Action.ANSWER_DUO
    return authorize(
        session=session, actor=coordinator, action=action, family_id=request.family_id, facts=facts, now=now
    )


def _answer_effect(
    session: Session,
    request: ConsentRequest,
    coordinator: Person,
    requester: Person,
    family: Person | None,
    accepted: bool,
    now: datetime,
) -> str:
    """What an answer to a request does (a new primary, a duo), told to the one who asked; the answer's note."""
    names = {"coordinator": hi(concerns.name_of(coordinator)), "requester": hi(concerns.name_of(requester))}
    key = f"consent:{request.id}:answer"
    if request.kind == "primary" and family is not None:
        names["name"] = hi(concerns.name_of(family))
        if not accepted:
            _tell(
                session,
                requester,
                key,
                N_("{coordinator} would rather stay the primary coordinator of {name}."),
                now,
                **names,
            )
            return _("{requester} has been told that you keep {name}.").format(**names)
        profile = care.get_family_profile(session=session, family_id=family.id or 0)
        previous = profile.primary_coordinator_id if profile else None
        _make_primary(session, family, previous, requester, coordinator, now, "consent")
        _tell(
            session,
            requester,
            key,
            N_("{coordinator} agreed: you are now the primary coordinator of {name}."),
            now,
            **names,
        )
        return _("Done: {requester} is now the primary coordinator of {name}.").format(**names)
    if not accepted:
        _tell(session, requester, key, N_("{coordinator} would rather not be your duo partner."), now, **names)
        return _("{requester} has been told.").format(**names)
    _set_duo(session, requester, coordinator, coordinator, now)
    _tell(session, requester, key, N_("{coordinator} agreed: you are now duo partners."), now, **names)
    return _("Done: {requester} is now your duo partner.").format(**names)


def _set_duo(session: Session, coordinator: Person, partner: Person, actor: Person, now: datetime) -> None:
    """Make two coordinators a duo (they see each other's families), audited."""
    care.set_duo_partner(session=session, coordinator_id=coordinator.id or 0, partner_id=partner.id)
    people.audit(
        session=session,
        actor_id=actor.id,
        action="duo_partner_set",
        subject_id=partner.id,
        now=now,
        coordinator=coordinator.id,
    )


def answer_request(
    *, session: Session, coordinator: Person, request_id: int, accepted: bool, now: datetime
) -> tuple[bool, str]:
    """A colleague's answer to 'may I become primary / your duo partner': only they, once; (settled, note)."""
    request = consent.get_consent(session=session, request_id=request_id)
    decision = _consent_decision(session, coordinator, request, now) if request is not None else None
    requester = people.get_person(session=session, person_id=request.requester_id) if request else None
    family = people.get_person(session=session, person_id=request.family_id) if request and request.family_id else None
    if request is None or decision is None or requester is None:
        return False, ""
    if not decision:
        return False, refusal_text(decision)
    if not consent.answer_consent(session=session, request_id=request_id, accepted=accepted, now=now):
        return False, _("You already answered this.")
    return True, _answer_effect(session, request, coordinator, requester, family, accepted, now)


def duo_choice(*, session: Session, coordinator: Person) -> tuple[Person | None, list[tuple[str, int]]]:
    """The coordinator's duo partner now, and the colleagues to choose from (name, id)."""
    options = [
        (colleague.display_name or str(colleague.id), colleague.id or 0)
        for colleague in people.coordinators(session=session)
        if colleague.id != coordinator.id and colleague.consent_at is not None
    ]
    profile = people.get_coordinator(session=session, person_id=coordinator.id or 0)
    current = (
        people.get_person(session=session, person_id=profile.duo_partner_id)
        if profile and profile.duo_partner_id
        else None
    )
    return current, options


def choose_duo(*, session: Session, coordinator: Person, partner_id: int, now: datetime) -> str | None:
    """'My duo partner' → a colleague: at once for an admin, else the colleague is asked; None: not a colleague."""
    partner = people.get_person(session=session, person_id=partner_id)
    if not concerns.is_coordinator(partner) or partner is None or partner_id == coordinator.id:
        return None
    name = hi(concerns.name_of(partner))
    direct = authorize(session=session, actor=coordinator, action=Action.SET_DUO, now=now)
    asked = direct or authorize(session=session, actor=coordinator, action=Action.ASK_DUO, now=now)
    if direct:
        _set_duo(session, coordinator, partner, coordinator, now)
        return _("{name} is now your duo partner.").format(name=name)
    if not asked or coordinator.id is None:
        return refusal_text(asked)
    request = consent.ask_consent(
        session=session, kind="duo", requester_id=coordinator.id, approver_id=partner_id, family_id=None, now=now
    )
    if request is None or request.id is None:
        return _("You already asked; {primary} has not answered yet.").format(primary=name)
    question = N_(
        "{coordinator} would like to be your duo partner: you would see each other's "
        "families and their concerns. Do you agree?"
    )
    _tell(
        session,
        partner,
        f"consent:{request.id}",
        question,
        now,
        _consent_buttons(request.id),
        coordinator=hi(concerns.name_of(coordinator)),
    )
    return _("I have asked {name}. You will hear the answer here.").format(name=name)


def take_over(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> str | None:
    """'I am their primary coordinator' on a family's card; None when it is no family."""
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if family is None or profile is None or family.role != Role.FAMILY:
        return None
    return _take_over(session, services, family, profile, coordinator, now)


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


def _allowed(
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


def show(
    *, session: Session, services: Services, coordinator: Person, family_id: int, what: str, now: datetime
) -> CardView:
    """The family's card, its check-in answers or its timeline (`what`: card, answers, timeline), audited."""
    found = _allowed(session, coordinator, family_id, Action.VIEW_FAMILY, now)
    if isinstance(found, CardView):
        return found
    family, _profile = found
    concerns.audit_opened(session, coordinator, family_id, now, what)
    if what == "answers":
        return CardView(text=answers_text(session, family, coordinator.language))
    if what == "timeline":
        return CardView(text=timeline_text(session, family, coordinator.language, services.settings.timezone))
    text, rows = family_card(session, services, family, coordinator.language)
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
    found = _allowed(session, coordinator, family_id, Action.CHANGE_CHECKINS, now)
    if isinstance(found, CardView):
        return found
    family, _profile = found
    if auto_step_down is not None:
        care.set_rhythm(session=session, family_id=family_id, auto_step_down=auto_step_down)
    else:
        change_rhythm(session, services, family, coordinator, now, rhythm=rhythm, weekday=weekday, daypart=daypart)
    text, rows = family_card(session, services, family, coordinator.language)
    return CardView(text=text, rows=rows, edit=True)


def send_now_from_card(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime
) -> CardView:
    """'Send a check-in now' on the card."""
    found = _allowed(session, coordinator, family_id, Action.CHANGE_CHECKINS, now)
    if isinstance(found, CardView):
        return found
    return CardView(note=send_now(session, services, found[0], coordinator, now))


def lower_rhythm(
    *, session: Session, services: Services, coordinator: Person, family_id: int, rhythm: str | None, now: datetime
) -> CardView:
    """The answer to 'lower the check-ins?': yes (to `rhythm`) or no (None)."""
    if rhythm is not None and rhythm not in set(rules.Rhythm):
        return STALE
    found = _allowed(session, coordinator, family_id, Action.CHANGE_CHECKINS, now)
    if isinstance(found, CardView):
        return found
    if rhythm is None:
        return CardView(note=_("The rhythm stays as it is."), retire=True)
    family, profile = found
    if profile.checkin_rhythm != rhythm:
        change_rhythm(session, services, family, coordinator, now, rhythm=rhythm)
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
    what = "answers" if command == "answers" else "card"
    return show(session=session, services=services, coordinator=coordinator, family_id=family_id, what=what, now=now)
