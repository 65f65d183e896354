"""Append latency and throughput of the embedded event buffer, against its former design.

The embedded buffer (:mod:`vitrina.adapters.events.sqlite_buffer`, SQLite in WAL mode, ``synchronous=FULL``)
and the former JSON-lines segment log (loaded from git at ``--baseline-ref``), measured in
the same run on the same disk: ``POST /events`` answers 202 once ``append`` returns, so
the append's latency is the 202's floor. Cells: one thread appending batches of 1 and of
100 events, and ``--threads`` threads appending batches of 10 at once (as the API's
threadpool does). Each cell starts from an empty buffer holding ``--preload`` events.

    .venv/bin/python benchmarks/events_buffer.py [--appends 400] [--threads 8]

Writes ``docs/benchmarks/events_buffer.json`` and ``events_buffer.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from machine import describe, summary

from vitrina.adapters.events import EventRecord
from vitrina.adapters.events.sqlite_buffer import EventLog

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"
BASELINE_REF = "4b6847c"  # the last commit with the segment-log buffer
DAY = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def load_baseline(ref: str) -> Any:
    """The former ``vitrina.adapters.events.sqlite_buffer`` module, as it was at ``ref``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:src/vitrina/adapters/events/sqlite_buffer.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    spec = importlib.util.spec_from_loader("segment_log_baseline", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{ref}:log.py", "exec"), module.__dict__)  # our own history, not input
    return module


def make_events(prefix: str, count: int) -> list[EventRecord]:
    return [
        EventRecord(
            event_id=f"{prefix}-{n}",
            user_id=f"u{n % 97}",
            product_id=f"p{n % 89}",
            event_type="click",
            ts=DAY + dt.timedelta(seconds=n),
            session_id="s1",
            device="web",
            page="recs",
            position=n % 10,
        )
        for n in range(count)
    ]


def measure(
    open_buffer: Callable[[Path], Any], *, batch: int, threads: int, appends: int, preload: int
) -> dict[str, Any]:
    """Latency of each append (ms) and events/s over the cell, from a fresh folder."""
    with tempfile.TemporaryDirectory(dir=ROOT) as folder:  # the repository's disk, not tmpfs
        buffer = open_buffer(Path(folder) / "events")
        for start in range(0, preload, 1_000):
            buffer.append(make_events(f"pre{start}", min(1_000, preload - start)))
        latencies: list[float] = []
        lock = threading.Lock()

        def run(t: int) -> None:
            mine = []
            for a in range(appends // threads):
                events = make_events(f"t{t}-a{a}", batch)
                began = time.perf_counter()
                buffer.append(events)
                mine.append((time.perf_counter() - began) * 1000)
            with lock:
                latencies.extend(mine)

        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        began = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - began
        buffer.close()
    latencies.sort()
    return {
        "batch": batch,
        "threads": threads,
        "appends": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2),
        "events_per_s": round(len(latencies) * batch / wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=400, help="appends per cell")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--preload", type=int, default=20_000, help="events buffered before a cell")
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    args = parser.parse_args()
    baseline = load_baseline(args.baseline_ref)
    designs: dict[str, Callable[[Path], Any]] = {
        "sqlite (WAL, synchronous=FULL)": EventLog,
        f"segment log ({args.baseline_ref})": baseline.EventLog,
    }
    cells = [(1, 1), (100, 1), (10, args.threads)]
    rows = []
    for name, opener in designs.items():
        for batch, threads in cells:
            row = {"design": name} | measure(
                opener, batch=batch, threads=threads, appends=args.appends, preload=args.preload
            )
            print(json.dumps(row), file=sys.stderr)
            rows.append(row)
    machine = describe()
    OUT.mkdir(parents=True, exist_ok=True)
    measured = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report: dict[str, Any] = {"measured": measured, "machine": machine}
    report |= {"preload": args.preload, "rows": rows}
    (OUT / "events_buffer.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Event buffer: append latency (the floor of a 202) and throughput",
        "",
        f"{summary(machine)} · load {machine['load_1m']} · {args.preload:,} events buffered before each cell",
        "",
        "| design | events per append | threads | appends | p50 ms | p99 ms | events/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['design']} | {r['batch']} | {r['threads']} | {r['appends']} | {r['p50_ms']} | "
        f"{r['p99_ms']} | {r['events_per_s']:,} |"
        for r in rows
    ]
    (OUT / "events_buffer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
