"""`python -m bench [--quick | --full] [NAME ...]`: run the benchmarks, print a table, write JSON.

Names: sandbox, throughput, fanout, growth, footprint, relay, backlog, priority (default: all). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench.common import Row, database, postgres_problem, quiet_logs, table

NAMES = ["sandbox", "throughput", "fanout", "growth", "footprint", "relay", "backlog", "priority"]


@dataclass
class Config:
    name: str
    sandbox_calls: int
    families: int
    fanout: list[tuple[int, float]]  # (N, scale) at Telegram's limits scaled
    fanout_postgres: list[tuple[int, float]]
    fanout_raised: int
    growth: list[int]
    growth_postgres: list[int]
    footprint: int
    relay: tuple[int, int]
    priority: int = 10_000
    network_families: int = 10
    notes: list[str] = field(default_factory=list)


CONFIGS = {
    "quick": Config(
        "quick", 2_000, 8, [(300, 3.0)], [(300, 3.0)], 300, [1_000, 10_000], [1_000], 10_000, (4, 2), 2_000, 3
    ),
    "default": Config(
        "default",
        5_000,
        30,
        [(1_000, 3.0), (10_000, 3.0)],
        [(1_000, 3.0)],
        2_000,
        [1_000, 10_000, 100_000],
        [1_000, 10_000],
        100_000,
        (10, 5),
    ),
    "full": Config(
        "full",
        10_000,
        60,
        [(1_000, 3.0), (10_000, 3.0)],
        [(1_000, 3.0), (10_000, 3.0)],
        10_000,
        [1_000, 10_000, 100_000],
        [1_000, 10_000, 100_000],
        100_000,
        (20, 5),
    ),
}


def machine() -> dict[str, str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def run(names: list[str], config: Config, *, postgres: bool) -> list[Row]:
    from bench import backlog, fanout, footprint, growth, priority, relay, sandbox_alone, throughput

    problem = postgres_problem() if postgres else "switched off with --no-postgres"
    kinds = ["sqlite"] + ([] if problem else ["postgresql"])
    if problem:
        print(f"PostgreSQL skipped: {problem}", flush=True)
    rows: list[Row] = []

    def attempt(label: str, job: Callable[[], list[Row]]) -> None:
        started = time.perf_counter()
        print(f"... {label}", end="", flush=True)
        try:
            found = job()
        except Exception as error:
            traceback.print_exc()
            found = [Row(bench=label.split()[0], case=label, db="-", value=None, unit="", met=False, note=repr(error))]
        rows.extend(found)
        print(f" ({time.perf_counter() - started:.0f}s)", flush=True)

    def with_db(kind: str, job: Callable[[str], list[Row]]) -> Callable[[], list[Row]]:
        def wrapped() -> list[Row]:
            with database(kind) as url:
                return job(url)

        return wrapped

    if "sandbox" in names:
        attempt("sandbox alone", partial(sandbox_alone.run_sandbox_alone, calls=config.sandbox_calls))
    for kind in kinds:
        if "throughput" in names:
            job = partial(throughput.run_throughput, kind, families=config.families)
            attempt(f"throughput {kind}", with_db(kind, job))
            # Telegram answers in tens of milliseconds, not at once: the same mix over such a network.
            job = partial(throughput.run_throughput, kind, families=config.network_families, network_ms=30.0)
            attempt(f"throughput {kind} 30 ms network", with_db(kind, job))
    for kind in kinds:
        if "fanout" not in names:
            break
        cases = config.fanout if kind == "sqlite" else config.fanout_postgres
        for count, scale in cases:
            job = partial(fanout.run_fanout, kind, count=count, scale=scale, label="limit")
            attempt(f"fanout {kind} N={count}", with_db(kind, job))
        job = partial(fanout.run_fanout, kind, count=config.fanout_raised, scale=100.0, label="raised")
        attempt(f"fanout {kind} raised", with_db(kind, job))
    for kind in kinds:
        if "growth" in names:
            sizes = config.growth if kind == "sqlite" else config.growth_postgres
            attempt(f"growth {kind}", with_db(kind, partial(growth.run_growth, kind, sizes=sizes)))
    if "footprint" in names:
        job = partial(footprint.run_footprint, "sqlite", families=config.footprint)
        attempt("footprint sqlite", with_db("sqlite", job))
    for kind in kinds:
        if "relay" in names:
            job = partial(relay.run_relay, kind, families=config.relay[0], rounds=config.relay[1])
            attempt(f"relay {kind}", with_db(kind, job))
    for kind in kinds:
        if "backlog" in names:
            attempt(f"backlog {kind}", with_db(kind, partial(backlog.run_backlog, kind)))
    for kind in kinds:
        if "priority" in names:
            job = partial(priority.run_priority, kind, count=config.priority)
            attempt(f"priority {kind}", with_db(kind, job))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(NAMES)} (default: all)"
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    size.add_argument("--full", action="store_true", help="every size on both databases")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", default="bench/results.json", help="where to write the results")
    args = parser.parse_args(argv)
    names = args.names or NAMES
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    config = CONFIGS["quick" if args.quick else "full" if args.full else "default"]
    quiet_logs()
    # The sandbox shares this process; a short GIL switch interval keeps its thread and the bot's from
    # waiting on each other's 5 ms slices after every socket call.
    sys.setswitchinterval(0.0005)
    started = time.perf_counter()
    rows = run(names, config, postgres=not args.no_postgres)
    took = time.perf_counter() - started
    about = machine()
    print()
    print(table(rows))
    print()
    print(
        f"{about['cpus']} CPUs, {about['cpu']}, Python {about['python']}, load {about['load']}; "
        f"config {config.name}; {took:.0f}s"
    )
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config.name,
        "machine": about,
        "seconds": round(took, 1),
        "rows": [row.as_dict() for row in rows],
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
