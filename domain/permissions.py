"""Who may do what: plain predicates on a few facts about the person acting.

Handlers build an `Actor` from the stored person and check here before acting; a button or a command is
never proof of a right, so the same check runs again when the button is pressed.

**Roles** are the strings stored in ``person.role``: "family", "volunteer", "coordinator", or None before
sign-up. Admin rights (``is_admin``, from ``BOT_ADMIN_IDS`` or granted later) only count for coordinators,
so a stray flag on another account opens nothing. Volunteer rights go by ``volunteer_status`` rather than
role, because a family that became a support family keeps its family role and also volunteers.

**Families' files** are seen by the family's own coordinators (the duo: primary and partner). Any other
coordinator sees a family only in an urgent case (a concern that went to all coordinators, see
`domain.escalation`), or while nobody is assigned yet, so that someone can pick the family up. This keeps
what a coordinator can read tied to whom they support, while no family is ever left unseen in a crisis.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILY = "family"
VOLUNTEER = "volunteer"
COORDINATOR = "coordinator"
ROLES = (FAMILY, VOLUNTEER, COORDINATOR)
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


def is_coordinator(actor: Actor) -> bool:
    return actor.role == COORDINATOR


def is_admin_coordinator(actor: Actor) -> bool:
    return is_coordinator(actor) and actor.is_admin


def is_family(actor: Actor) -> bool:
    return actor.role == FAMILY


def is_approved_volunteer(actor: Actor) -> bool:
    """Approved after intake, whatever the role: the same fact matching uses, so an offer can always be taken."""
    return actor.volunteer_status == APPROVED


def can_create_invite(actor: Actor, role: str) -> bool:
    """Coordinators invite families and volunteers; only admins invite coordinators, who see families' files."""
    if role not in ROLES or not is_coordinator(actor):
        return False
    return role != COORDINATOR or actor.is_admin


def can_approve_volunteer(actor: Actor) -> bool:
    """Any coordinator: intake is shared work, and volunteers serve several coordinators' families."""
    return is_coordinator(actor)


def can_see_family(
    actor: Actor,
    family_primary_id: int | None,
    family_partner_id: int | None,
    *,
    urgent: bool = False,
) -> bool:
    """A family's file (profile, timeline, concerns): its coordinator duo; any coordinator when urgent or unassigned."""
    if not is_coordinator(actor):
        return False
    if urgent or (family_primary_id is None and family_partner_id is None):
        return True
    return actor.person_id in (family_primary_id, family_partner_id)


def can_create_request(actor: Actor) -> bool:
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


def can_cancel_request(actor: Actor, request_family_id: int, assigned_volunteer_id: int | None) -> bool:
    return cancel_event(actor, request_family_id, assigned_volunteer_id) is not None


def can_see_contact_details(actor: Actor, *, request_family_id: int, assigned_volunteer_id: int | None) -> bool:
    """The address and phone a family shares with a task: the family and the volunteer who accepted it.

    Volunteers who were only offered the task see the kind, the area and the time, never the address.
    Coordinators read contact details in the family's file (`can_see_family`), not through a task.
    """
    if actor.person_id == request_family_id:
        return True
    return assigned_volunteer_id is not None and actor.person_id == assigned_volunteer_id


def can_set_rhythm(actor: Actor) -> bool:
    """Coordinators set a family's check-in rhythm; combine with `can_see_family` for the family at hand."""
    return is_coordinator(actor)


def can_link_support_volunteer(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_claim_concern(actor: Actor) -> bool:
    """Any coordinator the concern reached may claim it; the escalation decides whom it reaches."""
    return is_coordinator(actor)


def can_see_unmatched_requests(actor: Actor) -> bool:
    return is_coordinator(actor)


def can_export_stats(actor: Actor) -> bool:
    """Anonymous figures only, so every coordinator may export them for evaluation."""
    return is_coordinator(actor)


def can_manage_areas(actor: Actor) -> bool:
    """Areas change who is matched with whom for everybody, so they are an admin's job."""
    return is_admin_coordinator(actor)


def can_grant_admin(actor: Actor) -> bool:
    return is_admin_coordinator(actor)


def can_pause_volunteering(actor: Actor) -> bool:
    """Anyone with a volunteer profile that is not rejected can pause, also while waiting for intake."""
    return actor.volunteer_status is not None and actor.volunteer_status != "rejected"


def can_raise_concern(actor: Actor) -> bool:
    """Signed-up families and volunteers (pending ones too: a worry during intake must reach a human)."""
    return is_family(actor) or actor.role == VOLUNTEER or actor.volunteer_status is not None
