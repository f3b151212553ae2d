"""Growth: the tick's cost to find due work and the matching query's cost at 1,000, 10,000 and 100,000.

One database grows in steps (families and volunteers, see `bench.seed`); at each size the figures are
the median of repeated calls, compared with the smallest size (flat is 1.0; a linear cost would be 10 and
100). The statements are captured as they run and explained (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on
PostgreSQL); the plan's key words are in the note. At 10,000 the matching pick is checked against a
brute-force pass of the domain rule over every volunteer.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, text
from sqlmodel import col

from bench.common import START, Row, median, ratio
from bench.seed import PER_AREA, add_families, add_requests, add_volunteers, analyse
from bot.tick import Tick
from domain import matching as rules
from domain.availability import Daypart, slot_bit
from domain.clock import FakeClock
from services import checkins, unreachable
from services import matching as matching_conversation
from services.context import Services
from services.settings import Settings
from storage import matching as store
from storage import migrate
from storage.db import Database
from storage.models import FamilyProfile, RequestOffer, VolunteerProfile

PG_NODE = re.compile(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: using (\S+))? on (\w+)")
BIG_TABLES = {
    "person",
    "familyprofile",
    "volunteerprofile",
    "volunteerarea",
    "volunteerskill",
    "scheduledjob",
    "requestoffer",
    "checkin",
    "helprequest",
}


@contextmanager
def captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def explain(db: Database, statements: list[tuple[str, Any]]) -> tuple[str, bool]:
    """The plans' key words, and whether every big table is reached through an index."""
    words: list[str] = []
    indexed = True
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in statements:
            if db.dialect == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                for row in cursor.fetchall():
                    detail = str(row[-1])
                    words.append(detail)
                    match = re.match(r"SCAN (\w+)", detail)
                    if match and match.group(1) in BIG_TABLES and "USING" not in detail:
                        indexed = False
            else:
                cursor.execute("EXPLAIN " + statement, parameters)
                for (line,) in cursor.fetchall():
                    match = PG_NODE.search(line)
                    if match:
                        node, index, table = match.groups()
                        words.append(f"{node} {index or ''} on {table}".replace("  ", " "))
                        if node == "Seq Scan" and table in BIG_TABLES:
                            indexed = False
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    # Key words only: which table, how it is reached, and through which index.
    short = [re.sub(r"\s*\(.*\)$", "", word) for word in words if not word.startswith(("CORRELATED", "SUBQUERY"))]
    unique = list(dict.fromkeys(short))
    return "; ".join(unique), indexed


