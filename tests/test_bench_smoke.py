"""The benchmarks at their smallest: each runs and its rows make sense. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import backlog, fanout, footprint, growth, priority, relay, sandbox_alone, throughput
from bench.common import Row, table

KEYS = {"bench", "case", "db", "value", "unit", "reference", "ratio", "goal", "met", "note"}


def _check(rows: list[Row]) -> None:
    assert rows
    for row in rows:
        assert set(row.as_dict()) >= KEYS
        assert row.value is not None and row.value == row.value, row  # not None, not NaN
    assert "| bench" in table(rows)


def test_sandbox_alone() -> None:
    rows = sandbox_alone.run_sandbox_alone(calls=200, workers=4)
    _check(rows)
    assert rows[0].extra["connections"] <= 4, "keep-alive: one connection per client"
    assert [row.case for row in rows][2].startswith("same calls through the bot's transport")


def test_throughput(sqlite_url: str) -> None:
    rows = throughput.run_throughput("sqlite", sqlite_url, families=1)
    _check(rows)
    counts = rows[0].extra["counts"]
    assert counts["sign-up"] == 7 and counts["check-in"] == 1
    assert (rows[0].value or 0) > 0 and (rows[0].reference or 0) > 0


def test_throughput_over_a_slow_network(sqlite_url: str) -> None:
    rows = throughput.run_throughput("sqlite", sqlite_url, families=2, network_ms=5.0)
    _check(rows)
    assert [row.case for row in rows] == [
        "2 families, 34 updates, 5 ms per API answer",
        "handling latency p99, 5 ms per API answer",
    ]
    assert rows[0].extra["counts"]["sign-up"] == 14 and "4 lanes" in rows[0].note


def test_fanout_delivers_each_check_in_once(sqlite_url: str) -> None:
    rows = fanout.run_fanout("sqlite", sqlite_url, count=30, scale=3.0, label="limit")
    _check(rows)
    integrity = rows[1].extra
    assert integrity["queued"] == integrity["delivered"] == 30
    assert integrity["lost"] == 0 and integrity["duplicated"] == 0
    assert rows[1].value == 0, "no 429s"


def test_growth(sqlite_url: str) -> None:
    rows = growth.run_growth("sqlite", sqlite_url, sizes=[200, 400], repeat=2)
    _check(rows)
    notes = " ".join(row.note for row in rows)
    assert "USING INDEX ix_job_status_due" in notes and "same pick as brute force" in notes
    assert "brute force over all 400: yes" in notes


def test_footprint(sqlite_url: str) -> None:
    rows = footprint.run_footprint("sqlite", sqlite_url, families=200, seconds=0.2)
    _check(rows)
    assert (rows[0].value or 0) > (rows[0].reference or 0) / 2 > 0


def test_relay(sqlite_url: str) -> None:
    rows = relay.run_relay("sqlite", sqlite_url, families=1, rounds=1)
    _check(rows)
    assert rows[0].extra["relayed"] == rows[0].extra["expected"] == 2


def test_backlog_claims_use_indexes(sqlite_url: str) -> None:
    rows = backlog.run_backlog("sqlite", sqlite_url, sizes=(0, 50), repeat=3, rounds=1)
    _check(rows)
    notes = " ".join(row.note for row in rows)
    assert "ix_inbox_chat_status_update" in notes and "ix_outbox_claim" in notes


def test_priority_alert_arrives(sqlite_url: str) -> None:
    rows = priority.run_priority("sqlite", sqlite_url, count=60, after=0.0)
    _check(rows)
    assert rows[0].value != float("inf"), "the coordinator was alerted"
    assert rows[0].extra["too_many_requests"] == 0


@pytest.mark.parametrize("name", ["README.md"])
def test_bench_readme_names_the_command(name: str) -> None:
    assert "python -m bench" in (Path(__file__).parent.parent / "bench" / name).read_text()
