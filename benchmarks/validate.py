"""Benchmark ``vitrina data validate`` on the demo marketplace: clean, re-run, and 5 % corrupted events.

The marketplace is generated in a child process (``vitrina data generate``), so the peak memory
reported here is validation's own. Three runs on the same lake:

1. clean: every table validated and published;
2. re-run: the same, replacing the first run's output (idempotence costs nothing extra);
3. corrupted: 5 % of events point at unknown products (threshold 1.0, so it publishes), to
   price the quarantine path.

    .venv/bin/python benchmarks/validate.py [--scale demo] [--seed 42]

Writes ``benchmarks/results/validate.json`` and ``validate.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from machine import describe, summary

from vitrina.adapters.lake.io import read_table, remove_table, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings
from vitrina.core.tables import EVENTS
from vitrina.pipelines.validate import validate_lake

RESULTS = Path(__file__).parent / "results"
CORRUPT_SHARE = 0.05


def timed_validation(settings: Settings, label: str, threshold: float) -> dict[str, Any]:
    began = time.perf_counter()
    report = validate_lake(settings, max_invalid_share=threshold)
    seconds = time.perf_counter() - began
    return {
        "run": label,
        "seconds": round(seconds, 2),
        "tables": {
            name: {
                "input_rows": t.input_rows,
                "quarantined_rows": t.quarantined_rows,
                "seconds": round(t.seconds, 2),
            }
            for name, t in report.tables.items()
        },
    }


def corrupt_events(settings: Settings, seed: int) -> int:
    """Point a share of the raw events at products nobody knows; returns how many."""
    lake = LakePaths(settings.lake)
    events = read_table(lake, "raw", "events", schema=EVENTS.schema)
    rng = np.random.default_rng(seed)
    hit = rng.random(events.num_rows) < CORRUPT_SHARE
    products = pc.if_else(pa.array(hit), pa.scalar("desconocido"), events["product_id"])
    events = events.set_column(EVENTS.schema.get_field_index("product_id"), "product_id", products)
    remove_table(lake, "raw", "events")
    write_table(lake, "raw", "events", events, "ts", part="bench")
    return int(hit.sum())


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        f"# validate benchmark — {payload['scale']} (seed {payload['seed']})",
        "",
        f"{summary(payload['machine'])} · {payload['date']} · peak RSS {payload['peak_memory_mb']:,.0f} MB",
        "",
        "| run | total s | events rows | events s | events quarantined |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in payload["runs"]:
        events = run["tables"]["events"]
        lines.append(
            f"| {run['run']} | {run['seconds']:.1f} | {events['input_rows']:,} | {events['seconds']:.1f} "
            f"| {events['quarantined_rows']:,} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-validate-") as home:
        vitrina = Path(sys.executable).with_name("vitrina")
        command = [
            str(vitrina),
            "data",
            "generate",
            "--scale",
            args.scale,
            "--seed",
            str(args.seed),
            "--home",
            home,
        ]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        settings = get_settings(home=home)
        runs = [
            timed_validation(settings, "clean", threshold=0.0),
            timed_validation(settings, "re-run", threshold=0.0),
        ]
        corrupted = corrupt_events(settings, args.seed)
        runs.append(timed_validation(settings, f"corrupted ({corrupted:,} events)", threshold=1.0))
    payload = {
        "scale": args.scale,
        "seed": args.seed,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "validate.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "validate.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))


if __name__ == "__main__":
    main()
