"""The workspace over HTTP (Starlette's TestClient on the bot's own web app): 401 for forged, expired, another
bot's, replayed or missing initData; 403 for a non-coordinator and for a family that is not the coordinator's;
every view of a family's page audited; each action through the same services as the chat."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.web import Liveness, build_web_app
from storage import concerns as concern_store
from storage.models import AuditEntry, CheckIn, FamilyProfile, OutboxMessage, QuestionDecision, VolunteerProfile
from tests.web.world import (
    FAMILY_NAME,
    FAMILY_TG,
    HELPER_NAME,
    OTHER_COORDINATOR_TG,
    OTHER_TOKEN,
    PAUSED_NAME,
    QUESTION,
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


def signed_in(client: TestClient, world: World) -> dict[str, str]:
    response = client.get("/workspace/api/families", headers={"X-Telegram-Init-Data": world.init_data()})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.headers[SESSION_HEADER]}"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def audits(world: World, action: str) -> list[AuditEntry]:
    with world.services.db.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_the_shell_has_no_data_and_every_answer_a_strict_content_security_policy(client: TestClient) -> None:
    shell = client.get("/workspace/")
    assert shell.status_code == 200 and "Fenna" not in shell.text
    csp = shell.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert client.get("/workspace/static/app.js").status_code == 200
    assert client.get("/workspace/static/../app.py").status_code == 404
    refused = client.get("/workspace/api/families")
    assert refused.status_code == 401 and "default-src 'none'" in refused.headers["Content-Security-Policy"]


def test_forged_expired_other_bot_replayed_or_missing_init_data_is_401(client: TestClient, world: World) -> None:
    path = "/workspace/api/families"
    assert client.get(path).status_code == 401
    forged = re.sub(r"hash=[0-9a-f]+", "hash=" + "ab" * 32, world.init_data())
    assert client.get(path, headers={"X-Telegram-Init-Data": forged}).status_code == 401
    other_bot = world.init_data(token=OTHER_TOKEN)
    assert client.get(path, headers={"X-Telegram-Init-Data": other_bot}).status_code == 401
    old = world.init_data()
    world.clock.advance(timedelta(seconds=world.services.settings.workspace_init_max_age_seconds + 1))
    assert client.get(path, headers={"X-Telegram-Init-Data": old}).status_code == 401
    once = world.init_data()
    assert client.get(path, headers={"X-Telegram-Init-Data": once}).status_code == 200
    assert client.get(path, headers={"X-Telegram-Init-Data": once}).status_code == 401, "replayed"
    assert client.get(path, headers={"Authorization": "Bearer forged.token"}).status_code == 401


def test_a_session_expires(client: TestClient, world: World) -> None:
    headers = signed_in(client, world)
    assert client.get("/workspace/api/families", headers=headers).status_code == 200
    world.clock.advance(timedelta(minutes=world.services.settings.workspace_session_minutes))
    assert client.get("/workspace/api/families", headers=headers).status_code == 401


def test_a_family_or_a_stranger_is_403(client: TestClient, world: World) -> None:
    family = client.get("/workspace/api/families", headers={"X-Telegram-Init-Data": world.init_data(FAMILY_TG)})
    assert family.status_code == 403
    stranger = client.get("/workspace/api/families", headers={"X-Telegram-Init-Data": world.init_data(123456)})
    assert stranger.status_code == 403


def test_a_coordinator_without_rights_over_the_family_is_403_and_audited(client: TestClient, world: World) -> None:
    response = client.get(
        "/workspace/api/families", headers={"X-Telegram-Init-Data": world.init_data(OTHER_COORDINATOR_TG)}
    )
    assert response.status_code == 200 and "Fenna" not in response.text, "only their own families are listed"
    headers = {"Authorization": f"Bearer {response.headers[SESSION_HEADER]}"}
    assert client.get(f"/workspace/api/family/{world.family}", headers=headers).status_code == 403
    refused = [a for a in audits(world, "view_family:refused") if a.actor_id == world.other]
    assert refused and refused[0].subject_id == world.family
    # Nor can they act on the family through a forged form.
    page = client.get("/workspace/api/volunteers", headers=headers)
    form = {"csrf": csrf_of(page.text), "concern": str(world.concern)}
    taken = client.post(f"/workspace/api/family/{world.family}/take", data=form, headers={**headers, **ORIGIN})
    assert taken.status_code == 403
    with world.services.db.session() as session:
        concern = concern_store.get_concern(session=session, concern_id=world.concern)
        assert concern is not None and concern.claimed_by_id is None


def test_the_family_list_filters_and_the_page_shows_what_exists_escaped_and_audited(
    client: TestClient, world: World
) -> None:
    headers = signed_in(client, world)
    listed = client.get("/workspace/api/families?attention=1", headers=headers)
    assert "Fenna &lt;b&gt;&amp;amp;&lt;/b&gt; co" in listed.text, "the name is escaped, never markup"
    assert "Open concern" in listed.text or "Open zorg" in listed.text or "family/" in listed.text
    assert f"/workspace/api/family/{world.family}" in listed.text
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers)
    assert page.status_code == 200
    text = page.text
    assert FAMILY_NAME not in text and "Fenna &lt;b&gt;" in text
    assert QUESTION in text and "<svg" in text and "<polyline" in text
    assert 'data-slot="matches"' in text, "the slot for lasting matches"
    assert 'lang="nl"' in text or 'data-lang="nl"' in text
    opened = [a for a in audits(world, "family_record_opened") if a.detail.get("via") == "workspace"]
    assert len(opened) == 1 and opened[0].subject_id == world.family and opened[0].actor_id == world.coordinator
    client.get(f"/workspace/api/family/{world.family}", headers=headers)
    assert len([a for a in audits(world, "family_record_opened") if a.detail.get("via") == "workspace"]) == 2


def test_posts_need_the_same_origin_and_the_csrf_token(client: TestClient, world: World) -> None:
    headers = signed_in(client, world)
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers)
    form = {"csrf": csrf_of(page.text), "concern": str(world.concern)}
    path = f"/workspace/api/family/{world.family}/take"
    assert client.post(path, data=form, headers={**headers, "Origin": "https://evil.example"}).status_code == 403
    assert client.post(path, data=form, headers=headers).status_code == 403, "no Origin"
    wrong = {**form, "csrf": "x" * 32}
    assert client.post(path, data=wrong, headers={**headers, **ORIGIN}).status_code == 403
    assert client.post(path, data=form, headers={**ORIGIN}).status_code == 401


def test_taking_a_concern_goes_through_the_claims_service(client: TestClient, world: World) -> None:
    headers = signed_in(client, world)
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers)
    form = {"csrf": csrf_of(page.text), "concern": str(world.concern)}
    taken = client.post(f"/workspace/api/family/{world.family}/take", data=form, headers={**headers, **ORIGIN})
    assert taken.status_code == 200 and 'class="flash"' in taken.text
    with world.services.db.session() as session:
        concern = concern_store.get_concern(session=session, concern_id=world.concern)
        assert concern is not None and concern.claimed_by_id == world.coordinator
    assert audits(world, "concern_claimed"), "audited as in the chat"
    again = client.post(f"/workspace/api/family/{world.family}/take", data=form, headers={**headers, **ORIGIN})
    assert again.status_code == 200 and "✋" not in again.text.split("h-concerns")[1].split("</section>")[0]


def test_the_rhythm_and_a_casework_decision_go_through_the_services(client: TestClient, world: World) -> None:
    headers = signed_in(client, world)
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers)
    csrf = csrf_of(page.text)
    changed = client.post(
        f"/workspace/api/family/{world.family}/rhythm",
        data={"csrf": csrf, "rhythm": "weekly"},
        headers={**headers, **ORIGIN},
    )
    assert changed.status_code == 200
    with world.services.db.session() as session:
        profile = session.get(FamilyProfile, world.family)
        assert profile is not None and profile.checkin_rhythm == "weekly"
    assert audits(world, "checkin_rhythm_changed")
    bad = client.post(
        f"/workspace/api/family/{world.family}/rhythm",
        data={"csrf": csrf, "rhythm": "hourly"},
        headers={**headers, **ORIGIN},
    )
    assert bad.status_code == 200
    decided = client.post(
        f"/workspace/api/family/{world.family}/decide",
        data={"csrf": csrf, "decision": str(world.decision), "choice": "change:other_helper"},
        headers={**headers, **ORIGIN},
    )
    assert decided.status_code == 200
    with world.services.db.session() as session:
        row = session.get(QuestionDecision, world.decision)
        assert row is not None and row.decision == "change" and row.decided_by_id == world.coordinator
        told = session.exec(select(OutboxMessage).where(OutboxMessage.person_id == world.family)).all()
        assert any(f"decided:{world.decision}" in (m.dedupe_key or "") for m in told), "the family is told"
    assert audits(world, "question_decided")


def test_approving_a_volunteer_goes_through_the_approvals_service(client: TestClient, world: World) -> None:
    headers = signed_in(client, world)
    page = client.get("/workspace/api/volunteers", headers=headers)
    assert "Vera" in page.text
    vog = (world.clock.now() - timedelta(days=30)).date().isoformat()
    approved = client.post(
        f"/workspace/api/volunteers/{world.volunteer}/approve",
        data={"csrf": csrf_of(page.text), "vog": vog, "children": "yes"},
        headers={**headers, **ORIGIN},
    )
    assert approved.status_code == 200 and "Vera" in approved.text
    with world.services.db.session() as session:
        profile = session.get(VolunteerProfile, world.volunteer)
        assert profile is not None and profile.status == "approved" and profile.children_ok
    assert audits(world, "volunteer_approved")


def test_the_figures_are_those_of_stats_with_a_csv(client: TestClient, world: World) -> None:
    headers = signed_in(client, world)
    page = client.get("/workspace/api/figures?period=4w", headers=headers)
    assert page.status_code == 200 and 'class="levels"' in page.text
    assert audits(world, "figures_viewed")
    csv = client.get("/workspace/api/figures.csv?period=4w", headers=headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert b"suppression_threshold" in csv.content
    # The charts say the CSV's numbers: the requests of each week, small counts as "<5" (never the count).
    rows = [line.split(",") for line in csv.content.decode().splitlines()[1:]]
    weekly = [value for metric, _kind, _week, value in rows if metric == "requests_by_week"]
    assert weekly == ["0", "0", "0", "<5"], weekly
    tips = [html.unescape(t) for t in re.findall(r'data-tip="([^"]*)"', page.text)]
    asked = [re.search(r"Gevraagd: ([^ ]+)", tip) for tip in tips]
    assert [found.group(1) for found in asked if found] == weekly
    assert "Gevraagd: 2" not in page.text and 'class="bar hidden"' in page.text
    # The same sections as /stats: the families' own questions and the lasting matches too.
    assert 'id="h-questions"' in page.text and 'id="h-matches"' in page.text
    assert "Script" not in page.text and "<script" not in page.text
    assert audits(world, "figures_exported")
    assert client.get("/workspace/api/figures?period=forever", headers=headers).status_code == 403


def test_no_workspace_unless_enabled(world: World) -> None:
    world.services.settings = world.services.settings.model_copy(update={"workspace_enabled": False})
    app = build_web_app(services=world.services, liveness=Liveness(), on_stored=lambda: None, counters={})
    assert TestClient(app).get("/workspace/").status_code == 404


def test_every_check_in_on_the_chart_is_an_answered_one(world: World) -> None:
    with world.services.db.session() as session:
        answered = session.exec(select(CheckIn).where(CheckIn.family_id == world.family)).all()
    assert len([c for c in answered if c.answer]) == 3


def test_the_demo_sign_in_exists_only_with_the_demos_token(world: World) -> None:
    from pydantic import SecretStr

    from web.demo import DEMO_TOKEN

    app = build_web_app(services=world.services, liveness=Liveness(), on_stored=lambda: None, counters={})
    assert TestClient(app).get("/workspace/demo", follow_redirects=False).status_code == 404, "a real token"
    world.services.settings = world.services.settings.model_copy(update={"telegram_bot_token": SecretStr(DEMO_TOKEN)})
    demo = build_web_app(services=world.services, liveness=Liveness(), on_stored=lambda: None, counters={})
    answer = TestClient(demo).get("/workspace/demo", follow_redirects=False)
    assert answer.status_code == 303 and "#tgWebAppData=" in answer.headers["location"]


def _section(text: str, heading: str) -> str:
    return text.split(f'id="{heading}"')[1].split("</section>")[0]


def test_the_family_page_shows_its_lasting_match_with_the_visit_log_and_its_requests(
    client: TestClient, world: World
) -> None:
    headers = signed_in(client, world)
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers).text
    matches = _section(page, "h-matches")
    assert HELPER_NAME in matches and f'data-match="{world.match}"' in matches and 'data-state="active"' in matches
    assert "Logeren" in matches or "logeert" in matches, "the kind, in the coordinator's language"
    log = re.findall(r'<li class="o-(\w+)">', matches)
    assert log == ["difficult", "didnt", "happened"], "the visit log, newest first"
    assert "😊" in matches, "the duo sees the family's feeling about a time"
    assert "maandag 7 december om 15:00" in matches, "the next time"
    requests = _section(page, "h-requests")
    assert HELPER_NAME in requests and "Private words" not in page, "the family's own words stay in Telegram"


def test_a_coordinator_alerted_about_the_family_sees_its_visit_log_without_the_familys_feelings(
    client: TestClient, world: World
) -> None:
    with world.services.db.session() as session:
        concern_store.add_escalation_step(
            session=session,
            concern_id=world.concern,
            level=1,
            target="all",
            notified=[world.other],
            now=world.clock.now(),
        )
    response = client.get(
        "/workspace/api/families", headers={"X-Telegram-Init-Data": world.init_data(OTHER_COORDINATOR_TG)}
    )
    headers = {"Authorization": f"Bearer {response.headers[SESSION_HEADER]}"}
    page = client.get(f"/workspace/api/family/{world.family}", headers=headers)
    assert page.status_code == 200
    matches = _section(page.text, "h-matches")
    assert re.findall(r'<li class="o-(\w+)">', matches) == ["difficult", "didnt", "happened"]
    assert "😊" not in matches, "only those who manage the family's matches see how the family felt"


def test_the_volunteers_page_shows_who_is_paused_and_the_load_per_week_against_the_cap(
    client: TestClient, world: World
) -> None:
    headers = signed_in(client, world)
    page = client.get("/workspace/api/volunteers", headers=headers).text
    paused = page.split('id="h-paused"')[1].split("<section")[0]
    assert PAUSED_NAME in paused and HELPER_NAME not in paused and "17 december" in paused
    load = _section(page, "h-load")
    cards = load.split('<div class="card load')[1:]
    hanna = next(card for card in cards if HELPER_NAME in card)
    piet = next(card for card in cards if PAUSED_NAME in card)
    assert hanna.startswith(" over"), "this week has more than the cap: two tasks and a match time"
    assert not piet.startswith(" over")
    tips = [html.unescape(t) for t in re.findall(r'data-tip="([^"]*)"', hanna)]
    assert len(tips) == 6, "this week and the five before"
    week, tasks, visits = (part.strip() for part in tips[-1].split("·"))
    assert "50" in week and tasks.endswith(": 2") and visits.endswith(": 1"), tips[-1]
    assert [tip.split("·")[2].strip()[-1] for tip in tips] == ["0", "0", "1", "1", "1", "1"], "a time a week"
    assert '<line class="cap"' in hanna, "the cap as a line"
