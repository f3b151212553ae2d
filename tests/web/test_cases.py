"""A family's case in the workspace, and teams: the families list by case state, the waiting list with the
days waited, the case on the family's page, and its actions through services.cases (moving it along with the
state the page showed, closing with a reason, planning an intake talk in local time, marking it held), each
with the session's CSRF token; two teams, each coordinator seeing and acting on their own team's families and
volunteers only (403 otherwise, audited), an admin seeing both with the team's name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.web import Liveness, build_web_app
from storage.case_tables import CaseStep, IntakeTalk
from storage.models import AuditEntry, FamilyProfile, OutboxMessage, VolunteerProfile
from tests.web.world import (
    ADMIN_TG,
    SOUTH_COORDINATOR_TG,
    SOUTH_FAMILY_NAME,
    SOUTH_TEAM,
    SOUTH_VOLUNTEER_NAME,
    WAITING_NAME,
    World,
    build_world,
)
from web.auth import SESSION_HEADER

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    built = build_world(database_url)
    yield built
    built.services.db.dispose()


@pytest.fixture
def client(world: World) -> TestClient:
    app = build_web_app(services=world.services, liveness=Liveness(), on_stored=lambda: None, counters={})
    return TestClient(app)


def sign_in(client: TestClient, world: World, telegram_id: int | None = None) -> dict[str, str]:
    init = world.init_data() if telegram_id is None else world.init_data(telegram_id)
    response = client.get("/workspace/api/families", headers={"X-Telegram-Init-Data": init})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.headers[SESSION_HEADER]}"}


def csrf(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/workspace/api/waiting", headers=headers)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text) or re.search(
        r'name="csrf" value="([^"]+)"', client.get("/workspace/api/volunteers", headers=headers).text
    )
    assert found
    return found.group(1)


def post(client: TestClient, headers: dict[str, str], path: str, **form: str) -> tuple[int, str]:
    answer = client.post(path, data={"csrf": csrf(client, headers), **form}, headers={**headers, **ORIGIN})
    return answer.status_code, answer.text


def listed(text: str) -> list[int]:
    return [int(found) for found in re.findall(r'<li data-family="(\d+)"', text)]


def state_of(world: World, family_id: int) -> str:
    with world.services.db.session() as session:
        profile = session.get(FamilyProfile, family_id)
        assert profile is not None
        return profile.case_state


def case_section(text: str) -> str:
    return text.split('<section id="case"')[1].split("</section>")[0]


def audits(world: World, action: str) -> list[AuditEntry]:
    with world.services.db.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_the_families_list_filters_by_case_state_and_shows_each_state(client: TestClient, world: World) -> None:
    headers = sign_in(client, world)
    every = client.get("/workspace/api/families", headers=headers).text
    assert set(listed(every)) == {world.family, world.waiting_family}, "the coordinator's own families"
    assert f'data-family="{world.family}" data-state="intake"' in every
    assert f'data-family="{world.waiting_family}" data-state="waiting"' in every
    assert 'name="state"' in every and all(f'value="{s}"' in every for s in ("referred", "waakvlam", "closed"))
    intake = client.get("/workspace/api/families?state=intake", headers=headers).text
    assert listed(intake) == [world.family] and "Intake" in intake
    waiting = client.get("/workspace/api/families?state=waiting", headers=headers).text
    assert listed(waiting) == [world.waiting_family]
    assert re.search(r'class="waited">[^<]*20', waiting), "the days waited"
    assert listed(client.get("/workspace/api/families?state=closed", headers=headers).text) == []
    assert set(listed(client.get("/workspace/api/families?state=nonsense", headers=headers).text)) == {
        world.family,
        world.waiting_family,
    }, "an unknown state filters nothing"


def test_the_waiting_list_is_the_teams_longest_waiting_first_with_the_days_waited(
    client: TestClient, world: World
) -> None:
    page = client.get("/workspace/api/waiting", headers=sign_in(client, world)).text
    assert listed(page) == [world.waiting_family, world.theirs], "Mila (20 days) before Gijs (5), not Tara"
    assert WAITING_NAME in page and SOUTH_FAMILY_NAME not in page and SOUTH_TEAM not in page
    assert re.findall(r'class="waited">[^<]*?(\d+)', page) == ["20", "5"]
    admin = client.get("/workspace/api/waiting", headers=sign_in(client, world, ADMIN_TG)).text
    assert listed(admin) == [world.south_family, world.waiting_family, world.theirs]
    tara = admin.split(f'data-family="{world.south_family}"')[1].split("</li>")[0]
    assert SOUTH_TEAM in tara and 'class="tag team"' in tara, "admins see the team's name"
    assert f'<li data-family="{world.south_family}" class="too-long">' in admin, "50 days: longer than 42"
    south = client.get("/workspace/api/waiting", headers=sign_in(client, world, SOUTH_COORDINATOR_TG)).text
    assert listed(south) == [world.south_family] and SOUTH_TEAM not in south


def test_the_family_page_shows_the_case_with_the_moves_that_may_follow(client: TestClient, world: World) -> None:
    headers = sign_in(client, world)
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers).text
    case = case_section(page)
    assert 'data-state="intake"' in page.split('<section id="case"')[1][:60]
    assert re.findall(r'data-target="(\w+)"', case) == ["waiting", "active", "closed"]
    assert case.count('name="expected" value="intake"') == 3, "each form sends the state the page showed"
    assert case.count('name="csrf"') == 4, "three moves and planning a talk"
    assert 'name="reason"' in case and 'value="goal_reached"' in case and 'value="no_contact"' in case
    assert 'type="datetime-local"' in case and "Europe/Amsterdam" in case
    assert len(re.findall(r'<ol class="case-steps">.*?<li', case, re.S)) == 1, "the first step"


def test_moving_the_case_goes_through_the_cases_service_and_a_stale_page_is_refused_kindly(
    client: TestClient, world: World
) -> None:
    headers = sign_in(client, world)
    path = f"/workspace/api/family/{world.family}/case"
    status, text = post(client, headers, path, expected="intake", target="waiting")
    assert status == 200 and 'class="flash"' in text
    assert state_of(world, world.family) == "waiting"
    assert re.findall(r'data-target="(\w+)"', case_section(text)) == ["active", "closed"]
    with world.services.db.session() as session:
        steps = session.exec(select(CaseStep).where(CaseStep.family_id == world.family)).all()
        assert [(s.from_state, s.to_state, s.actor_id) for s in steps][-1] == ("intake", "waiting", world.coordinator)
        told = session.exec(select(OutboxMessage).where(OutboxMessage.person_id == world.family)).all()
        assert any((m.dedupe_key or "").startswith(f"case:{world.family}:waiting") for m in told), "family told"
    assert [a for a in audits(world, "case_moved") if a.subject_id == world.family]
    # The same page again (it still said "intake"): refused kindly, nothing changes, the case as it stands.
    status, text = post(client, headers, path, expected="intake", target="active")
    assert status == 200 and 'class="flash"' in text and state_of(world, world.family) == "waiting"
    assert 'data-state="waiting"' in text.split('<section id="case"')[1][:60]
    # Closing needs a reason from the list.
    status, text = post(client, headers, path, expected="waiting", target="closed", reason="")
    assert status == 200 and 'class="flash"' in text and state_of(world, world.family) == "waiting"
    status, _text = post(client, headers, path, expected="waiting", target="closed", reason="gossip")
    assert status == 200 and state_of(world, world.family) == "waiting"
    status, text = post(client, headers, path, expected="waiting", target="closed", reason="moved")
    assert status == 200 and state_of(world, world.family) == "closed"
    case = case_section(text)
    assert re.findall(r'data-target="(\w+)"', case) == ["intake"], "only reopening follows"
    with world.services.db.session() as session:
        last = session.exec(select(CaseStep).where(CaseStep.family_id == world.family)).all()[-1]
        assert last.reason == "moved"
    assert case.split('<ol class="case-steps">')[1].count("<li") == 3 and "(" in case.split("case-steps")[1]
    status, _text = post(client, headers, path, expected="closed", target="sideways")
    assert status == 200 and state_of(world, world.family) == "closed"


def test_an_intake_talk_is_planned_in_local_time_and_marked_held(client: TestClient, world: World) -> None:
    headers = sign_in(client, world)
    base = f"/workspace/api/family/{world.family}"
    status, text = post(client, headers, f"{base}/talk", when="2026-12-14T10:00")
    assert status == 200 and 'class="flash"' in text
    with world.services.db.session() as session:
        talks = session.exec(select(IntakeTalk).where(IntakeTalk.family_id == world.family)).all()
        assert len(talks) == 1 and talks[0].held_at is None
        assert talks[0].planned_at.astimezone(UTC) == datetime(2026, 12, 14, 9, 0, tzinfo=UTC), "10:00 in Amsterdam"
        talk_id = talks[0].id or 0
        told = session.exec(select(OutboxMessage).where(OutboxMessage.person_id == world.family)).all()
        assert any(m.dedupe_key == f"intake_talk:{talk_id}" for m in told), "the family is told when"
    case = case_section(text)
    assert f'data-talk="{talk_id}" class="planned"' in case and "10:00" in case
    assert f'name="talk" value="{talk_id}"' in case
    # A moment that has passed, or no moment at all: nothing planned.
    for when in ("2026-12-01T10:00", "", "tomorrow"):
        status, text = post(client, headers, f"{base}/talk", when=when)
        assert status == 200 and 'class="flash"' in text
    with world.services.db.session() as session:
        assert len(session.exec(select(IntakeTalk).where(IntakeTalk.family_id == world.family)).all()) == 1
    status, text = post(client, headers, f"{base}/held", talk=str(talk_id))
    assert status == 200 and f'data-talk="{talk_id}" class="held"' in case_section(text)
    assert f'name="talk" value="{talk_id}"' not in text
    with world.services.db.session() as session:
        talk = session.get(IntakeTalk, talk_id)
        assert talk is not None and talk.held_at is not None
    status, text = post(client, headers, f"{base}/held", talk=str(talk_id))
    assert status == 200 and 'class="flash"' in text, "held once"


def test_case_actions_need_the_csrf_token_and_the_same_origin(client: TestClient, world: World) -> None:
    headers = sign_in(client, world)
    path = f"/workspace/api/family/{world.family}/case"
    form = {"expected": "intake", "target": "waiting"}
    assert client.post(path, data=form, headers={**headers, **ORIGIN}).status_code == 403
    token = csrf(client, headers)
    evil = {**headers, "Origin": "https://evil.example"}
    assert client.post(path, data={**form, "csrf": token}, headers=evil).status_code == 403
    talk = f"/workspace/api/family/{world.family}/talk"
    assert client.post(talk, data={"when": "2026-12-14T10:00"}, headers={**headers, **ORIGIN}).status_code == 403
    assert state_of(world, world.family) == "intake"


def test_a_coordinator_of_another_team_is_refused_the_family_page_and_its_actions(
    client: TestClient, world: World
) -> None:
    south = sign_in(client, world, SOUTH_COORDINATOR_TG)
    families = client.get("/workspace/api/families", headers=south).text
    assert listed(families) == [world.south_family], "only their own team's families"
    assert client.get(f"/workspace/api/family/{world.family}", headers=south).status_code == 403
    refused = [a for a in audits(world, "view_family:refused") if a.actor_id == world.south_coordinator]
    assert refused and refused[0].detail.get("reason") == "not_their_team"
    base = f"/workspace/api/family/{world.family}"
    assert post(client, south, f"{base}/case", expected="intake", target="waiting")[0] == 403
    assert post(client, south, f"{base}/talk", when="2026-12-14T10:00")[0] == 403
    assert post(client, south, f"{base}/held", talk="1")[0] == 403
    assert state_of(world, world.family) == "intake"
    assert [a for a in audits(world, "move_case:refused") if a.actor_id == world.south_coordinator]
    # And the other way round: the first team's coordinator on the second team's family.
    north = sign_in(client, world)
    assert client.get(f"/workspace/api/family/{world.south_family}", headers=north).status_code == 403
    path = f"/workspace/api/family/{world.south_family}/case"
    assert post(client, north, path, expected="waiting", target="active")[0] == 403
    assert state_of(world, world.south_family) == "waiting"
    # Their own family works.
    assert client.get(f"/workspace/api/family/{world.south_family}", headers=south).status_code == 200


def test_volunteers_are_scoped_to_the_team_and_another_teams_volunteer_cannot_be_approved(
    client: TestClient, world: World
) -> None:
    north = sign_in(client, world)
    page = client.get("/workspace/api/volunteers", headers=north).text
    assert "Vera" in page and SOUTH_VOLUNTEER_NAME not in page
    status, _text = post(client, north, f"/workspace/api/volunteers/{world.south_volunteer}/approve", vog="")
    assert status == 403
    with world.services.db.session() as session:
        profile = session.get(VolunteerProfile, world.south_volunteer)
        assert profile is not None and profile.status == "pending"
    south = sign_in(client, world, SOUTH_COORDINATOR_TG)
    theirs = client.get("/workspace/api/volunteers", headers=south).text
    assert SOUTH_VOLUNTEER_NAME in theirs and "Vera" not in theirs and "Hanna" not in theirs


def test_an_admin_sees_every_teams_families_and_volunteers_with_the_teams_name(
    client: TestClient, world: World
) -> None:
    admin = sign_in(client, world, ADMIN_TG)
    families = client.get("/workspace/api/families", headers=admin).text
    assert {world.family, world.south_family, world.waiting_family, world.theirs} <= set(listed(families))
    tara = families.split(f'data-family="{world.south_family}"')[1].split("</li>")[0]
    assert SOUTH_TEAM in tara
    volunteers = client.get("/workspace/api/volunteers", headers=admin).text
    wim = volunteers.split(SOUTH_VOLUNTEER_NAME)[1].split("</p>")[0]
    assert SOUTH_TEAM in wim and "Vera" in volunteers
    page = client.get(f"/workspace/api/family/{world.south_family}", headers=admin)
    assert page.status_code == 200 and SOUTH_TEAM in page.text
    assert re.findall(r'data-target="(\w+)"', case_section(page.text)) == ["active", "closed"]
