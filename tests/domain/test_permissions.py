"""Permissions: coordinators oversee, admins extend the team, volunteers act on offers, families own their requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.permissions import (
    COORDINATOR_CANCEL,
    FAMILY_CANCEL,
    VOLUNTEER_CANCEL,
    Action,
    Actor,
    Facts,
    Reason,
    authorize,
    can_accept_request,
    can_create_invite,
    can_create_request,
    can_export_stats,
    can_pause_volunteering,
    can_see_unmatched_requests,
    cancel_event,
    is_approved_volunteer,
    task_message_side,
)
from domain.requests import RequestEvent

ADMIN = Actor(person_id=1, role="coordinator", is_admin=True, volunteer_status=None)
COORD = Actor(person_id=2, role="coordinator", is_admin=False, volunteer_status=None)
PARTNER = Actor(person_id=3, role="coordinator", is_admin=False, volunteer_status=None)
OTHER = Actor(person_id=4, role="coordinator", is_admin=False, volunteer_status=None)
FAMILY = Actor(person_id=10, role="family", is_admin=False, volunteer_status=None)
VOLUNTEER = Actor(person_id=20, role="volunteer", is_admin=False, volunteer_status="approved")
PENDING = Actor(person_id=21, role="volunteer", is_admin=False, volunteer_status="pending")
REJECTED = Actor(person_id=22, role="volunteer", is_admin=False, volunteer_status="rejected")
SUPPORT_FAMILY = Actor(person_id=11, role="family", is_admin=False, volunteer_status="approved")
STRANGER = Actor(person_id=99, role=None, is_admin=False, volunteer_status=None)
# An admin flag on a non-coordinator (a mistake in BOT_ADMIN_IDS) opens nothing.
ADMIN_FAMILY = Actor(person_id=12, role="family", is_admin=True, volunteer_status=None)

EVERYONE = [ADMIN, COORD, PARTNER, FAMILY, VOLUNTEER, PENDING, REJECTED, SUPPORT_FAMILY, STRANGER, ADMIN_FAMILY]
COORDINATORS = [ADMIN, COORD, PARTNER]
NOT_COORDINATORS = [actor for actor in EVERYONE if actor not in COORDINATORS]


# --- invites --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["family", "volunteer"])
def test_every_coordinator_invites_families_and_volunteers(role: str) -> None:
    assert can_create_invite(COORD, role)
    assert can_create_invite(ADMIN, role)


def test_only_admins_invite_coordinators() -> None:
    assert can_create_invite(ADMIN, "coordinator")
    assert not can_create_invite(COORD, "coordinator")


@pytest.mark.parametrize("actor", NOT_COORDINATORS)
@pytest.mark.parametrize("role", ["family", "volunteer", "coordinator"])
def test_others_invite_nobody(actor: Actor, role: str) -> None:
    assert not can_create_invite(actor, role)


def test_unknown_invite_roles_are_refused() -> None:
    assert not can_create_invite(ADMIN, "admin")
    assert not can_create_invite(ADMIN, "")


# --- coordinator-only rights ----------------------------------------------------------------------------------


@pytest.mark.parametrize("check", [can_export_stats, can_see_unmatched_requests])
def test_coordinator_rights(check: Callable[[Actor], bool]) -> None:
    for actor in COORDINATORS:
        assert check(actor), actor
    for actor in NOT_COORDINATORS:
        assert not check(actor), actor


@pytest.mark.parametrize(
    "action", [Action.APPROVE_VOLUNTEER, Action.CHANGE_CHECKINS, Action.CLAIM_CONCERN, Action.ACT_FOR_FAMILY]
)
def test_coordinator_actions_are_refused_to_everyone_else(action: Action) -> None:
    for actor in COORDINATORS:
        assert authorize(actor, action, Facts(primary_id=actor.person_id, alerted_ids=frozenset({actor.person_id})))
    for actor in NOT_COORDINATORS:
        assert not authorize(actor, action, Facts(primary_id=actor.person_id, alerted_ids=frozenset({actor.person_id})))


def test_areas_are_for_admins_only() -> None:
    assert authorize(ADMIN, Action.MANAGE_AREAS)
    for actor in EVERYONE:
        if actor is not ADMIN:
            assert not authorize(actor, Action.MANAGE_AREAS), actor


# --- families' files ------------------------------------------------------------------------------------------


def see(actor: Actor, primary_id: int | None, partner_id: int | None, *, urgent: bool = False) -> bool:
    """May `actor` open the file of a family with this duo (`Action.VIEW_FAMILY`)?"""
    return bool(
        authorize(actor, Action.VIEW_FAMILY, Facts(primary_id=primary_id, partner_id=partner_id, urgent=urgent))
    )


def test_the_duo_sees_its_family() -> None:
    assert see(COORD, 2, 3)
    assert see(PARTNER, 2, 3)
    assert see(PARTNER, 2, None) is False
    assert see(COORD, 2, None)


def test_other_coordinators_do_not_see_the_family() -> None:
    assert not see(OTHER, 2, 3)


def test_any_coordinator_sees_the_family_in_an_urgent_case() -> None:
    assert see(ADMIN, 2, 3, urgent=True)
    assert see(COORD, 4, 5, urgent=True)


def test_any_coordinator_sees_a_family_nobody_is_assigned_to() -> None:
    assert see(COORD, None, None)


@pytest.mark.parametrize("actor", NOT_COORDINATORS)
def test_non_coordinators_never_see_a_family_file(actor: Actor) -> None:
    assert not see(actor, actor.person_id, None)
    assert not see(actor, None, None, urgent=True)


# --- requests -------------------------------------------------------------------------------------------------


def test_families_create_requests() -> None:
    assert can_create_request(FAMILY)
    assert can_create_request(SUPPORT_FAMILY)
    assert not can_create_request(VOLUNTEER)
    assert not can_create_request(COORD)
    assert not can_create_request(STRANGER)


def test_an_approved_volunteer_accepts_an_offer() -> None:
    assert can_accept_request(VOLUNTEER, True)
    assert not can_accept_request(VOLUNTEER, False)


def test_a_support_family_accepts_like_a_volunteer() -> None:
    assert is_approved_volunteer(SUPPORT_FAMILY)
    assert can_accept_request(SUPPORT_FAMILY, True, request_family_id=10)


def test_nobody_accepts_their_own_familys_request() -> None:
    assert not can_accept_request(SUPPORT_FAMILY, True, request_family_id=SUPPORT_FAMILY.person_id)


@pytest.mark.parametrize("actor", [PENDING, REJECTED, FAMILY, COORD, ADMIN, STRANGER])
def test_others_cannot_accept_even_with_an_offer(actor: Actor) -> None:
    assert not can_accept_request(actor, True)


def test_cancel_events_by_who_cancels() -> None:
    assert cancel_event(FAMILY, 10, 20) == FAMILY_CANCEL
    assert cancel_event(VOLUNTEER, 10, 20) == VOLUNTEER_CANCEL
    assert cancel_event(COORD, 10, 20) == COORDINATOR_CANCEL
    assert cancel_event(FAMILY, 10, None) == FAMILY_CANCEL
    assert cancel_event(ADMIN, 10, None) == COORDINATOR_CANCEL


def test_cancel_event_names_are_request_events() -> None:
    for name in (FAMILY_CANCEL, VOLUNTEER_CANCEL, COORDINATOR_CANCEL):
        assert RequestEvent(name).value == name


def test_others_cannot_cancel() -> None:
    assert cancel_event(VOLUNTEER, 10, None) is None
    assert cancel_event(VOLUNTEER, 10, 21) is None
    assert cancel_event(SUPPORT_FAMILY, 10, 20) is None
    assert cancel_event(STRANGER, 10, 20) is None
    assert cancel_event(PENDING, 10, 20) is None
    assert cancel_event(FAMILY, 10, None) is not None


def test_task_messages_only_between_the_accepted_volunteer_and_the_family_while_accepted() -> None:
    facts = {"request_family_id": 10, "assigned_volunteer_id": 20}
    assert task_message_side(VOLUNTEER, accepted=True, **facts) == "volunteer"
    assert task_message_side(FAMILY, accepted=True, **facts) == "family"
    assert task_message_side(VOLUNTEER, accepted=False, **facts) is None
    assert task_message_side(FAMILY, accepted=False, **facts) is None
    for other in (COORD, ADMIN, PENDING, SUPPORT_FAMILY, STRANGER):
        assert task_message_side(other, accepted=True, **facts) is None
    # A volunteer no longer approved writes no more; nobody writes about a task nobody holds.
    assert task_message_side(REJECTED, accepted=True, request_family_id=10, assigned_volunteer_id=22) is None
    assert task_message_side(FAMILY, accepted=True, request_family_id=10, assigned_volunteer_id=None) is None
    assert task_message_side(SUPPORT_FAMILY, accepted=True, request_family_id=10, assigned_volunteer_id=11)


# --- volunteers and concerns ----------------------------------------------------------------------------------


def test_pausing() -> None:
    assert can_pause_volunteering(VOLUNTEER)
    assert can_pause_volunteering(PENDING)
    assert can_pause_volunteering(SUPPORT_FAMILY)
    assert not can_pause_volunteering(REJECTED)
    assert not can_pause_volunteering(FAMILY)
    assert not can_pause_volunteering(COORD)


# --- authorize: one rule book for every coordinator action -----------------------------------------

THEIRS = Facts(primary_id=COORD.person_id, partner_id=PARTNER.person_id)


def test_only_coordinators_act_and_admins_may_do_everything() -> None:
    for action in Action:
        assert not authorize(FAMILY, action, THEIRS)
        assert not authorize(VOLUNTEER, action, THEIRS)
        assert authorize(FAMILY, action, THEIRS).reason == Reason.NOT_COORDINATOR
        assert authorize(ADMIN, action, THEIRS), action
    stray = Actor(person_id=9, role="family", is_admin=True, volunteer_status=None)
    assert not authorize(stray, Action.MANAGE_AREAS)


def test_a_familys_file_is_for_its_duo_not_for_another_duos_coordinator() -> None:
    for action in (Action.VIEW_FAMILY, Action.WRITE_TO_FAMILY):
        assert authorize(COORD, action, THEIRS).reason == Reason.DUO
        assert authorize(PARTNER, action, THEIRS)
        decision = authorize(OTHER, action, THEIRS)
        assert not decision and decision.reason == Reason.NOT_THEIR_FAMILY


def test_the_file_opens_for_coordinators_alerted_about_an_open_concern_urgent_cases_and_nobody_assigned() -> None:
    alerted = Facts(primary_id=COORD.person_id, alerted_ids=frozenset({OTHER.person_id}))
    assert authorize(OTHER, Action.VIEW_FAMILY, alerted).reason == Reason.ALERTED
    urgent = Facts(primary_id=COORD.person_id, urgent=True)
    assert authorize(OTHER, Action.VIEW_FAMILY, urgent).reason == Reason.URGENT
    assert authorize(OTHER, Action.VIEW_FAMILY, Facts()).reason == Reason.UNASSIGNED


def test_check_ins_and_requests_are_changed_by_the_duo_only_even_when_alerted() -> None:
    alerted = Facts(primary_id=COORD.person_id, alerted_ids=frozenset({OTHER.person_id}), urgent=True)
    for action in (Action.CHANGE_CHECKINS, Action.ACT_FOR_FAMILY, Action.MANAGE_MATCHES):
        assert authorize(COORD, action, THEIRS)
        assert authorize(PARTNER, action, THEIRS)
        assert not authorize(OTHER, action, THEIRS)
        assert not authorize(OTHER, action, alerted)
        assert authorize(OTHER, action, Facts()).reason == Reason.UNASSIGNED


def test_a_take_over_needs_the_primarys_consent_unless_admin_or_nobody_is_primary() -> None:
    assert authorize(OTHER, Action.TAKE_OVER, THEIRS).reason == Reason.CONSENT_NEEDED
    assert authorize(PARTNER, Action.TAKE_OVER, THEIRS).reason == Reason.CONSENT_NEEDED, "the partner asks too"
    assert authorize(COORD, Action.TAKE_OVER, THEIRS).reason == Reason.ALREADY_PRIMARY
    assert authorize(OTHER, Action.TAKE_OVER, Facts()).reason == Reason.UNASSIGNED
    assert authorize(ADMIN, Action.TAKE_OVER, THEIRS).reason == Reason.ADMIN


def test_asking_for_a_take_over_needs_the_right_to_see_the_family() -> None:
    assert authorize(PARTNER, Action.ASK_TAKE_OVER, THEIRS)
    assert not authorize(OTHER, Action.ASK_TAKE_OVER, THEIRS)
    assert authorize(OTHER, Action.ASK_TAKE_OVER, Facts(primary_id=2, alerted_ids=frozenset({4})))


def test_only_the_current_primary_the_request_was_sent_to_answers_it() -> None:
    sent = Facts(primary_id=COORD.person_id, addressed_to=COORD.person_id)
    assert authorize(COORD, Action.ANSWER_TAKE_OVER, sent).reason == Reason.ADDRESSED
    assert authorize(OTHER, Action.ANSWER_TAKE_OVER, sent).reason == Reason.NOT_ADDRESSED
    assert not authorize(PARTNER, Action.ANSWER_TAKE_OVER, sent)
    moved_on = Facts(primary_id=OTHER.person_id, addressed_to=COORD.person_id)
    assert not authorize(COORD, Action.ANSWER_TAKE_OVER, moved_on), "no longer primary: nothing to hand over"
    assert not authorize(COORD, Action.ANSWER_TAKE_OVER, Facts(primary_id=COORD.person_id))


def test_a_duo_partner_is_chosen_with_the_colleagues_consent() -> None:
    assert authorize(COORD, Action.SET_DUO).reason == Reason.CONSENT_NEEDED
    assert authorize(COORD, Action.ASK_DUO)
    assert authorize(OTHER, Action.ANSWER_DUO, Facts(addressed_to=OTHER.person_id))
    assert not authorize(COORD, Action.ANSWER_DUO, Facts(addressed_to=OTHER.person_id))
    assert authorize(ADMIN, Action.SET_DUO)


def test_claiming_and_closing_a_concern_needs_an_alert_about_it_or_the_familys_duo() -> None:
    concern = Facts(primary_id=COORD.person_id, partner_id=PARTNER.person_id, alerted_ids=frozenset({COORD.person_id}))
    for action in (Action.CLAIM_CONCERN, Action.CLOSE_CONCERN):
        assert authorize(COORD, action, concern).reason == Reason.ALERTED
        assert authorize(PARTNER, action, concern).reason == Reason.DUO, "the partner, not yet alerted"
        decision = authorize(OTHER, action, concern)
        assert not decision and decision.reason == Reason.NOT_ALERTED
        everyone = Facts(primary_id=COORD.person_id, alerted_ids=frozenset({2, 3, 4}))
        assert authorize(OTHER, action, everyone)
        assert authorize(ADMIN, action, concern)


def test_writing_to_a_family_from_a_relayed_message_in_ones_own_chat() -> None:
    relayed = Facts(primary_id=COORD.person_id, relayed_to_actor=True)
    assert authorize(OTHER, Action.WRITE_TO_FAMILY, relayed).reason == Reason.RELAYED_TO_THEM
    volunteer = Facts(target_is_family=False, alerted_ids=frozenset({OTHER.person_id}))
    assert authorize(OTHER, Action.WRITE_TO_FAMILY, volunteer)
    assert not authorize(COORD, Action.WRITE_TO_FAMILY, volunteer)


def test_areas_and_the_full_family_list_are_for_admins() -> None:
    for action in (Action.MANAGE_AREAS, Action.SEE_ALL_FAMILIES):
        decision = authorize(COORD, action)
        assert not decision and decision.reason == Reason.NOT_ADMIN
        assert authorize(ADMIN, action)
    assert authorize(COORD, Action.LIST_FAMILIES)


def test_invites_intake_figures_and_unmatched_requests() -> None:
    assert authorize(COORD, Action.INVITE, Facts(invite_role="family"))
    assert authorize(COORD, Action.INVITE, Facts(invite_role="volunteer"))
    assert authorize(COORD, Action.INVITE, Facts(invite_role="coordinator")).reason == Reason.NOT_ADMIN
    assert not authorize(COORD, Action.INVITE, Facts(invite_role="king"))
    assert authorize(ADMIN, Action.INVITE, Facts(invite_role="coordinator"))
    for action in (Action.APPROVE_VOLUNTEER, Action.SEE_INSIGHT, Action.SEE_REQUESTS):
        assert authorize(COORD, action)


def test_every_action_has_a_written_rule() -> None:
    """A new Action without a rule would be refused for all but admins; make sure none fell through."""
    for action in Action:
        decision = authorize(COORD, action, Facts(primary_id=COORD.person_id, addressed_to=COORD.person_id))
        assert decision.reason != Reason.NOT_COORDINATOR, action
