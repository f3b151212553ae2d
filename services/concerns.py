"""What coordinators read about a concern and a family, and the family's forum topic: shared by every concern use case.

The buttons on a concern's card are defined here (`TAKE`, `CLOSE`, ...), so the service that writes the card
and the handler that reads the tap share one `Button`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from domain import escalation as rules
from domain.priority import Priority
from services import timeline
from services.callbacks import Button
from services.context import Services
from services.groups import family_group
from services.i18n import LANGUAGE_NAMES, N_, _, format_when, h, hi, use_language
from services.labels import name_of as name_of  # read here by the concern modules
from services.outbox import Outgoing, ToTopic, enqueue, relay_meta
from services.permissions import Action, authorize
from services.tasks import kind_label, when_text
from storage import care, job_store, people, teams
from storage import concerns as concern_store
from storage import requests as request_store
from storage.case_tables import Team
from storage.db import Session
from storage.models import CheckIn, Concern, Person, Role

# A coordinator's buttons on a concern (cc:take:42 ...), and the volunteer's "which family?" choice.
TAKE = Button("cc", "take", int)
CLOSE = Button("cc", "close", int)
NO_NOTE = Button("cc", "nonote", int)
SHOW = Button("cc", "show", int)
ABOUT = Button("cc", "about", str)  # a family's id, or "none"
ABOUT_NONE = "none"
# The family's card (conversations.family_card reads this button).
FAMILY_CARD = Button("cr", "open", int)

ANSWER_EMOJI = {"good": "😊", "so_so": "😐", "not_good": "😟", "talk": "💬"}

SOURCE_LABELS = {
    "talk": N_("wants to talk to someone"),
    "message": N_("sent a message for the coordinators"),
    "checkin_not_good": N_("answered the check-in: not good"),
    "checkin_talk": N_("answered the check-in: wants to talk to someone"),
    "checkin_soso": N_("answered the check-in 'so-so' and would like a word with a coordinator"),
    "reopen": N_("tapped 'we need help again'"),
    "no_contact": N_("has not answered the last check-ins: no contact with this family"),
    "unreachable": N_("can no longer be reached through the bot (they may have blocked it)"),
    "urgent": N_("sent a message that suggests danger"),
    "volunteer": N_("a volunteer raised a concern"),
    "task_hard": N_("rated a task as difficult"),
    "match_difficult": N_("a visit of their lasting match was difficult"),
    "match_missed": N_("their lasting match did not happen twice in a row"),
}


def policy(services: Services, team: Team | None = None) -> rules.EscalationPolicy:
    """The escalation policy: the team's office hours and wait where it set them, else the deployment's settings."""
    settings = services.settings
    days = tuple(settings.office_days)
    if team is not None and team.office_days is not None:
        days = tuple(int(day) for day in team.office_days.split(",") if day.strip())
    wait = settings.escalation_wait_office_minutes
    if team is not None and team.escalation_wait_office_minutes is not None:
        wait = team.escalation_wait_office_minutes
    start = team.office_start if team is not None and team.office_start else settings.office_start
    end = team.office_end if team is not None and team.office_end else settings.office_end
    morning = settings.escalation_morning_rule
    if morning is not None and not start <= morning < end:
        morning = start  # the team's hours leave out the deployment's morning time: its own opening instead
    return rules.EscalationPolicy(
        office_days=days,
        office_start=start,
        office_end=end,
        wait_office=timedelta(minutes=wait),
        wait_outside=timedelta(minutes=settings.escalation_wait_outside_minutes),
        morning_rule=morning,
        zone=settings.timezone,
    )


def family_policy(services: Services, session: Session | None, family_id: int | None) -> rules.EscalationPolicy:
    """The escalation policy of the family's team (the deployment's without a session or a family)."""
    if session is None or family_id is None:
        return policy(services)
    team_id = teams.team_of_family(session=session, family_id=family_id)
    return policy(services, teams.get_team(session=session, team_id=team_id))


def plan_next_step(
    *,
    session: Session,
    services: Services,
    concern: Concern,
    level: int,
    key: str,
    now: datetime,
    target: str | None = None,
) -> None:
    """Schedule the chain's move past `level` (alerted now) under the family's policy, unless it ends there."""
    pol = family_policy(services, session, concern.family_id)
    due = rules.next_escalation_at(level=level, now=now, policy=pol, urgent=concern.urgent, target=target)
    if due is not None:
        job_store.schedule_job(
            session=session,
            kind="concern.escalate",
            due_at=due,
            dedupe_key=f"concern.escalate:{concern.id}:{key}",
            now=now,
            subject_id=concern.id,
        )


def is_coordinator(person: Person | None) -> bool:
    """A coordinator who finished signing up."""
    return person is not None and person.role == Role.COORDINATOR and person.consent_at is not None


def person_of(session: Session, person_id: int | None) -> Person | None:
    """The person with this id, or None (also for no id)."""
    return people.get_person(session=session, person_id=person_id) if person_id else None


def family_concern(session: Session, family_id: int) -> Concern | None:
    """The family's own open concern (not one a volunteer raised about them)."""
    return concern_store.open_concern(session=session, family_id=family_id, exclude_sources=("volunteer",))


