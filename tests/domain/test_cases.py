"""The rules of a family's case: which change may follow which, closing reasons, what a referrer hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import cases
from domain.cases import CaseState


def test_every_state_can_be_closed_except_closed_which_can_only_be_reopened() -> None:
    for state in CaseState:
        if state == CaseState.CLOSED:
            assert cases.next_states(state) == (CaseState.INTAKE,)
            assert cases.is_reopening(state, CaseState.INTAKE)
        else:
            assert CaseState.CLOSED in cases.next_states(state)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (CaseState.REFERRED, CaseState.INTAKE, True),
        (CaseState.REFERRED, CaseState.ACTIVE, False),  # a referral is taken (intake) before support starts
        (CaseState.INTAKE, CaseState.WAITING, True),
        (CaseState.WAITING, CaseState.WAAKVLAM, False),
        (CaseState.ACTIVE, CaseState.WAAKVLAM, True),
        (CaseState.WAAKVLAM, CaseState.ACTIVE, True),
        (CaseState.CLOSED, CaseState.ACTIVE, False),
        (CaseState.INTAKE, CaseState.INTAKE, False),
    ],
)
def test_only_the_listed_changes_are_allowed(current: CaseState, target: CaseState, allowed: bool) -> None:
    assert cases.can_move(current, target, None) is allowed


def test_closing_needs_a_reason_from_the_list() -> None:
    assert not cases.can_move(CaseState.ACTIVE, CaseState.CLOSED, None)
    assert not cases.can_move(CaseState.ACTIVE, CaseState.CLOSED, "she was difficult")
    assert all(cases.can_move(CaseState.ACTIVE, CaseState.CLOSED, reason) for reason in cases.CLOSE_REASONS)


def test_a_referrer_hears_only_three_steps() -> None:
    assert cases.referrer_news(CaseState.INTAKE, CaseState.WAITING) == cases.INTAKE_DONE
    assert cases.referrer_news(CaseState.WAITING, CaseState.ACTIVE) == cases.SUPPORT_STARTED
    assert cases.referrer_news(CaseState.WAAKVLAM, CaseState.CLOSED) == cases.CLOSED
    assert cases.referrer_news(CaseState.ACTIVE, CaseState.WAAKVLAM) is None
    assert cases.referrer_news(CaseState.WAAKVLAM, CaseState.ACTIVE) is None
    assert cases.referrer_news(CaseState.CLOSED, CaseState.INTAKE) is None


def test_the_usual_wait_is_the_median_and_needs_three_waits() -> None:
    weeks = [timedelta(weeks=n) for n in (2, 9, 4, 5)]
    assert cases.typical_wait(weeks[:2]) is None
    assert cases.typical_wait(weeks[:3]) == timedelta(weeks=4)
    assert cases.typical_wait(weeks) == timedelta(weeks=4.5)


def test_waiting_too_long_and_unknown_states() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert cases.waiting_too_long(now - timedelta(days=43), now, timedelta(days=42))
    assert not cases.waiting_too_long(now - timedelta(days=42), now, timedelta(days=42))
    assert not cases.waiting_too_long(None, now, timedelta(days=1))
    assert cases.state_of("nonsense") == CaseState.INTAKE
    assert cases.state_of(None) == CaseState.INTAKE
