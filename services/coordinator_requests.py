"""Who is a family's primary coordinator, and who is whose duo partner: asked of a colleague, or done at once.

"I am their primary coordinator" on a family's card takes the family over at once for an admin or an
unassigned family, and otherwise asks the current primary, who is always told; a duo partner (a duo sees each
other's families) is asked too. Only the colleague asked may answer, once; the one who asked hears it. Every
decision goes through `services.permissions`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from domain.permissions import Decision, Facts
from services import concerns
from services.callbacks import Button
from services.family_card import STALE, CardView, Rows
from services.i18n import N_, _, hi, use_language
from services.outbox import Outgoing, ToPerson, enqueue
from services.permissions import Action, authorize, refusal_text
from storage import care, people
from storage import rights as consent
from storage.db import Session
from storage.models import ConsentRequest, FamilyProfile, Person, Role

# 'My duo partner' (0: the choice of colleagues, else the one chosen) and a colleague's answer to a request.
DUO = Button("cr", "duo", int)
AGREE = Button("cr", "yes", int)
DISAGREE = Button("cr", "no", int)


def _tell(
    session: Session, person: Person | None, key: str, text: Any, now: datetime, markup: Any = None, **kw: Any
) -> None:
    """A message to another coordinator, in their language, through the outbox."""
    if person is None or person.telegram_id is None:
        return
    with use_language(person.language):
        body = _(text).format(**kw)
        buttons = markup() if callable(markup) else ()
    enqueue(session=session, to=ToPerson(person), message=Outgoing(text=body, buttons=buttons), key=key, now=now)


def _consent_buttons(request_id: int) -> Any:
    """Agree / No under a colleague's request, made in the reader's language when the message is written."""

    def build() -> Rows:
        """The buttons, in the language current when the message is written."""
        return [[(_("✅ Agree"), AGREE.data(request_id)), (_("No"), DISAGREE.data(request_id))]]

    return build


def _make_primary(
    session: Session, family: Person, previous_id: int | None, new: Person, actor: Person, now: datetime, how: str
) -> None:
    """Make `new` the family's primary; the previous primary is always told (unless they did it themselves)."""
    assert family.id is not None and new.id is not None
    care.set_coordinators(session=session, family_id=family.id, primary_id=new.id)
    people.audit(
        session=session,
        actor_id=actor.id,
        action="primary_coordinator_set",
        subject_id=family.id,
        now=now,
        primary=new.id,
        previous=previous_id,
        how=how,
    )
    if previous_id is not None and previous_id not in (actor.id, new.id):
        previous = people.get_person(session=session, person_id=previous_id)
        _tell(
            session,
            previous,
            f"primary:{family.id}:{new.id}:{int(now.timestamp())}",
            N_("{coordinator} is now the primary coordinator of {name}, instead of you."),
            now,
            coordinator=hi(concerns.name_of(new)),
            name=hi(concerns.name_of(family)),
        )


def _take_over(session: Session, family: Person, profile: FamilyProfile, coordinator: Person, now: datetime) -> str:
    """'I am their primary coordinator': at once for an admin or an unassigned family; otherwise ask the primary."""
    assert family.id is not None and coordinator.id is not None
    name = hi(concerns.name_of(family))
    previous_id = profile.primary_coordinator_id
    if previous_id == coordinator.id:
        return _("You are already the primary coordinator of {name}.").format(name=name)
    direct = authorize(session=session, actor=coordinator, action=Action.TAKE_OVER, family_id=family.id, now=now)
    if direct:
        _make_primary(session, family, previous_id, coordinator, coordinator, now, str(direct.reason))
        return _("You are now the primary coordinator of {name}.").format(name=name)
    asked = authorize(session=session, actor=coordinator, action=Action.ASK_TAKE_OVER, family_id=family.id, now=now)
    primary = people.get_person(session=session, person_id=previous_id or 0)
    if not asked or primary is None or primary.id is None:
        return refusal_text(asked)
    request = consent.ask_consent(
        session=session,
        kind="primary",
        requester_id=coordinator.id,
        approver_id=primary.id,
        family_id=family.id,
        now=now,
    )
    if request is None or request.id is None:
        return _("You already asked; {primary} has not answered yet.").format(primary=hi(concerns.name_of(primary)))
    _tell(
        session,
        primary,
        f"consent:{request.id}",
        N_("{coordinator} would like to become the primary coordinator of {name}. Do you agree?"),
        now,
        _consent_buttons(request.id),
        coordinator=hi(concerns.name_of(coordinator)),
        name=name,
    )
    return _("I have asked {primary}, the primary coordinator of {name}. You will hear the answer here.").format(
        primary=hi(concerns.name_of(primary)), name=name
    )


