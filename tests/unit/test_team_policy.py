"""A team's own office hours and escalation wait, and the deployment's settings where a team set none."""

from __future__ import annotations

from datetime import time, timedelta
from types import SimpleNamespace
from typing import Any

from domain.permissions import Action, Actor, Facts, Reason, authorize
from services.concerns import policy
from services.permissions import NO_TEAM, team_scope
from services.settings import Settings
from services.team_admin import read_hours
from storage.case_tables import Team
from storage.models import Person


def services() -> Any:
    return SimpleNamespace(settings=Settings(_env_file=None))  # type: ignore[call-arg]


def test_a_team_without_its_own_hours_uses_the_settings() -> None:
    own, default = policy(services(), Team(name="T")), policy(services())
    assert own == default
    assert default.wait_office == timedelta(minutes=30) and default.office_days == (0, 1, 2, 3, 4)


def test_a_teams_own_days_hours_and_wait() -> None:
    team = Team(
        name="T",
        office_days="0,1,2,3,4,5",
        office_start=time(12, 0),
        office_end=time(20, 0),
        escalation_wait_office_minutes=15,
    )
    found = policy(services(), team)
    assert found.office_days == (0, 1, 2, 3, 4, 5)
    assert (found.office_start, found.office_end) == (time(12, 0), time(20, 0))
    assert found.wait_office == timedelta(minutes=15)
    # The deployment's morning rule (09:00) lies before the team opens: the team's opening instead.
    assert found.morning_rule == time(12, 0)


def test_typed_office_hours() -> None:
    assert read_hours("08:30-17:00") == (time(8, 30), time(17, 0))
    assert read_hours("9 - 16") == (time(9, 0), time(16, 0))
    for wrong in ("22:00-06:00", "17:00", "whenever", ""):
        assert read_hours(wrong) is None, wrong


def test_lists_are_scoped_to_the_team_except_for_admins() -> None:
    assert team_scope(Person(team_id=3, is_admin=False)) == 3
    assert team_scope(Person(team_id=3, is_admin=True)) is None
    assert team_scope(Person(team_id=None, is_admin=False)) == NO_TEAM


def test_another_teams_family_is_refused_even_without_coordinators() -> None:
    actor = Actor(person_id=1, role="coordinator", is_admin=False, volunteer_status=None, team_id=1)
    assert authorize(actor, Action.CHANGE_CHECKINS, Facts(team_id=1))
    refused = authorize(actor, Action.CHANGE_CHECKINS, Facts(team_id=2))
    assert not refused and refused.reason == Reason.NOT_THEIR_TEAM
