"""Who may do what: plain predicates on a few facts about the person acting.

Handlers build an `Actor` from the stored person and check here before acting; a button or a command is
never proof of a right, so the same check runs again when the button is pressed.

**Roles** are the strings stored in ``person.role``: "family", "volunteer", "coordinator", or None before
sign-up. Admin rights (``is_admin``, from ``BOT_ADMIN_IDS`` or granted later) only count for coordinators,
so a stray flag on another account opens nothing. Volunteer rights go by ``volunteer_status`` rather than
role, because a family that became a support family keeps its family role and also volunteers.

**Families' files** are seen by the family's own coordinators (the duo: primary and partner). Any other
coordinator sees a family only when alerted about one of its open concerns, in an urgent case, or while
nobody is assigned yet, so that someone can pick the family up. This keeps what a coordinator can read
tied to whom they support, while no family is ever left unseen in a crisis.

Every coordinator action goes through `authorize` (below): one enum of actions, one function, the facts
about the target passed in (`Facts`), a `Decision` with the reason back. The small predicates above are
its building blocks and stay for the non-coordinator rules (requests, offers, task messages, pausing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FAMILY = "family"
VOLUNTEER = "volunteer"
COORDINATOR = "coordinator"
REFERRER = "referrer"
ROLES = (FAMILY, VOLUNTEER, COORDINATOR, REFERRER)
APPROVED = "approved"

# Event names as in `domain.requests.RequestEvent`; strings keep this module free of request rules.
FAMILY_CANCEL = "family_cancel"
VOLUNTEER_CANCEL = "volunteer_cancel"
COORDINATOR_CANCEL = "coordinator_cancel"


@dataclass(frozen=True)
class Actor:
    person_id: int
    role: str | None
    is_admin: bool
    volunteer_status: str | None
    team_id: int | None = None


def is_coordinator(actor: Actor) -> bool:
    """A signed-up coordinator."""
    return actor.role == COORDINATOR


def is_family(actor: Actor) -> bool:
    """A signed-up family (a family that also volunteers included)."""
    return actor.role == FAMILY


def is_approved_volunteer(actor: Actor) -> bool:
    """Approved after intake, whatever the role: the same fact matching uses, so an offer can always be taken."""
    return actor.volunteer_status == APPROVED


def can_create_invite(actor: Actor, role: str) -> bool:
    """Coordinators invite families, volunteers and referrers; only admins invite coordinators (who see files)."""
    if role not in ROLES or not is_coordinator(actor):
        return False
    return role != COORDINATOR or actor.is_admin


def is_referrer(actor: Actor) -> bool:
    """A signed-up referrer (a professional who refers families, sees nothing of their files)."""
    return actor.role == REFERRER


def can_refer(actor: Actor) -> bool:
    """Referrers refer families into their own team; coordinators invite them directly instead."""
    return is_referrer(actor) and actor.team_id is not None


def can_create_request(actor: Actor) -> bool:
    """Families ask for help; coordinators ask on a family's behalf through `Action.ACT_FOR_FAMILY`."""
    return is_family(actor)


def can_accept_request(actor: Actor, offer_exists: bool, *, request_family_id: int | None = None) -> bool:
    """An approved volunteer who was offered the request, and not for their own family.

    The offer is the proof that matching found them suitable (area, skills, VOG); without one a forwarded
    or stale button must not work.
    """
    if request_family_id is not None and actor.person_id == request_family_id:
        return False
    return offer_exists and is_approved_volunteer(actor)


def cancel_event(actor: Actor, request_family_id: int, assigned_volunteer_id: int | None) -> str | None:
    """Which cancel event the actor's cancellation is, or None when they may not cancel.

    The family cancels its own request; the assigned volunteer cancels their part (the request reopens);
    any coordinator may cancel, since coordinators handle the list of requests nobody took.
    """
    if actor.person_id == request_family_id:
        return FAMILY_CANCEL
    if assigned_volunteer_id is not None and actor.person_id == assigned_volunteer_id:
        return VOLUNTEER_CANCEL
    if is_coordinator(actor):
        return COORDINATOR_CANCEL
    return None


