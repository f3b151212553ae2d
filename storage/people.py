"""People, their profiles, areas, invites and dialogue state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlmodel import Session, col

from storage import privacy, teams
from storage.case_tables import CaseStep, IntakeTalk
from storage.db import delete_where, insert_row, null_where, saved, set_once, updated
from storage.models import (
    Area,
    AuditEntry,
    CheckIn,
    Concern,
    CoordinatorProfile,
    FamilyProfile,
    FamilyTopic,
    HelpRequest,
    Invite,
    Person,
    RelayLink,
    RequestOffer,
    Role,
    TaskOutcome,
    TimelineEvent,
    VolunteerArea,
    VolunteerProfile,
    VolunteerSkill,
)

# --- people ---------------------------------------------------------------------------------------


# Built once: every update starts with this query (services.identity), and building it each time cost more than
# running it.
_PERSON_BY_TELEGRAM_ID = select(Person).where(col(Person.telegram_id) == bindparam("telegram_id"))


def get_person_by_telegram_id(*, session: Session, telegram_id: int) -> Person | None:
    """The person behind a Telegram account, or None for someone the bot has not met."""
    return session.execute(_PERSON_BY_TELEGRAM_ID, {"telegram_id": telegram_id}).scalar_one_or_none()


def get_person(*, session: Session, person_id: int) -> Person | None:
    """A person by id, or None."""
    return session.get(Person, person_id)


def ensure_person(
    *, session: Session, telegram_id: int, language: str, now: datetime, is_admin: bool = False
) -> Person:
    """The person behind a Telegram user, created with just a language on first contact."""
    person = get_person_by_telegram_id(session=session, telegram_id=telegram_id)
    if person is None:
        person = Person(telegram_id=telegram_id, language=language, created_at=now, updated_at=now)
        session.add(person)
        session.flush()
    if is_admin and not (person.is_admin and person.role == Role.COORDINATOR):
        promote_to_admin(session=session, person=person, now=now)
    return person


def promote_to_admin(*, session: Session, person: Person, now: datetime) -> None:
    """Make a person an administrator (and so a coordinator)."""
    person.is_admin = True
    person.role = Role.COORDINATOR
    person.team_id = person.team_id or teams.default_team_id(session=session)
    person.updated_at = now
    session.add(person)
    if session.get(CoordinatorProfile, person.id) is None:
        session.add(CoordinatorProfile(person_id=person.id))  # type: ignore[arg-type]
    session.flush()


def set_language(*, session: Session, person: Person, language: str, now: datetime) -> None:
    """Remember the language a person chose for the bot's messages."""
    person.language = language
    person.updated_at = now
    session.add(person)


def record_consent(
    *, session: Session, person: Person, role: str, version: str, now: datetime, team_id: int | None = None
) -> None:
    """Record that a person agreed to this version of the privacy terms, in this role and team.

    Without a team (no invite or referral named one) a person joins the first team, as before teams existed.
    """
    person.role = role
    person.team_id = team_id or person.team_id or teams.default_team_id(session=session)
    person.consent_version = version
    person.consent_at = now
    person.updated_at = now
    session.add(person)
    session.flush()


def set_display_name(*, session: Session, person: Person, name: str, now: datetime) -> None:
    """Change the name the bot and the coordinators know a person by."""
    person.display_name = name
    person.updated_at = now
    session.add(person)


def set_reachable(*, session: Session, person_id: int, reachable: bool, now: datetime) -> bool:
    """Record whether messages reach this person; true if that changed."""
    changed = col(Person.id) == person_id, col(Person.reachable) != reachable
    since = None if reachable else now
    return bool(updated(session, Person, *changed, reachable=reachable, unreachable_since=since, updated_at=now))


def coordinators(*, session: Session, team_id: int | None = None) -> list[Person]:
    """Every coordinator who still has a Telegram account (not erased), by id; of one team when given."""
    query = select(Person).where(col(Person.role) == Role.COORDINATOR, col(Person.telegram_id).is_not(None))
    if team_id is not None:
        query = query.where(col(Person.team_id) == team_id)
    return list(session.execute(query.order_by(col(Person.id))).scalars())