def _consent_decision(session: Session, coordinator: Person, request: ConsentRequest, now: datetime) -> Decision:
    """Whether this coordinator may answer the request (only the colleague asked may)."""
    if request.kind == "primary" and request.family_id is not None:
        facts = consent.family_facts(session=session, family_id=request.family_id)
        facts = replace(facts, addressed_to=request.approver_id)
        action = Action.ANSWER_TAKE_OVER
    else:
        facts = Facts(addressed_to=request.approver_id)
        action = Action.ANSWER_DUO
    return authorize(
        session=session, actor=coordinator, action=action, family_id=request.family_id, facts=facts, now=now
    )


def _answer_effect(
    session: Session,
    request: ConsentRequest,
    coordinator: Person,
    requester: Person,
    family: Person | None,
    accepted: bool,
    now: datetime,
) -> str:
    """What an answer to a request does (a new primary, a duo), told to the one who asked; the answer's note."""
    names = {"coordinator": hi(concerns.name_of(coordinator)), "requester": hi(concerns.name_of(requester))}
    key = f"consent:{request.id}:answer"
    if request.kind == "primary" and family is not None:
        names["name"] = hi(concerns.name_of(family))
        if not accepted:
            _tell(
                session,
                requester,
                key,
                N_("{coordinator} would rather stay the primary coordinator of {name}."),
                now,
                **names,
            )
            return _("{requester} has been told that you keep {name}.").format(**names)
        profile = care.get_family_profile(session=session, family_id=family.id or 0)
        previous = profile.primary_coordinator_id if profile else None
        _make_primary(session, family, previous, requester, coordinator, now, "consent")
        _tell(
            session,
            requester,
            key,
            N_("{coordinator} agreed: you are now the primary coordinator of {name}."),
            now,
            **names,
        )
        return _("Done: {requester} is now the primary coordinator of {name}.").format(**names)
    if not accepted:
        _tell(session, requester, key, N_("{coordinator} would rather not be your duo partner."), now, **names)
        return _("{requester} has been told.").format(**names)
    _set_duo(session, requester, coordinator, coordinator, now)
    _tell(session, requester, key, N_("{coordinator} agreed: you are now duo partners."), now, **names)
    return _("Done: {requester} is now your duo partner.").format(**names)


def _set_duo(session: Session, coordinator: Person, partner: Person, actor: Person, now: datetime) -> None:
    """Make two coordinators a duo (they see each other's families), audited."""
    care.set_duo_partner(session=session, coordinator_id=coordinator.id or 0, partner_id=partner.id)
    people.audit(
        session=session,
        actor_id=actor.id,
        action="duo_partner_set",
        subject_id=partner.id,
        now=now,
        coordinator=coordinator.id,
    )


