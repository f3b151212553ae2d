"""Lasting matches in the coordinator's weekly picture: matches that started, trials ending this week, and
times that did not happen (called off, or "it didn't") in the past week."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain import matches as rules
from domain.matches import MatchState, Outcome
from services.i18n import _, format_day, h, hi, use_language
from services.labels import name_of
from services.match_texts import sides
from storage import matches as store
from storage.db import Session


def week_lines(*, session: Session, family_ids: Sequence[int], now: datetime, zone: str, language: str) -> list[str]:
    """One line per match that needs a look this week, in the reader's language."""
    if not family_ids:
        return []
    with use_language(language):
        return _lines(session, family_ids, now, zone, language)


def _lines(session: Session, family_ids: Sequence[int], now: datetime, zone: str, language: str) -> list[str]:
    """The digest's lines for open matches: started, trial ending within a week, times that did not happen."""
    today = rules.local_day(now, zone)
    week_ago = now - timedelta(days=7)
    lines: list[str] = []
    for match in store.matches_for_families(session=session, family_ids=family_ids, limit=200):
        if match.state not in store.OPEN or match.id is None:
            continue
        family, helper = sides(session, match)
        pair = hi(f"{name_of(family)} ↔ {name_of(helper)}")
        if match.started_at is not None and match.started_at >= week_ago:
            lines.append(
                _("{pair}: started {day}").format(
                    pair=pair, day=h(format_day(rules.local_day(match.started_at, zone), language))
                )
            )
        if match.state == MatchState.TRIAL and today <= match.trial_end <= today + timedelta(days=7):
            lines.append(
                _("{pair}: the trial ends {day}").format(pair=pair, day=h(format_day(match.trial_end, language)))
            )
        missed = [
            row
            for row in store.occurrences(session=session, match_id=match.id, limit=10)
            if row.starts_at >= week_ago and row.outcome in (Outcome.DIDNT, Outcome.SKIPPED)
        ]
        if missed:
            lines.append(
                _("{pair}: did not happen on {days}").format(
                    pair=pair, days=h(", ".join(format_day(row.day, language) for row in missed))
                )
            )
    return lines
