"""The evaluation figures of lasting matches for /stats and /export: kinds, durations, shares, never names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain import matches as rules
from domain.insight import Row
from domain.matches import StopReason
from services.i18n import N_, _
from services.match_texts import kind_label
from storage import matches as store
from storage.db import Session
from storage.match_tables import Match

METRIC_LABELS = {
    "matches_started": N_("Lasting matches started"),
    "median_weeks_matched": N_("Median weeks a match lasted"),
    "match_times_held_share": N_("Share of match times that were held"),
    "matches_ended": N_("Lasting matches ended"),
    "give_backs_offered": N_("Offers back to a support volunteer"),
    "give_backs_happened_share": N_("Share of offers back that happened (of those known)"),
}
STOP_LABELS = {
    StopReason.GOAL_REACHED: N_("goal reached"),
    StopReason.NOT_A_FIT: N_("not a good fit"),
    StopReason.FAMILY_WITHDREW: N_("the family stopped"),
    StopReason.HELPER_WITHDREW: N_("the helper stopped"),
    StopReason.MOVED: N_("moved away"),
    StopReason.VOG_EXPIRED: N_("VOG no longer valid"),
    StopReason.ERASED: N_("left Waakvlam"),
    StopReason.OTHER: N_("other"),
}


def _fact(match: Match) -> rules.MatchFact:
    """What the figures may know of a match."""
    return rules.MatchFact(
        kind=match.kind, started_at=match.started_at, ended_at=match.ended_at, end_reason=match.end_reason
    )


def rows(
    *, session: Session, start: datetime, end: datetime, threshold: int, family_ids: Sequence[int] | None = None
) -> list[Row]:
    """The published rows of [start, end) (of these families when given: a team's)."""
    window: dict[str, Any] = {"session": session, "start": start, "end": end, "family_ids": family_ids}
    started = [_fact(match) for match in store.started_between(**window)]
    ended = [_fact(match) for match in store.ended_between(**window)]
    outcomes = store.outcomes_between(**window)
    given = store.give_backs_between(**window)
    return rules.match_rows(started, ended, outcomes, threshold=threshold) + rules.give_back_rows(
        given, threshold=threshold
    )


def row_lines(table: list[Row]) -> list[tuple[str, str]]:
    """The rows as (label, value) lines in the current language; '' values are withheld ('—')."""
    lines: list[tuple[str, str]] = []
    for row in table:
        value = row.value or "—"
        if row.metric in METRIC_LABELS:
            lines.append((_(METRIC_LABELS[row.metric]), value))
        elif row.metric == "matches_by_kind":
            lines.append(("   " + _("Kind: {kind}").format(kind=kind_label(row.category)), value))
        elif row.metric == "matches_ended_by_reason":
            known = row.category in StopReason.__members__.values()
            reason = _(STOP_LABELS[StopReason(row.category)]) if known else row.category
            lines.append(("   " + _("Ended because: {reason}").format(reason=reason), value))
    return lines
