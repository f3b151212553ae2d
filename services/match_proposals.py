"""Proposing a lasting match and both sides' answers: a coordinator proposes, each side accepts or declines.

A coordinator proposes a match between a family they may act for and an approved helper (with a valid VOG and
"with children" where the help involves children, `domain.matches.helper_may_care_for_children`). Both sides
then see what the match is, who the other is and what the other will know about them, and accept or decline;
only when both accepted does the trial start (`domain.matches.after_accept`): the occurrences are planned
(`services.match_runs`), the reviews scheduled, the helper gets the family's address (audited). Every decision
goes through `services.permissions` (`Action.MANAGE_MATCHES`, `services.match_management.may_manage`); every
message to another person is an outbox row in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from domain import matches as rules
from domain.matches import MatchState, Rhythm, RhythmProblem, Side
from services import match_household as household
from services import match_runs, questions, timeline
from services.context import Services
from services.i18n import _, format_day, format_when, h, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_contact import write_button
from services.match_management import may_manage
from services.match_runs import helper_may_care_for_children
from services.match_texts import (
    ACCEPT,
    CHILD_KINDS,
    DECLINE,
    MATCH_KINDS,
    audit_match,
    household_line,
    match_coordinator,
    rhythm_text,
    side_of,
    sides,
    summary,
    tell,
)
from services.permissions import Decision
from storage import matches as store
from storage import people
from storage.db import Session
from storage.match_tables import Match
from storage.models import Person, Role, VolunteerStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Proposal:
    """What a coordinator proposes: the two sides, the kind of help, the rhythm, the trial and reviews."""

    family_id: int
    helper_id: int
    kind: str
    rhythm: Rhythm
    trial_end: date
    reviews: tuple[date, ...] = ()
    members: tuple[int, ...] = ()  # other adults of the helper's support household


class ProposalProblem(StrEnum):
    REFUSED = "refused"
    NO_FAMILY = "no_family"
    NO_HELPER = "no_helper"
    NO_VOG = "no_vog"  # the help involves children and the helper may not care for them
    ALREADY = "already"  # an open match between them exists
    RHYTHM = "rhythm"
    NO_MEMBER = "no_member"  # an adult of the household is not an approved volunteer (any more)


@dataclass(frozen=True)
class Proposed:
    match_id: int | None = None
    problem: ProposalProblem | None = None
    rhythm_problems: list[RhythmProblem] = field(default_factory=list)
    decision: Decision | None = None


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
    for member in proposal.members:
        problem = household.check_member(
            session=session,
            services=services,
            person_id=member,
            family_id=proposal.family_id,
            helper_id=proposal.helper_id,
            kind=proposal.kind,
            today=today,
        )
        if problem is not None:
            return ProposalProblem.NO_VOG if problem == household.MemberProblem.NO_VOG else ProposalProblem.NO_MEMBER
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
    household.add_members(session=session, match=match, person_ids=proposal.members, added_by=coordinator, now=now)
    _ask_sides(session, match, now)
    timeline.note(session=session, about=match, kind="match_proposed", now=now, by=coordinator, kind_of_help=match.kind)
    audit_match(session=session, by=coordinator, action="match_proposed", match=match, now=now, helper=match.helper_id)
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
            adults = household_line(session=session, match_id=match.id or 0)
            if adults:
                lines.append(adults)
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
    JOINED = "joined"  # an adult of the household agreed to a match that runs already
    LEFT_OUT = "left_out"  # an adult of the household said no to a match that runs already: it goes on


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
    timeline.note(session=session, about=match, kind="match_accepted", now=now, by=person, side=side.value)
    state = _agreed_state(session, match)
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


def _agreed_state(session: Session, match: Match) -> MatchState:
    """The trial starts once the family, the helper and every adult of the household agreed."""
    state = rules.after_accept(
        family_accepted=match.family_accepted_at is not None, helper_accepted=match.helper_accepted_at is not None
    )
    adults = store.members(session=session, match_id=match.id or 0, active_only=True)
    return state if all(adult.accepted_at is not None for adult in adults) else MatchState.PROPOSED


def answer_member(
    *, session: Session, services: Services, person: Person | None, member_id: int, accept: bool, now: datetime
) -> Answer:
    """An adult of the support household agrees or declines: for a proposal, every adult must agree (one 'no'
    and it does not go ahead); for a running match a 'no' only leaves them out."""
    member = store.get_member(session=session, member_id=member_id)
    match = store.get_match(session=session, match_id=member.match_id) if member is not None else None
    if member is None or match is None or person is None or person.id != member.person_id:
        return Answer(Answered.GONE)
    family, helper = sides(session, match)
    state = MatchState(match.state)
    if state not in rules.OPEN_STATES:
        return Answer(Answered.TOO_LATE, other_name=name_of(family))
    if member.accepted_at is not None or member.declined_at is not None:
        return Answer(Answered.ALREADY if accept and member.accepted_at else Answered.TOO_LATE)
    if not store.answer_member(session=session, member_id=member_id, accept=accept, now=now):
        return Answer(Answered.TOO_LATE)
    household.tell_coordinator_member(session=session, match=match, member=person, agreed=accept, now=now)
    timeline.note(
        session=session,
        about=match,
        kind="match_accepted" if accept else "match_declined",
        now=now,
        by=person,
        side="household",
    )
    if not accept:
        if state == MatchState.PROPOSED and store.set_state(
            session=session, match_id=match.id or 0, expected=["proposed"], now=now, state="declined"
        ):
            for reader, other in ((family, helper), (helper, family)):
                if reader is None:
                    continue
                with use_language(reader.language):
                    text = _(
                        "The proposed match with {name} will not go ahead. Your coordinator will talk it over with you."
                    )
                tell(
                    session, reader, f"match.declined:{match.id}:{reader.id}", text.format(name=hi(name_of(other))), now
                )
            return Answer(Answered.DECLINED, other_name=name_of(family))
        return Answer(Answered.LEFT_OUT, other_name=name_of(family))
    if state != MatchState.PROPOSED:
        return Answer(Answered.JOINED, other_name=name_of(family))
    fresh = store.get_match(session=session, match_id=match.id or 0)
    assert fresh is not None
    if _agreed_state(session, fresh) != MatchState.TRIAL:
        return Answer(Answered.WAITING, other_name=name_of(family))
    coordinator = match_coordinator(session, fresh)
    first = _start(session, services, fresh, family, helper, coordinator, now)
    with use_language(person.language):
        when = format_when(first, services.settings.timezone, person.language) if first else ""
    return Answer(Answered.STARTED, other_name=name_of(family), first=when)


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
    timeline.note(session=session, about=match, kind="match_declined", now=now, by=person)


def _tell_coordinator_started(
    session: Session, match: Match, family: Person | None, helper: Person | None, coordinator: Person, now: datetime
) -> None:
    """The coordinator who proposed a match hears that both agreed and the trial started."""
    with use_language(coordinator.language):
        text = _("🌱 The match of {family} with {helper} has started: both agreed. Trial until {day}.").format(
            family=hi(name_of(family)),
            helper=hi(name_of(helper)),
            day=h(format_day(match.trial_end, coordinator.language)),
        )
    tell(session, coordinator, f"match.start:{match.id}:c", text, now)


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
    adults = [(adult, family) for adult in match_runs.household(session, match)]
    for reader, other in ((family, helper), (helper, family), *adults):
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
        audit_match(session=session, by=helper, action="match_address_shown", match=match, now=now)
    if coordinator is not None:
        _tell_coordinator_started(session, match, family, helper, coordinator, now)
    timeline.note(session=session, about=match, kind="match_started", now=now)
    event(logger, "match.started", match=match.id)
    return first


def describe_rhythm(rhythm: Rhythm, language: str) -> str:
    """The rhythm in words (for the proposal's summary in the dialogue)."""
    return rhythm_text(rhythm, language)


def proposal_sides(*, session: Session, family_id: int, helper_id: int) -> tuple[Person | None, Person | None]:
    """The family and the helper a proposal names (read fresh; None for one since erased)."""
    return (
        people.get_person(session=session, person_id=family_id),
        people.get_person(session=session, person_id=helper_id),
    )


def member_names(*, session: Session, person_ids: list[int]) -> list[str]:
    """The names of the household's other adults a proposal names (read fresh)."""
    return [name_of(people.get_person(session=session, person_id=person_id)) for person_id in person_ids]
