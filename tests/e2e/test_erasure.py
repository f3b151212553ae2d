"""Erasure and export end to end: /delete in the middle of work, no trace left anywhere, /mydata complete,
and the retention job.

The scans read every table of `SQLModel.metadata`, so a table added later is scanned and must be exported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select

from storage import care, people
from storage import concerns as concern_store
from storage.models import (
    Concern,
    DialogueState,
    InboxUpdate,
    Invite,
    JobStatus,
    OutboxMessage,
    ScheduledJob,
)
from storage.privacy import EXPORT_POLICY
from tests.e2e.care_world import local_now, move_to, new_coordinator, next_local, quiet_world, reset_group
from tests.e2e.harness import Chat, Harness, expect, tr
from tests.e2e.request_world import (
    ask,
    kind_button,
    last_request,
    monday_morning,
    new_area,
    new_family,
    new_volunteer,
    offers_to,
    person_id,
    quiet_requests,
    tag,
)

STREET = "Geheimhof 17"
PHONE = "+31655501234"
GATE = "gate code 4711"


@pytest.fixture(autouse=True)
def _isolated(harness: Harness) -> Iterator[None]:
    quiet_requests(harness)
    quiet_world(harness)
    reset_group(harness)
    monday_morning(harness)
    yield
    quiet_requests(harness)
    quiet_world(harness)


def delete_my_data(chat: Chat, language: str = "en") -> list[str]:
    expect(
        chat.say("/delete"),
        tr(language, "Do you want to delete all your data? This cannot be undone. You can always sign up again."),
    )
    return chat.tap(tr(language, "Yes, delete everything"))


def pending_jobs(harness: Harness, kind: str, subject_id: int) -> int:
    with harness.session() as session:
        rows = session.exec(
            select(ScheduledJob).where(
                ScheduledJob.kind == kind,
                ScheduledJob.subject_id == subject_id,
                ScheduledJob.status == JobStatus.PENDING,
            )
        ).all()
    return len(rows)


def since(chat: Chat, before: int) -> list[str]:
    chat.harness.settle()
    return [message.text or "" for message in chat.user.messages[before:]]


# --- erasure in the middle of a task ----------------------------------------------------------------


def test_a_volunteer_who_leaves_mid_task_gives_it_back_and_both_sides_hear(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Vlierwijk {tag()}")
    own = new_coordinator(coordinator, person, "Merel")
    family = new_family(own, person, "Ilsabe", area, language="nl")
    bram = new_volunteer(coordinator, person, "Brammert", area, ["Groceries"])
    cleo = new_volunteer(coordinator, person, "Cleomie", area, ["Groceries"])
    ask(family, "groceries", language="nl", street="Vlierlaan 3")
    request = last_request(harness, family)
    bram.tap("✅ Accept", message=offers_to(bram)[-1])
    assert pending_jobs(harness, "request.remind", request.id or 0) >= 1
    before = {chat.id: len(chat.user.messages) for chat in (family, own, cleo)}

    expect(delete_my_data(bram), "Your data has been deleted")

    # The family hears in Dutch, the coordinator knows the task is offered again, and it is.
    expect(
        since(family, before[family.id]),
        tr("nl", "😔 {volunteer} can no longer help with this request. We are looking for someone else.").split(
            "{volunteer}"
        )[1],
    )
    expect(since(own, before[own.id]), "Brammert has deleted their data", "offered to others again")
    expect(since(cleo, before[cleo.id]), "This request is open again")
    reopened = last_request(harness, family)
    assert reopened.status == "open" and reopened.assigned_volunteer_id is None
    assert pending_jobs(harness, "request.remind", request.id or 0) == 0, "no reminders for a task nobody holds"
    replies = cleo.tap("✅ Accept", message=offers_to(cleo)[-1])
    expect(replies, "Address: Vlierlaan 3")
    # Nobody of this test stays behind in the shared bot's lists.
    for chat in (cleo, family, own):
        delete_my_data(chat, "nl" if chat is family else "en")


def test_a_family_who_leaves_mid_task_cancels_and_the_volunteer_is_told_in_their_language(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Berkwijk {tag()}")
    own = new_coordinator(coordinator, person, "Merel")
    family = new_family(own, person, "Fennigje", area)
    volunteer = new_volunteer(coordinator, person, "Gijsbrecht", area, ["Groceries"], language="nl")
    ask(family, "groceries", street="Berklaan 8")
    request = last_request(harness, family)
    volunteer.tap(tr("nl", "✅ Accept"), message=offers_to(volunteer)[-1])
    assert pending_jobs(harness, "request.remind", request.id or 0) >= 1
    before = {chat.id: len(chat.user.messages) for chat in (volunteer, own)}

    delete_my_data(family)

    told = expect(since(volunteer, before[volunteer.id]), "Fennigje")
    with harness.session() as session:
        from services.i18n import _, use_language

        with use_language("nl"):
            expected = _(
                "ℹ️ {family} has left Waakvlam, so this task is cancelled and you do not need to go. "
                "Please forget the address. Thank you for being ready to help!"
            ).split("{family}")[1][:20]
    assert expected in told
    expect(since(own, before[own.id]), "Fennigje has deleted their data", "volunteers involved")
    with harness.session() as session:
        from storage import requests as store

        stored = store.get_request(session=session, request_id=request.id or 0)
        assert stored is not None and stored.status == "cancelled"
    for kind in ("request.remind", "request.followup"):
        assert pending_jobs(harness, kind, request.id or 0) == 0
    assert pending_jobs(harness, "checkin.send", request.family_id) == 0, "no check-ins are planned for them"
    volunteer.say("/tasks")
    assert "Berklaan" not in (volunteer.last.text or "")
    # Nothing about the family is sent any more when the day of the task comes.
    move_to(harness, local_now(harness).replace(hour=18, minute=0))
    harness.tick()
    assert not any("Berklaan" in text for text in since(volunteer, before[volunteer.id]))
    delete_my_data(volunteer, "nl")
    delete_my_data(own)


def test_a_family_who_leaves_takes_back_the_offers_still_waiting_in_volunteers_chats(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    area = new_area(harness, f"Elswijk {tag()}")
    family = new_family(coordinator, person, "Wietske", area)
    volunteer = new_volunteer(coordinator, person, "Hidde", area, ["Groceries"], language="nl")
    ask(family, "groceries", street="Elsstraat 3")
    offer = offers_to(volunteer)[-1]
    assert [label for row in offer.buttons for label in row], "the offer was sent with its buttons"

    delete_my_data(family)

    # The same message in the volunteer's chat now says, in Dutch, that it is no longer needed: no name, no
    # street, no buttons to accept a request that is gone.
    edited = next(message for message in volunteer.user.messages if message.message_id == offer.message_id)
    assert tr("nl", "This request is no longer needed. Thank you!") in (edited.text or "")
    assert "Wietske" not in (edited.text or "") and "Elsstraat" not in (edited.text or "")
    assert not [label for row in edited.buttons for label in row]
    delete_my_data(volunteer, "nl")


def test_a_coordinator_who_leaves_hands_families_and_a_taken_concern_over(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    from tests.e2e.care_world import make_team
    from tests.e2e.care_world import new_family as care_family

    team = make_team(harness, coordinator, person, tag=tag())
    family = care_family(team.primary, person, "Hannelore")
    family.say("/talk")
    family.say("We need to talk about school")
    team.primary.tap("✋ I'll take this")
    fid = person_id(harness, family)
    with harness.session() as session:
        (concern,) = concern_store.concerns_of(session=session, family_id=fid)
    assert concern.claimed_by_id == person_id(harness, team.primary)
    before = len(team.partner.user.messages)

    delete_my_data(team.primary)

    to_partner = since(team.partner, before)
    expect(to_partner, "Pia has left Waakvlam", "You are now the primary coordinator of: Hannelore")
    expect(to_partner, "had taken this concern but has left Waakvlam", "Hannelore")
    with harness.session() as session:
        profile = care.get_family_profile(session=session, family_id=fid)
        reopened = session.get(Concern, concern.id, populate_existing=True)
    assert profile is not None and profile.primary_coordinator_id == person_id(harness, team.partner)
    assert reopened is not None and reopened.status == "open" and reopened.claimed_by_id is None
    team.partner.tap("✋ I'll take this", message=team.partner.user.messages[-1])
    assert "You have taken this" in team.partner.user.callback_answers[-1]
    delete_my_data(family)


# --- no trace left, and a complete export ----------------------------------------------------------


def full_history(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat], family_name: str, vol_name: str
) -> tuple[Chat, Chat]:
    """A family and a volunteer with everything: street, phone, a note with a gate code, an accepted task
    with its reminder sent, a check-in answered, a concern, a poison update, a dialogue draft."""
    area = new_area(harness, f"Wilgwijk {tag()}")
    own = new_coordinator(coordinator, person, "Merel")
    family = new_family(own, person, family_name, area, children="2")
    volunteer = new_volunteer(coordinator, person, vol_name, area, ["Groceries", "A meal"])
    # The request, with the street, the phone (shared as a contact) and a note.
    family.say("/menu")
    family.tap("🙋 Ask for help")
    family.tap(kind_button("groceries", "en"))
    family.tap("Tomorrow")
    family.tap("Evening (18:00-22:00)")
    family.say(STREET)
    family.user.send_contact(phone_number=PHONE)
    harness.settle()
    family.say(f"Ring twice, {GATE}")
    expect(family.tap("✅ Send"), "Sent!")
    volunteer.tap("✅ Accept", message=offers_to(volunteer)[-1])
    move_to(harness, local_now(harness).replace(hour=18, minute=0))
    harness.tick()
    expect(volunteer.texts(), "A reminder of the task you accepted", STREET)
    # A check-in, answered.
    own.say("/families")
    own.tap_listed(family_name)
    own.tap("📨 Send a check-in now")
    family.tap("😐 So-so")
    family.tap("No, thanks")
    # A concern, with what they wrote relayed.
    family.say("/talk")
    family.say(f"Please call me, {family_name} here, {PHONE}")
    # A poison update from each of them (an update the bot could not handle).
    with harness.session() as session:
        for chat, name in ((family, family_name), (volunteer, vol_name)):
            # Negative: the poller asks Telegram for updates after the highest stored id.
            update_id = -chat.id
            session.add(
                InboxUpdate(
                    update_id=update_id,
                    chat_id=chat.id,
                    status="poison",
                    attempts=5,
                    error="handler failed",
                    received_at=harness.clock.now(),
                    payload={
                        "update_id": update_id,
                        "message": {
                            "message_id": 1,
                            "chat": {"id": chat.id, "type": "private", "first_name": name},
                            "from": {"id": chat.id, "is_bot": False, "first_name": name},
                            "text": f"{name}: {GATE} at {STREET}",
                        },
                    },
                )
            )
    # A dialogue draft: the family starts a request and leaves it half-way.
    family.say("/menu")
    family.tap("🙋 Ask for help")
    family.tap(kind_button("meal", "en"))
    with harness.session() as session:
        assert session.get(DialogueState, family.id) is not None
    return family, volunteer


def scan(harness: Harness, needles: list[str], telegram_ids: list[int]) -> list[str]:
    """Every cell of every table (from the metadata) that holds one of the needles or Telegram ids."""
    patterns = [re.compile(re.escape(needle), re.IGNORECASE) for needle in needles]
    patterns += [re.compile(rf"(?<!\d){tid}(?!\d)") for tid in telegram_ids]
    hits = []
    with harness.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(sa_select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    if isinstance(value, int) and not isinstance(value, bool):
                        if value in telegram_ids:
                            hits.append(f"{table.name}.{column} = {value}")
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
                    if any(pattern.search(text) for pattern in patterns):
                        hits.append(f"{table.name}.{column}: {text[:160]}")
    return hits


def test_erasure_leaves_no_trace_in_any_table_or_payload(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    family, volunteer = full_history(harness, coordinator, person, "Zoltanka", "Wendelmoet")
    family_needles = ["Zoltanka", STREET, PHONE, PHONE.lstrip("+")]
    volunteer_needles = ["Wendelmoet"]
    ids = [family.id, volunteer.id]
    assert scan(harness, family_needles + volunteer_needles, ids), "the history is really there before"

    expect(delete_my_data(family), "Your data has been deleted")
    expect(delete_my_data(volunteer), "Your data has been deleted")
    harness.settle()

    assert scan(harness, family_needles + volunteer_needles, ids) == []
    # What the anonymous figures count stays: the request, the check-in answer's count, the concern.
    with harness.session() as session:
        from storage.models import HelpRequest

        assert session.exec(select(HelpRequest).where(col(HelpRequest.status) == "cancelled")).first() is not None
        assert session.exec(select(Concern).where(Concern.source == "talk")).first() is not None


def about(harness: Harness, chat: Chat) -> dict[str, set[tuple[Any, ...]]]:
    """Rows about a person, found from the metadata alone: any column pointing at person.id with their id,
    a chat or Telegram id column with their Telegram id, audit entries about them, steps of their concerns."""
    pid = person_id(harness, chat)
    found: dict[str, set[tuple[Any, ...]]] = {}
    with harness.session() as session:
        concern_ids = set(session.exec(select(Concern.id).where(Concern.family_id == pid)))
        for table in SQLModel.metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            conditions = []
            for column in table.columns:
                if any(fk.column.table.name == "person" and fk.column.name == "id" for fk in column.foreign_keys):
                    conditions.append(column == pid)
                if column.name in ("chat_id", "telegram_id"):
                    conditions.append(column == chat.id)
            if table.name == "person":
                conditions.append(table.c.id == pid)
            if table.name == "auditentry":
                conditions += [table.c.subject_id == pid]
            if table.name == "escalationstep" and concern_ids:
                conditions.append(table.c.concern_id.in_(concern_ids))
            if not conditions:
                continue
            from sqlalchemy import or_

            rows = session.execute(sa_select(*keys).where(or_(*conditions))).all()
            if rows:
                found[table.name] = {tuple(row) for row in rows}
    return found


def test_mydata_exports_every_tables_rows_about_the_person(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    # Every table says how it is exported: a new table without that fails here.
    assert set(EXPORT_POLICY) == {table.name for table in SQLModel.metadata.sorted_tables}
    family, volunteer = full_history(harness, coordinator, person, "Quirijntje", "Rozemarijn")
    for chat, must in (
        (
            family,
            {
                "person",
                "familyprofile",
                "helprequest",
                "checkin",
                "concern",
                "escalationstep",
                "timelineevent",
                "auditentry",
                "dialoguestate",
                "inboxupdate",
                "outboxmessage",
            },
        ),
        (
            volunteer,
            {
                "person",
                "volunteerprofile",
                "volunteerarea",
                "volunteerskill",
                "requestoffer",
                "helprequest",
                "inboxupdate",
                "outboxmessage",
            },
        ),
    ):
        expected = about(harness, chat)
        assert must <= set(expected), f"the history is missing {must - set(expected)}"
        replies = chat.say("/mydata")
        expect(replies, "What Waakvlam stores about you", "Check-ins and your answers" if chat is family else "")
        data = json.loads(chat.last.document_bytes)
        for table_name, keys in expected.items():
            table = SQLModel.metadata.tables[table_name]
            key_names = [column.name for column in table.primary_key.columns]
            exported = {tuple(row.get(name) for name in key_names) for row in data["tables"].get(table_name, [])}
            missing = keys - exported
            assert not missing, f"/mydata misses {table_name} rows {sorted(missing)[:5]}"
        assert data["labels"]["checkin"] == "Check-ins and your answers"
    family_data = json.loads(family.last.document_bytes)
    assert family_data["family_profile"]["street"] == STREET
    assert any(GATE in json.dumps(row) for row in family_data["tables"]["helprequest"])
    # The volunteer sees the task, but not the family's note, street or phone.
    volunteer_data = json.loads(volunteer.last.document_bytes)
    text = json.dumps(volunteer_data["tables"]["helprequest"])
    assert GATE not in text and "token_hash" not in json.dumps(volunteer_data)
    delete_my_data(family)
    delete_my_data(volunteer)


# --- retention ------------------------------------------------------------------------------------


def test_the_retention_job_forgets_old_rows_daily(harness: Harness, coordinator: Chat) -> None:
    now = harness.clock.now()
    old = now - timedelta(days=40)
    recent = now - timedelta(days=2)
    with harness.session() as session:
        # Negative ids: the poller asks Telegram for updates after the highest stored id.
        base = -10_000_000_000 - int(now.timestamp())
        for offset, (status, at) in enumerate(
            [("done", old), ("done", recent), ("poison", old), ("poison", recent), ("failed", old)]
        ):
            session.add(
                InboxUpdate(update_id=base + offset, chat_id=1, status=status, received_at=at, payload={"x": 1})
            )
        for offset, (status, at) in enumerate([("sent", old), ("sent", recent), ("failed", old), ("failed", recent)]):
            session.add(
                OutboxMessage(
                    dedupe_key=f"retention-test:{base}:{offset}",
                    chat_id=1,
                    status=status,
                    created_at=at,
                    not_before=at,
                )
            )
        session.add(DialogueState(chat_id=base, dialogue="ask", step="kind", updated_at=old))
        admin = people.admins(session=session)[0]
        session.add(
            Invite(
                token_hash=f"retention{base}",
                role="family",
                created_by_id=admin.id or 0,
                expires_at=old,
                created_at=old,
            )
        )
    # The job runs at night, once a day, and schedules the next night.
    move_to(harness, next_local(harness, 1, time(3, 31), min_days=1))
    harness.tick()
    with harness.session() as session:
        inbox = {
            row.update_id - base: row
            for row in session.exec(
                select(InboxUpdate).where(InboxUpdate.update_id >= base, InboxUpdate.update_id < base + 10)
            )
        }
        outbox = {
            int(row.dedupe_key.rsplit(":", 1)[1]): row
            for row in session.exec(
                select(OutboxMessage).where(col(OutboxMessage.dedupe_key).startswith(f"retention-test:{base}:"))
            )
        }
        assert set(inbox) == {1, 3}, "old handled, poison and failed updates go; recent ones stay"
        assert set(outbox) == {1, 3}, "old sent and failed messages go; recent ones stay"
        # What is left of this test goes, so the shared bot's outbox and inbox are as other tests expect.
        for row in [*inbox.values(), *outbox.values()]:
            session.delete(row)
        assert session.get(DialogueState, base) is None
        assert session.exec(select(Invite).where(Invite.token_hash == f"retention{base}")).first() is None
        upcoming = session.exec(
            select(ScheduledJob).where(
                ScheduledJob.kind == "privacy.retention", ScheduledJob.status == JobStatus.PENDING
            )
        ).all()
    assert len(upcoming) == 1 and upcoming[0].due_at > harness.clock.now()
    assert upcoming[0].due_at - harness.clock.now() < timedelta(days=1)
