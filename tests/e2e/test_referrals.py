"""Referrals by professionals, through the real bot: a referrer signs up, refers, the family consents or declines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import col, select

from domain import cases
from domain.referrals import month_of
from services import referrals as referral_service
from services.erasure import retention_job
from storage import referrals as store
from storage.case_tables import CaseStep, Referral, ReferralCount
from storage.models import FamilyProfile
from tests.e2e.harness import Chat, Harness, expect, seen, tr

REFERRER_BUTTON = "A referrer (a professional who refers families)"


def invite_referrer(coordinator: Chat, person: Callable[..., Chat], name: str = "Ria") -> Chat:
    coordinator.say("/invite")
    link = expect(coordinator.tap(REFERRER_BUTTON), "t.me/").split("?start=")[1].split()[0]
    referrer = person(name, language_code="en")
    expect(referrer.say(f"/start {link}"), "What we store", "Do you agree")
    expect(referrer.tap("Yes, I agree"), "What name shall we call you by?")
    expect(referrer.say(name), "Which organisation do you work for?")
    expect(referrer.say("JGZ <Almere>"), "Send /refer to refer a family")
    return referrer


def refer(referrer: Chat, first_name: str, language: str = "Türkçe", contact: str = "By phone") -> str:
    """The referrer refers a family; the deep-link payload back."""
    expect(referrer.say("/refer"), "Why do you refer this family?")
    expect(referrer.tap("Feeling alone, few people around"), "What is the first name")
    expect(referrer.say(first_name), "In which language")
    expect(referrer.tap(language), "How does the family prefer to be contacted?")
    summary = expect(referrer.tap(contact), "Your referral")
    assert first_name in summary and contact in summary
    text = expect(referrer.tap("Create the link"), "t.me/", "It works once")
    return text.split("?start=")[1].split()[0]


def referral_by_name(harness: Harness, first_name: str) -> Referral | None:
    with harness.session() as session:
        return session.exec(select(Referral).where(Referral.first_name == first_name)).first()


def count(harness: Harness, team_id: int, outcome: str) -> int:
    with harness.session() as session:
        rows = session.exec(
            select(ReferralCount).where(ReferralCount.team_id == team_id, ReferralCount.outcome == outcome)
        ).all()
        return sum(row.count for row in rows)


def test_a_referrer_refers_a_family_that_consents_and_hears_only_what_it_shares(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    referrer = invite_referrer(coordinator, person)
    stored = harness.person(referrer.id)
    assert stored.role == "referrer" and stored.organisation == "JGZ <Almere>"
    assert stored.team_id == harness.person(coordinator.id).team_id
    expect(referrer.say("/help"), "/refer", "/referrals")
    referrer.say("/menu")
    assert {"Refer a family", "My referrals"} <= set(referrer.last_buttons())
    assert "Invite someone" not in referrer.last_buttons()

    payload = refer(referrer, "Amina")
    assert payload.startswith("r")
    referral = referral_by_name(harness, "Amina")
    assert referral is not None and payload[1:] not in referral.token_hash
    assert referral.expires_at == harness.clock.now() + timedelta(days=30)
    assert referral.team_id == stored.team_id and referral.language == "tr"

    # The family opens the link: in Turkish, who referred it and why.
    family = person("Amina", language_code="en")
    welcome = seen(expect(family.say(f"/start {payload}"), tr("tr", "Would you like to sign up?")))
    assert "Ria" in welcome and "JGZ <Almere>" in welcome
    assert tr("tr", "Feeling alone, few people around") in welcome
    assert "<Almere>" in family.last.text  # shown as text, escaped in the HTML sent
    share = (
        "May the person who referred you hear how things go? Only these steps: intake done, support started, "
        "support closed. Nothing else, and never what you tell us."
    )
    expect(family.tap(tr("tr", "Yes, sign me up")), tr("tr", share))
    expect(family.tap(tr("tr", "Yes, they may")), tr("tr", "Do you agree that we store this?"))
    before = len(coordinator.user.messages)
    expect(family.tap(tr("tr", "Yes, I agree")), tr("tr", "What name shall we call you by? A first name is enough."))
    family.say("Amina")
    family.tap(tr("tr", "My neighbourhood is not listed"))
    family.tap("2")
    family.say("4, 7")
    told = [seen(m.text or "") for m in coordinator.user.messages[before:]]
    expect(told, "A referred family agreed to sign up: Amina", "Feeling alone", "By phone", "JGZ <Almere>")

    person_row = harness.person(family.id)
    assert person_row.language == "tr" and person_row.team_id == stored.team_id
    with harness.session() as session:
        profile = session.get(FamilyProfile, person_row.id)
        assert profile is not None and profile.case_state == cases.CaseState.REFERRED
        steps = session.exec(select(CaseStep).where(CaseStep.family_id == person_row.id)).all()
        assert [step.to_state for step in steps] == ["referred"]
    used = referral_by_name(harness, "Amina")
    assert used is not None and used.family_id == person_row.id and used.share_progress and used.consented_at

    # Single use: someone else opening the same link is told kindly and may sign up on their own.
    other = person("Oz", language_code="en")
    expect(other.say(f"/start {payload}"), "already been used", "sign up on your own")
    assert "We are a family" in other.last_buttons()

    expect(referrer.say("/referrals"), "Amina: signed up.")
    with harness.session() as session:
        assert referral_service.tell_referrer(
            session=session, family_id=person_row.id, news=cases.INTAKE_DONE, now=harness.clock.now()
        )
    harness.wake_sender()
    harness.settle()
    expect(referrer.texts(), "The family you referred (Amina): intake done.")
    shown = expect(referrer.say("/referrals"), "Amina: signed up. Latest: intake done.")
    assert "4, 7" not in shown and "neighbourhood" not in shown

    mydata = family.say("/mydata")
    expect(mydata, tr("tr", "The referrer hears how things go: yes"))
    expect(mydata, "Ria", "JGZ <Almere>")

    # The family erases its data: the referral is detached and the referrer hears nothing more.
    family.say("/delete")
    family.tap(tr("tr", "Yes, delete everything"))
    detached = referral_by_name(harness, "Amina")
    assert detached is not None and detached.family_id is None
    with harness.session() as session:
        assert not referral_service.tell_referrer(
            session=session, family_id=person_row.id, news=cases.CLOSED, now=harness.clock.now()
        )


def test_a_family_that_declines_leaves_only_a_count(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    referrer = invite_referrer(coordinator, person, "Rob")
    team_id = harness.person(referrer.id).team_id
    declined = count(harness, team_id, "declined")
    payload = refer(referrer, "Bram", language="English", contact="Through Waakvlam's chat")
    family = person("Bram", language_code="nl")
    # Halfway through sign-up on its own, the family opens the link: the referral counts.
    family.say("/start")
    assert tr("nl", "We are a family") in family.last_buttons()
    expect(family.say(f"/start {payload}"), "Would you like to sign up?", "Rob")
    expect(family.tap("No, thank you"), "We have stored nothing about you except your language")
    assert referral_by_name(harness, "Bram") is None
    assert count(harness, team_id, "declined") == declined + 1
    assert harness.person(family.id).consent_at is None

    # Giving up at the privacy notice counts the same.
    payload = refer(referrer, "Cas", language="English", contact="Through me, the referrer")
    family = person("Cas", language_code="en")
    family.say(f"/start {payload}")
    family.tap("Yes, sign me up")
    family.tap("No, keep it between us")
    expect(family.tap("No, thank you"), "We have stored nothing about you")
    assert referral_by_name(harness, "Cas") is None
    assert count(harness, team_id, "declined") == declined + 2
    expect(referrer.say("/referrals"), "You have not referred a family yet")

    # Coordinators see only the month's counts on the waiting list (the admin: every team's together).
    now = harness.clock.now()
    with harness.session() as session:
        this_month = session.exec(
            select(ReferralCount).where(ReferralCount.month == month_of(now.year, now.month))
        ).all()
    totals = {
        outcome: sum(row.count for row in this_month if row.outcome == outcome) for outcome in ("declined", "expired")
    }
    assert totals["declined"] >= 2
    expect(
        coordinator.say("/waiting"),
        "Referrals this month that ended without a family",
        f"{totals['declined']} declined, {totals['expired']} expired",
    )


def test_bad_expired_and_forged_referral_links_and_buttons(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    expect(person("Mo", language_code="en").say("/start rshort"), "This link is not valid", "sign up on your own")
    expect(person("Mo", language_code="en").say("/start r" + "x" * 30), "This link is not valid")

    referrer = invite_referrer(coordinator, person, "Rita")
    team_id = harness.person(referrer.id).team_id
    payload = refer(referrer, "Dina", language="English")
    with harness.session() as session:
        referral = session.exec(select(Referral).where(Referral.first_name == "Dina")).one()
        referral.expires_at = harness.clock.now() - timedelta(minutes=1)
        session.add(referral)
    expect(referrer.say("/referrals"), "Dina: link not used yet")
    family = person("Dina", language_code="en")
    expect(family.say(f"/start {payload}"), "This link has expired", "sign up on your own")
    assert "We are a family" in family.last_buttons()

    # The daily retention run deletes it; an anonymous count stays.
    expired = count(harness, team_id, "expired")
    with harness.session() as session:
        retention_job(session=session, job=None, services=harness.services, now=harness.clock.now())
    assert referral_by_name(harness, "Dina") is None
    assert count(harness, team_id, "expired") == expired + 1

    # Not a referrer: /refer and /referrals are refused on the server, so is a forged menu button.
    expect(coordinator.say("/refer"), "Only referrers can refer a family")
    expect(coordinator.say("/referrals"), "Only referrers")
    expect(family.say("/refer"), "Only referrers")

    # Forged and stale buttons in and out of the dialogue.
    referrer.say("/refer")
    answers = len(referrer.user.callback_answers)
    referrer.user.press_raw(referrer.last, "rf:why:diagnosis")
    harness.settle()
    assert referrer.user.callback_answers[answers:] == ["That choice is not on the list. Please choose again."]
    expect([seen(referrer.last.text or "")], "Why do you refer this family?")
    referrer.say("/cancel")
    answers = len(referrer.user.callback_answers)
    referrer.user.press_raw(referrer.last, "rf:make")
    harness.settle()
    assert "no longer works" in referrer.user.callback_answers[answers]
    with harness.session() as session:
        assert len(store.referrals_by(session=session, referrer_id=harness.person(referrer.id).id)) == 0
        assert session.exec(select(Referral).where(col(Referral.first_name) == "diagnosis")).first() is None


def test_erasing_a_referrer_keeps_its_referrals_anonymous(
    person: Callable[..., Chat], harness: Harness, coordinator: Chat
) -> None:
    referrer = invite_referrer(coordinator, person, "Roos")
    payload = refer(referrer, "Eva", language="English")
    family = person("Eva", language_code="en")
    family.say(f"/start {payload}")
    family.tap("Yes, sign me up")
    family.tap("No, keep it between us")
    family.tap("Yes, I agree")
    unused = refer(referrer, "Fien", language="English")
    referrer.say("/delete")
    referrer.tap("Yes, delete everything")
    kept = referral_by_name(harness, "Eva")
    assert kept is not None and kept.referrer_id is None and kept.family_id is not None
    assert referral_by_name(harness, "Fien") is None
    expect(person("Fien", language_code="en").say(f"/start {unused}"), "This link is not valid")
