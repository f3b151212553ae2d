"""Migration 0002 on a database that already has people: everything joins one default team, nothing else changes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, text

from storage import migrate

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_existing_people_families_areas_and_the_group_move_into_a_default_team(database_url: str) -> None:
    migrate.upgrade(database_url, "0001")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        for pid, role in ((1, "coordinator"), (2, "family"), (3, "volunteer")):
            connection.execute(
                text(
                    "INSERT INTO person (id, telegram_id, language, role, is_admin, timezone, reachable, created_at, "
                    "updated_at) VALUES (:id, :tg, 'nl', :role, false, 'Europe/Amsterdam', true, :now, :now)"
                ),
                {"id": pid, "tg": 1000 + pid, "role": role, "now": NOW},
            )
        connection.execute(
            text("INSERT INTO area (id, name, active, created_at) VALUES (1, 'Noord', true, :now)"), {"now": NOW}
        )
        connection.execute(
            text(
                "INSERT INTO familyprofile (person_id, area_id, primary_coordinator_id, share_phone, checkin_rhythm, "
                "checkin_weekday, checkin_daypart, checkin_auto_step_down, good_streak, missed_checkins, "
                "may_volunteer) "
                "VALUES (2, 1, 1, false, 'biweekly', 1, 'morning', false, 0, 0, false)"
            )
        )
        connection.execute(text("INSERT INTO setting (key, value) VALUES ('coordinator_group_id', '-100123')"))
    engine.dispose()

    migrate.upgrade(database_url)

    engine = create_engine(database_url)
    with engine.connect() as connection:
        teams = connection.execute(text("SELECT id, name, group_chat_id FROM team")).all()
        assert len(teams) == 1 and teams[0][1] == "Team 1" and teams[0][2] == -100123
        team = teams[0][0]
        assert set(connection.execute(text("SELECT team_id FROM person")).scalars()) == {team}
        assert connection.execute(text("SELECT team_id FROM area")).scalar_one() == team
        family = connection.execute(text("SELECT team_id, case_state, primary_coordinator_id FROM familyprofile")).one()
        assert tuple(family) == (team, "active", 1), "a family already signed up keeps its support, now as active"
        step = connection.execute(text("SELECT family_id, from_state, to_state FROM casestep")).one()
        assert tuple(step) == (2, None, "active")
    engine.dispose()

    migrate.downgrade(database_url, "0001")
    migrate.upgrade(database_url)
