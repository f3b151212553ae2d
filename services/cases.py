"""A family's case from referral to closing: the case screen, moving it along, intake talks, the waiting list.

Every change is checked (`Action.MOVE_CASE`: the family's duo, anyone of its team while nobody is assigned,
admins), written with a `CaseStep`, a timeline line and an audit entry, and told to the family in plain words
through the outbox in the same transaction. The rules of which change may follow which are `domain.cases`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from domain import cases as rules
from domain.cases import CaseState
from domain.referrals import month_of
from services import referrals
from services.callbacks import Button
from services.case_texts import (
    CLOSE_REASON_LABELS,
    MOVE_LABELS,
    STATE_LABELS,
    family_news,
    step_line,
    wait_sentence,
    weeks_of,
)
from services.concerns import FAMILY_CARD, audit_opened, name_of
from services.context import Services
from services.family_card import CASE, STALE, CardView, family_allowed
from services.i18n import _, format_day, format_when, h, hi, ngettext, use_language
from services.outbox import Outgoing, tell
from services.permissions import Action, authorize, refusal_text
from storage import care, people, teams
from storage import cases as store
from storage import referrals as referral_store
from storage.db import Session
from storage.models import Person, Role

Rows = list[list[tuple[str, str]]]

# ca:<action>:<family>[:...]: the case screen, a move (from, to: a stale screen is refused), closing with a
# reason, planning a talk (a typed day and time follows), a talk held; under the waakvlam message the family's
# "We need help again" (the same as in its /menu: conversations.checkins.need_help_again).
OPEN = CASE
MOVE = Button("ca", "to", int, str, str)
CLOSE = Button("ca", "close", int, str, str)
TALK = Button("ca", "talk", int)
HELD = Button("ca", "held", int, int)
AGAIN = Button("ca", "again")

FINISHED_WAITS_OVER = timedelta(days=365)  # the waits that tell a family how long it usually takes


@dataclass(frozen=True)
class Allowed:
    """A family the coordinator may act on now, with its current case state."""

    family: Person
    state: CaseState


def _allowed(
    session: Session, coordinator: Person, family_id: int, action: Action, now: datetime
) -> Allowed | CardView:
    """The family and its state when it exists and the coordinator may do this (audited), else the answer."""
    found = family_allowed(session, coordinator, family_id, action, now)
    if isinstance(found, CardView):
        return found
    family, profile = found
    return Allowed(family, rules.state_of(profile.case_state))


def case_screen(
    *, session: Session, services: Services, coordinator: Person, family_id: int, now: datetime, edit: bool = False
) -> CardView:
    """The case of a family: its state and since when, its intake talks, its steps, and what may follow."""
    found = _allowed(session, coordinator, family_id, Action.VIEW_FAMILY, now)
    if isinstance(found, CardView):
        return found
    audit_opened(session, coordinator, family_id, now, "case")
    profile = care.get_family_profile(session=session, family_id=family_id)
    assert profile is not None
    language, zone = coordinator.language, services.settings.timezone
    with use_language(language):
        lines = [_("<b>Case of {name}</b>").format(name=hi(name_of(found.family)))]
        since = profile.case_since
        state = _(STATE_LABELS[found.state])
        if since is not None:
            day = format_day(since.astimezone(ZoneInfo(zone)).date(), language)
            lines.append(_("State: {state} since {day}.").format(state=h(state), day=h(day)))
        else:
            lines.append(_("State: {state}.").format(state=h(state)))
        talk_rows = _talk_lines(session, family_id, lines, zone, language)
        lines.append("")
        lines.append(_("<b>Steps</b>"))
        lines += [step_line(step, zone, language) for step in store.steps(session=session, family_id=family_id)[-8:]]
        rows = _move_rows(family_id, found.state) + talk_rows
        rows.append([(_("« Family card"), FAMILY_CARD.data(family_id))])
    return CardView(text="\n".join(lines), rows=rows, edit=edit)


def _talk_lines(session: Session, family_id: int, lines: list[str], zone: str, language: str) -> Rows:
    """The intake talks as lines (added to `lines`), and a "held" button for each talk not yet held."""
    rows: Rows = []
    found = store.talks(session=session, family_id=family_id)
    if found:
        lines.append(_("Intake talks:"))
    for talk in found:
        when = h(format_when(talk.planned_at, zone, language))
        if talk.held_at is not None:
            lines.append("• " + _("{when} (held)").format(when=when))
        else:
            lines.append("• " + _("{when} (planned)").format(when=when))
            assert talk.id is not None
            label = _("✅ Talk of {when} held").format(when=format_when(talk.planned_at, zone, language))
            rows.append([(label, HELD.data(family_id, talk.id))])
    return rows


def _move_rows(family_id: int, state: CaseState) -> Rows:
    """A button per change that may follow now (closing asks for the reason), and planning a talk."""
    rows: Rows = []
    for target in rules.next_states(state):
        label = _(MOVE_LABELS.get((state, target), MOVE_LABELS[(None, target)]))
        rows.append([(label, MOVE.data(family_id, state.value, target.value))])
    if state in (CaseState.REFERRED, CaseState.INTAKE):
        rows.append([(_("🗓 Plan an intake talk"), TALK.data(family_id))])
    return rows


def close_reasons(*, session: Session, coordinator: Person, family_id: int, expected: str, now: datetime) -> CardView:
    """'Close the case': the reasons to choose from (nothing changes yet)."""
    found = _allowed(session, coordinator, family_id, Action.MOVE_CASE, now)
    if isinstance(found, CardView):
        return found
    if found.state.value != expected or not rules.can_move(found.state, CaseState.CLOSED, rules.CLOSE_REASONS[0]):
        return CardView(note=_("This case has moved on meanwhile; here it is as it stands now."), stale=False)
    rows = [[(_(CLOSE_REASON_LABELS[key]), CLOSE.data(family_id, expected, key))] for key in rules.CLOSE_REASONS]
    rows.append([(_("« Back"), OPEN.data(family_id))])
    return CardView(text=_("Why does the case close? The reason is kept for the figures."), rows=rows)


def move_case(
    *,
    session: Session,
    services: Services,
    coordinator: Person,
    family_id: int,
    expected: str,
    target: str,
    reason: str | None,
    now: datetime,
) -> CardView:
    """Move the case along (checked against the state the screen showed), tell the family, show the case again."""
    try:
        wanted = CaseState(target)
    except ValueError:
        return STALE
    if wanted == CaseState.CLOSED and reason is None:
        return close_reasons(session=session, coordinator=coordinator, family_id=family_id, expected=expected, now=now)
    found = _allowed(session, coordinator, family_id, Action.MOVE_CASE, now)
    if isinstance(found, CardView):
        return found
    if found.state.value != expected or not rules.can_move(found.state, wanted, reason):
        view = case_screen(session=session, services=services, coordinator=coordinator, family_id=family_id, now=now)
        return CardView(
            note=_("This case has moved on meanwhile; here it is as it stands now."), text=view.text, rows=view.rows
        )
    if not store.move(
        session=session,
        family_id=family_id,
        expected=expected,
        target=wanted,
        reason=reason,
        actor_id=coordinator.id,
        now=now,
    ):
        return CardView(note=_("This case has moved on meanwhile; here it is as it stands now."))
    _record(session, services, found, wanted, reason, coordinator, now)
    view = case_screen(session=session, services=services, coordinator=coordinator, family_id=family_id, now=now)
    note = _("Done: {state}.").format(state=_(STATE_LABELS[wanted]))
    return CardView(note=note, text=view.text, rows=view.rows, edit=True)


def _record(
    session: Session,
    services: Services,
    found: Allowed,
    wanted: CaseState,
    reason: str | None,
    actor: Person | None,
    now: datetime,
) -> None:
    """What every change leaves: timeline, audit, a primary for a taken referral, and the family told."""
    family = found.family
    assert family.id is not None
    reopened = rules.is_reopening(found.state, wanted)
    kind = "case_reopened" if reopened else f"case_{wanted}"
    actor_id = actor.id if actor is not None else None
    people.add_timeline(session=session, family_id=family.id, kind=kind, now=now, actor_id=actor_id, reason=reason)
    people.audit(
        session=session,
        actor_id=actor_id,
        action="case_moved",
        subject_id=family.id,
        now=now,
        to=str(wanted),
        **{"from": str(found.state)},
    )
    profile = care.get_family_profile(session=session, family_id=family.id)
    # Whoever takes a referral (or reopens a case nobody looks after) becomes the family's primary.
    taken = wanted == CaseState.INTAKE and profile is not None and profile.primary_coordinator_id is None
    if taken and actor is not None and actor.role == Role.COORDINATOR and actor.id is not None:
        care.set_coordinators(session=session, family_id=family.id, primary_id=actor.id)
    # Only the waiting-list message says how long families usually wait.
    team_id = profile.team_id if profile else None
    wait = typical_wait(session=session, team_id=team_id, now=now) if wanted == CaseState.WAITING else None
    tell(
        session=session,
        person=family,
        key=f"case:{family.id}:{wanted}:{now:%Y%m%d%H%M%S}",
        now=now,
        text=lambda: _news_message(found.state, wanted, wait),
    )
    # The referrer hears "intake done", "support started" or "closed", only if the family agreed to that.
    news = rules.referrer_news(found.state, wanted)
    if news is not None:
        referrals.tell_referrer(session=session, family_id=family.id, news=news, now=now)


def _news_message(current: CaseState, wanted: CaseState, wait: timedelta | None) -> Outgoing:
    """The family's message about a change (in its language); in the waakvlam with the "more support" button."""
    text = family_news(current, wanted, wait_sentence(wait))
    if wanted != CaseState.WAAKVLAM:
        return Outgoing(text=text)
    return Outgoing(text=text, buttons=[[(_("We need help again"), AGAIN.data())]])


