"""Latency of the marketplace lists against ``/recs`` in the same run (closed loop, wrk).

Starts ``vitrina serve`` on a home with a published batch (SQLite store), then at 1 and 16
connections drives, one after the other: ``/recs/{user}`` (the baseline: the bars of
``docs/benchmarks/load.md`` are p99 ≤ 2 ms at 1 connection and ≤ 5 ms at 16),
``/recs/{user}?list=buy_again``, ``/products/{id}/similar``, ``/products/{id}/bought-together``
and ``/recs/{new user}`` for users the batch has not seen who posted three clicks first (their
list is built at request time from the published similar lists). Users and products are those
of the batch's audit copy. Writes ``docs/benchmarks/recs_lists_latency.{json,md}``.

    python benchmarks/recs_lists_latency.py --home DIR [--seconds 10] [--connections 1 16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from load import require_wrk, run_wrk
from load_servers import ApiServer
from machine import describe, summary

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import get_settings

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
NEW_USERS = 300


def _post(base: str, events: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        base + "/events",
        data=json.dumps({"events": events}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    home = Path(args.home)
    wrk = require_wrk()
    settings = get_settings(home=home)
    audit = pq.read_table(list_parquet_files(LakePaths(settings.lake), "predictions", "recs")[-1])
    users = sorted(set(audit.column("user_id").to_pylist()))[:5000]
    products = sorted(set(audit.column("product_id").to_pylist()))[:5000]
    folder = Path(tempfile.mkdtemp(prefix="vitrina-lists-latency-"))
    routes = {
        "/recs/{user}": [f"/recs/{u}" for u in users],
        "/recs/{user}?list=buy_again": [f"/recs/{u}?list=buy_again" for u in users],
        "/products/{id}/similar": [f"/products/{p}/similar" for p in products],
        "/products/{id}/bought-together": [f"/products/{p}/bought-together" for p in products],
        "/recs/{new user} (session)": [f"/recs/bench-new-{i}" for i in range(NEW_USERS)],
    }
    rows: list[dict[str, Any]] = []
    with ApiServer(home, {}, folder / "api.log", workers=args.workers) as api:
        now = dt.datetime.now(dt.UTC)
        events = [
            {
                "event_id": f"bench-{i}-{j}",
                "user_id": f"bench-new-{i}",
                "product_id": products[(i * 7 + j * 13) % len(products)],
                "event_type": "click",
                "session_id": f"bench-s-{i}",
                "device": "mobile",
                "page": "home",
                "ts": (now - dt.timedelta(seconds=60 - j)).isoformat(),
            }
            for i in range(NEW_USERS)
            for j in range(3)
        ]
        for start in range(0, len(events), 900):
            _post(api.base, events[start : start + 900])
        for route, paths in routes.items():
            file = folder / f"{len(rows)}.txt"
            file.write_text("\n".join(paths) + "\n")
            run_wrk(wrk, api.base, file, 1, 2)  # warm-up
            for connections in args.connections:
                cell = run_wrk(wrk, api.base, file, connections, args.seconds)
                rows.append({"route": route, **cell})
                print(route, connections, cell["p50_ms"], cell["p99_ms"], cell["rps"], flush=True)
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": f"python benchmarks/recs_lists_latency.py --home {args.home} --seconds {args.seconds:g} "
        f"--connections {' '.join(map(str, args.connections))} --workers {args.workers}",
        "machine": describe(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "rows": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "recs_lists_latency.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# Latency of the marketplace lists beside /recs",
        "",
        f"`{result['command']}` — {result['when']} (SQLite store, `vitrina serve --workers {args.workers}`)",
        "",
        summary(result["machine"])
        + f"; 1-minute load average at the end: {result['load_average_1min_at_end']}",
        "",
        "| route | connections | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r['route']}` | {r['connections']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
        f"{r['p99_ms']:.2f} | {r['errors']} |"
        for r in rows
    ]
    (OUT / "recs_lists_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