def is_waiting(concern: Concern | None) -> bool:
    """Whether an open concern still waits for a coordinator who can receive it."""
    return (
        concern is not None
        and concern.waiting_since is not None
        and concern.status != concern_store.ConcernStatus.CLOSED
    )


def family_waiting(session: Session, family_id: int) -> bool:
    """Whether the family's own open concern is still waiting for a coordinator who can receive it."""
    return is_waiting(family_concern(session, family_id))


def group_id(services: Services, session: Session, family_id: int | None = None) -> int | None:
    """The coordinators' group of the family's team (the first team's without a family), read fresh."""
    return family_group(session=session, settings=services.settings, family_id=family_id)


# --- the family's topic ---------------------------------------------------------------------------


def topic_language(session: Session, family: Person | None) -> str:
    """The language the bot writes in inside the coordinators' group: the family's primary's, or an admin's."""
    if family is not None and family.id is not None:
        profile = people.get_family(session=session, person_id=family.id)
        primary = person_of(session, profile.primary_coordinator_id if profile else None)
        if primary is not None:
            return primary.language
    return people.first_staff_language(session=session) or "nl"


def post_to_topic(
    *,
    session: Session,
    services: Services,
    family: Person,
    key: str,
    text: str,
    now: datetime,
    buttons: Sequence[Sequence[tuple[str, str]]] = (),
    concern_id: int | None = None,
    priority: Priority | None = None,
) -> bool:
    """A line in the family's forum topic (or the group itself, when it has no topics)."""
    group = group_id(services, session, family.id)
    if group is None or family.id is None:
        return False
    message = Outgoing(
        text=text, buttons=buttons, extra=relay_meta(family.id, concern_id), purpose="topic", priority=priority
    )
    with use_language(topic_language(session, family)):  # the topic's writing direction
        return enqueue(session=session, to=ToTopic(group, family.id), message=message, key=key, now=now)


def topic_note(
    session: Session, services: Services, family: Person, key: str, message: str, now: datetime, **values: Any
) -> None:
    """A translated one-liner (msgid marked with N_) for the family's topic, in the group's language."""
    with use_language(topic_language(session, family)):
        text = _(message).format(**values)
    post_to_topic(session=session, services=services, family=family, key=key, text=text, now=now)


def concern_step(
    *,
    session: Session,
    services: Services,
    concern: Concern,
    kind: str,
    actor: Person | None,
    now: datetime,
    topic_line: str | None = None,
    topic_key: str = "",
    **values: Any,
) -> Person | None:
    """A step in a concern's life in the family's timeline and, unless a volunteer raised it, in its topic.

    `topic_line` is a msgid marked with N_ (formatted with `values` in the group's language); returns the family.
    """
    family = person_of(session, concern.family_id)
    if family is None:
        return None
    timeline.note(session=session, about=concern, kind=kind, now=now, by=actor)
    if topic_line is not None and concern.source != "volunteer":
        key = topic_key or f"topic:{kind}:{concern.id}"
        topic_note(session, services, family, key, topic_line, now, **values)
    return family


# --- what coordinators see about a family ---------------------------------------------------------


def checkin_summary(checkins: Sequence[CheckIn], zone: str, language: str) -> str:
    """'😊 12 Nov · — 26 Nov': the latest answers, oldest first; — for no answer, … for waiting."""
    parts = []
    for checkin in reversed(checkins):
        mark = ANSWER_EMOJI.get(checkin.answer or "", "—" if checkin.missed else "…")
        moment = checkin.sent_at or checkin.due_at
        day = format_date(moment.astimezone(ZoneInfo(zone)).date(), format="d MMM", locale=language)
        parts.append(f"{mark} {h(day)}")
    return " · ".join(parts) if parts else _("none yet")