def typical_wait(*, session: Session, team_id: int | None, now: datetime) -> timedelta | None:
    """How long families of this team usually waited for support over the last year (None: too few to say)."""
    pairs = store.finished_waits(session=session, team_id=team_id, since=now - FINISHED_WAITS_OVER)
    return rules.typical_wait([end - start for start, end in pairs])


# --- intake talks -----------------------------------------------------------------------------------


def may_plan_talk(*, session: Session, coordinator: Person, family_id: int, now: datetime) -> CardView | None:
    """None when the coordinator may plan a talk for this family now, else the answer to give."""
    found = _allowed(session, coordinator, family_id, Action.MOVE_CASE, now)
    if isinstance(found, CardView):
        return found
    if found.state not in (CaseState.REFERRED, CaseState.INTAKE):
        return CardView(note=_("Intake talks are planned while the case is referred or in intake."))
    return None


def plan_talk(
    *, session: Session, services: Services, coordinator: Person, family_id: int, local: datetime, now: datetime
) -> CardView:
    """Plan an intake talk at a local day and time (checked again: rights, state, not in the past)."""
    refused = may_plan_talk(session=session, coordinator=coordinator, family_id=family_id, now=now)
    if refused is not None:
        return refused
    zone = ZoneInfo(services.settings.timezone)
    planned = local.replace(tzinfo=zone).astimezone(UTC)
    if planned <= now:
        return CardView(note=_("That moment has passed. Please type a day and time still to come."), stale=False)
    assert coordinator.id is not None
    talk_id = store.plan_talk(
        session=session, family_id=family_id, coordinator_id=coordinator.id, planned_at=planned, now=now
    )
    people.add_timeline(
        session=session, family_id=family_id, kind="intake_planned", now=now, actor_id=coordinator.id, ref_id=talk_id
    )
    family = people.get_person(session=session, person_id=family_id)
    if family is not None:
        tell(
            session=session,
            person=family,
            key=f"intake_talk:{talk_id}",
            now=now,
            text=lambda: _(
                "🗓 Your intake talk with {coordinator} is planned for {when}. If that does not suit you, just "
                "write here."
            ).format(coordinator=hi(name_of(coordinator)), when=h(format_when(planned, family.timezone))),
        )
    return case_screen(session=session, services=services, coordinator=coordinator, family_id=family_id, now=now)


