"""Lasting matches, the coordinator's and the agreement's use cases: propose, accept or decline, pause,
resume, end, record the match meeting, add a holiday; the list and the card.

A coordinator proposes a match between a family they may act for and an approved helper (with a valid VOG and
"with children" where the help involves children, `domain.matches.helper_may_care_for_children`). Both sides
then see what the match is, who the other is and what the other will know about them, and accept or decline;
only when both accepted does the trial start (`domain.matches.after_accept`): the occurrences are planned
(`services.match_runs`), the reviews scheduled, the helper gets the family's address (audited). Every decision
goes through `services.permissions` (`Action.MANAGE_MATCHES`); every message to another person is an outbox
row in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from domain import matches as rules
from domain.matches import MatchState, Rhythm, RhythmProblem, Side, StopReason
from services import match_runs, questions
from services.callbacks import Button
from services.context import Services
from services.i18n import _, format_day, format_when, h, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_contact import write_button
from services.match_runs import helper_may_care_for_children
from services.match_texts import (
    ACCEPT,
    CHILD_KINDS,
    DECLINE,
    MATCH_KINDS,
    OUTCOME_LABELS,
    STOP_LABELS,
    match_coordinator,
    rhythm_text,
    side_of,
    sides,
    state_label,
    summary,
    tell,
)
from services.permissions import Action, Decision, Reason, authorize, refusal_text
from storage import delivery, people
from storage import matches as store
from storage.db import Session
from storage.models import Match, Person, Role, VolunteerStatus

logger = logging.getLogger(__name__)

# The coordinator's buttons on /match and a match's card (mt:...).
LIST = Button("mt", "list")
OPEN = Button("mt", "open", int)  # a match id
MEETING = Button("mt", "meet", int)
PAUSE = Button("mt", "pause", int)
RESUME = Button("mt", "resume", int)
END = Button("mt", "end", int)
END_WHY = Button("mt", "why", int, str)  # a match id, a StopReason
HOLIDAY = Button("mt", "hol", int, str)  # a match id, a Side

Rows = list[list[tuple[str, str]]]


def is_coordinator(person: Person | None) -> bool:
    return person is not None and person.role == Role.COORDINATOR and person.consent_at is not None


# --- proposing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """What a coordinator proposes: the two sides, the kind of help, the rhythm, the trial and reviews."""

    family_id: int
    helper_id: int
    kind: str
    rhythm: Rhythm
    trial_end: date
    reviews: tuple[date, ...] = ()


class ProposalProblem(StrEnum):
    REFUSED = "refused"
    NO_FAMILY = "no_family"
    NO_HELPER = "no_helper"
    NO_VOG = "no_vog"  # the help involves children and the helper may not care for them
    ALREADY = "already"  # an open match between them exists
    RHYTHM = "rhythm"


@dataclass(frozen=True)
class Proposed:
    match_id: int | None = None
    problem: ProposalProblem | None = None
    rhythm_problems: list[RhythmProblem] = field(default_factory=list)
    decision: Decision | None = None


def may_manage(*, session: Session, coordinator: Person | None, family_id: int, now: datetime) -> Decision:
    """May this coordinator propose, change or end a match of this family (audited)."""
    return authorize(session=session, actor=coordinator, action=Action.MANAGE_MATCHES, family_id=family_id, now=now)


def check_proposal(
    *, session: Session, services: Services, proposal: Proposal, today: date
) -> ProposalProblem | list[RhythmProblem] | None:
    """What is wrong with a proposal before anything is stored (None: nothing)."""
    family = people.get_person(session=session, person_id=proposal.family_id)
    if family is None or family.role != Role.FAMILY or family.consent_at is None:
        return ProposalProblem.NO_FAMILY
    helper = people.get_person(session=session, person_id=proposal.helper_id)
    profile = people.get_volunteer(session=session, person_id=proposal.helper_id)
    if helper is None or profile is None or profile.status != VolunteerStatus.APPROVED or helper.id == family.id:
        return ProposalProblem.NO_HELPER
    if proposal.kind not in MATCH_KINDS:
        return ProposalProblem.RHYTHM
    if proposal.kind in CHILD_KINDS and not helper_may_care_for_children(
        session=session, services=services, helper_id=proposal.helper_id, today=today
    ):
        return ProposalProblem.NO_VOG
    if store.open_match_between(session=session, family_id=family.id or 0, helper_id=helper.id or 0):
        return ProposalProblem.ALREADY
    problems = rules.rhythm_problems(
        proposal.rhythm, trial_end=proposal.trial_end, reviews=proposal.reviews, today=today
    )
    return problems or None


def propose(
    *, session: Session, services: Services, coordinator: Person | None, proposal: Proposal, now: datetime
) -> Proposed:
    """Store a proposed match and ask both sides; nothing is stored when anything is wrong."""
    decision = may_manage(session=session, coordinator=coordinator, family_id=proposal.family_id, now=now)
    if not decision:
        return Proposed(problem=ProposalProblem.REFUSED, decision=decision)
    assert coordinator is not None
    today = rules.local_day(now, proposal.rhythm.zone)
    problem = check_proposal(session=session, services=services, proposal=proposal, today=today)
    if isinstance(problem, list):
        return Proposed(problem=ProposalProblem.RHYTHM, rhythm_problems=problem)
    if problem is not None:
        return Proposed(problem=problem)
    match = store.create_match(
        session=session,
        family_id=proposal.family_id,
        helper_id=proposal.helper_id,
        coordinator_id=coordinator.id,
        kind=proposal.kind,
        involves_children=proposal.kind in CHILD_KINDS,
        rhythm=proposal.rhythm.to_json(),
        trial_end=proposal.trial_end,
        reviews=proposal.reviews,
        now=now,
    )
    assert match.id is not None
    _ask_sides(session, match, now)
    people.add_timeline(
        session=session,
        family_id=match.family_id,
        kind="match_proposed",
        now=now,
        actor_id=coordinator.id,
        ref_id=match.id,
        kind_of_help=match.kind,
    )
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action="match_proposed",
        subject_id=match.family_id,
        now=now,
        match=match.id,
        helper=match.helper_id,
    )
    event(logger, "match.proposed", match=match.id)
    return Proposed(match_id=match.id)


def _ask_sides(session: Session, match: Match, now: datetime) -> None:
    """The proposal to both sides: what it is, who the other is, what the other will know; accept or decline."""
    family, helper = sides(session, match)
    for reader, side in ((family, Side.FAMILY), (helper, Side.HELPER)):
        if reader is None:
            continue
        with use_language(reader.language):
            lines = [_("🤝 <b>A proposal for a lasting match</b>")]
            lines += summary(match, reader.language, family, helper)
            lines.append("")
            if side == Side.FAMILY:
                lines.append(
                    _(
                        "{name} will know your name and your neighbourhood, and your address once you both agree. "
                        "They never see your concerns or your check-in answers."
                    ).format(name=hi(name_of(helper)))
                )
            else:
                lines.append(
                    _(
                        "{name} will know your name. You get their address once you both agree; "
                        "what they share with their coordinator stays with the coordinator."
                    ).format(name=hi(name_of(family)))
                )
            lines.append(_("It starts only when you both agree. Do you want this match?"))
            buttons = [[(_("✅ Yes, I agree"), ACCEPT.data(match.id)), (_("✖️ No, thank you"), DECLINE.data(match.id))]]
        tell(session, reader, f"match.ask:{match.id}:{side.value}", "\n".join(lines), now, buttons)


class Answered(StrEnum):
    WAITING = "waiting"  # this side agreed; the other has not yet
    STARTED = "started"  # both agreed: the trial starts
    DECLINED = "declined"
    ALREADY = "already"  # this side answered before (a second tap)
    TOO_LATE = "too_late"  # a decline after acceptance, or a tap on an old proposal
    GONE = "gone"  # not theirs


@dataclass(frozen=True)
class Answer:
    result: Answered
    other_name: str = ""
    first: str = ""  # when the first occurrence is, in the reader's words


def answer(
    *, session: Session, services: Services, person: Person | None, match_id: int, accept: bool, now: datetime
) -> Answer:
    """A side accepts or declines a proposal; both accepted starts the trial, a decline ends the proposal."""
    match = store.get_match(session=session, match_id=match_id)
    side = side_of(match, person) if match is not None else None
    if match is None or side is None or person is None:
        return Answer(Answered.GONE)
    family, helper = sides(session, match)
    other = helper if side == Side.FAMILY else family
    accepted_at = match.family_accepted_at if side == Side.FAMILY else match.helper_accepted_at
    if not rules.may("accept", MatchState(match.state)):
        return Answer(Answered.TOO_LATE, other_name=name_of(other))
    if accepted_at is not None:
        return Answer(Answered.ALREADY if accept else Answered.TOO_LATE, other_name=name_of(other))
    coordinator = match_coordinator(session, match)
    if not accept:
        if not store.set_state(session=session, match_id=match_id, expected=["proposed"], now=now, state="declined"):
            return Answer(Answered.TOO_LATE)
        _declined(session, match, person, other, coordinator, now)
        return Answer(Answered.DECLINED, other_name=name_of(other))
    column = "family_accepted_at" if side == Side.FAMILY else "helper_accepted_at"
    store.set_state(session=session, match_id=match_id, expected=["proposed"], now=now, **{column: now})
    match = store.get_match(session=session, match_id=match_id)
    assert match is not None
    people.add_timeline(
        session=session,
        family_id=match.family_id,
        kind="match_accepted",
        now=now,
        actor_id=person.id,
        ref_id=match.id,
        side=side.value,
    )
    state = rules.after_accept(
        family_accepted=match.family_accepted_at is not None, helper_accepted=match.helper_accepted_at is not None
    )
    if state != MatchState.TRIAL:
        if coordinator is not None:
            with use_language(coordinator.language):
                text = _("🤝 {name} agreed to the match with {other}. Waiting for {other}.").format(
                    name=hi(name_of(person)), other=hi(name_of(other))
                )
            tell(session, coordinator, f"match.agreed:{match.id}:{side.value}", text, now)
        return Answer(Answered.WAITING, other_name=name_of(other))
    first = _start(session, services, match, family, helper, coordinator, now)
    with use_language(person.language):
        when = format_when(first, services.settings.timezone, person.language) if first else ""
    return Answer(Answered.STARTED, other_name=name_of(other), first=when)


def _declined(
    session: Session, match: Match, person: Person, other: Person | None, coordinator: Person | None, now: datetime
) -> None:
    """A decline: the other side is told kindly (no reasons), the coordinator too."""
    if other is not None and (match.family_accepted_at or match.helper_accepted_at):
        with use_language(other.language):
            text = _("The proposed match with {name} will not go ahead. Your coordinator will talk it over with you.")
        tell(session, other, f"match.declined:{match.id}", text.format(name=hi(name_of(person))), now)
    if coordinator is not None:
        with use_language(coordinator.language):
            text = _("✖️ {name} declined the proposed match with {other}.").format(
                name=hi(name_of(person)), other=hi(name_of(other))
            )
        tell(session, coordinator, f"match.declined:{match.id}:c", text, now)
    people.add_timeline(
        session=session, family_id=match.family_id, kind="match_declined", now=now, actor_id=person.id, ref_id=match.id
    )


def _start(
    session: Session,
    services: Services,
    match: Match,
    family: Person | None,
    helper: Person | None,
    coordinator: Person | None,
    now: datetime,
) -> datetime | None:
    """Both agreed: the trial starts, the occurrences are planned, everyone is told; the first occurrence."""
    assert match.id is not None
    store.set_state(session=session, match_id=match.id, expected=["proposed"], now=now, state="trial", started_at=now)
    started = store.get_match(session=session, match_id=match.id)
    assert started is not None and started.id is not None
    match = started
    match_runs.plan(session=session, match=match, now=now)
    questions.match_started(session=session, match_id=started.id, now=now)
    match_runs.schedule_reviews(session=session, match=match, zone=services.settings.timezone, now=now)
    # Continuity first: the family's one-off requests go to its own helper first.
    store.support_first(session=session, family_id=match.family_id, helper_id=match.helper_id)
    following = store.next_occurrence(session=session, match_id=started.id, now=now)
    first = following.starts_at if following is not None else None
    zone = services.settings.timezone
    profile = people.get_family(session=session, person_id=match.family_id)
    for reader, other in ((family, helper), (helper, family)):
        if reader is None:
            continue
        with use_language(reader.language):
            text = _("🌱 You both agreed: the match with {name} starts with a trial until {day}.").format(
                name=hi(name_of(other)), day=h(format_day(match.trial_end, reader.language))
            )
            if first is not None:
                text += "\n" + _("The first time: {when}. You get a reminder the day before.").format(
                    when=h(format_when(first, zone, reader.language))
                )
            if reader is helper and profile is not None and profile.street:
                text += "\n" + _("Their address: {street}").format(street=hi(profile.street))
            text += "\n" + _("You can write to each other through the bot; your number and account stay private.")
            buttons = [[write_button(started.id, name_of(other))]]
        tell(session, reader, f"match.start:{match.id}:{reader.id}", text, now, buttons)
    if helper is not None and profile is not None and profile.street:
        people.audit(
            session=session,
            actor_id=helper.id,
            action="match_address_shown",
            subject_id=match.family_id,
            now=now,
            match=match.id,
        )
    if coordinator is not None:
        with use_language(coordinator.language):
            text = _("🌱 The match of {family} with {helper} has started: both agreed. Trial until {day}.").format(
                family=hi(name_of(family)),
                helper=hi(name_of(helper)),
                day=h(format_day(match.trial_end, coordinator.language)),
            )
        tell(session, coordinator, f"match.start:{match.id}:c", text, now)
    people.add_timeline(session=session, family_id=match.family_id, kind="match_started", now=now, ref_id=match.id)
    event(logger, "match.started", match=match.id)
    return first


# --- the coordinator's list and card --------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """The matches a coordinator sees: (label, match id) with their state, or a refusal."""

    lines: list[str] = field(default_factory=list)
    buttons: list[tuple[str, int]] = field(default_factory=list)
    refused: bool = False


def overview(*, session: Session, coordinator: Person | None, now: datetime) -> Listed:
    """Every match of the families this coordinator may act for (an admin: all), open ones first."""
    if not is_coordinator(coordinator):
        return Listed(refused=True)
    assert coordinator is not None
    everyone = store.matches_for_families(session=session, family_ids=None)
    lines: list[str] = []
    buttons: list[tuple[str, int]] = []
    for match in everyone:
        decision = authorize(
            session=session, actor=coordinator, action=Action.MANAGE_MATCHES, family_id=match.family_id, audit=False
        )
        if not decision or (decision.reason == Reason.UNASSIGNED and not coordinator.is_admin):
            continue
        family, helper = sides(session, match)
        label = f"{name_of(family)} ↔ {name_of(helper)}"
        lines.append(f"• {hi(label)}: {h(state_label(match.state))}")
        if match.state in store.OPEN and match.id is not None:
            buttons.append((label, match.id))
    return Listed(lines=lines, buttons=buttons)


@dataclass(frozen=True)
class Card:
    text: str = ""
    rows: Rows = field(default_factory=list)
    note: str | None = None  # a refusal
    stale: bool = False


def _managed(session: Session, coordinator: Person | None, match_id: int, now: datetime) -> Match | Card:
    match = store.get_match(session=session, match_id=match_id)
    if match is None:
        return Card(stale=True)
    decision = may_manage(session=session, coordinator=coordinator, family_id=match.family_id, now=now)
    if not decision:
        return Card(note=refusal_text(decision))
    return match


def card(*, session: Session, services: Services, coordinator: Person | None, match_id: int, now: datetime) -> Card:
    """A match for its coordinator: what it is, its state, the next time, the latest log; its buttons."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    assert coordinator is not None
    return _card_of(session, services, found, coordinator.language, now)