def family_context(session: Session, family: Person, language: str) -> str:
    """Only what a coordinator needs: name, area, language, the last check-in answers, open requests."""
    assert family.id is not None
    profile = people.get_family(session=session, person_id=family.id)
    area = people.get_area(session=session, area_id=profile.area_id) if profile and profile.area_id else None
    checkins = care.recent_checkins(session=session, family_id=family.id, limit=5)
    requests = care.open_request_count(session=session, family_id=family.id)
    with use_language(language):
        lines = [
            _("<b>{name}</b> · {area} · {language}").format(
                name=hi(name_of(family)),
                area=hi(area.name if area else _("neighbourhood not listed")),
                language=h(LANGUAGE_NAMES.get(family.language, family.language)),
            ),
            _("Recent check-ins: {answers}").format(answers=checkin_summary(checkins, family.timezone, language)),
            _("Open help requests: {count}").format(count=hi(requests)),
        ]
        if not family.reachable:
            lines.append(unreachable_line(family, language))
    return "\n".join(lines)


def unreachable_line(person: Person, language: str) -> str:
    """'⚠️ Cannot be reached through the bot since …': on every card, so nobody counts on the bot."""
    since = person.unreachable_since
    if since is None:
        return _("⚠️ Cannot be reached through the bot (blocked it or left Telegram). Get in touch another way.")
    return _(
        "⚠️ Cannot be reached through the bot since {when} (blocked it or left Telegram). Get in touch another way."
    ).format(when=h(format_when(since, person.timezone, language)))


def audit_opened(session: Session, coordinator: Person, family_id: int, now: datetime, how: str) -> None:
    """Audit that a coordinator saw a family's record (an alert, a card, a list)."""
    people.audit(
        session=session, actor_id=coordinator.id, action="family_record_opened", subject_id=family_id, now=now, via=how
    )


def audit_concern(
    *, session: Session, by: Person | None, action: str, concern: Concern, now: datetime, **detail: Any
) -> None:
    """Audit a step of a concern: by whom (None: the bot itself), about the concern's family and the concern."""
    actor_id = by.id if by is not None else None
    people.audit(
        session=session,
        actor_id=actor_id,
        action=action,
        subject_id=concern.family_id,
        now=now,
        concern=concern.id,
        **detail,
    )


# --- a concern's card -----------------------------------------------------------------------------


def concern_buttons(concern: Concern, *, private: bool) -> list[list[tuple[str, str]]]:
    """'I'll take this' and 'Close' (and in a private chat the family's card), in the current language."""
    assert concern.id is not None
    rows = [[(_("✋ I'll take this"), TAKE.data(concern.id)), (_("✅ Close"), CLOSE.data(concern.id))]]
    if private and concern.family_id is not None:
        rows.append([(_("📋 Family and check-ins"), FAMILY_CARD.data(concern.family_id))])
    return rows


def _card_head(concern: Concern, family: Person | None, raiser: Person | None) -> str:
    """The card's first line: what happened, about whom."""
    if concern.urgent:
        return _("🚨 <b>URGENT</b>: {name} sent a message that suggests danger. Please act now.").format(
            name=hi(name_of(family or raiser))
        )
    if concern.source == "volunteer":
        return _("🔔 Volunteer {volunteer} raised a concern about {name}.").format(
            volunteer=hi(name_of(raiser)), name=hi(name_of(family)) if family else _("(no family chosen)")
        )
    if concern.source == "unreachable":
        return _(
            "⚠️ {name} can no longer be reached through the bot (they may have blocked it). "
            "Please get in touch another way."
        ).format(name=hi(name_of(family)))
    if concern.source == "no_contact":
        return _("⚠️ No contact with {name}: the last check-ins were not answered. Please follow up.").format(
            name=hi(name_of(family))
        )
    return _("🔔 {name} {what}.").format(
        name=hi(name_of(family)), what=h(_(SOURCE_LABELS.get(concern.source, SOURCE_LABELS["talk"])))
    )


def _where_messages_are(
    session: Session, services: Services, concern: Concern, family: Person | None, private: bool
) -> str:
    """The card's last line: where the family's messages are and how to answer them."""
    if concern.source in ("no_contact", "unreachable"):
        return ""
    if private and (
        group_id(services, session, family.id if family else None) is None
        or concern.source == "volunteer"
        or family is None
    ):
        return _("Their messages follow below. Reply to any of them to answer; your reply goes to them.")
    if private:
        return _("Their messages are in the family's topic in the coordinators' group.")
    return _("Whatever you write in this topic goes to the family.")


