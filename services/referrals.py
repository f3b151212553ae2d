"""Referrals by professionals: a referrer makes a single-use link, the family consents or declines.

A referral holds no diagnosis: a reason from a short list, the family's first name as the referrer typed it,
its language and how it likes to be contacted. The family decides whether the referrer may hear how things
go (intake done, support started, closed), and nothing else ever reaches the referrer. Declined or expired,
the referral is deleted and only an anonymous count per team and month remains.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain import cases, names
from domain import invites as invite_rules
from domain import referrals as rules
from domain.permissions import can_refer
from services.callbacks import Button
from services.context import Services
from services.i18n import N_, _, format_day, h, hi, shipped_languages, use_language
from services.logs import event
from services.outbox import Outgoing, ToPerson, enqueue
from services.permissions import fresh_actor
from storage import people
from storage import referrals as store
from storage.case_tables import Referral
from storage.db import Session
from storage.models import Person

logger = logging.getLogger(__name__)

DIALOGUE = "refer"

# The referrer's buttons: rf:<step>:<value>; every value is checked again on the server.
REASON = Button("rf", "why", str)
LANGUAGE = Button("rf", "lang", str)
CONTACT = Button("rf", "how", str)
CREATE = Button("rf", "make")
# The family's buttons under the referral's welcome: rl:<question>:yes|no.
ANSWER = Button("rl", "ans", str)
SHARE = Button("rl", "share", str)

MAX_FIRST_NAME = 64
MAX_ORGANISATION = 64

REASON_LABELS: dict[str, str] = {
    "parenting": N_("Support with raising the children"),
    "alone": N_("Feeling alone, few people around"),
    "health": N_("Illness or health worries in the family"),
    "newcomer": N_("New in the Netherlands or in the neighbourhood"),
    "practical": N_("Practical help in daily life"),
    "other": N_("Something else"),
}
CONTACT_LABELS: dict[str, str] = {
    "chat": N_("Through Waakvlam's chat"),
    "phone": N_("By phone"),
    "referrer": N_("Through me, the referrer"),
}
NEWS_TEXTS: dict[str, str] = {
    cases.INTAKE_DONE: N_("The family you referred ({first_name}): intake done."),
    cases.SUPPORT_STARTED: N_("The family you referred ({first_name}): support started."),
    cases.CLOSED: N_("The family you referred ({first_name}): support closed."),
}
NEWS_LABELS: dict[str, str] = {
    cases.INTAKE_DONE: N_("intake done"),
    cases.SUPPORT_STARTED: N_("support started"),
    cases.CLOSED: N_("closed"),
}


def reason_label(reason: str) -> str:
    """A reason as the reader reads it."""
    return _(REASON_LABELS[reason]) if reason in REASON_LABELS else reason


def contact_label(contact: str) -> str:
    """A contact preference as the reader reads it."""
    return _(CONTACT_LABELS[contact]) if contact in CONTACT_LABELS else contact


def languages() -> tuple[str, ...]:
    """The languages a family may be referred in: the shipped ones."""
    return shipped_languages()


def clean_first_name(text: str) -> str | None:
    """The family's first name as it will be shown, or None when nobody could read it."""
    return names.clean_name(text, max_length=MAX_FIRST_NAME)


def clean_organisation(text: str) -> str | None:
    """A referrer's organisation as it will be shown, or None when nobody could read it."""
    return names.clean_name(text, max_length=MAX_ORGANISATION)


# --- the referrer ---------------------------------------------------------------------------------


def may_refer(*, session: Session, person: Person | None, now: datetime) -> bool:
    """Whether this person (read fresh) may refer a family now: a signed-up referrer in a team; refusals audited."""
    actor = fresh_actor(session=session, person=person)
    allowed = actor is not None and can_refer(actor)
    if not allowed and actor is not None:
        people.audit(session=session, actor_id=actor.person_id, action="refer:refused", subject_id=None, now=now)
    return allowed


def valid_choice(*, reason: str | None, language: str | None, contact: str | None) -> bool:
    """Whether the choices (from buttons, untrusted) are all from the lists."""
    return reason in rules.REASONS and language in languages() and contact in rules.CONTACT_WAYS


@dataclass(frozen=True)
class CreatedReferral:
    """A new referral's link, to hand to the family, and until when it works."""

    link: str
    expires_at: datetime