def timed(call: Callable[[], Any], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return median(times)


def database_bytes(db: Database) -> int:
    if db.dialect == "sqlite":
        raw = db.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return os.path.getsize(db.engine.url.database or "")
    with db.engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def _need(family_id: int, area_id: int) -> rules.RequestNeed:
    return rules.RequestNeed(
        kind="groceries",
        involves_children=False,
        area_id=area_id,
        slots_mask=slot_bit(1, Daypart.EVENING),  # Tuesday evening
        family_language="en",
        support_volunteer_id=None,
        family_id=family_id,
    )


def brute_force(db: Database, need: rules.RequestNeed, window: store.MatchWindow, limit: int) -> list[int]:
    """The domain rule over every volunteer, without the SQL filter: what the pick must equal."""
    with db.session() as session:
        profiles = list(session.execute(select(VolunteerProfile)).scalars())
        counts: dict[int, int] = {}
        for volunteer_id, offered_at in session.execute(
            select(col(RequestOffer.volunteer_id), col(RequestOffer.offered_at))
        ):
            if offered_at >= window.week_start:
                counts[volunteer_id] = counts.get(volunteer_id, 0) + 1
        candidates = store._candidates(session, [(profile, counts.get(profile.person_id, 0)) for profile in profiles])
    return rules.rank(candidates, need, today=window.today, limit=limit)


def run_growth(kind: str, url: str, *, sizes: list[int], repeat: int = 30) -> list[Row]:
    migrate.upgrade(url)
    db = Database(url)
    clock = FakeClock(START)
    now = START
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    services = Services(settings=settings, db=db, clock=clock, instance="bench")
    for jobs in (checkins.JOBS, unreachable.JOBS, matching_conversation.JOBS):
        services.jobs.update(jobs)
    tick = Tick(services)
    window = matching_conversation.match_window(services, now)
    rows: list[Row] = []
    base: dict[str, float] = {}
    done = 0
    first_size = sizes[0]
    sizes_bytes: dict[int, int] = {}
    for size in sizes:
        seed_started = time.perf_counter()
        families = add_families(db, count=size - done, now=now - timedelta(minutes=1), start_index=done)
        volunteers = add_volunteers(db, count=size - done, now=now, start_index=done)
        add_requests(db, family_ids=families, volunteer_ids=volunteers, now=now)
        done = size
        analyse(db)
        seeded = time.perf_counter() - seed_started
        # A family in the middle, and its neighbourhood (about PER_AREA volunteers live there).
        with db.session() as session:
            middle = families[len(families) // 2]
            area_id = session.get(FamilyProfile, middle).area_id  # type: ignore[union-attr]
        need = _need(middle, int(area_id or 0))

        def pick(need: rules.RequestNeed = need) -> list[int]:
            with db.session() as session:
                found = store.matching_candidates(session=session, need=need, window=window, limit=50)
            return rules.rank(found, need, today=window.today, limit=settings.request_wave_size)

        tick_seconds = timed(tick.run_due, repeat)
        pick_seconds = timed(pick, repeat)
        with captured(db) as tick_sql:
            tick.run_due()
        with captured(db) as pick_sql:
            picked = pick()
        tick_plan, tick_indexed = explain(db, tick_sql)
        pick_plan, pick_indexed = explain(db, pick_sql)
        sizes_bytes[size] = database_bytes(db)
        base.setdefault("tick", tick_seconds)
        base.setdefault("pick", pick_seconds)
        growth_goal = "flat or log (ratio to smallest)"
        rows.append(
            Row(
                bench="growth",
                case=f"tick finds due work, {size:,} families",
                db=kind,
                value=tick_seconds * 1000,
                unit="ms/call",
                reference=base["tick"] * 1000,
                ratio=ratio(tick_seconds, base["tick"]),
                goal=growth_goal,
                met=tick_indexed and _grows_slowly(tick_seconds, base["tick"], size, first_size),
                note=f"plan: {tick_plan}",
            )
        )
        extra_note = ""
        met_pick = pick_indexed
        if size == 10_000 or (size == sizes[-1] and size < 10_000):
            expected = brute_force(db, need, window, settings.request_wave_size)
            same = expected == picked
            extra_note = f"; same pick as brute force over all {size:,}: {'yes' if same else 'NO'}"
            met_pick = met_pick and same and (size != 10_000 or pick_seconds < 0.010)
        rows.append(
            Row(
                bench="growth",
                case=f"matching picks volunteers, {size:,} volunteers",
                db=kind,
                value=pick_seconds * 1000,
                unit="ms/call",
                reference=base["pick"] * 1000,
                ratio=ratio(pick_seconds, base["pick"]),
                goal=growth_goal + ("; < 10 ms" if size == 10_000 else ""),
                met=met_pick and _grows_slowly(pick_seconds, base["pick"], size, first_size),
                note=f"~{PER_AREA} per neighbourhood, picked {len(picked)}{extra_note}; plan: {pick_plan}",
                extra={"seed_seconds": seeded},
            )
        )
    previous = None
    for size in sizes:
        per_family = sizes_bytes[size] / size
        rows.append(
            Row(
                bench="growth",
                case=f"database size per family, {size:,}",
                db=kind,
                value=per_family / 1024,
                unit="KiB/family",
                reference=(sizes_bytes[sizes[0]] / sizes[0]) / 1024,
                ratio=ratio(per_family, sizes_bytes[sizes[0]] / sizes[0]),
                note=f"total {sizes_bytes[size] / 2**20:.1f} MiB with as many volunteers and their history"
                + (
                    f"; marginal {(sizes_bytes[size] - sizes_bytes[previous]) / (size - previous) / 1024:.2f} KiB"
                    if previous
                    else ""
                ),
            )
        )
        previous = size
    db.dispose()
    return rows


def _grows_slowly(seconds: float, base_seconds: float, size: int, base_size: int) -> bool:
    """Flat or logarithmic, with room for noise: at most 3x, or 1.5x the growth of log(size)."""
    return seconds / base_seconds < max(3.0, 1.5 * math.log(size) / math.log(base_size))