def _card_of(session: Session, services: Services, match: Match, language: str, now: datetime) -> Card:
    assert match.id is not None
    family, helper = sides(session, match)
    zone = services.settings.timezone
    with use_language(language):
        lines = [_("🤝 <b>Match</b>: {state}").format(state=h(state_label(match.state)))]
        lines += summary(match, language, family, helper)
        lines.append(
            _("Match meeting: held on {day}").format(day=h(format_day(match.meeting_held_at.date(), language)))
            if match.meeting_held_at
            else _("Match meeting: not recorded yet")
        )
        following = store.next_occurrence(session=session, match_id=match.id, now=now)
        if following is not None and match.state in rules.RUNNING_STATES:
            lines.append(_("Next time: {when}").format(when=h(format_when(following.starts_at, zone, language))))
        history = [row for row in store.occurrences(session=session, match_id=match.id) if row.outcome]
        if history:
            lines.append(_("Latest:"))
            for row in history[-5:]:
                lines.append(f"• {h(format_day(row.day, language))}: {h(_(OUTCOME_LABELS[row.outcome or '']))}")
        if match.end_reason:
            lines.append(_("Reason: {reason}").format(reason=h(_(STOP_LABELS.get(match.end_reason, match.end_reason)))))
        rows: Rows = []
        state = MatchState(match.state)
        if state in store.OPEN and match.meeting_held_at is None:
            rows.append([(_("📝 Match meeting held"), MEETING.data(match.id))])
        if rules.may("pause", state):
            rows.append([(_("⏸ Pause"), PAUSE.data(match.id))])
        if rules.may("resume", state):
            rows.append([(_("▶️ Resume"), RESUME.data(match.id))])
        if state in rules.RUNNING_STATES:
            rows.append(
                [
                    (_("🏖 Holiday of the family"), HOLIDAY.data(match.id, Side.FAMILY.value)),
                    (_("🏖 Holiday of the helper"), HOLIDAY.data(match.id, Side.HELPER.value)),
                ]
            )
        if rules.may("stop", state):
            rows.append([(_("⏹ End the match"), END.data(match.id))])
        rows.append([(_("◀ All matches"), LIST.data())])
    return Card(text="\n".join(lines), rows=rows)