def concern_card(
    session: Session,
    services: Services,
    concern: Concern,
    *,
    language: str,
    level: int,
    private: bool,
    now: datetime,
    rerouted_from: Person | None = None,
) -> str:
    """The alert a coordinator reads: what happened, about whom, and where the messages are."""
    family = person_of(session, concern.family_id)
    raiser = person_of(session, concern.raised_by_id)
    zone = services.settings.timezone
    with use_language(language):
        # Someone who never consented: the alert says only what is needed to answer them (docs/safety.md).
        if concern.urgent and family is None and raiser is not None and raiser.consent_at is None:
            return _(
                "🚨 <b>URGENT</b>: someone who has not signed up wrote a message that suggests danger. "
                "They were shown the emergency numbers. What they wrote is not passed on: they gave no consent. "
                "Please act now: reply to this message to write to them; your reply goes to them."
            )
        lines = [_card_head(concern, family, raiser)]
        if rerouted_from is not None:
            lines.append(
                _("↪️ {name} can no longer be reached through the bot, so this concern comes to you.").format(
                    name=hi(name_of(rerouted_from))
                )
            )
        if concern.waiting_since is not None:
            lines.append(
                _("⏳ No coordinator could receive this since {when}; it waited for you.").format(
                    when=h(format_when(concern.waiting_since, zone, language))
                )
            )
        if level > rules.LEVEL_PRIMARY and not concern.urgent:
            lines.append(
                _("⏫ Nobody has picked this up since {when}.").format(
                    when=h(format_when(concern.created_at, zone, language))
                )
            )
        task = task_context(session, concern.request_id, concern.raised_by_id, language)
        if task:
            lines.append(task)
        if family is not None:
            lines.append(family_context(session, family, language))
        where = _where_messages_are(session, services, concern, family, private)
        if where:
            lines.append(where)
    return "\n\n".join(lines)


def task_context(session: Session, request_id: int | None, rater_id: int | None, language: str) -> str:
    """Which task a concern raised after a task is about: what, when, which volunteer, and a 'Difficult' rating."""
    if request_id is None:
        return ""
    request = request_store.get_request(session=session, request_id=request_id)
    if request is None:
        return ""
    volunteer = person_of(session, request.assigned_volunteer_id)
    outcome = (
        request_store.get_outcome(session=session, request_id=request.id or 0, person_id=rater_id) if rater_id else None
    )
    zone = people.get_person(session=session, person_id=request.family_id)
    with use_language(language):
        line = _("About the task: {what}, {when}, with volunteer {volunteer}.").format(
            what=h(kind_label(request.kind)),
            when=h(when_text(request, zone.timezone if zone else "Europe/Amsterdam", language)),
            volunteer=hi(name_of(volunteer)),
        )
        if outcome is not None and outcome.rating == "hard":
            line += "\n" + _("They rated it: 😟 Difficult.")
    return line


def concern_label(session: Session, concern: Concern) -> str:
    """'🔔 Hanna: wants to talk to someone', for lists and buttons."""
    family = person_of(session, concern.family_id)
    raiser = person_of(session, concern.raised_by_id)
    mark = "🚨" if concern.urgent else ("⏳" if concern.waiting_since is not None else "🔔")
    return _("{mark} {name}: {what}").format(
        mark=mark,
        name=name_of(family or raiser),
        what=_(SOURCE_LABELS.get(concern.source, SOURCE_LABELS["talk"])),
    )


def target_label(target: str) -> str:
    """Who an escalation step went to, in words."""
    labels = {
        rules.Target.PRIMARY: _("the primary coordinator"),
        rules.Target.PARTNER: _("the duo partner"),
        rules.Target.ALL: _("all coordinators"),
    }
    return labels.get(rules.Target(target), target)


def open_concern_rows(session: Session, concerns: Sequence[Concern]) -> list[list[tuple[str, str]]]:
    """One button per open concern; tapping it sends its card and messages, to take, answer or close it."""
    rows = []
    for concern in concerns:
        assert concern.id is not None
        rows.append([(concern_label(session, concern)[:60], SHOW.data(concern.id))])
    return rows


@dataclass(frozen=True)
class OpenConcern:
    """An open concern in a coordinator's list: the concern, its label, and who took it (None: nobody yet)."""

    concern: Concern
    label: str
    claimer: Person | None


def open_concerns_for(*, session: Session, coordinator: Person, limit: int = 30) -> list[OpenConcern]:
    """/concerns: the open concerns this coordinator may take (another duo's families stay out), oldest first."""
    found = [
        concern
        for concern in concern_store.open_concerns(session=session, limit=200)
        if authorize(session=session, actor=coordinator, action=Action.CLAIM_CONCERN, concern=concern, audit=False)
    ][:limit]
    return [
        OpenConcern(concern, concern_label(session, concern), person_of(session, concern.claimed_by_id))
        for concern in found
    ]