def first_staff_language(*, session: Session) -> str | None:
    """The language of the first administrator, else of the first coordinator (None: no coordinator yet)."""
    return session.execute(_FIRST_STAFF_LANGUAGE).scalar()


# Built once: a topic line for a family without a primary coordinator asks it.
_FIRST_STAFF_LANGUAGE = (
    select(col(Person.language))
    .where(col(Person.role) == Role.COORDINATOR, col(Person.telegram_id).is_not(None))
    .order_by(col(Person.is_admin).desc(), col(Person.id))
    .limit(1)
)


def admins(*, session: Session) -> list[Person]:
    """The coordinators who are administrators."""
    return [person for person in coordinators(session=session) if person.is_admin]


def families_of_coordinator(*, session: Session, coordinator_id: int) -> list[FamilyProfile]:
    """Family profiles with this coordinator as primary or as partner."""
    return list(
        session.execute(
            select(FamilyProfile)
            .where(
                (col(FamilyProfile.primary_coordinator_id) == coordinator_id)
                | (col(FamilyProfile.partner_coordinator_id) == coordinator_id)
            )
            .order_by(col(FamilyProfile.person_id))
        ).scalars()
    )


def concerns_claimed_by(*, session: Session, coordinator_id: int) -> list[Concern]:
    """Concerns this coordinator has taken and not closed."""
    return list(
        session.execute(
            select(Concern)
            .where(col(Concern.claimed_by_id) == coordinator_id, col(Concern.status) != "closed")
            .order_by(col(Concern.id))
        ).scalars()
    )


def reopen_concern(*, session: Session, concern_id: int) -> None:
    """A taken concern whose coordinator left: open and unacknowledged again, so the chain can go on."""
    not_closed = col(Concern.id) == concern_id, col(Concern.status) != "closed"
    updated(session, Concern, *not_closed, claimed_by_id=None, status="open", acknowledged_at=None)


# --- profiles -------------------------------------------------------------------------------------


def get_family(*, session: Session, person_id: int) -> FamilyProfile | None:
    """A family's profile, or None if the person is no family."""
    return session.get(FamilyProfile, person_id)


def get_volunteer(*, session: Session, person_id: int) -> VolunteerProfile | None:
    """A volunteer's profile, or None if the person is no volunteer."""
    return session.get(VolunteerProfile, person_id)


def get_coordinator(*, session: Session, person_id: int) -> CoordinatorProfile | None:
    """A coordinator's profile, or None."""
    return session.get(CoordinatorProfile, person_id)


def set_family_coordinators(
    *, session: Session, profile: FamilyProfile, primary_id: int | None, partner_id: int | None
) -> None:
    """A family's primary and partner coordinators (as when its coordinator leaves)."""
    profile.primary_coordinator_id = primary_id
    profile.partner_coordinator_id = partner_id
    session.add(profile)
    session.flush()


def save_family_profile(
    *,
    session: Session,
    person: Person,
    area_id: int | None,
    children_count: int | None,
    children_ages: str | None,
    primary_coordinator_id: int | None,
    team_id: int | None = None,
) -> FamilyProfile:
    """Create or update a family's profile at sign-up: area, children, primary coordinator, team."""
    assert person.id is not None
    profile = session.get(FamilyProfile, person.id) or FamilyProfile(person_id=person.id)
    profile.team_id = team_id or person.team_id or teams.default_team_id(session=session)
    person.team_id = profile.team_id
    profile.area_id = area_id
    profile.children_count = children_count
    profile.children_ages = children_ages
    if primary_coordinator_id is not None:
        profile.primary_coordinator_id = primary_coordinator_id
        partner = session.get(CoordinatorProfile, primary_coordinator_id)
        profile.partner_coordinator_id = partner.duo_partner_id if partner else None
    return saved(session, profile)


def remember_family_area(*, session: Session, family_id: int, area_id: int) -> bool:
    """Keep a neighbourhood chosen in a request on a family that had none yet; true when it was kept."""
    without_area = col(FamilyProfile.person_id) == family_id, col(FamilyProfile.area_id).is_(None)
    return bool(updated(session, FamilyProfile, *without_area, area_id=area_id))


