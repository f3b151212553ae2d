"""Words and small shared parts of lasting matches: kinds, rhythms, states, the buttons of each side.

Every match use case (`services.match_proposals`, `services.match_management`, `services.match_endings`,
`services.match_runs`, `services.match_reviews`) writes its messages with these, so a rhythm reads the same in
the proposal, the reminder and the coordinator's card.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date

from domain.matches import MatchState, Outcome, ReviewChoice, Rhythm, RhythmKind, Side, StopReason
from services.callbacks import Button
from services.i18n import N_, _, format_day, h, hi, ngettext, use_language
from services.labels import name_of
from services.outbox import Outgoing, ToPerson, enqueue
from services.tasks import KIND_EMOJI, KIND_LABELS
from storage import matches as matches_store
from storage import people
from storage.db import Session
from storage.match_tables import Match
from storage.models import Person

# What a match can be for: the kinds of help requests, and a sleepover.
MATCH_KINDS: dict[str, str] = {"sleepover": N_("A child sleeps over"), **KIND_LABELS}
MATCH_EMOJI = {"sleepover": "🛏", **KIND_EMOJI}
# Kinds in which the helper cares for children: they need a valid VOG and the coordinator's "with children".
CHILD_KINDS = frozenset({"sleepover", "babysitting", "homework"})

RHYTHM_LABELS: dict[RhythmKind, str] = {
    RhythmKind.WEEKLY: N_("Weekly"),
    RhythmKind.EVERY_OTHER_WEEK: N_("Every other week"),
    RhythmKind.WEEKDAYS: N_("Chosen weekdays"),
    RhythmKind.AGREED: N_("Agreed each time"),
}
STATE_LABELS: dict[str, str] = {
    MatchState.PROPOSED: N_("proposed, waiting for both sides"),
    MatchState.TRIAL: N_("in its trial"),
    MatchState.ACTIVE: N_("running"),
    MatchState.PAUSED: N_("paused"),
    MatchState.DECLINED: N_("declined"),
    MatchState.ENDED: N_("ended"),
}
STATE_EMOJI = {"proposed": "⏳", "trial": "🌱", "active": "🤝", "paused": "⏸", "declined": "✖️", "ended": "⏹"}
OUTCOME_LABELS: dict[str, str] = {
    Outcome.HAPPENED: N_("✅ It happened"),
    Outcome.DIDNT: N_("❌ It did not happen"),
    Outcome.DIFFICULT: N_("⚠️ It was difficult"),
    Outcome.SKIPPED: N_("🙅 Not this time"),
    Outcome.HOLIDAY: N_("🏖 Holiday"),
}
FEELINGS: dict[str, str] = {"good": N_("😊 Good"), "so_so": N_("😐 So-so"), "not_good": N_("😟 Not good")}
CHOICE_LABELS: dict[str, str] = {
    ReviewChoice.CONTINUE: N_("👍 Continue"),
    ReviewChoice.ADJUST: N_("🔧 Adjust"),
    ReviewChoice.STOP: N_("⏹ Stop"),
}
STOP_LABELS: dict[str, str] = {
    StopReason.GOAL_REACHED: N_("The goal is reached"),
    StopReason.NOT_A_FIT: N_("Not a good fit"),
    StopReason.FAMILY_WITHDREW: N_("The family stopped"),
    StopReason.HELPER_WITHDREW: N_("The helper stopped"),
    StopReason.MOVED: N_("Someone moved"),
    StopReason.VOG_EXPIRED: N_("VOG no longer valid"),
    StopReason.ERASED: N_("Someone left Waakvlam"),
    StopReason.OTHER: N_("Another reason"),
}
TIMELINE_LABELS: dict[str, str] = {
    "match_proposed": N_("Match proposed"),
    "match_accepted": N_("Match accepted by one side"),
    "match_started": N_("Match started (trial)"),
    "match_declined": N_("Match declined"),
    "match_meeting": N_("Match meeting held"),
    "match_paused": N_("Match paused"),
    "match_resumed": N_("Match resumed"),
    "match_ended": N_("Match ended"),
    "match_skipped": N_("Match: not this time"),
    "match_logged": N_("Match visit logged"),
    "match_holiday": N_("Match holiday"),
    "match_review": N_("Match review"),
    "match_decided": N_("Match review decided"),
    "match_message": N_("A message passed between the sides of a match"),
    "match_pooled": N_("Match: a called-off time went to other volunteers"),
    "match_adjusted": N_("Match adjusted"),
    "match_member": N_("Match: an adult of the support household added"),
    "match_gave_back": N_("Match: whether the offer back happened"),
}

# The two sides' buttons (ms:...). The coordinator's are in `services.match_management`.
ACCEPT = Button("ms", "yes", int)  # a match id
DECLINE = Button("ms", "no", int)
SKIP = Button("ms", "skip", int)  # an occurrence id
LOG = Button("ms", "log", int, str)  # an occurrence id, an Outcome
FEEL = Button("ms", "feel", int, str)  # an occurrence id, a feeling
ANSWER = Button("ms", "rev", int, str)  # a review id, a ReviewChoice
WRITE = Button("ms", "msg", int)  # a match id: write to the other side
POOL = Button("ms", "pool", int)  # an occurrence the helper called off: ask other volunteers?
POOL_YES = Button("ms", "poolok", int)  # the family's OK: a one-off request for that time
POOL_NO = Button("ms", "poolno", int)


def kind_label(kind: str) -> str:
    """'🛏 A child sleeps over', in the current language."""
    label = MATCH_KINDS.get(kind)
    return f"{MATCH_EMOJI.get(kind, '')} {_(label)}".strip() if label else kind


def weekday_names(days: frozenset[int] | set[int], language: str) -> str:
    """'Monday, Thursday' in the reader's language."""
    monday = date(2026, 1, 5)
    return ", ".join(format_date(monday + timedelta(days=day), format="EEEE", locale=language) for day in sorted(days))