def create_referral(
    *,
    session: Session,
    services: Services,
    person: Person | None,
    reason: str | None,
    first_name: str | None,
    language: str | None,
    contact: str | None,
    now: datetime,
) -> CreatedReferral | None:
    """A single-use referral link, when this person may refer and every choice is valid (else None)."""
    if not may_refer(session=session, person=person, now=now):
        return None
    cleaned = clean_first_name(first_name or "")
    if cleaned is None or not valid_choice(reason=reason, language=language, contact=contact):
        return None
    referrer = people.get_person(session=session, person_id=person.id) if person and person.id else None
    assert referrer is not None and referrer.id is not None and reason and language and contact
    token = invite_rules.new_token()
    expires_at = now + timedelta(days=rules.VALID_DAYS)
    referral = store.create_referral(
        session=session,
        token_hash=invite_rules.hash_token(token),
        referrer_id=referrer.id,
        team_id=referrer.team_id,
        reason=reason,
        first_name=cleaned,
        language=language,
        contact=contact,
        expires_at=expires_at,
        now=now,
    )
    people.audit(
        session=session, actor_id=referrer.id, action="referral_created", subject_id=None, now=now, referral=referral.id
    )
    event(logger, "referral.created", referral_id=referral.id)
    link = f"https://t.me/{services.bot_username}?start={rules.payload_for(token)}"
    return CreatedReferral(link, expires_at)


def referral_line(referral: Referral) -> str:
    """One referral in the referrer's list: the first name, and where it stands (only what the family shares)."""
    name = hi(referral.first_name)
    if referral.consented_at is None:
        return _("{name}: link not used yet (works until {day}).").format(
            name=name, day=h(format_day(referral.expires_at.date()))
        )
    if referral.family_id is None:
        return _("{name}: signed up.").format(name=name)
    if referral.share_progress and referral.progress in NEWS_LABELS:
        return _("{name}: signed up. Latest: {news}.").format(name=name, news=h(_(NEWS_LABELS[referral.progress])))
    return _("{name}: signed up.").format(name=name)


def my_referrals(*, session: Session, person: Person | None, now: datetime) -> list[str] | None:
    """A referrer's own referrals, one line each (None: not a referrer)."""
    if not may_refer(session=session, person=person, now=now):
        return None
    assert person is not None and person.id is not None
    return [referral_line(referral) for referral in store.referrals_by(session=session, referrer_id=person.id)]


def set_organisation(*, session: Session, person_id: int, organisation: str, now: datetime) -> Person:
    """A referrer's organisation (already cleaned), stored; the fresh person back."""
    fresh = people.get_person(session=session, person_id=person_id)
    assert fresh is not None
    store.set_organisation(session=session, person=fresh, organisation=organisation, now=now)
    return fresh


# --- the family -----------------------------------------------------------------------------------


