"""Benchmark marketplace generation: wall time, throughput and peak memory per scale.

Each scale runs in its own child process (so peak RSS is that run's, not the parent's),
into a temporary home. The ci scale is always measured in the same run as a baseline, so
the events/s of both scales come from the same machine under the same load.

    .venv/bin/python benchmarks/generate.py               # demo vs ci baseline
    .venv/bin/python benchmarks/generate.py --scale large

Writes ``benchmarks/results/generate.json`` and ``generate.md``.
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

from machine import describe, summary
from world_end import WORLD_END

RESULTS = Path(__file__).parent / "results"
DEMO_BUDGET_SECONDS = 90.0


def _child(scale: str, seed: int, home: str) -> None:
    from vitrina.config import get_settings
    from vitrina.simulator.generate import generate_marketplace

    began = time.perf_counter()
    summary = generate_marketplace(
        get_settings(home=home), scale=scale, seed=seed, drift=None, end_date=WORLD_END, catalog_to=None
    )
    seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": seconds, "peak_memory_mb": peak_mb, "counts": summary.counts}))


def measure(scale: str, seed: int) -> dict[str, Any]:
    """Run one generation in a child process and return its measurements."""
    with tempfile.TemporaryDirectory(prefix=f"vitrina-bench-{scale}-") as home:
        wall = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", scale, "--seed", str(seed), "--home", home],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - wall
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    counts = result["counts"]
    result |= {
        "scale": scale,
        "process_seconds": wall,
        "events_per_second": counts["events"] / result["seconds"],
    }
    return result


def _markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Marketplace generation",
        "",
        f"{meta['date']} · {summary(meta['machine'])} · seed {meta['seed']}",
        "",
        "| scale | products | users | events | searches | transactions | seconds | events/s | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c = r["counts"]
        lines.append(
            f"| {r['scale']} | {c['catalog']:,} | {c['users']:,} | {c['events']:,} | {c['search_logs']:,} | "
            f"{c['transactions']:,} | {r['seconds']:.1f} | {r['events_per_second']:,.0f} | "
            f"{r['peak_memory_mb']:,.0f} |"
        )
    lines += [
        "",
        f"Budget: demo scale ≤ {DEMO_BUDGET_SECONDS:.0f} s on 2 cores (seconds = generation wall time).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo", choices=("ci", "demo", "large"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.seed, args.home)
        return
    scales = ["ci"] if args.scale == "ci" else ["ci", args.scale]
    rows = [measure(scale, args.seed) for scale in scales]
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "seed": args.seed,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "generate.json").write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n")
    (RESULTS / "generate.md").write_text(_markdown(rows, meta))
    print(_markdown(rows, meta))
    demo = next((r for r in rows if r["scale"] == "demo"), None)
    if demo is not None and demo["seconds"] > DEMO_BUDGET_SECONDS:
        sys.exit(f"demo generation took {demo['seconds']:.1f} s > {DEMO_BUDGET_SECONDS:.0f} s budget")


if __name__ == "__main__":
    main()
