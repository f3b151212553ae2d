"""A family's case through the real bot: intake with a planned talk, the waiting list, active support, the
waakvlam and the family's "more support", closing with a reason, a stale button, reopening; the family told in
plain words at every step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import col, select

from storage.case_tables import CaseStep
from storage.models import AuditEntry, TimelineEvent
from tests.e2e.care_world import family_id, local_now, new_coordinator, new_family, office_morning, profile, quiet_world
from tests.e2e.harness import Chat, Harness, expect, seen
from tests.e2e.test_rights import forge


def state(harness: Harness, chat: Chat) -> str:
    return str(profile(harness, chat).case_state)


def on_screen(chat: Chat, label: str) -> str:
    """Tap a button of the case screen, which changes in place: the screen as it reads afterwards."""
    chat.tap(label)
    return str(chat.last.text or "")


def open_case(coordinator: Chat, name: str) -> str:
    coordinator.say("/families")
    coordinator.tap_listed(name)
    label = next(label for label in coordinator.last_buttons() if label.startswith("📂 Case:"))
    return expect(coordinator.tap(label), f"Case of {name}")


def test_a_case_runs_from_intake_to_closed_and_is_reopened_with_the_family_told(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    office_morning(harness)
    quiet_world(harness)
    pia = new_coordinator(coordinator, person, "Pia")
    family = new_family(pia, person, "Fenna")
    fid = family_id(harness, family)
    assert state(harness, family) == "intake", "a family that signs up starts in intake"
    expect([open_case(pia, "Fenna")], "State: Intake since")

    # An intake talk: typed nonsense and a moment in the past are refused kindly, then planned and held.
    expect(pia.tap("🗓 Plan an intake talk"), "Type the day and time of the intake talk")
    expect(pia.say("next week sometime"), "Please type a day and a time")
    expect(pia.say("01-01-2020 10:00"), "That moment has passed")
    tomorrow = (local_now(harness) + timedelta(days=1)).strftime("%d-%m-%Y")
    expect(pia.say(f"{tomorrow} 14:30"), "Intake talk planned")
    expect(family.texts()[-1:], "Your intake talk with Pia is planned for", "14:30")
    held = next(label for label in pia.last_buttons() if label.startswith("✅ Talk of"))
    assert "(held)" in on_screen(pia, held)

    # Intake done: the family waits, and hears so in plain words.
    before = len(family.user.messages)
    pia.tap("⏳ Intake done: on the waiting list")
    assert state(harness, family) == "waiting"
    expect(family.texts()[before:], "waiting list", "write to us here at any time")
    harness.advance(days=9)
    listed = expect(pia.say("/waiting"), "Waiting list", "Fenna: waiting 9 days")
    assert "⚠️" not in listed.split("Fenna")[1].split("\n")[0], "nine days is not yet too long"

    # Support starts, later moves to the waakvlam; the family asks for more support again itself.
    pia.tap_listed(next(label for label in pia.last_buttons() if label.endswith("Fenna")))
    assert "State: Active support" in on_screen(pia, "▶️ Support starts")
    assert pia.user.callback_answers[-1] == "Done: Active support."
    expect(family.texts()[-1:], "your support starts now")
    pia.tap("🕯 Waakvlam: check-ins only")
    assert state(harness, family) == "waakvlam"
    expect(family.texts()[-1:], "We need help again")
    before = len(pia.user.messages)
    expect(family.tap("We need help again"), "We are here for you")
    assert state(harness, family) == "active"
    expect(pia.texts()[before:], "Fenna")

    # Closing needs a reason from the list; an old button afterwards changes nothing.
    expect([open_case(pia, "Fenna")], "Active support")
    expect(pia.tap("⏹ Close the case"), "Why does the case close?")
    pia.tap("The family moved away")
    assert state(harness, family) == "closed"
    expect(family.texts()[-1:], "Your support through Waakvlam has ended")
    answer, _shown = forge(pia, f"ca:to:{fid}:active:waakvlam")
    assert "moved on meanwhile" in answer
    assert state(harness, family) == "closed"

    # Reopened: back to intake, the whole history kept.
    assert "State: Intake" in on_screen(pia, "🔄 Reopen the case")
    expect(family.texts()[-1:], "Welcome back")
    with harness.session() as session:
        steps = session.exec(select(CaseStep).where(CaseStep.family_id == fid).order_by(col(CaseStep.id))).all()
        kinds = set(session.exec(select(TimelineEvent.kind).where(TimelineEvent.family_id == fid)).all())
        moved = session.exec(
            select(AuditEntry).where(AuditEntry.subject_id == fid, AuditEntry.action == "case_moved")
        ).all()
    assert [(s.from_state, s.to_state) for s in steps] == [
        (None, "intake"),
        ("intake", "waiting"),
        ("waiting", "active"),
        ("active", "waakvlam"),
        ("waakvlam", "active"),
        ("active", "closed"),
        ("closed", "intake"),
    ]
    assert steps[5].reason == "moved"
    assert {"case_intake", "intake_planned", "intake_held", "case_closed", "case_reopened"} <= kinds
    assert len(moved) == 5, "every coordinator's move is audited"


def test_another_coordinator_cannot_move_a_case_and_a_family_cannot_open_one(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    pia = new_coordinator(coordinator, person, "Pia")
    olga = new_coordinator(coordinator, person, "Olga")
    family = new_family(pia, person, "Gerda")
    fid = family_id(harness, family)
    before = len(family.user.messages)
    answer, _shown = forge(olga, f"ca:to:{fid}:intake:waiting")
    assert "other coordinators" in answer
    answer, _shown = forge(family, f"ca:to:{fid}:intake:waiting")
    assert "no longer works" in answer or "coordinators" in answer
    assert state(harness, family) == "intake"
    assert len(family.user.messages) == before, "nothing reached the family"


def test_a_referred_family_is_taken_moved_along_closed_and_reopened_while_the_referrer_hears_only_the_steps(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    from tests.e2e.test_referrals import invite_referrer, refer

    referrer = invite_referrer(coordinator, person, "Rosa")
    pia = new_coordinator(coordinator, person, "Pia")
    payload = refer(referrer, "Lotte", language="English")
    family = person("Lotte", language_code="en")
    family.say(f"/start {payload}")
    family.tap("Yes, sign me up")
    family.tap("Yes, they may")
    family.tap("Yes, I agree")
    family.say("Lotte")
    family.tap("My neighbourhood is not listed")
    family.tap("0")
    assert state(harness, family) == "referred"
    expect(referrer.say("/referrals"), "Lotte: signed up.")

    # Pia finds the referral on the waiting list's screen and takes it: she becomes the primary.
    listed = expect(pia.say("/waiting"), "Referrals to take", "Lotte: referred 0 days ago")
    assert "Lotte" in listed
    pia.tap("📥 Lotte")
    assert "State: Intake" in on_screen(pia, "📥 Take this referral: intake")
    assert profile(harness, family).primary_coordinator_id == harness.person(pia.id).id
    expect(family.texts()[-1:], "A coordinator is now looking after you")

    steps = [
        ("⏳ Intake done: on the waiting list", "The family you referred (Lotte): intake done."),
        ("▶️ Support starts", "The family you referred (Lotte): support started."),
        ("🕯 Waakvlam: check-ins only", None),
        ("⏹ Close the case", None),
    ]
    for label, news in steps:
        before = len(referrer.user.messages)
        pia.tap(label)
        told = [seen(message.text or "") for message in referrer.user.messages[before:]]
        if news is None:
            assert not told, f"the referrer hears nothing of {label}: {told}"
        else:
            expect(told, news)
    before = len(referrer.user.messages)
    pia.tap("Goals reached")
    assert state(harness, family) == "closed"
    expect([seen(m.text or "") for m in referrer.user.messages[before:]], "(Lotte): support closed.")
    shown = expect(referrer.say("/referrals"), "Lotte", "Latest: closed")
    assert "Goals reached" not in shown and "Pia" not in shown, "the referrer never learns why or who"

    before = len(referrer.user.messages)
    assert "State: Intake" in on_screen(pia, "🔄 Reopen the case")
    assert len(referrer.user.messages) == before, "a reopening is not the referrer's news"


def test_the_weekly_picture_and_the_waiting_list_name_a_family_waiting_too_long(
    harness: Harness, coordinator: Chat, person: Callable[..., Chat]
) -> None:
    from sqlalchemy import update

    from storage.models import FamilyProfile

    pia = new_coordinator(coordinator, person, "Pia")
    family = new_family(pia, person, "Wanda")
    open_case(pia, "Wanda")
    pia.tap("⏳ Intake done: on the waiting list")
    with harness.session() as session:
        long_ago = harness.clock.now() - timedelta(days=50)
        session.execute(
            update(FamilyProfile)
            .where(col(FamilyProfile.person_id) == family_id(harness, family))
            .values(case_since=long_ago)
        )
    listed = expect(pia.say("/waiting"), "Wanda: waiting 50 days")
    assert "⚠️" in next(line for line in listed.splitlines() if "Wanda" in line), "past WAITING_DIGEST_DAYS"
    expect(pia.say("/digest"), "Waiting too long", "Wanda: waiting 50 days")