def task_message_side(
    actor: Actor, *, accepted: bool, request_family_id: int, assigned_volunteer_id: int | None
) -> str | None:
    """Who may write to the other side of a task through the bot: "volunteer" or "family", else None.

    Only the volunteer who accepted the task (still approved) and the family that asked, and only while
    the task is accepted and not finished; the bot carries the words, never a phone number or account.
    """
    if not accepted or assigned_volunteer_id is None or actor.role is None:
        return None
    if actor.person_id == assigned_volunteer_id and actor.person_id != request_family_id:
        return VOLUNTEER if is_approved_volunteer(actor) else None
    if actor.person_id == request_family_id and is_family(actor):
        return FAMILY
    return None


def can_see_unmatched_requests(actor: Actor) -> bool:
    """The list of requests nobody took is coordinators' work."""
    return is_coordinator(actor)


def can_export_stats(actor: Actor) -> bool:
    """Anonymous figures only, so every coordinator may export them for evaluation."""
    return is_coordinator(actor)


def can_pause_volunteering(actor: Actor) -> bool:
    """Anyone with a volunteer profile that is not rejected can pause, also while waiting for intake."""
    return actor.volunteer_status is not None and actor.volunteer_status != "rejected"


# --- one decision for every coordinator action ----------------------------------------------------


class Action(StrEnum):
    """Everything a coordinator can do through a button, a command or a dialogue step.

    Each use case asks `authorize` (through `services.permissions.authorize`) before acting; a new button gets a
    new member here, so its rule is written down in one place and tested in tests/domain/test_permissions.py.
    """

    LIST_FAMILIES = "list_families"  # /families: one's own families
    SEE_ALL_FAMILIES = "see_all_families"  # every family in the list (admins)
    VIEW_FAMILY = "view_family"  # family card, answers, timeline, /family and /answers in a topic
    CHANGE_CHECKINS = "change_checkins"  # rhythm, day, part of day, automatic step-down, send now, step-down
    TAKE_OVER = "take_over"  # become the family's primary coordinator at once
    ASK_TAKE_OVER = "ask_take_over"  # ask the current primary to hand the family over
    ANSWER_TAKE_OVER = "answer_take_over"  # the current primary accepts or declines such a request
    SET_DUO = "set_duo"  # pair oneself with a duo partner at once
    ASK_DUO = "ask_duo"  # ask a colleague to become duo partners
    ANSWER_DUO = "answer_duo"  # that colleague accepts or declines
    CLAIM_CONCERN = "claim_concern"  # "I'll take this", /take
    CLOSE_CONCERN = "close_concern"  # "Close", "No note", the closing note, /close
    WRITE_TO_FAMILY = "write_to_family"  # a message in the family's topic, or a reply to a relayed message
    MANAGE_AREAS = "manage_areas"  # /areas: add and remove neighbourhoods
    APPROVE_VOLUNTEER = "approve_volunteer"  # intake: approve, reject, renew a VOG
    INVITE = "invite"  # /invite for a role
    SEE_INSIGHT = "see_insight"  # /stats, /export, /digest: anonymous figures
    SEE_REQUESTS = "see_requests"  # the list of requests nobody took
    ACT_FOR_FAMILY = "act_for_family"  # place a volunteer, pair or unpair a support volunteer, ask on behalf
    MANAGE_MATCHES = "manage_matches"  # propose, pause, resume, end a lasting match; record its meeting; decide reviews
    MOVE_CASE = "move_case"  # take a referral, plan or hold an intake talk, move the case along, close, reopen
    SEE_WAITING_LIST = "see_waiting_list"  # /waiting: the team's waiting families
    MANAGE_TEAMS = "manage_teams"  # /teams: create teams, move coordinators, referrers and families (admins)


