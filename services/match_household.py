"""A support household (steungezin): the helper side of a match can be several adults, each an approved
volunteer, each with their own VOG where the match involves children, and each agreeing themselves.

The helper (`match.helper_id`) is the household's contact; the other adults are `matchmember` rows. A
coordinator adds them when proposing (`services.match_proposals.propose`) or to an open match from its card
(`add_member`); each is asked in chat and answers for themselves (`services.match_proposals.answer_member`).
A proposal starts only when the family, the helper and every adult agreed. A member without a valid VOG (or
without the intake's "with children") blocks a match involving children: checked when they are added, when the
proposal is sent, and before every reminder (`services.match_runs`), where it pauses the match as the helper's
own VOG does. Members get the reminders and may tap the visit log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from domain import matches as rules
from domain.matches import MatchState
from services import pairs, timeline
from services.callbacks import Button
from services.context import Services
from services.i18n import _, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_management import Card, card, may_manage
from services.match_runs import helper_may_care_for_children
from services.match_texts import CHILD_KINDS, audit_match, match_coordinator, sides, summary, tell
from services.permissions import refusal_text
from storage import matches as store
from storage import people
from storage.db import Session
from storage.match_tables import Match, MatchMember
from storage.models import Person, VolunteerStatus

logger = logging.getLogger(__name__)

MEMBER_YES = Button("ms", "hyes", int)  # a matchmember id: this adult agrees
MEMBER_NO = Button("ms", "hno", int)
OPTIONS = 10  # volunteers on one page of the household list, as on the helper list


class MemberProblem(StrEnum):
    NOT_APPROVED = "not_approved"  # not an approved volunteer, or a side of the match already
    NO_VOG = "no_vog"  # the match involves children and this adult may not care for them


def check_member(
    *, session: Session, services: Services, person_id: int, family_id: int, helper_id: int, kind: str, today: date
) -> MemberProblem | None:
    """Whether this volunteer can be an adult of the helper's household in a match of this kind."""
    profile = people.get_volunteer(session=session, person_id=person_id)
    person = people.get_person(session=session, person_id=person_id)
    if person is None or profile is None or profile.status != VolunteerStatus.APPROVED:
        return MemberProblem.NOT_APPROVED
    if person_id in (family_id, helper_id):
        return MemberProblem.NOT_APPROVED
    if kind in CHILD_KINDS and not helper_may_care_for_children(
        session=session, services=services, helper_id=person_id, today=today
    ):
        return MemberProblem.NO_VOG
    return None


def ask_member(*, session: Session, match: Match, member: MatchMember, now: datetime) -> None:
    """Ask one adult of the household whether they agree to the match (what it is, who the family is)."""
    reader = people.get_person(session=session, person_id=member.person_id)
    if reader is None or member.id is None:
        return
    family, helper = sides(session, match)
    with use_language(reader.language):
        lines = [_("🤝 <b>A lasting match with your support household</b>")]
        lines += summary(match, reader.language, family, helper)
        lines.append("")
        lines.append(
            _(
                "{helper} and you help {family} as one support household. Every adult agrees for themselves; "
                "{family} will know your name."
            ).format(helper=hi(name_of(helper)), family=hi(name_of(family)))
        )
        lines.append(_("Do you agree to take part?"))
        buttons = [
            [(_("✅ Yes, I agree"), MEMBER_YES.data(member.id)), (_("✖️ No, thank you"), MEMBER_NO.data(member.id))]
        ]
    tell(session, reader, f"match.member:{member.id}", "\n".join(lines), now, buttons)


def add_members(
    *, session: Session, match: Match, person_ids: Sequence[int], added_by: Person | None, now: datetime
) -> int:
    """Store adults of the household and ask each; how many were new."""
    assert match.id is not None
    added = 0
    for person_id in person_ids:
        member = store.add_member(
            session=session,
            match_id=match.id,
            person_id=person_id,
            added_by_id=added_by.id if added_by else None,
            now=now,
        )
        if member is None:
            continue
        added += 1
        ask_member(session=session, match=match, member=member, now=now)
        timeline.note(session=session, about=match, kind="match_member", now=now, by=added_by)
    return added


