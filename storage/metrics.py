"""Figures for /healthz and /metrics, read from the tables so every instance reports the same truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from storage import inbox_store, job_store, outbox_store
from storage.models import CheckIn, Concern, JobStatus, ScheduledJob

LATE_AFTER = timedelta(minutes=5)


def _aware(value: datetime | None) -> datetime | None:
    """An aware UTC datetime from a value SQLite may hand back naive."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def backlog(*, session: Session, now: datetime) -> dict[str, Any]:
    """The outbox and inbox backlog for /health: how many wait and how long the oldest has."""
    count, age = outbox_store.outbox_backlog(session=session, now=now)
    inbox = inbox_store.inbox_counts(session=session)
    return {
        "outbox_backlog": count,
        "outbox_oldest_seconds": round(age, 1),
        "inbox_waiting": inbox.get("new", 0) + inbox.get("processing", 0),
        "jobs_due": job_store.jobs_due_count(session=session, now=now),
    }


def _escalations(session: Session, now: datetime) -> tuple[int, float]:
    """How many concerns are open or claimed, and the age in seconds of the oldest."""
    count, oldest = session.execute(
        select(func.count(), func.min(Concern.created_at)).where(col(Concern.status).in_(["open", "claimed"]))
    ).one()
    oldest_at = _aware(oldest)
    return int(count or 0), (now - oldest_at).total_seconds() if oldest_at else 0.0


def _checkins(session: Session, now: datetime) -> tuple[int, int]:
    """How many check-ins are due to be sent, and how many of those are late (due longer than LATE_AFTER ago)."""
    due = session.execute(
        select(func.count()).where(
            col(ScheduledJob.kind) == "checkin.send",
            col(ScheduledJob.status) == JobStatus.PENDING,
            col(ScheduledJob.due_at) <= now,
        )
    ).scalar_one()
    late = session.execute(
        select(func.count()).where(
            col(ScheduledJob.kind) == "checkin.send",
            col(ScheduledJob.status) == JobStatus.PENDING,
            col(ScheduledJob.due_at) <= now - LATE_AFTER,
        )
    ).scalar_one()
    return int(due), int(late)


def render(*, session: Session, now: datetime, counters: dict[str, int]) -> str:
    """Prometheus text exposition format."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
        """Append one metric with its help and type lines and its samples."""
        lines.append(f"# HELP waakvlam_{name} {help_text}")
        lines.append(f"# TYPE waakvlam_{name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{key}="{val}"' for key, val in sorted(labels.items()))
            lines.append(f"waakvlam_{name}{{{label_text}}} {value:g}" if label_text else f"waakvlam_{name} {value:g}")

    by_status = (
        (
            "updates_total",
            "Updates in the inbox by status (done, failed, poison, new, processing).",
            inbox_store.inbox_counts(session=session),
        ),
        ("messages_total", "Outgoing messages by result.", outbox_store.outbox_counts(session=session)),
    )
    for name, help_text, counts in by_status:
        metric(name, "gauge", help_text, [({"status": status}, float(n)) for status, n in sorted(counts.items())])
    count, age = outbox_store.outbox_backlog(session=session, now=now)
    metric("outbox_backlog", "gauge", "Messages waiting to be sent.", [({}, float(count))])
    metric("outbox_oldest_seconds", "gauge", "Age of the oldest waiting message.", [({}, round(age, 1))])
    open_count, open_age = _escalations(session, now)
    metric("escalations_open", "gauge", "Concerns not yet closed.", [({}, float(open_count))])
    metric("escalations_oldest_seconds", "gauge", "Age of the oldest open concern.", [({}, round(open_age, 1))])
    due, late = _checkins(session, now)
    metric("checkins_due", "gauge", "Check-ins due now and not yet sent.", [({}, float(due))])
    metric("checkins_late", "gauge", "Check-ins more than five minutes late.", [({}, float(late))])
    answered = session.execute(select(func.count()).where(col(CheckIn.answered_at).is_not(None))).scalar_one()
    metric("checkins_answered_total", "counter", "Check-ins answered.", [({}, float(answered))])
    metric(
        "jobs_due",
        "gauge",
        "Scheduled jobs due now.",
        [({}, float(job_store.jobs_due_count(session=session, now=now)))],
    )
    for name, value in sorted(counters.items()):
        metric(
            f"{name}_total",
            "counter",
            f"Events counted by this instance: {name.replace('_', ' ')}.",
            [({}, float(value))],
        )
    return "\n".join(lines) + "\n"