def save_volunteer_profile(
    *,
    session: Session,
    person: Person,
    area_ids: Iterable[int],
    skills: Iterable[str],
    availability: int,
    languages: Iterable[str],
) -> VolunteerProfile:
    """Create or update a volunteer's profile at sign-up: areas, skills, availability, languages."""
    assert person.id is not None
    profile = session.get(VolunteerProfile, person.id) or VolunteerProfile(person_id=person.id)
    profile.availability = availability
    profile.languages = ",".join(sorted(set(languages)))
    session.add(profile)
    session.execute(delete(VolunteerArea).where(col(VolunteerArea.volunteer_id) == person.id))
    session.execute(delete(VolunteerSkill).where(col(VolunteerSkill.volunteer_id) == person.id))
    session.flush()
    for area_id in sorted(set(area_ids)):
        session.add(VolunteerArea(volunteer_id=person.id, area_id=area_id))
    for skill in sorted(set(skills)):
        session.add(VolunteerSkill(volunteer_id=person.id, skill=skill))
    session.flush()
    return profile


def ensure_coordinator_profile(*, session: Session, person: Person) -> CoordinatorProfile:
    """A coordinator's profile, created empty when they have none yet."""
    assert person.id is not None
    profile = session.get(CoordinatorProfile, person.id)
    return profile if profile is not None else saved(session, CoordinatorProfile(person_id=person.id))


def volunteer_area_ids(*, session: Session, person_id: int) -> list[int]:
    """The areas a volunteer helps in."""
    return list(session.scalars(select(col(VolunteerArea.area_id)).where(col(VolunteerArea.volunteer_id) == person_id)))


def volunteer_skills(*, session: Session, person_id: int) -> list[str]:
    """What a volunteer said they can help with."""
    return list(session.scalars(select(col(VolunteerSkill.skill)).where(col(VolunteerSkill.volunteer_id) == person_id)))


# --- areas ----------------------------------------------------------------------------------------


def active_areas(*, session: Session, team_id: int | None = None) -> list[Area]:
    """The neighbourhoods people can choose, by name; of one team when given."""
    query = select(Area).where(col(Area.active))
    if team_id is not None:
        query = query.where(col(Area.team_id) == team_id)
    return list(session.execute(query.order_by(col(Area.name))).scalars())


def get_area(*, session: Session, area_id: int) -> Area | None:
    """An area by id, or None."""
    return session.get(Area, area_id)


def add_area(*, session: Session, name: str, now: datetime, team_id: int | None = None) -> Area:
    """Add a neighbourhood of a team by name (an inactive one of that name becomes active again, in that team)."""
    existing = session.execute(select(Area).where(col(Area.name) == name)).scalar_one_or_none()
    if existing is not None:
        existing.active = True
        existing.team_id = team_id or existing.team_id
        session.add(existing)
        return existing
    area = Area(name=name, created_at=now, team_id=team_id or teams.default_team_id(session=session))
    return saved(session, area)


def area_counts(*, session: Session, area_id: int) -> tuple[int, int]:
    """How many signed-up families and volunteers have this neighbourhood: (families, volunteers)."""
    families = _signed_up_in(session, FamilyProfile, FamilyProfile.person_id, FamilyProfile.area_id, area_id)
    volunteers = _signed_up_in(session, VolunteerArea, VolunteerArea.volunteer_id, VolunteerArea.area_id, area_id)
    return families, volunteers


def _signed_up_in(session: Session, table: type[Any], person: Any, area: Any, area_id: int) -> int:
    """How many signed-up people `table` places in a neighbourhood (`person` and `area` are its columns)."""
    joined = select(func.count()).select_from(table).join(Person, col(Person.id) == col(person))
    where = joined.where(col(area) == area_id, col(Person.consent_at).is_not(None))
    return int(session.execute(where).scalar_one())


def deactivate_area(*, session: Session, area_id: int) -> bool:
    """Stop offering an area to choose from; False if there is no such area."""
    return bool(updated(session, Area, col(Area.id) == area_id, active=False))


# --- invites --------------------------------------------------------------------------------------