def end_reasons(*, session: Session, coordinator: Person | None, match_id: int, now: datetime) -> Card:
    """'End the match': ask why (the reason is kept for the figures)."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    if not rules.may("stop", MatchState(found.state)):
        return Card(stale=True)
    rows = [
        [(_(label), END_WHY.data(match_id, reason))]
        for reason, label in STOP_LABELS.items()
        if reason != StopReason.ERASED
    ]
    return Card(text=_("Why does the match end? Both sides are told kindly, without the reason."), rows=rows)


def change(
    *,
    session: Session,
    services: Services,
    coordinator: Person | None,
    match_id: int,
    move: str,
    now: datetime,
    reason: str | None = None,
) -> Card:
    """Pause, resume, end (with a reason) or record the match meeting; the card again."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return found
    assert coordinator is not None
    match = found
    state = MatchState(match.state)
    if move == "meeting":
        if state not in store.OPEN or match.meeting_held_at is not None:
            return Card(stale=True)
        store.set_state(session=session, match_id=match_id, expected=[state], now=now, meeting_held_at=now)
        people.add_timeline(
            session=session,
            family_id=match.family_id,
            kind="match_meeting",
            now=now,
            actor_id=coordinator.id,
            ref_id=match_id,
        )
    elif move == "pause":
        if not rules.may("pause", state):
            return Card(stale=True)
        match_runs.stop_future(session=session, match=match, now=now, reviews_too=False)
        store.set_state(
            session=session, match_id=match_id, expected=[state], now=now, state="paused", paused_from=state
        )
        _tell_both(session, match, now, "pause")
        people.add_timeline(
            session=session,
            family_id=match.family_id,
            kind="match_paused",
            now=now,
            actor_id=coordinator.id,
            ref_id=match_id,
        )
    elif move == "resume":
        if not rules.may("resume", state):
            return Card(stale=True)
        back = match.paused_from or MatchState.TRIAL
        store.set_state(
            session=session,
            match_id=match_id,
            expected=[state],
            now=now,
            state=back,
            paused_from=None,
            planned_until=None,
        )
        resumed = store.get_match(session=session, match_id=match_id)
        assert resumed is not None
        match_runs.plan(session=session, match=resumed, now=now)
        _tell_both(session, match, now, "resume")
        people.add_timeline(
            session=session,
            family_id=match.family_id,
            kind="match_resumed",
            now=now,
            actor_id=coordinator.id,
            ref_id=match_id,
        )
    elif move == "end":
        if reason not in STOP_LABELS or reason == StopReason.ERASED or not rules.may("stop", state):
            return Card(stale=True)
        end_match(
            session=session, services=services, match=match, reason=StopReason(reason), actor=coordinator, now=now
        )
    else:
        return Card(stale=True)
    people.audit(
        session=session,
        actor_id=coordinator.id,
        action=f"match_{move}",
        subject_id=match.family_id,
        now=now,
        match=match_id,
    )
    fresh = store.get_match(session=session, match_id=match_id)
    assert fresh is not None
    return _card_of(session, services, fresh, coordinator.language, now)