@dataclass(frozen=True)
class Options:
    """One page of the volunteers a coordinator may add to a match's household (label, id), whether more
    follow, or the card that says no."""

    options: list[tuple[str, int]] = field(default_factory=list)
    page: int = 0
    more: bool = False
    refused: Card | None = None


def member_options(
    *, session: Session, coordinator: Person | None, family_id: int, exclude: Sequence[int], page: int, now: datetime
) -> Options | None:
    """One page of approved volunteers (nearby first, never `exclude`) who could be another adult; None: not allowed."""
    page = max(page, 0)
    found = pairs.candidates(
        session=session,
        person=coordinator,
        family_id=family_id,
        page=page,
        page_size=OPTIONS,
        now=now,
        exclude=exclude,
    )
    if found is None:
        return None
    return Options(options=found.options, page=page, more=found.more)


def options_for_match(
    *, session: Session, coordinator: Person | None, match_id: int, page: int, now: datetime
) -> Options:
    """'Add an adult of the household' on a match's card: one page of who could be added."""
    match = store.get_match(session=session, match_id=match_id)
    if match is None or MatchState(match.state) not in rules.OPEN_STATES:
        return Options(refused=Card(stale=True))
    decision = may_manage(session=session, coordinator=coordinator, family_id=match.family_id, now=now)
    if not decision:
        return Options(refused=Card(note=refusal_text(decision)))
    taken = [member.person_id for member in store.members(session=session, match_id=match_id)]
    found = member_options(
        session=session,
        coordinator=coordinator,
        family_id=match.family_id,
        exclude=[match.helper_id, *taken],
        page=page,
        now=now,
    )
    return found if found is not None else Options(refused=Card(stale=True))


def add_member(
    *, session: Session, services: Services, coordinator: Person | None, match_id: int, person_id: int, now: datetime
) -> Card:
    """A coordinator adds an adult to an open match's household (checked: approved, VOG); they are asked."""
    match = store.get_match(session=session, match_id=match_id)
    if match is None or MatchState(match.state) not in rules.OPEN_STATES:
        return Card(stale=True)
    decision = may_manage(session=session, coordinator=coordinator, family_id=match.family_id, now=now)
    if not decision:
        return Card(note=refusal_text(decision))
    assert coordinator is not None
    problem = check_member(
        session=session,
        services=services,
        person_id=person_id,
        family_id=match.family_id,
        helper_id=match.helper_id,
        kind=match.kind,
        today=rules.local_day(now, services.settings.timezone),
    )
    if problem == MemberProblem.NO_VOG:
        return Card(
            text=_(
                "This help involves children: every adult of the household needs a valid VOG and approval for "
                "tasks with children."
            )
        )
    if problem is not None:
        return Card(text=_("That helper is not an approved volunteer (any more)."))
    if not add_members(session=session, match=match, person_ids=[person_id], added_by=coordinator, now=now):
        return Card(text=_("They are in this household already."))
    audit_match(session=session, by=coordinator, action="match_member_added", match=match, now=now, member=person_id)
    event(logger, "match.member_added", match=match_id)
    return card(session=session, services=services, coordinator=coordinator, match_id=match_id, now=now)


def tell_coordinator_member(*, session: Session, match: Match, member: Person, agreed: bool, now: datetime) -> None:
    """The match's coordinator hears that an adult of the household agreed or declined."""
    coordinator = match_coordinator(session, match)
    if coordinator is None:
        return
    family, helper = sides(session, match)
    with use_language(coordinator.language):
        if agreed:
            text = _("🤝 {name} (support household of {helper}) agreed to the match with {family}.")
        else:
            text = _("✖️ {name} (support household of {helper}) declined the match with {family}.")
        text = text.format(name=hi(name_of(member)), helper=hi(name_of(helper)), family=hi(name_of(family)))
    tell(session, coordinator, f"match.member.{'yes' if agreed else 'no'}:{match.id}:{member.id}", text, now)