def rhythm_text(rhythm: Rhythm, language: str) -> str:
    """'every other week on Saturday, 14:00-17:00, from Saturday 5 December'."""
    first = rhythm.first
    with use_language(language):
        end = (datetime.combine(first, rhythm.start) + rhythm.length).time()
        window = f"{rhythm.start:%H:%M}-{end:%H:%M}"
        day = weekday_names({first.weekday()}, language)
        if rhythm.kind == RhythmKind.WEEKLY:
            how = _("every week on {day}").format(day=day)
        elif rhythm.kind == RhythmKind.EVERY_OTHER_WEEK:
            how = _("every other week on {day}").format(day=day)
        elif rhythm.kind == RhythmKind.WEEKDAYS:
            how = _("every week on {days}").format(days=weekday_names(rhythm.weekdays, language))
        else:
            how = _("on days you agree each time")
        return _("{how}, {window}, from {day}").format(how=how, window=window, day=format_day(first, language))


def rhythm_of(match: Match) -> Rhythm:
    """The match's stored rhythm as a Rhythm."""
    return Rhythm.from_json(match.rhythm)


def review_dates(match: Match) -> list[date]:
    """The match's review dates as dates."""
    return [date.fromisoformat(day) for day in match.reviews]


def sides(session: Session, match: Match) -> tuple[Person | None, Person | None]:
    """The family and the helper, as stored now."""
    return (
        people.get_person(session=session, person_id=match.family_id),
        people.get_person(session=session, person_id=match.helper_id),
    )


def side_of(match: Match, person: Person | None) -> Side | None:
    """Which side of the match this person is (None: neither)."""
    if person is None or person.id is None:
        return None
    if person.id == match.family_id:
        return Side.FAMILY
    if person.id == match.helper_id:
        return Side.HELPER
    return None


def match_coordinator(session: Session, match: Match) -> Person | None:
    """Who hears about the match: the coordinator who proposed it, else the family's primary coordinator."""
    for candidate in (match.coordinator_id, _primary_of(session, match.family_id)):
        if candidate is None:
            continue
        found = people.get_person(session=session, person_id=candidate)
        if found is not None and found.telegram_id is not None and found.role == "coordinator":
            return found
    return None


def _primary_of(session: Session, family_id: int) -> int | None:
    """The id of the family's primary coordinator, if it has one."""
    profile = people.get_family(session=session, person_id=family_id)
    return profile.primary_coordinator_id if profile is not None else None


def tell(
    session: Session,
    person: Person | None,
    key: str,
    text: str,
    now: datetime,
    buttons: list[list[tuple[str, str]]] | None = None,
) -> bool:
    """Queue a message to a side or a coordinator (their private chat), in the caller's transaction."""
    if person is None:
        return False
    message = Outgoing(text=text, buttons=buttons or ())
    return enqueue(session=session, to=ToPerson(person), message=message, key=key, now=now)


def audit_match(*, session: Session, by: Person, action: str, match: Match, now: datetime, **detail: Any) -> None:
    """Audit a step of a match: by whom, about the match's family and the match."""
    people.audit(
        session=session, actor_id=by.id, action=action, subject_id=match.family_id, now=now, match=match.id, **detail
    )


def summary(match: Match, language: str, family: Person | None, helper: Person | None) -> list[str]:
    """The lines that say what a match is: the two sides, the kind, the rhythm, the trial."""
    with use_language(language):
        lines = [
            _("Family: {name}").format(name=hi(name_of(family))),
            _("Helper: {name}").format(name=hi(name_of(helper))),
            _("Kind of help: {kind}").format(kind=h(kind_label(match.kind))),
            _("When: {rhythm}").format(rhythm=h(rhythm_text(rhythm_of(match), language))),
            _("Trial until: {day}").format(day=h(format_day(match.trial_end, language))),
        ]
        reviews = review_dates(match)
        if reviews:
            lines.append(
                ngettext("Review date: {days}", "Review dates: {days}", len(reviews)).format(
                    days=h(", ".join(format_day(day, language) for day in reviews))
                )
            )
    return lines


def names(*, session: Session, match_id: int) -> list[tuple[str, bool]]:
    """The household's other adults who did not decline, as (name, agreed)."""
    found = []
    for member in matches_store.members(session=session, match_id=match_id, active_only=True):
        person = people.get_person(session=session, person_id=member.person_id)
        found.append((name_of(person), member.accepted_at is not None))
    return found


def household_line(*, session: Session, match_id: int) -> str | None:
    """'Also in the support household: Anna (✅ agreed), Bas (⏳ not yet)', in the current language."""
    found = names(session=session, match_id=match_id)
    if not found:
        return None
    listed = ", ".join(
        _("{name} (✅ agreed)").format(name=hi(name)) if agreed else _("{name} (⏳ not yet)").format(name=hi(name))
        for name, agreed in found
    )
    return _("Also in the support household: {names}").format(names=listed)


def state_label(state: str) -> str:
    """A match state in words with its emoji, in the current language."""
    return f"{STATE_EMOJI.get(state, '')} {_(STATE_LABELS[state])}" if state in STATE_LABELS else state