def create_invite(
    *,
    session: Session,
    token_hash: str,
    role: str,
    created_by_id: int,
    expires_at: datetime,
    now: datetime,
    team_id: int | None = None,
) -> Invite:
    """Record an invite link (only the hash of its token) for a role and team, valid until `expires_at`."""
    invite = Invite(
        token_hash=token_hash,
        role=role,
        created_by_id=created_by_id,
        expires_at=expires_at,
        created_at=now,
        team_id=team_id,
    )
    return saved(session, invite)


def get_invite_by_hash(*, session: Session, token_hash: str) -> Invite | None:
    """The invite whose token has this hash, or None."""
    return session.execute(select(Invite).where(col(Invite.token_hash) == token_hash)).scalar_one_or_none()


def was_invited(*, session: Session, person_id: int) -> bool:
    """Whether this person signed up through an invite link."""
    query = select(col(Invite.id)).where(col(Invite.used_by_id) == person_id).limit(1)
    return session.execute(query).first() is not None


def get_invite(*, session: Session, invite_id: int) -> Invite | None:
    """An invite by id, or None."""
    return session.get(Invite, invite_id)


def redeem_invite(*, session: Session, invite_id: int, person_id: int, now: datetime) -> bool:
    """Mark an invite used, atomically: of two people racing for one link, only one gets it."""
    unexpired = col(Invite.expires_at) > now
    return set_once(session, Invite, invite_id, Invite.used_at, unexpired, used_at=now, used_by_id=person_id)


# --- audit and timeline ---------------------------------------------------------------------------


def audit(
    *,
    session: Session,
    actor_id: int | None,
    action: str,
    subject_id: int | None,
    now: datetime,
    **detail: Any,
) -> None:
    """Record who did what to whom, and when, in the audit log."""
    values = {"actor_id": actor_id, "action": action, "subject_id": subject_id, "at": now, "detail": detail}
    insert_row(session, AuditEntry, values)


