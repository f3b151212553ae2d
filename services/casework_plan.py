"""When a family's next casework meeting is: planned once, with its agenda job a few days before.

Kept apart from `services.casework` (the agenda and the recording) so that naming a question, signing up and
the coordinator's view can plan a meeting without reaching the agenda's rules.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain import questions as rules
from storage import job_store
from storage import questions as store
from storage.db import Session
from storage.models import CaseworkMeeting, Person

AGENDA_JOB = "casework.agenda"


def schedule_agenda(session: Session, family: Person, meeting: CaseworkMeeting, now: datetime) -> None:
    """The agenda job, a few days before the meeting at 09:00 local (at once when that has passed)."""
    assert meeting.id is not None and family.id is not None
    at = max(rules.agenda_at(meeting.meeting_on, zone=family.timezone), now)
    job_store.schedule_job(
        session=session,
        kind=AGENDA_JOB,
        due_at=at,
        dedupe_key=f"{AGENDA_JOB}:{meeting.id}:{meeting.meeting_on:%Y%m%d}",
        now=now,
        subject_id=family.id,
    )


def plan_meeting(*, session: Session, family: Person, now: datetime, after: date | None = None) -> CaseworkMeeting:
    """The family's next casework meeting (planned now when there is none), with its agenda job."""
    assert family.id is not None
    planned = store.next_meeting(session=session, family_id=family.id)
    if planned is not None:
        return planned
    plan = store.get_plan(session=session, family_id=family.id)
    today = now.astimezone(ZoneInfo(family.timezone)).date()
    meeting_on = rules.next_casework_on(after, today=today, every_weeks=plan.casework_every_weeks)
    meeting = store.create_meeting(session=session, family_id=family.id, meeting_on=meeting_on)
    schedule_agenda(session, family, meeting, now)
    return meeting