class Reason(StrEnum):
    ADMIN = "admin"
    DUO = "duo"
    ALERTED = "alerted"
    URGENT = "urgent"
    UNASSIGNED = "unassigned"
    RELAYED_TO_THEM = "relayed_to_them"
    NOT_A_FAMILY = "not_a_family"
    ROLE = "role"
    ADDRESSED = "addressed"
    NOT_COORDINATOR = "not_coordinator"
    NOT_THEIR_FAMILY = "not_their_family"
    NOT_ALERTED = "not_alerted"
    CONSENT_NEEDED = "consent_needed"
    NOT_ADMIN = "not_admin"
    NOT_ADDRESSED = "not_addressed"
    ALREADY_PRIMARY = "already_primary"
    NOT_THEIR_TEAM = "not_their_team"


@dataclass(frozen=True)
class Facts:
    """What the server knows about the target of an action, loaded fresh (never taken from a button).

    `alerted_ids`: coordinators alerted about the concern at hand (or, for a family, about any of its open
    concerns). `urgent`: the family has an open urgent concern. `relayed_to_actor`: the message replied to
    was relayed by the bot into the actor's own private chat. `addressed_to`: whom a take-over request was
    sent to (the primary at that time). `target_is_family`: false when a relay goes to a volunteer.
    `team_id`: the team the family (or volunteer) belongs to; a coordinator of another team is refused.
    """

    primary_id: int | None = None
    partner_id: int | None = None
    alerted_ids: frozenset[int] = frozenset()
    urgent: bool = False
    relayed_to_actor: bool = False
    addressed_to: int | None = None
    invite_role: str | None = None
    target_is_family: bool = True
    team_id: int | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: Reason

    def __bool__(self) -> bool:
        """A decision reads as allowed or refused in an `if`."""
        return self.allowed


def _yes(reason: Reason) -> Decision:
    """An allowed decision with its reason."""
    return Decision(True, reason)


def _no(reason: Reason) -> Decision:
    """A refused decision with its reason."""
    return Decision(False, reason)


def _family_access(actor: Actor, facts: Facts, *, open_access: bool) -> Decision:
    """The family's duo always; with `open_access` also alerted coordinators, urgent cases and nobody assigned."""
    if actor.person_id in (facts.primary_id, facts.partner_id):
        return _yes(Reason.DUO)
    if not open_access:
        return _no(Reason.NOT_THEIR_FAMILY)
    if facts.primary_id is None and facts.partner_id is None:
        return _yes(Reason.UNASSIGNED)
    if facts.urgent:
        return _yes(Reason.URGENT)
    if actor.person_id in facts.alerted_ids:
        return _yes(Reason.ALERTED)
    return _no(Reason.NOT_THEIR_FAMILY)


def authorize(actor: Actor, action: Action, facts: Facts = Facts()) -> Decision:
    """May this actor do this to this target? The one rule book for coordinators' actions.

    * Only signed-up coordinators act here; admins may do everything.
    * A family's file (card, answers, timeline) and writing to the family: its duo, coordinators alerted
      about one of its open concerns, anyone in an urgent case or while nobody is assigned.
    * Changing a family's check-ins, handling its requests and its lasting matches: its duo, or anyone while
      nobody is assigned.
    * Becoming primary at once: only when there is no primary; otherwise one asks the current primary
      (anyone who may see the file), and only that primary may answer.
    * Claiming and closing a concern: those alerted about it and the family's duo.
    * Duo partners (who see each other's families): by consent of the colleague asked, or an admin.
    * Neighbourhoods and teams: admins. Invites: coordinators for families, volunteers and referrers, admins
      for coordinators.
    * Teams: a coordinator acts on its own team's families and volunteers only, whatever else holds (also in
      an urgent case: the other team's own coordinators are alerted); admins work across teams.
    """
    if not is_coordinator(actor):
        return _no(Reason.NOT_COORDINATOR)
    if actor.is_admin:
        return _yes(Reason.ADMIN)
    if facts.team_id is not None and facts.team_id != actor.team_id:
        return _no(Reason.NOT_THEIR_TEAM)
    by_role = _by_role(actor, action, facts)
    return by_role if by_role is not None else _by_target(actor, action, facts)