class LinkProblem(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ReferralCheck:
    """A referral link checked now: its problem, or what the family is shown (in the referral's language)."""

    problem: LinkProblem | None
    referral_id: int | None = None
    language: str | None = None
    first_name: str = ""
    referrer_name: str = ""
    organisation: str = ""
    reason: str = ""


def is_referral_payload(payload: str) -> bool:
    """Whether a /start payload is meant as a referral (its prefix), valid or not."""
    return payload.strip().startswith(rules.PREFIX)


def _check(session: Session, referral: Referral | None, now: datetime) -> ReferralCheck:
    """One referral judged now."""
    if referral is None:
        return ReferralCheck(LinkProblem.UNKNOWN)
    if referral.consented_at is not None:
        return ReferralCheck(LinkProblem.USED)
    if referral.expires_at <= now:
        return ReferralCheck(LinkProblem.EXPIRED)
    referrer = people.get_person(session=session, person_id=referral.referrer_id) if referral.referrer_id else None
    return ReferralCheck(
        None,
        referral.id,
        referral.language,
        referral.first_name,
        (referrer.display_name or "") if referrer else "",
        (referrer.organisation or "") if referrer else "",
        referral.reason,
    )


def check_link(*, session: Session, payload: str, now: datetime) -> ReferralCheck:
    """A deep-link payload (untrusted) checked: a valid referral is remembered by sign-up, not used yet."""
    token = rules.token_from_payload(payload)
    if token is None:
        result = ReferralCheck(LinkProblem.MALFORMED)
    else:
        referral = store.referral_by_hash(session=session, token_hash=invite_rules.hash_token(token))
        result = _check(session, referral, now)
    event(logger, "referral.checked", ok=result.problem is None, problem=str(result.problem or "") or None)
    return result


def check_again(*, session: Session, referral_id: int, now: datetime) -> ReferralCheck:
    """The referral remembered by sign-up, checked again now (it may have been used or expired since)."""
    return _check(session, store.get_referral(session=session, referral_id=referral_id), now)


def decline(*, session: Session, referral_id: int | None, now: datetime) -> bool:
    """The family said no (or gave up at the privacy notice): the referral goes, an anonymous count stays."""
    if referral_id is None:
        return False
    declined = store.decline_referral(session=session, referral_id=referral_id, now=now)
    event(logger, "referral.declined", referral_id=referral_id, done=declined)
    return declined


def take(*, session: Session, referral_id: int, family_id: int, share_progress: bool, now: datetime) -> Referral | None:
    """At consent: the referral becomes the family's (used once, for good); None when it no longer works."""
    if not store.use_referral(
        session=session, referral_id=referral_id, family_id=family_id, share_progress=share_progress, now=now
    ):
        return None
    return store.get_referral(session=session, referral_id=referral_id)


def consented(*, session: Session, referral: Referral, family: Person, now: datetime) -> None:
    """After the family's consent: the team's coordinators hear of it (its case starts as referred at sign-up)."""
    assert family.id is not None and referral.id is not None
    people.audit(
        session=session,
        actor_id=family.id,
        action="referral_consented",
        subject_id=family.id,
        now=now,
        referral=referral.id,
        share_progress=referral.share_progress,
    )
    referrer = people.get_person(session=session, person_id=referral.referrer_id) if referral.referrer_id else None
    for coordinator in people.coordinators(session=session, team_id=referral.team_id):
        with use_language(coordinator.language):
            text = "\n".join(
                [
                    _("A referred family agreed to sign up: {name}.").format(name=hi(referral.first_name)),
                    _("Referred by {referrer} ({organisation}).").format(
                        referrer=hi((referrer.display_name if referrer else None) or "-"),
                        organisation=hi((referrer.organisation if referrer else None) or "-"),
                    ),
                    _("Reason: {reason}").format(reason=h(reason_label(referral.reason))),
                    _("Prefers to be contacted: {contact}").format(contact=h(contact_label(referral.contact))),
                    _("Someone of the team can take it from here."),
                ]
            )
        key = f"referral:{referral.id}:{coordinator.id}"
        enqueue(session=session, to=ToPerson(coordinator), message=Outgoing(text=text), key=key, now=now)
    event(logger, "referral.consented", referral_id=referral.id)


def is_referred(*, session: Session, family_id: int) -> bool:
    """Whether the family came through a referral it consented to."""
    return store.referral_of_family(session=session, family_id=family_id) is not None


def family_referral(*, session: Session, family_id: int) -> dict[str, object] | None:
    """For /mydata: the family's referral (the reason, the referrer's name, whether progress is shared)."""
    referral = store.referral_of_family(session=session, family_id=family_id)
    if referral is None:
        return None
    referrer = people.get_person(session=session, person_id=referral.referrer_id) if referral.referrer_id else None
    return {
        "reason": referral.reason,
        "referrer": (referrer.display_name if referrer else None) or "",
        "organisation": (referrer.organisation if referrer else None) or "",
        "share_progress": referral.share_progress,
    }


# --- news for the referrer ------------------------------------------------------------------------


def tell_referrer(*, session: Session, family_id: int, news: str, now: datetime) -> bool:
    """A step of the family's case the referrer may hear (domain.cases.INTAKE_DONE, SUPPORT_STARTED, CLOSED).

    Only when the family agreed to share its progress: the news is kept on the referral (for /referrals) and
    the referrer is told in a short message. True when they were told.
    """
    if news not in NEWS_TEXTS:
        return False
    referral = store.referral_of_family(session=session, family_id=family_id)
    if referral is None or referral.id is None or not referral.share_progress or referral.referrer_id is None:
        return False
    referrer = people.get_person(session=session, person_id=referral.referrer_id)
    if referrer is None or referrer.telegram_id is None:
        return False
    store.set_progress(session=session, referral_id=referral.id, progress=news)
    with use_language(referrer.language):
        text = _(NEWS_TEXTS[news]).format(first_name=hi(referral.first_name))
    key = f"referralnews:{referral.id}:{news}"
    enqueue(session=session, to=ToPerson(referrer), message=Outgoing(text=text), key=key, now=now)
    event(logger, "referral.news", referral_id=referral.id, news=news)
    return True


def person_leaves(*, session: Session, person_id: int) -> None:
    """Erasure: a family's referral is detached (the referrer hears nothing more); a referrer's stay anonymous."""
    store.forget_person(session=session, person_id=person_id)
