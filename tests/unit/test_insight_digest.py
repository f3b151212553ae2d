"""The Monday digest as scheduled work: once a week at 08:00 local, across DST and restarts, via the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from telegram import InputFile

from bot.sender import api_kwargs
from bot.tick import Tick
from domain.clock import FakeClock
from services import charts, insight
from services.context import Services
from services.outbox import UPLOAD_KEY, upload
from services.settings import Settings
from storage import migrate, people
from storage.db import Database
from storage.models import JobStatus, OutboxMessage, Role, ScheduledJob

AMS = ZoneInfo("Europe/Amsterdam")
# Wednesday 17 March 2027, noon: the clocks go forward on Sunday 28 March.
START = datetime(2027, 3, 17, 11, 0, tzinfo=UTC)


@pytest.fixture
def services(sqlite_url: str) -> Iterator[Services]:
    migrate.upgrade(sqlite_url)
    db = Database(sqlite_url)
    settings = Settings(database_url=sqlite_url, _env_file=None)  # type: ignore[call-arg]
    found = Services(settings=settings, db=db, clock=FakeClock(START), instance="test")
    found.jobs.update(insight.JOBS)
    with db.session() as session:
        for telegram_id, name, language in ((8001, "Cees", "en"), (8002, "Dewi", "nl")):
            person = people.ensure_person(session=session, telegram_id=telegram_id, language=language, now=START)
            people.record_consent(session=session, person=person, role=Role.COORDINATOR, version="1", now=START)
            people.set_display_name(session=session, person=person, name=name, now=START)
        family = people.ensure_person(session=session, telegram_id=8003, language="nl", now=START)
        people.record_consent(session=session, person=family, role=Role.FAMILY, version="1", now=START)
    yield found
    db.dispose()


def rows(services: Services) -> list[OutboxMessage]:
    with services.db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def pending(services: Services) -> list[ScheduledJob]:
    with services.db.session() as session:
        return list(
            session.exec(
                select(ScheduledJob).where(
                    ScheduledJob.kind == "insight.digest", ScheduledJob.status == JobStatus.PENDING
                )
            )
        )


def move(services: Services, moment: datetime) -> None:
    clock = services.clock
    assert isinstance(clock, FakeClock)
    clock.advance(moment - clock.now())


def test_the_digest_goes_out_once_a_week_at_eight_local_across_dst_and_restarts(services: Services) -> None:
    tick = Tick(services)
    insight.ensure_digest(services)
    insight.ensure_digest(services)  # a second instance, or a restart: still one job
    [job] = pending(services)
    assert job.due_at == datetime(2027, 3, 22, 8, 0, tzinfo=AMS) and job.dedupe_key == "insight.digest:2027-W12"

    move(services, datetime(2027, 3, 22, 7, 59, tzinfo=AMS))
    assert tick.run_due() == 0 and rows(services) == []
    move(services, datetime(2027, 3, 22, 8, 0, tzinfo=AMS))
    assert tick.run_due() == 1
    sent = rows(services)
    # Each coordinator (not the family): the text, then the chart as a photo upload.
    assert [(row.chat_id, row.method) for row in sent] == [
        (8001, "sendMessage"),
        (8001, "sendPhoto"),
        (8002, "sendMessage"),
        (8002, "sendPhoto"),
    ]
    assert "weekly picture" in sent[0].payload["text"]
    assert "maandag 22 maart" in sent[2].payload["text"]  # Dewi reads Dutch
    # The row holds the chart's data; the PNG is drawn from it when the row is sent.
    photo = api_kwargs(sent[1].payload)["photo"]
    assert isinstance(photo, InputFile) and photo.input_file_content.startswith(b"\x89PNG")
    # Restarted right after: nothing again this week; next week's is already there.
    insight.ensure_digest(services)
    assert tick.run_due() == 0 and len(rows(services)) == 4
    [following] = pending(services)
    assert following.due_at == datetime(2027, 3, 29, 8, 0, tzinfo=AMS)
    assert following.due_at.astimezone(UTC).hour == 6  # summer time now

    # Down across the next Monday morning: it goes out once, late, and the one after is a week on.
    move(services, datetime(2027, 3, 30, 14, 0, tzinfo=AMS))
    insight.ensure_digest(services)
    assert tick.run_due() == 1
    assert tick.run_due() == 0
    assert len(rows(services)) == 8
    [after] = pending(services)
    assert after.due_at == datetime(2027, 4, 5, 8, 0, tzinfo=AMS)


def test_switched_off_the_digest_is_not_scheduled_nor_sent(services: Services) -> None:
    services.settings.insight_digest_enabled = False
    insight.ensure_digest(services)
    assert pending(services) == []
    services.settings.insight_digest_enabled = True
    insight.ensure_digest(services)
    services.settings.insight_digest_enabled = False  # switched off while one was waiting
    move(services, datetime(2027, 3, 22, 9, 0, tzinfo=AMS))
    assert Tick(services).run_due() == 1
    assert rows(services) == [] and pending(services) == []


def test_an_upload_row_becomes_an_input_file_at_send_time() -> None:
    payload = {"chat_id": 5, "caption": "Hi", **upload("photo", b"\x89PNG...", "chart.png")}
    kwargs = api_kwargs(payload)
    assert UPLOAD_KEY not in kwargs and kwargs["chat_id"] == 5 and kwargs["caption"] == "Hi"
    assert isinstance(kwargs["photo"], InputFile) and kwargs["photo"].filename == "chart.png"
    assert api_kwargs({"chat_id": 5, "text": "x"}) == {"chat_id": 5, "text": "x"}
    assert (datetime(2027, 3, 22, 8, 0, tzinfo=AMS) - timedelta(hours=1)).tzinfo is AMS


def test_the_chart_is_drawn_when_sent_not_in_the_tick_transaction(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing takes a while; the job's transaction (SQLite's write lock) must not wait for it."""
    drawn: list[str] = []
    real_draw = charts.weekly_chart

    def draw(texts: charts.ChartTexts, data: charts.ChartData) -> bytes:
        drawn.append(texts.title)
        return real_draw(texts, data)

    monkeypatch.setattr(charts, "weekly_chart", draw)
    insight.ensure_digest(services)
    move(services, datetime(2027, 3, 22, 8, 0, tzinfo=AMS))
    assert Tick(services).run_due() == 1
    assert drawn == [], "no chart drawn while the job ran"
    photos = [row for row in rows(services) if row.method == "sendPhoto"]
    assert ["chart" in row.payload[UPLOAD_KEY] for row in photos] == [True, True], "the chart's data, not a PNG"
    # What the sender does with such a row (in a worker thread): draw it, then upload it.
    kwargs = api_kwargs(photos[1].payload)
    assert len(drawn) == 1
    assert kwargs["photo"].input_file_content.startswith(b"\x89PNG") and kwargs["parse_mode"] == "HTML"
    assert UPLOAD_KEY not in kwargs


def test_a_chart_with_withheld_values_fits_in_json() -> None:
    """A suppressed value is NaN; JSON (and PostgreSQL) has no NaN, so it travels as null."""
    import json
    import math

    texts = charts.ChartTexts(
        title="T", answers_title="A", requests_title="R", kinds={"good": "Good"}, asked="a", accepted="b", weeks=["1"]
    )
    chart = charts.WeeklyChart(
        texts=texts, data=charts.ChartData(answers={"good": [math.nan]}, asked=[2.0], accepted=[1.0])
    )
    back = charts.WeeklyChart.from_json(json.loads(json.dumps(chart.to_json(), allow_nan=False)))
    assert math.isnan(back.data.answers["good"][0]) and back.texts == texts and list(back.data.asked) == [2.0]
