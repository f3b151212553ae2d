"""The coordinators' groups: one per team, read fresh so every instance agrees after /setgroup.

The first team's group may also come from the `COORDINATOR_GROUP_ID` setting (a deployment with one team);
another team has a group only once an admin of that team sent /setgroup in it. A family's messages go to its
own team's group, never to another's.
"""

from __future__ import annotations

from datetime import datetime

from services.settings import Settings
from storage import care, outbox_store, people, teams
from storage.db import Session


def coordinator_group(*, session: Session, settings: Settings, team_id: int | None = None) -> int | None:
    """The team's group (the first team when None): set with /setgroup, else the configured one."""
    default = teams.default_team_id(session=session)
    team = teams.get_team(session=session, team_id=team_id if team_id is not None else default)
    if team is not None and team.group_chat_id is not None:
        return team.group_chat_id
    return settings.coordinator_group_id if team is None or team.id == default else None


def family_group(*, session: Session, settings: Settings, family_id: int | None) -> int | None:
    """The coordinators' group of the family's team."""
    if family_id is None:
        return coordinator_group(session=session, settings=settings)
    team_id, group = teams.team_and_group_of_family(session=session, family_id=family_id)
    if group is not None:
        return group
    return coordinator_group(session=session, settings=settings, team_id=team_id)


def set_coordinator_group(*, session: Session, chat_id: int, team_id: int | None = None) -> None:
    """Make a group the team's coordinators' group (the first team when None), in the caller's transaction."""
    teams.set_group(session=session, team_id=team_id or teams.default_team_id(session=session), chat_id=chat_id)


def team_of_group(*, session: Session, settings: Settings, chat_id: int) -> int | None:
    """The team whose coordinators' group this chat is, or None for any other chat."""
    team = teams.team_with_group(session=session, chat_id=chat_id)
    if team is not None:
        return team.id
    default = teams.default_team_id(session=session)
    return default if coordinator_group(session=session, settings=settings, team_id=default) == chat_id else None


def is_coordinator_group(*, session: Session, settings: Settings, chat_id: int) -> bool:
    """Whether a chat is one of the teams' coordinators' groups (as set now)."""
    return team_of_group(session=session, settings=settings, chat_id=chat_id) is not None


def make_coordinator_group(*, session: Session, chat_id: int, now: datetime, team_id: int | None = None) -> None:
    """/setgroup by an admin: make a group the coordinators' group of the admin's team, audited."""
    set_coordinator_group(session=session, chat_id=chat_id, team_id=team_id)
    people.audit(
        session=session,
        actor_id=None,
        action="coordinator_group_set",
        subject_id=team_id,
        now=now,
        chat_id=chat_id,
    )


def follow_migration(
    *, session: Session, settings: Settings, old_chat_id: int, new_chat_id: int, now: datetime
) -> None:
    """A coordinators' group became a supergroup: the group, its topics, relay links and waiting messages follow."""
    follow_group(session=session, settings=settings, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    care.move_topics(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    care.move_relay_links(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    outbox_store.move_chat(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    people.audit(
        session=session,
        actor_id=None,
        action="coordinator_group_migrated",
        subject_id=None,
        now=now,
        chat_id=new_chat_id,
    )


def follow_group(*, session: Session, settings: Settings, old_chat_id: int, new_chat_id: int) -> None:
    """Every team whose group had the old id gets the new one (also the first team's configured group)."""
    team_id = team_of_group(session=session, settings=settings, chat_id=old_chat_id)
    if team_id is not None:
        set_coordinator_group(session=session, chat_id=new_chat_id, team_id=team_id)
    teams.move_group(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