def _by_role(actor: Actor, action: Action, facts: Facts) -> Decision | None:
    """The rules that go by who the coordinator is (and, for an invite, the role invited); None for the others."""
    if action in (Action.LIST_FAMILIES, Action.ASK_DUO, Action.APPROVE_VOLUNTEER, Action.SEE_WAITING_LIST):
        return _yes(Reason.ROLE)
    if action == Action.SET_DUO:
        # A duo partner sees all of the other's families, so it takes the colleague's consent.
        return _no(Reason.CONSENT_NEEDED)
    if action == Action.SEE_INSIGHT:
        return _yes(Reason.ROLE) if can_export_stats(actor) else _no(Reason.NOT_COORDINATOR)
    if action == Action.SEE_REQUESTS:
        return _yes(Reason.ROLE) if can_see_unmatched_requests(actor) else _no(Reason.NOT_COORDINATOR)
    if action == Action.INVITE:
        return _yes(Reason.ROLE) if can_create_invite(actor, facts.invite_role or "") else _no(Reason.NOT_ADMIN)
    if action in (Action.SEE_ALL_FAMILIES, Action.MANAGE_AREAS, Action.MANAGE_TEAMS):
        return _no(Reason.NOT_ADMIN)
    return None


def _by_target(actor: Actor, action: Action, facts: Facts) -> Decision:
    """The rules that go by the family or concern at hand (`facts`); an action without a rule is refused."""
    if action in (Action.VIEW_FAMILY, Action.ASK_TAKE_OVER):
        return _family_access(actor, facts, open_access=True)
    if action == Action.WRITE_TO_FAMILY:
        if facts.relayed_to_actor:
            return _yes(Reason.RELAYED_TO_THEM)
        if not facts.target_is_family:
            return _yes(Reason.NOT_A_FAMILY) if actor.person_id in facts.alerted_ids else _no(Reason.NOT_ALERTED)
        return _family_access(actor, facts, open_access=True)
    if action in (Action.CHANGE_CHECKINS, Action.ACT_FOR_FAMILY, Action.MANAGE_MATCHES, Action.MOVE_CASE):
        if facts.primary_id is None and facts.partner_id is None:
            return _yes(Reason.UNASSIGNED)
        return _family_access(actor, facts, open_access=False)
    if action == Action.TAKE_OVER:
        if facts.primary_id == actor.person_id:
            return _no(Reason.ALREADY_PRIMARY)
        if facts.primary_id is None:
            return _yes(Reason.UNASSIGNED)
        return _no(Reason.CONSENT_NEEDED)
    if action == Action.ANSWER_TAKE_OVER:
        addressed = facts.addressed_to is not None and actor.person_id == facts.addressed_to == facts.primary_id
        return _yes(Reason.ADDRESSED) if addressed else _no(Reason.NOT_ADDRESSED)
    if action == Action.ANSWER_DUO:
        addressed = facts.addressed_to is not None and actor.person_id == facts.addressed_to
        return _yes(Reason.ADDRESSED) if addressed else _no(Reason.NOT_ADDRESSED)
    if action in (Action.CLAIM_CONCERN, Action.CLOSE_CONCERN):
        if actor.person_id in facts.alerted_ids:
            return _yes(Reason.ALERTED)
        if actor.person_id in (facts.primary_id, facts.partner_id):
            return _yes(Reason.DUO)
        return _no(Reason.NOT_ALERTED)
    return _no(Reason.NOT_COORDINATOR)  # an action without a rule is refused
