"""The weekly digest's sections: what a coordinator's families need this week, one list per section.

`services.insight.digest` gathers a coordinator's families into a `Week` and writes `digest_text(week, monday)`
beside the chart; each section reads its facts through `storage.insight` (and the lasting matches' and the
waiting list's services) and returns its lines, escaped, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain import insight as rules
from domain import volunteers as volunteer_rules
from services import cases, match_insight
from services.concerns import ANSWER_EMOJI
from services.context import Services
from services.i18n import _, format_day, h, hi, ngettext
from services.labels import name_of
from services.tasks import kind_label
from storage import insight as store
from storage import people
from storage.db import Session

LIST_LIMIT = 10


def _bullets(lines: list[str], items: Sequence[str]) -> None:
    """A section's items, at most `LIST_LIMIT` and a line saying how many more."""
    lines.extend(f"• {item}" for item in items[:LIST_LIMIT])
    if len(items) > LIST_LIMIT:
        more = len(items) - LIST_LIMIT
        lines.append(ngettext("… and {count} more", "… and {count} more", more).format(count=hi(more)))


@dataclass(frozen=True)
class Week:
    """What the digest of one coordinator reads: their families and their names, the time and the place."""

    session: Session
    services: Services
    families: list[int]
    names: dict[int | None, str]
    now: datetime
    language: str
    team_id: int | None = None  # the coordinator's team (None: an admin, every team)

    @property
    def zone(self) -> str:
        """The project's time zone."""
        return self.services.settings.timezone

    @property
    def today(self) -> date:
        """The local date (the project's time zone)."""
        return self.now.astimezone(ZoneInfo(self.zone)).date()

    def day(self, moment: datetime) -> str:
        """A stored moment as a local day, escaped."""
        return h(format_day(rules.local_date(moment, self.zone), self.language))

    def family(self, family_id: int | None) -> str:
        """A family's name, isolated."""
        return hi(self.names.get(family_id, "?"))


def _worse(week: Week) -> list[str]:
    """Families whose check-in answers got worse, with their last answers."""
    since = week.now - timedelta(weeks=6)
    answers = store.answered_checkins(session=week.session, family_ids=week.families, since=since)
    worse = []
    for family_id, given in answers.items():
        kinds = [answer for answer, _at in given]
        if rules.is_worsening(kinds, latest_at=given[-1][1], since=week.now - timedelta(days=7)):
            trend = " → ".join(ANSWER_EMOJI.get(kind, "·") for kind in kinds[-4:])
            worse.append(f"{week.family(family_id)}: {trend}")
    return worse


def _silent(week: Week) -> list[str]:
    """Families with no contact lately."""
    threshold = week.services.settings.checkin_missed_threshold
    found = store.no_contact_families(session=week.session, family_ids=week.families, missed_threshold=threshold)
    return [hi(name_of(person)) for person in found]


def _untaken(week: Week) -> list[str]:
    """Requests nobody took."""
    return [
        _("{family}: {what}, asked {day}").format(
            family=week.family(request.family_id), what=h(kind_label(request.kind)), day=week.day(request.created_at)
        )
        for request in store.open_requests_of(session=week.session, family_ids=week.families, limit=50)
    ]


def _still_open(week: Week) -> list[str]:
    """Concerns still open, and who took them."""
    still_open = []
    for concern in store.open_concerns_of(session=week.session, family_ids=week.families, limit=50):
        taker_id = concern.claimed_by_id
        taker = people.get_person(session=week.session, person_id=taker_id) if taker_id else None
        state = _("taken by {name}").format(name=hi(name_of(taker))) if taker is not None else _("nobody took it yet")
        still_open.append(
            _("{family}: since {day}, {state}").format(
                family=week.family(concern.family_id or 0), day=week.day(concern.created_at), state=state
            )
        )
    return still_open


def _vogs(week: Week) -> list[str]:
    """Volunteers whose VOG will soon be too old for tasks with children."""
    settings = week.services.settings
    soon = week.today + timedelta(days=settings.vog_warn_days)
    cutoff = volunteer_rules.vog_cutoff(today=soon, years=settings.vog_valid_years)
    return [
        _("{name}: counts until {day}").format(
            name=hi(name_of(person)),
            day=h(format_day(volunteer_rules.vog_expires_on(vog_date, settings.vog_valid_years), week.language)),
        )
        for person, vog_date in store.vog_expiring(session=week.session, cutoff=cutoff, limit=50, team_id=week.team_id)
    ]


def _matches(week: Week) -> list[str]:
    """Matches that started, trials that end this week, times that did not happen."""
    return match_insight.week_lines(
        session=week.session, family_ids=week.families, now=week.now, zone=week.zone, language=week.language
    )


def _waiting(week: Week) -> list[str]:
    """Families of the team on the waiting list for longer than `WAITING_DIGEST_DAYS`."""
    days = week.services.settings.waiting_digest_days
    return [
        ngettext("{name}: waiting {count} day", "{name}: waiting {count} days", waited).format(
            name=hi(name), count=hi(waited)
        )
        for name, waited in cases.waiting_too_long(session=week.session, team_id=week.team_id, now=week.now, days=days)
    ]


def digest_text(week: Week, monday: date) -> str:
    """The weekly picture's text, section by section (empty sections left out)."""
    lines = [_("<b>Your weekly picture</b>, week of {day}").format(day=h(format_day(monday, week.language)))]
    sections = [
        ("📉", _("Answers got worse"), _worse(week)),
        ("🔕", _("No contact"), _silent(week)),
        ("🙋", _("Requests nobody took"), _untaken(week)),
        ("⚠️", _("Concerns still open"), _still_open(week)),
        ("📄", _("VOG soon too old for tasks with children"), _vogs(week)),
        ("🤝", _("Lasting matches"), _matches(week)),
        ("⏳", _("Waiting too long"), _waiting(week)),
    ]
    for emoji, title, items in sections:
        if not items:
            continue
        lines += ["", f"{emoji} <b>{h(title)}</b> ({hi(len(items))})"]
        _bullets(lines, items)
    if not any(items for _emoji, _title, items in sections):
        lines += ["", _("Nothing needs your attention this week. 🌱")]
    lines += ["", _("Send /families for a family's card, /stats for the figures.")]
    return "\n".join(lines)