def talk_held(
    *, session: Session, services: Services, coordinator: Person, family_id: int, talk_id: int, now: datetime
) -> CardView:
    """Mark an intake talk held (once), and show the case again."""
    found = _allowed(session, coordinator, family_id, Action.MOVE_CASE, now)
    if isinstance(found, CardView):
        return found
    if not store.mark_talk_held(session=session, talk_id=talk_id, family_id=family_id, now=now):
        return STALE
    people.add_timeline(
        session=session, family_id=family_id, kind="intake_held", now=now, actor_id=coordinator.id, ref_id=talk_id
    )
    view = case_screen(session=session, services=services, coordinator=coordinator, family_id=family_id, now=now)
    return CardView(note=_("Talk marked as held."), text=view.text, rows=view.rows, edit=True)


# --- the waiting list -------------------------------------------------------------------------------


def waiting_list(*, session: Session, services: Services, coordinator: Person | None, now: datetime) -> CardView:
    """/waiting: the team's waiting families in order, with how long each has waited (admins: every team)."""
    decision = authorize(session=session, actor=coordinator, action=Action.SEE_WAITING_LIST, now=now, audit="refused")
    if not decision or coordinator is None:
        return CardView(note=refusal_text(decision), text=refusal_text(decision))
    team_id = None if coordinator.is_admin else coordinator.team_id
    families = store.waiting(session=session, team_id=team_id)
    limit = timedelta(days=services.settings.waiting_digest_days)
    lines = [_("<b>Waiting list</b>")]
    rows: Rows = []
    names = {team.id: team.name for team in teams.all_teams(session=session)} if team_id is None else {}
    for place, item in enumerate(families, start=1):
        days = (now - item.since).days if item.since is not None else 0
        mark = " ⚠️" if rules.waiting_too_long(item.since, now, limit) else ""
        team = f" · {h(names[item.team_id])}" if item.team_id in names else ""
        lines.append(
            ngettext("{place}. {name}: waiting {days} day", "{place}. {name}: waiting {days} days", days).format(
                place=place, name=hi(item.name or "?"), days=days
            )
            + team
            + mark
        )
        if len(rows) < 20:
            rows.append([(f"{place}. {item.name or '?'}", OPEN.data(item.family_id))])
    if not families:
        lines.append(_("Nobody is waiting."))
    referred = store.waiting(session=session, team_id=team_id, state=CaseState.REFERRED)
    if referred:
        lines += ["", _("<b>Referrals to take</b> (tap one to take it):")]
    for item in referred:
        days = (now - item.since).days if item.since is not None else 0
        lines.append(
            ngettext("{name}: referred {days} day ago", "{name}: referred {days} days ago", days).format(
                name=hi(item.name or "?"), days=days
            )
        )
        if len(rows) < 30:
            rows.append([("📥 " + (item.name or "?"), OPEN.data(item.family_id))])
    lines += _ended_referrals(session, team_id, now)
    wait = typical_wait(session=session, team_id=team_id, now=now)
    if wait is not None:
        weeks = weeks_of(wait)
        lines += [
            "",
            ngettext(
                "Families usually waited {count} week this past year.",
                "Families usually waited {count} weeks this past year.",
                weeks,
            ).format(count=weeks),
        ]
    return CardView(text="\n".join(lines), rows=rows)


def _ended_referrals(session: Session, team_id: int | None, now: datetime) -> list[str]:
    """This month's referrals that ended without a family (declined, expired): only counts are kept of them."""
    counts = referral_store.outcome_counts(session=session, team_id=team_id, month=month_of(now.year, now.month))
    if not counts:
        return []
    return [
        "",
        _("Referrals this month that ended without a family: {declined} declined, {expired} expired.").format(
            declined=counts.get("declined", 0), expired=counts.get("expired", 0)
        ),
    ]


def waiting_too_long(*, session: Session, team_id: int | None, now: datetime, days: int) -> list[tuple[str, int]]:
    """The families of a team (None: all) waiting longer than `days`: (name, days waited), for the digest."""
    limit = timedelta(days=days)
    return [
        (item.name or "?", (now - item.since).days)
        for item in store.waiting(session=session, team_id=team_id)
        if item.since is not None and rules.waiting_too_long(item.since, now, limit)
    ]
