"""What a person may know and take with them: the privacy notice, and /mydata (everything stored about them).

The export is read fresh in the caller's transaction and audited there; the person reads a summary in their
own language and time zone, and gets every row as JSON (other people only by id, never by name).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.callbacks import Button
from services.i18n import LANGUAGE_NAMES, N_, _, format_moment, h, hi
from services.labels import role_label
from services.referrals import family_referral, reason_label
from services.settings import Settings
from services.skills import skill_label
from storage import people
from storage.db import Session


def _what_we_store_for_families() -> list[str]:
    """The notice's lines on what is stored for families: their help, their own questions, their case."""
    return [
        "• "
        + _(
            "For families: your neighbourhood; if you want, the number and ages of your children; the "
            "street, house number and phone number you give for a task; your requests for help (what, "
            "when, where, your note or voice message), which volunteers they were offered to, and how "
            "they went; how often we check in with you, and your answers; concerns you or others raised "
            "with your coordinator, who was told, and how they were handled; which messages were passed "
            "on between you and your coordinator, in your own topic in the coordinators' group; and "
            "your support volunteer, if you have one."
        ),
        "• "
        + _(
            "For families, your own questions: what you want to change, in your words; which help is "
            "linked to each question; your answers to 'does it help?'; what your coordinators decided "
            "about each question; and how often and when your casework meetings are. Your words are read by your "
            "coordinators and only by the one helper you choose for a question."
        ),
        "• "
        + _(
            "For families, your case: the steps of your case (intake, waiting list, support, closing and "
            "why) and when your intake talks are."
        ),
    ]


def _what_we_store() -> str:
    """The notice's first part: what is stored, for everyone and for each role."""
    return "\n".join(
        [
            _("<b>What we store:</b>"),
            "• "
            + _(
                "For everyone: your Telegram account number, so that we can write to you; the name you "
                "want to be called; your language and time zone; when you agreed to this notice; and "
                "whether our messages reach you."
            ),
            *_what_we_store_for_families(),
            "• "
            + _(
                "For volunteers: where and when you can help, with what, and which languages you speak; the "
                "date of your VOG and whether you are approved; your pauses and how many requests a week "
                "you want; the requests offered to you, your answers, the tasks you took, and how they went."
            ),
            "• "
            + _(
                "For coordinators: your duo partner, the invite links you made, and what you asked "
                "colleagues to agree to."
            ),
            "• "
            + _(
                "For families a professional referred: who referred you, the reason they chose from a short list, "
                "and whether you agreed that they hear how things go. For referrers: your organisation and the "
                "referrals you made (the family's first name, the reason, its language and how it likes to be "
                "contacted)."
            ),
            "• "
            + _(
                "For lasting matches (a family and a support household or volunteer who meet regularly): who "
                "is matched with whom, for what kind of help, when you meet, holidays, whether each time "
                "happened and how it was, and the reviews."
            ),
            "• "
            + _(
                "For a support household: which adults belong to it and whether each agreed. For giving "
                "back: what a family offered its support volunteer and whether it happened."
            ),
            "• "
            + _(
                "For everyone as well: a timeline of what happened (without what was said), a log of who "
                "looked at your record and when, planned reminders and check-ins, unfinished conversations "
                "with the bot, and for a short time the messages between you and the bot."
            ),
        ]
    )


def privacy_notice(settings: Settings) -> str:
    """The privacy notice: what is stored, why, who sees it, how long, and the person's rights."""
    return "\n\n".join(
        [
            _("<b>Your privacy</b>"),
            _what_we_store(),
            _(
                "<b>Why:</b> to match help with the right neighbour and to let your coordinator stay in touch. "
                "Nothing else, and never for advertising."
            ),
            _(
                "<b>Who sees it:</b> your coordinator sees your profile and your messages to them. "
                "A volunteer sees only what a task needs (your first name, neighbourhood, what and when), "
                "and your street only after accepting that task."
            ),
            _(
                "<b>Referrers:</b> if a professional referred you and you agreed, they hear only these steps: "
                "intake done, support started, support closed. Nothing else, and never what you tell us."
            ),
            _(
                "<b>How long:</b> your profile as long as you use Waakvlam. Texts of finished requests are "
                "deleted after {requests} days. Messages you send the bot are deleted as soon as they are handled; "
                "messages the bot sent are deleted after {sent} days, and a message that could not be handled "
                "after {poison} days. Unfinished conversations with the bot are deleted after {drafts} days."
            ).format(
                requests=hi(settings.request_retention_days),
                sent=hi(settings.retention_sent_messages_days),
                poison=hi(settings.retention_poison_days),
                drafts=hi(settings.retention_dialogue_days),
            ),
            _(
                "<b>If you delete your data:</b> everything about you is deleted or made anonymous at once, "
                "also in messages we sent to others about you. Anyone who was helping you, or whom you were "
                "helping, is told kindly. Only when a worry about safety is still open do we keep an anonymous "
                "record of it, without your name, until it is closed."
            ),
            _("<b>Your rights:</b> /mydata shows everything we store about you; /delete erases it."),
        ]
    )