def add_timeline(
    *,
    session: Session,
    family_id: int | None,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    ref_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an event to a family's timeline (what coordinators see on the family card)."""
    values = {"family_id": family_id, "kind": kind, "actor_id": actor_id, "ref_id": ref_id, "at": now, "detail": detail}
    insert_row(session, TimelineEvent, values)


# --- export and erasure ---------------------------------------------------------------------------


def _row(obj: Any, *, skip: Sequence[str] = ()) -> dict[str, Any]:
    """A table row as JSON-ready data for an export, dates as ISO text, without the skipped fields."""
    data = obj.model_dump()
    return {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in data.items()
        if key not in skip
    }


def export_person(*, session: Session, person: Person) -> dict[str, Any]:
    """Everything stored about a person, for /mydata: a readable summary and every table's rows about them
    (`storage.privacy.export_rows`). Other people appear only by id, never by name or contents."""
    assert person.id is not None
    pid = person.id
    export: dict[str, Any] = {"person": _row(person)}
    family = session.get(FamilyProfile, pid)
    if family is not None:
        export["family_profile"] = _row(family)
        area = session.get(Area, family.area_id) if family.area_id else None
        export["family_profile"]["area_name"] = area.name if area else None
    volunteer = session.get(VolunteerProfile, pid)
    if volunteer is not None:
        export["volunteer_profile"] = _row(volunteer)
        export["volunteer_profile"]["areas"] = [
            area.name
            for area in session.execute(
                select(Area)
                .join(VolunteerArea, col(VolunteerArea.area_id) == col(Area.id))
                .where(col(VolunteerArea.volunteer_id) == pid)
            ).scalars()
        ]
        export["volunteer_profile"]["skills"] = volunteer_skills(session=session, person_id=pid)
    export["tables"] = privacy.export_rows(session=session, person=person)
    return export


def _drop_links(*, session: Session, pid: int) -> None:
    """The rows that only tie the person to areas, skills, offers, relayed messages and a forum topic."""
    delete_where(
        session,
        pid,
        VolunteerArea.volunteer_id,
        VolunteerSkill.volunteer_id,
        RequestOffer.volunteer_id,
        RelayLink.family_id,
        FamilyTopic.family_id,
    )


def _detach_requests(*, session: Session, pid: int, now: datetime) -> None:
    """Their requests lose their free text (open ones are cancelled), tasks they took lose their volunteer."""
    # Free text the person wrote goes; the fact that help was asked stays as an anonymous count.
    theirs = col(HelpRequest.family_id) == pid
    updated(session, HelpRequest, theirs, note=None, destination=None, voice_file_id=None, text_purged_at=now)
    active = col(HelpRequest.status).in_(["open", "accepted"])
    updated(session, HelpRequest, theirs, active, status="cancelled", closed_at=now)
    null_where(session, pid, HelpRequest.assigned_volunteer_id)


def _detach_from_others(*, session: Session, pid: int) -> None:
    """Concerns, families and coordinators that point at the person stop doing so; their own profiles go."""
    null_where(
        session,
        pid,
        Concern.raised_by_id,
        Concern.claimed_by_id,
        FamilyProfile.support_volunteer_id,
        FamilyProfile.primary_coordinator_id,
        FamilyProfile.partner_coordinator_id,
        CoordinatorProfile.duo_partner_id,
    )
    delete_where(session, pid, VolunteerProfile.person_id, CoordinatorProfile.person_id)
    # Audit entries stay (who did what, when), without their details.
    updated(session, AuditEntry, col(AuditEntry.subject_id) == pid, detail={})
    null_where(session, pid, TimelineEvent.actor_id, CaseStep.actor_id, IntakeTalk.coordinator_id)


def _scrub_family_profile(*, session: Session, pid: int) -> None:
    """A safety stub's family profile without street, phone, children's ages or check-ins."""
    family = session.get(FamilyProfile, pid)
    if family is not None:
        family.street = None
        family.phone = None
        family.share_phone = False
        family.children_ages = None
        family.checkin_rhythm = "off"
        session.add(family)


def _erase_family_history(*, session: Session, pid: int) -> None:
    """A family's timeline, check-ins, outcomes, profile and close notes go; invites it used forget it."""
    delete_where(session, pid, TimelineEvent.family_id, IntakeTalk.family_id, CaseStep.family_id)
    updated(session, Concern, col(Concern.family_id) == pid, close_note=None)
    delete_where(session, pid, CheckIn.family_id, TaskOutcome.person_id, FamilyProfile.person_id)
    null_where(session, pid, Invite.used_by_id)


def erase_person(*, session: Session, person: Person, keep_safety_stub: bool, now: datetime) -> None:
    """Erase a person. With an open safety case the record stays as an anonymous stub, not by name.

    Every row that holds their data goes or is scrubbed (`storage.privacy`): their profile, messages to them
    (sent ones too), their updates' payloads, dialogue drafts, free text and JSON details anywhere that name
    them, street or phone included. What the anonymous figures count stays, detached from them.
    """
    assert person.id is not None
    pid = person.id
    street, phone = privacy.family_street_phone(session=session, person_id=pid)
    found = privacy.needles(name=person.display_name, street=street, phone=phone, telegram_id=person.telegram_id)
    privacy.cancel_jobs_about(session=session, person=person, keep_concerns=keep_safety_stub)
    privacy.scrub_own_delivery_rows(session=session, person_id=pid, telegram_id=person.telegram_id)
    _drop_links(session=session, pid=pid)
    _detach_requests(session=session, pid=pid, now=now)
    _detach_from_others(session=session, pid=pid)
    privacy.scrub_mentions(session=session, needles=found)
    if keep_safety_stub:
        _scrub_family_profile(session=session, pid=pid)
        _anonymise(session=session, person=person, now=now, keep_role=True)
        return
    _erase_family_history(session=session, pid=pid)
    _anonymise(session=session, person=person, now=now, keep_role=False)


def _anonymise(*, session: Session, person: Person, now: datetime, keep_role: bool) -> None:
    """The person's row without who they are (the role kept for an anonymous safety stub)."""
    person.telegram_id = None
    person.display_name = None
    person.organisation = None
    person.consent_version = None
    person.consent_at = None
    if not keep_role:
        person.role = None
    person.anonymised_at = now
    person.updated_at = now
    session.add(person)


def has_open_safety_case(*, session: Session, person_id: int) -> bool:
    """Whether a family has a concern that is not closed yet (erasure then keeps an anonymous stub)."""
    return (
        session.execute(
            select(col(Concern.id)).where(col(Concern.family_id) == person_id, col(Concern.status) != "closed").limit(1)
        ).first()
        is not None
    )
