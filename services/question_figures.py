"""The evaluation figures of the family's questions for /stats and /export: themes and counts, never words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain import questions as rules
from domain.insight import Row
from domain.questions import DecisionReason, Theme
from services.i18n import N_, _
from services.question_reviews import REASON_LABELS
from services.questions import THEME_LABELS
from storage import questions as store
from storage.db import Session

METRIC_LABELS = {
    "questions_named": N_("Questions named by families"),
    "reviews_answered": N_("Reviews answered"),
    "reviews_helps_share": N_("Share of reviews: 'it helps'"),
    "help_stopped": N_("Help stopped"),
    "median_days_to_first_help": N_("Median days from a question to its first help"),
}
OWN_WORDS = N_("In their own words")


def rows(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    zone: str,
    threshold: int,
    family_ids: Sequence[int] | None = None,
) -> list[Row]:
    """The published rows of [start, end) (of these families when given: a team's)."""
    questions = [
        rules.QuestionFact(theme=q.theme, created_at=q.created_at, first_help_at=q.first_help_at)
        for q in store.questions_named(session=session, start=start, end=end, family_ids=family_ids)
    ]
    reviews = [
        rules.ReviewFact(answer=r.answer or "", answered_at=r.answered_at or r.asked_at)
        for r in store.answered_family_reviews(session=session, start=start, end=end, family_ids=family_ids)
    ]
    stops = store.stop_reasons(session=session, start=start, end=end, family_ids=family_ids)
    return rules.question_rows(questions, reviews, stops, zone=zone, threshold=threshold)


def row_lines(table: list[Row]) -> list[tuple[str, str]]:
    """The rows as (label, value) lines in the current language; '' values are withheld ('—')."""
    lines: list[tuple[str, str]] = []
    for row in table:
        value = row.value or "—"
        if row.metric in METRIC_LABELS and not row.week:
            lines.append((_(METRIC_LABELS[row.metric]), value))
        elif row.metric == "reviews_helps_share":
            lines.append(("   " + _("'It helps' in {month}").format(month=row.week), value))
        elif row.metric == "questions_by_theme":
            label = THEME_LABELS.get(Theme(row.category)) if row.category in Theme.__members__.values() else None
            theme = _(label) if label else _(OWN_WORDS)
            lines.append(("   " + _("Theme: {theme}").format(theme=theme), value))
        elif row.metric == "help_stopped_by_reason":
            known = row.category in DecisionReason.__members__.values()
            reason = _(REASON_LABELS[DecisionReason(row.category)]) if known else row.category
            lines.append(("   " + _("Stopped because: {reason}").format(reason=reason), value))
    return lines