# What each table holds, as the person reads it in /mydata (the file's "labels").
TABLE_LABELS: dict[str, str] = {
    "person": N_("You"),
    "familyprofile": N_("Family profile (neighbourhood, children, street, phone, check-in rhythm)"),
    "volunteerprofile": N_("Volunteer profile"),
    "volunteerarea": N_("Your neighbourhoods"),
    "volunteerskill": N_("What you can help with"),
    "coordinatorprofile": N_("Coordinator profile"),
    "invite": N_("Invite links"),
    "dialoguestate": N_("Unfinished conversation with the bot (a draft)"),
    "helprequest": N_("Help requests and tasks"),
    "requestoffer": N_("Requests offered to you, or your requests offered to volunteers"),
    "taskoutcome": N_("Whether tasks happened, and how they went"),
    "checkin": N_("Check-ins and your answers"),
    "concern": N_("Concerns and their handling"),
    "escalationstep": N_("Who was told about a concern, and when"),
    "familytopic": N_("Your topic in the coordinators' group"),
    "relaylink": N_("Messages passed on between you and your coordinator"),
    "timelineevent": N_("Timeline (what happened, without contents)"),
    "auditentry": N_("Audit log (who looked at your record, and when)"),
    "inboxupdate": N_("Messages you sent the bot that are still stored"),
    "outboxmessage": N_("Messages the bot sent you that are still stored"),
    "scheduledjob": N_("Planned reminders and check-ins"),
    "familyquestion": N_("Your questions, in your words"),
    "questionlink": N_("Help linked to your questions"),
    "questionreview": N_("Answers to 'does it help?' and 'how is it going?'"),
    "caseplan": N_("How often reviews and casework meetings are"),
    "caseworkmeeting": N_("Casework meetings"),
    "questiondecision": N_("Decisions about your questions"),
    "match": N_("Lasting matches (who with, what kind of help, how it went)"),
    "matchoccurrence": N_("The times of your lasting matches, and whether they happened"),
    "matchholiday": N_("Holidays in your lasting matches"),
    "matchreview": N_("Reviews of your lasting matches"),
    "referral": N_("Referrals (who referred whom, why, and what the referrer may hear)"),
}


def table_label(name: str) -> str:
    """What a table holds, as the person reads it."""
    return _(TABLE_LABELS[name]) if name in TABLE_LABELS else name


def readable_export(data: dict[str, Any], zone: str) -> str:
    """The export as the person reads it; times in their own zone and language."""
    person = data["person"]
    lines = [_("<b>What Waakvlam stores about you</b>")]
    lines.append(_("Name: {name}").format(name=hi(person.get("display_name") or "-")))
    lines.append(
        _("Language: {language}").format(language=h(LANGUAGE_NAMES.get(person["language"], person["language"])))
    )
    if person.get("role"):
        lines.append(_("Role: {role}").format(role=h(role_label(person["role"]))))
    if person.get("consent_at"):
        lines.append(
            _("Consent given: {when} (version {version})").format(
                when=h(format_moment(_stored_time(person["consent_at"]), zone)),
                version=h(person.get("consent_version") or ""),
            )
        )
    family = data.get("family_profile")
    if family:
        lines.append(_("Neighbourhood: {area}").format(area=hi(family.get("area_name") or "-")))
        if family.get("children_count") is not None:
            lines.append(_("Children: {count}").format(count=hi(family["children_count"])))
        if family.get("children_ages"):
            lines.append(_("Ages: {ages}").format(ages=hi(family["children_ages"])))
        if family.get("street"):
            lines.append(_("Street: {street}").format(street=hi(family["street"])))
        if family.get("phone"):
            lines.append(_("Phone: {phone}").format(phone=hi(family["phone"])))
    referral = data.get("referral")
    if referral:
        lines.append(
            _("Referred by {referrer} ({organisation}) for: {reason}").format(
                referrer=hi(referral.get("referrer") or "-"),
                organisation=hi(referral.get("organisation") or "-"),
                reason=h(reason_label(str(referral.get("reason") or ""))),
            )
        )
        lines.append(
            _("The referrer hears how things go: yes")
            if referral.get("share_progress")
            else _("The referrer hears how things go: no")
        )
    volunteer = data.get("volunteer_profile")
    if volunteer:
        lines.append(_("Neighbourhoods: {areas}").format(areas=hi(", ".join(volunteer.get("areas", [])) or "-")))
        lines.append(
            _("Can help with: {skills}").format(
                skills=h(", ".join(skill_label(skill) for skill in volunteer.get("skills", [])) or "-")
            )
        )
    for name, rows in data.get("tables", {}).items():
        if rows and name not in ("person", "familyprofile", "volunteerprofile", "volunteerarea", "volunteerskill"):
            lines.append(_("{what}: {count}").format(what=h(table_label(name)), count=hi(len(rows))))
    lines.append(_("The attached file holds all of it, in a format other programs can read."))
    return "\n".join(lines)


def _stored_time(value: str) -> datetime:
    """A time from the export (ISO); a naive one is UTC, as everything stored."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class MyData:
    """The export of one person: the summary to read (HTML) and the whole of it as a JSON file."""

    text: str
    document: bytes
    filename: str = "waakvlam-my-data.json"


def export_own_data(*, session: Session, person_id: int, zone: str, now: datetime) -> MyData | None:
    """Everything stored about a person, for themselves (audited); None when they are not there."""
    person = people.get_person(session=session, person_id=person_id)
    if person is None or person.id is None:
        return None
    data = people.export_person(session=session, person=person)
    referral = family_referral(session=session, family_id=person.id)
    if referral is not None:
        data["referral"] = referral
    people.audit(session=session, actor_id=person.id, action="export_own_data", subject_id=person.id, now=now)
    data["labels"] = {name: table_label(name) for name in data.get("tables", {})}
    text = readable_export(data, person.timezone or zone)
    document = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    return MyData(text=text, document=document)


# The /delete question's two answers.
DELETE_YES = Button("del", "yes")
DELETE_NO = Button("del", "no")
