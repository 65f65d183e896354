"""Benchmark feature computation on an existing validated lake (demo data by default).

    .venv/bin/vitrina data generate --scale demo --home /tmp/demo
    .venv/bin/vitrina data validate --home /tmp/demo
    .venv/bin/python benchmarks/features.py --home /tmp/demo [--spark]

Measures, per engine: one cutoff (the pipeline's "now": all four frames), and daily
cutoffs over the last 28 days (a training set), with rows per frame. Spark (local[2]) is
optional because its start-up alone is ~15-20 s. Writes ``benchmarks/results/features.json``
and ``features.md``. The machine load at the start is recorded: the 2 cores are shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
from machine import describe, summary

from vitrina.adapters.features.cutoffs import daily_cutoffs
from vitrina.adapters.features.duckdb_engine import compute_features
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import get_settings

RESULTS = Path(__file__).parent / "results"
TRAINING_DAYS = 28


def _timed(run: Any) -> tuple[float, dict[str, int]]:
    began = time.perf_counter()
    tables = run()
    return time.perf_counter() - began, {name: table.num_rows for name, table in tables.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", required=True, help="a vitrina home with a validated lake")
    parser.add_argument("--spark", action="store_true", help="also measure the Spark engine (local[2])")
    args = parser.parse_args()
    settings = get_settings(home=args.home)
    with Warehouse.from_settings(settings) as warehouse:
        events = warehouse.sql("SELECT count(*) AS n, max(ts) AS last FROM events").to_pylist()[0]
    end = pd.Timestamp(events["last"]).floor("D")
    one = [end]
    daily = daily_cutoffs((end - pd.Timedelta(days=TRAINING_DAYS - 1)).date(), end.date())

    runs: list[dict[str, Any]] = []
    for label, cutoffs in (("1 cutoff", one), (f"{TRAINING_DAYS} daily cutoffs", daily)):
        seconds, rows = _timed(lambda c=cutoffs: compute_features(settings, c))
        runs.append({"engine": "duckdb", "cutoffs": label, "seconds": seconds, "rows": rows})
    if args.spark:
        from vitrina.adapters.features.spark_engine import compute_features_spark, local_spark

        began = time.perf_counter()
        spark = local_spark(cores=2)
        startup = time.perf_counter() - began
        seconds, rows = _timed(lambda: compute_features_spark(spark, settings.lake, one))
        runs.append({"engine": "spark local[2]", "cutoffs": "1 cutoff", "seconds": seconds, "rows": rows})
        runs[-1]["startup_seconds"] = startup
        spark.stop()

    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "events": events["n"],
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "features.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Feature computation ({events['n']:,} events; load {report['machine']['load_1m']:.1f} "
        f"on {summary(report['machine'])})",
        "",
        "| engine | cutoffs | seconds | user rows | item rows | user_category rows | user_affinity rows |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        r = run["rows"]
        lines.append(
            f"| {run['engine']} | {run['cutoffs']} | {run['seconds']:.1f} | {r['user']:,} | {r['item']:,} "
            f"| {r['user_category']:,} | {r['user_affinity']:,} |"
        )
    for run in runs:
        if "startup_seconds" in run:
            lines.append(f"\nSpark session start-up (not included above): {run['startup_seconds']:.1f} s.")
    (RESULTS / "features.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
