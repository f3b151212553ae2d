"""A family's case, from referral to closing: the states, which change may follow which, and why it closed.

    referred -> intake -> waiting -> active <-> waakvlam
        \\          \\         \\        \\          \\
         +----------+---------+--------+----------+--> closed --(reopen)--> intake

`referred`: a professional referred the family and it consented, nobody has taken it yet. `intake`: a
coordinator talks with the family (a family that signs up on its own starts here). `waiting`: intake done,
no help free yet. `active`: support runs. `waakvlam`: low intensity, check-ins only; one tap of the family
asks for help again (back to active). `closed` needs a reason; reopening goes back to intake, the history
kept. Pure rules: no database, no Telegram.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum


class CaseState(StrEnum):
    REFERRED = "referred"
    INTAKE = "intake"
    WAITING = "waiting"
    ACTIVE = "active"
    WAAKVLAM = "waakvlam"
    CLOSED = "closed"


STATES = tuple(CaseState)
_NEXT: dict[CaseState, tuple[CaseState, ...]] = {
    CaseState.REFERRED: (CaseState.INTAKE, CaseState.CLOSED),
    CaseState.INTAKE: (CaseState.WAITING, CaseState.ACTIVE, CaseState.CLOSED),
    CaseState.WAITING: (CaseState.ACTIVE, CaseState.CLOSED),
    CaseState.ACTIVE: (CaseState.WAAKVLAM, CaseState.WAITING, CaseState.CLOSED),
    CaseState.WAAKVLAM: (CaseState.ACTIVE, CaseState.CLOSED),
    CaseState.CLOSED: (CaseState.INTAKE,),
}

# Why a case closed: a short list, kept for the figures; never free text about the family.
CLOSE_REASONS = ("goal_reached", "family_stopped", "moved", "elsewhere", "no_contact", "other")

# What a referrer may hear, and only when the family agreed: the step a case change means to them.
INTAKE_DONE = "intake_done"
SUPPORT_STARTED = "support_started"
CLOSED = "closed"


def state_of(value: str | None) -> CaseState:
    """A stored state read back; anything unknown counts as intake, where a coordinator looks at it."""
    try:
        return CaseState(value or CaseState.INTAKE)
    except ValueError:
        return CaseState.INTAKE


def next_states(current: CaseState) -> tuple[CaseState, ...]:
    """The states a case may move to from here, in the order coordinators are offered them."""
    return _NEXT[current]


def can_move(current: CaseState, target: CaseState, reason: str | None) -> bool:
    """Whether this change is allowed: a step that exists, and closing only with a reason from the list."""
    if target not in _NEXT[current]:
        return False
    return target != CaseState.CLOSED or reason in CLOSE_REASONS


def is_reopening(current: CaseState, target: CaseState) -> bool:
    """Closed back to intake: a reopening, named so in the timeline."""
    return current == CaseState.CLOSED and target == CaseState.INTAKE


def referrer_news(current: CaseState, target: CaseState) -> str | None:
    """What a change tells the referrer (if the family agreed): intake done, support started, or closed."""
    if target == CaseState.CLOSED:
        return CLOSED
    if target == CaseState.ACTIVE and current in (CaseState.REFERRED, CaseState.INTAKE, CaseState.WAITING):
        return SUPPORT_STARTED
    if target == CaseState.WAITING and current in (CaseState.REFERRED, CaseState.INTAKE):
        return INTAKE_DONE
    return None


def typical_wait(finished_waits: Sequence[timedelta]) -> timedelta | None:
    """The median of recent waits (waiting to active), or None with too few to say (fewer than three)."""
    if len(finished_waits) < 3:
        return None
    ordered = sorted(finished_waits)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def waiting_too_long(since: datetime | None, now: datetime, limit: timedelta) -> bool:
    """Whether a family has waited longer than the team accepts (named in the weekly digest)."""
    return since is not None and now - since > limit
