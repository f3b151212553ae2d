"""Trial end and reviews of a match: the family, the helper and the coordinator are asked "continue / adjust /
stop"; the coordinator decides (`domain.matches.after_review`), and the decision is in the timeline.

The `match.review` job runs on the morning of the trial end and of each review date; it asks every review that
has come (`domain.matches.reviews_due`), once. "Stop" asks the coordinator why and then ends the match through
`services.match_endings.end_match`, which ends future occurrences and tells both sides kindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain import matches as rules
from domain.matches import MatchState, ReviewChoice, Side
from services import timeline
from services.callbacks import Button
from services.context import JobHandler, Services
from services.i18n import _, format_day, h, hi, use_language
from services.labels import name_of
from services.logs import event
from services.match_management import Card, end_reasons, may_manage
from services.match_runs import REVIEW
from services.match_texts import (
    ANSWER,
    CHOICE_LABELS,
    audit_match,
    kind_label,
    match_coordinator,
    review_dates,
    side_of,
    sides,
    tell,
)
from services.permissions import refusal_text
from storage import matches as store
from storage.db import Session
from storage.match_tables import Match, MatchReview
from storage.models import Person

logger = logging.getLogger(__name__)

DECIDE = Button("mt", "dec", int, str)  # a review id, a ReviewChoice


def review_job(*, session: Session, job: Any, services: Services, now: datetime) -> None:
    """Ask every review of the match that has come and was not asked yet."""
    match = store.get_match(session=session, match_id=job.subject_id or 0)
    if match is None or match.id is None or match.state not in rules.RUNNING_STATES:
        return
    asked = [row.due_on for row in store.reviews(session=session, match_id=match.id)]
    today = rules.local_day(now, services.settings.timezone)
    for day in rules.reviews_due(trial_end=match.trial_end, reviews=review_dates(match), asked=asked, today=today):
        review = store.add_review(session=session, match_id=match.id, due_on=day, now=now)
        if review is not None:
            _ask(session, match, review, now)
            timeline.note(session=session, about=match, kind="match_review", now=now)
            event(logger, "match.review_asked", match=match.id, review=review.id)


def _ask(session: Session, match: Match, review: MatchReview, now: datetime) -> None:
    """Ask both sides 'continue / adjust / stop' at the trial end or a review date."""
    family, helper = sides(session, match)
    is_trial = review.due_on == match.trial_end and match.state == MatchState.TRIAL
    for reader, other in ((family, helper), (helper, family)):
        if reader is None:
            continue
        with use_language(reader.language):
            if is_trial:
                text = _("🌱 The trial of your match with {name} ends today. How would you like to go on?")
            else:
                text = _("🗓 Time to look back on your match with {name}. How would you like to go on?")
            text = text.format(name=hi(name_of(other)))
            text += "\n" + _("Your coordinator reads your answer and decides with you.")
            buttons = [[(_(label), ANSWER.data(review.id, choice)) for choice, label in CHOICE_LABELS.items()]]
        tell(session, reader, f"match.review:{review.id}:{reader.id}", text, now, buttons)
    coordinator = match_coordinator(session, match)
    if coordinator is not None:
        with use_language(coordinator.language):
            text = _("🗓 Review of the match of {family} with {helper} ({kind}), {day}. What do you decide?").format(
                family=hi(name_of(family)),
                helper=hi(name_of(helper)),
                kind=h(kind_label(match.kind)),
                day=h(format_day(review.due_on, coordinator.language)),
            )
            text += "\n" + _("Both sides are asked too; their answers come to you.")
            buttons = [[(_(label), DECIDE.data(review.id, choice)) for choice, label in CHOICE_LABELS.items()]]
        tell(session, coordinator, f"match.review:{review.id}:c", text, now, buttons)


class Reviewed(StrEnum):
    DONE = "done"
    GONE = "gone"


def answer(*, session: Session, person: Person | None, review_id: int, choice: str, now: datetime) -> Reviewed:
    """A side's continue / adjust / stop; the coordinator hears it."""
    review = store.get_review(session=session, review_id=review_id)
    match = store.get_match(session=session, match_id=review.match_id) if review is not None else None
    side = side_of(match, person) if match is not None else None
    if review is None or match is None or side is None or choice not in CHOICE_LABELS or person is None:
        return Reviewed.GONE
    if not store.answer_review(session=session, review_id=review_id, side=side.value, choice=choice):
        return Reviewed.GONE
    coordinator = match_coordinator(session, match)
    if coordinator is not None:
        with use_language(coordinator.language):
            who = _("the family") if side == Side.FAMILY else _("the helper")
            text = _("🗓 Review of a match: {name} ({who}) answered: {choice}").format(
                name=hi(name_of(person)), who=h(who), choice=h(_(CHOICE_LABELS[choice]))
            )
        tell(session, coordinator, f"match.review:{review_id}:{side.value}:answer", text, now)
    return Reviewed.DONE


@dataclass(frozen=True)
class Decided:
    note: str | None = None
    card: Card | None = None  # "stop": why does it end
    stale: bool = False


def decide(
    *, session: Session, services: Services, coordinator: Person | None, review_id: int, choice: str, now: datetime
) -> Decided:
    """The coordinator's decision at a review: continue (a trial becomes active), adjust, or stop (asks why)."""
    review = store.get_review(session=session, review_id=review_id)
    match = store.get_match(session=session, match_id=review.match_id) if review is not None else None
    if review is None or match is None or match.id is None or choice not in CHOICE_LABELS:
        return Decided(stale=True)
    decision = may_manage(session=session, coordinator=coordinator, family_id=match.family_id, now=now)
    if not decision:
        return Decided(note=refusal_text(decision))
    assert coordinator is not None
    if match.state not in store.OPEN or not store.decide_review(
        session=session, review_id=review_id, decision=choice, coordinator_id=coordinator.id or 0, now=now
    ):
        return Decided(stale=True)
    timeline.note(session=session, about=match, kind="match_decided", now=now, by=coordinator, decision=choice)
    audit_match(session=session, by=coordinator, action="match_review_decided", match=match, now=now, decision=choice)
    if choice == ReviewChoice.STOP:
        return Decided(card=end_reasons(session=session, coordinator=coordinator, match_id=match.id, now=now))
    state = rules.after_review(MatchState(match.state), ReviewChoice(choice))
    if state != match.state:
        store.set_state(session=session, match_id=match.id, expected=[match.state], now=now, state=state.value)
    family, helper = sides(session, match)
    for reader, other in ((family, helper), (helper, family)):
        if reader is None:
            continue
        with use_language(reader.language):
            if choice == ReviewChoice.CONTINUE:
                text = _("👍 Your match with {name} goes on. Thank you!")
            else:
                text = _(
                    "🔧 Your match with {name} goes on with some changes: your coordinator talks them over with you."
                )
        tell(session, reader, f"match.decided:{review_id}:{reader.id}", text.format(name=hi(name_of(other))), now)
    with use_language(coordinator.language):
        note = _("Decided: {choice}. Both sides are told.").format(choice=_(CHOICE_LABELS[choice]))
    return Decided(note=note)


JOBS: dict[str, JobHandler] = {REVIEW: review_job}
