"""Words for a help request that several use cases write: what kind of task it is and when it is."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain import requests as rules
from services.i18n import N_, _, format_clock, format_day, format_when, use_language
from services.skills import SKILL_LABELS
from storage.models import HelpRequest

KIND_LABELS = {**SKILL_LABELS, "other": N_("Something else")}
KIND_EMOJI = {
    "babysitting": "🧸",
    "lift": "🚗",
    "groceries": "🛒",
    "meal": "🍲",
    "company": "🚶",
    "homework": "📚",
    "chores": "🔧",
    "other": "🤝",
}


def kind_label(kind: str) -> str:
    """'🛒 Groceries': a task's kind with its emoji, in the current language."""
    label = KIND_LABELS.get(kind)
    return f"{KIND_EMOJI.get(kind, '')} {_(label)}".strip() if label else kind


def when_text(request: HelpRequest, zone: str, language: str) -> str:
    """'Tuesday 24 November at 15:00 until 17:00', or 'flexible, this week (until Sunday 29 November)'."""
    with use_language(language):
        if request.flexible_week or request.starts_at is None:
            until = rules.end_of_local_week(request.created_at, zone=zone).astimezone(ZoneInfo(zone)).date()
            return _("flexible, this week (until {day})").format(day=format_day(until, language))
        start = format_when(request.starts_at, zone, language)
        if request.ends_at is None:
            return start
        return _("{start} until {end}").format(start=start, end=format_clock(request.ends_at, zone, language))