def _tell_both(session: Session, match: Match, now: datetime, what: str) -> None:
    family, helper = sides(session, match)
    for reader, other in ((family, helper), (helper, family)):
        if reader is None:
            continue
        with use_language(reader.language):
            if what == "pause":
                text = _("⏸ The match with {name} is paused for now. Your coordinator will tell you when it goes on.")
            else:
                text = _("▶️ The match with {name} goes on. You get a reminder the day before each time.")
        tell(
            session,
            reader,
            f"match.{what}:{match.id}:{reader.id}:{now:%Y%m%d%H%M}",
            text.format(name=hi(name_of(other))),
            now,
        )


def end_match(
    *,
    session: Session,
    services: Services,
    match: Match,
    reason: StopReason,
    actor: Person | None,
    now: datetime,
    leaving: Person | None = None,
) -> bool:
    """End a match: no more occurrences or reviews; both sides told kindly (the one who leaves: not told)."""
    assert match.id is not None
    if not rules.may("stop", MatchState(match.state)):
        return False
    match_runs.stop_future(session=session, match=match, now=now, reviews_too=True)
    if not store.set_state(
        session=session,
        match_id=match.id,
        expected=list(store.OPEN),
        now=now,
        state="ended",
        ended_at=now,
        end_reason=reason.value,
    ):
        return False
    family, helper = sides(session, match)
    was_proposed = match.state == MatchState.PROPOSED
    for reader, other in ((family, helper), (helper, family)):
        if reader is None or (leaving is not None and reader.id == leaving.id):
            continue
        with use_language(reader.language):
            if leaving is not None:
                text = _("The match has ended: the other side is no longer with Waakvlam. Thank you for everything.")
            elif was_proposed:
                text = _(
                    "The proposed match with {name} will not go ahead. Your coordinator will talk it over with you."
                )
            else:
                text = _(
                    "⏹ The match with {name} has ended. Thank you for the time you spent together. "
                    "Your coordinator is there if you want to talk about it."
                )
        tell(session, reader, f"match.end:{match.id}:{reader.id}", text.format(name=hi(name_of(other))), now)
    coordinator = match_coordinator(session, match)
    if leaving is not None and coordinator is not None:
        with use_language(coordinator.language):
            text = _("⏹ A match has ended because one side left Waakvlam.")
        tell(session, coordinator, f"match.end:{match.id}:c", text, now)
    people.add_timeline(
        session=session,
        family_id=match.family_id if leaving is None or leaving.id != match.family_id else None,
        kind="match_ended",
        now=now,
        actor_id=actor.id if actor else None,
        ref_id=match.id,
        reason=reason.value,
    )
    event(logger, "match.ended", match=match.id, reason=reason.value)
    return True