def answer_request(
    *, session: Session, coordinator: Person, request_id: int, accepted: bool, now: datetime
) -> CardView:
    """A colleague's answer to 'may I become primary / your duo partner': only they may answer, once.

    Settled, the note is the tap's answer and a message (the buttons go); otherwise only the note, or stale.
    """
    request = consent.get_consent(session=session, request_id=request_id)
    decision = _consent_decision(session, coordinator, request, now) if request is not None else None
    requester = people.get_person(session=session, person_id=request.requester_id) if request else None
    family = people.get_person(session=session, person_id=request.family_id) if request and request.family_id else None
    if request is None or decision is None or requester is None:
        return STALE
    if not decision:
        return CardView(note=refusal_text(decision))
    if not consent.answer_consent(session=session, request_id=request_id, accepted=accepted, now=now):
        return CardView(note=_("You already answered this."))
    note = _answer_effect(session, request, coordinator, requester, family, accepted, now)
    return CardView(note=note, text=note, retire=True)


def _duo_choice(session: Session, coordinator: Person) -> CardView:
    """The coordinator's duo partner now, and a button per colleague to choose from."""
    options = [
        (colleague.display_name or str(colleague.id), colleague.id or 0)
        for colleague in people.coordinators(session=session, team_id=coordinator.team_id)
        if colleague.id != coordinator.id and colleague.consent_at is not None
    ]
    if not options:
        return CardView(text=_("There are no other coordinators yet."))
    profile = people.get_coordinator(session=session, person_id=coordinator.id or 0)
    current = (
        people.get_person(session=session, person_id=profile.duo_partner_id)
        if profile and profile.duo_partner_id
        else None
    )
    text = (
        _("Your duo partner is {name}. Choose someone else to change it:").format(name=hi(concerns.name_of(current)))
        if current
        else _("Who is your duo partner?")
    )
    return CardView(text=text, rows=[[(name, DUO.data(person_id))] for name, person_id in options])


def _choose_duo(session: Session, coordinator: Person, partner_id: int, now: datetime) -> str | None:
    """A colleague chosen: at once for an admin, else the colleague is asked; None: not a colleague."""
    partner = people.get_person(session=session, person_id=partner_id)
    if not concerns.is_coordinator(partner) or partner is None or partner_id == coordinator.id:
        return None
    name = hi(concerns.name_of(partner))
    direct = authorize(session=session, actor=coordinator, action=Action.SET_DUO, now=now)
    asked = direct or authorize(session=session, actor=coordinator, action=Action.ASK_DUO, now=now)
    if direct:
        _set_duo(session, coordinator, partner, coordinator, now)
        return _("{name} is now your duo partner.").format(name=name)
    if not asked or coordinator.id is None:
        return refusal_text(asked)
    request = consent.ask_consent(
        session=session, kind="duo", requester_id=coordinator.id, approver_id=partner_id, family_id=None, now=now
    )
    if request is None or request.id is None:
        return _("You already asked; {primary} has not answered yet.").format(primary=name)
    question = N_(
        "{coordinator} would like to be your duo partner: you would see each other's "
        "families and their concerns. Do you agree?"
    )
    _tell(
        session,
        partner,
        f"consent:{request.id}",
        question,
        now,
        _consent_buttons(request.id),
        coordinator=hi(concerns.name_of(coordinator)),
    )
    return _("I have asked {name}. You will hear the answer here.").format(name=name)


def duo(*, session: Session, coordinator: Person, partner_id: int, now: datetime) -> CardView:
    """'My duo partner' (partner 0): the choice of colleagues; a colleague chosen: set, or asked first."""
    if partner_id == 0:
        return _duo_choice(session, coordinator)
    note = _choose_duo(session, coordinator, partner_id, now)
    return STALE if note is None else CardView(text=note, retire=True)


def take_over(*, session: Session, coordinator: Person, family_id: int, now: datetime) -> CardView:
    """'I am their primary coordinator' on a family's card: the note; stale when it is no family."""
    family = people.get_person(session=session, person_id=family_id)
    profile = care.get_family_profile(session=session, family_id=family_id)
    if family is None or profile is None or family.role != Role.FAMILY:
        return STALE
    return CardView(note=_take_over(session, family, profile, coordinator, now))