def person_leaves(*, session: Session, services: Services, person: Person, now: datetime) -> int:
    """Erasure: every open match of the person ends; the other side is told, without details."""
    assert person.id is not None
    ended = 0
    for match in store.matches_of(session=session, person_id=person.id):
        if end_match(
            session=session,
            services=services,
            match=match,
            reason=StopReason.ERASED,
            actor=None,
            now=now,
            leaving=person,
        ):
            ended += 1
    return ended


# --- holidays -------------------------------------------------------------------------------------


class HolidayResult(StrEnum):
    DONE = "done"
    BAD_DATES = "bad_dates"
    GONE = "gone"


def add_holiday(
    *,
    session: Session,
    services: Services,
    coordinator: Person | None,
    match_id: int,
    side: str,
    first: date,
    last: date,
    now: datetime,
) -> HolidayResult:
    """A holiday of one side: occurrences on those days do not happen and are nobody's miss; both are told."""
    found = _managed(session, coordinator, match_id, now)
    if isinstance(found, Card):
        return HolidayResult.GONE
    match = found
    today = rules.local_day(now)
    if side not in (Side.FAMILY, Side.HELPER) or match.state not in rules.RUNNING_STATES:
        return HolidayResult.GONE
    if last < first or last < today or (last - first).days > 120:
        return HolidayResult.BAD_DATES
    store.add_holiday(session=session, match_id=match_id, side=side, first=first, last=last, now=now)
    for row in store.occurrences(session=session, match_id=match_id):
        if row.outcome is None and row.starts_at > now and rules.in_holiday(row.day, [(first, last)]):
            store.set_outcome(session=session, occurrence_id=row.id or 0, outcome="holiday", now=now)
            delivery.cancel_jobs(session=session, kind=match_runs.REMIND, subject_id=row.id or 0)
            delivery.cancel_jobs(session=session, kind=match_runs.LOG_JOB, subject_id=row.id or 0)
    family, helper = sides(session, match)
    for reader in (family, helper):
        if reader is None:
            continue
        with use_language(reader.language):
            text = _("🏖 No meetings of your match from {first} to {last} (a holiday). After that it goes on as usual.")
            text = text.format(first=h(format_day(first, reader.language)), last=h(format_day(last, reader.language)))
        tell(session, reader, f"match.holiday:{match_id}:{first.isoformat()}:{reader.id}", text, now)
    people.add_timeline(
        session=session,
        family_id=match.family_id,
        kind="match_holiday",
        now=now,
        actor_id=coordinator.id if coordinator else None,
        ref_id=match_id,
        side=side,
    )
    return HolidayResult.DONE


def describe_rhythm(rhythm: Rhythm, language: str) -> str:
    """The rhythm in words (for the proposal's summary in the dialogue)."""
    return rhythm_text(rhythm, language)


def match_lines_for_family(*, session: Session, family_id: int, language: str) -> list[str]:
    """The family card's lines about its matches (open ones)."""
    lines: list[str] = []
    with use_language(language):
        for match in store.matches_of(session=session, person_id=family_id):
            if match.family_id != family_id:
                continue
            _family, helper = sides(session, match)
            lines.append(
                _("Match with {name}: {state}").format(name=hi(name_of(helper)), state=h(state_label(match.state)))
            )
    return lines


def proposal_sides(*, session: Session, family_id: int, helper_id: int) -> tuple[Person | None, Person | None]:
    """The family and the helper a proposal names (read fresh; None for one since erased)."""
    return (
        people.get_person(session=session, person_id=family_id),
        people.get_person(session=session, person_id=helper_id),
    )
