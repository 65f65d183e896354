"""Benchmark batch inference output into the serving store, on SQLite and on Redis.

A synthetic batch (TOP-20 per user over a 20k-product catalog, Spanish reasons) goes
through :func:`vitrina.pipelines.recs.batch.publish_recommendations` end to end: checks, store
writes, popular fallback, audit Parquet, atomic publish, retention. Per backend and
user count, three consecutive batches with two versions kept (so the third publish
deletes the first: retention is part of the measured time),
then single-user reads of the live version and the cost of one pointer switch.

    .venv/bin/python benchmarks/recs_store.py [--users 30000 50000] [--redis-url redis://…]

Writes ``benchmarks/results/recs_store.json`` and ``recs_store.md``. The Redis run uses
its own key prefix and deletes it afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from machine import describe, summary

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.stores.base import RecsStore
from vitrina.adapters.stores.redis import RedisRecsStore
from vitrina.adapters.stores.sqlite import SQLiteRecsStore
from vitrina.core.ranking.interactions import Vocabulary
from vitrina.pipelines.recs.batch import publish_recommendations

RESULTS = Path(__file__).parent / "results"
K = 20
PRODUCTS = 20_000
BATCHES = 3
KEEP = 2  # so the third publish really deletes the first batch (retention is in the timing)
READS = 2_000


def synthetic_batch(users: int, seed: int) -> dict[str, Any]:
    """Distinct items per row (base + j·stride mod catalog), descending scores, pooled reasons."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, PRODUCTS, (users, 1))
    stride = rng.integers(1, 50, (users, 1))  # 19·49 < PRODUCTS: the 20 items of a row differ
    items = ((base + np.arange(K) * stride) % PRODUCTS).astype(np.int64)
    scores = np.sort(rng.random((users, K)), axis=1)[:, ::-1]
    pool = np.array(
        [f"porque viste Celular Samsung Nova {i}" for i in range(150)]
        + [f"popular en tu ciudad (Bogotá {i})" for i in range(50)]
    )
    return {
        "user_ids": np.array([f"U{i:07d}" for i in range(users)]),
        "items": items,
        "scores": scores,
        "reasons": pool[rng.integers(0, len(pool), (users, K))],
        "vocab": Vocabulary.of([f"MLA{i:08d}" for i in range(PRODUCTS)]),
        "servable": np.ones(PRODUCTS, dtype=bool),
        "popular": np.arange(50),
    }


def measure(store: RecsStore, lake: LakePaths, users: int) -> dict[str, Any]:
    batch = synthetic_batch(users, seed=users)
    runs = []
    for n in range(BATCHES):
        report = publish_recommendations(
            store, **batch, model_version="bench@1", lake=lake, run_id=f"bench-{users}-{n}"
        )
        runs.append(report)
    rng = np.random.default_rng(0)
    wanted = batch["user_ids"][rng.integers(0, users, READS)].tolist()
    latencies = []
    for user in wanted:
        began = time.perf_counter()
        record = store.get(user)
        latencies.append(time.perf_counter() - began)
        assert record is not None
        assert len(record.items) == K
    began = time.perf_counter()
    store.rollback_to(runs[-2].version)
    switch = time.perf_counter() - began
    seconds = [r.seconds for r in runs]
    median_run = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return {
        "users": users,
        "seconds": [round(s, 3) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 3),
        "users_per_second": round(users / statistics.median(seconds)),
        "phases_s": {name: round(value, 3) for name, value in median_run.phases.items()},
        "rows": runs[-1].recommendations,
        "versions_kept": len(store.versions()),
        "get_p50_us": round(float(np.percentile(latencies, 50)) * 1e6, 1),
        "get_p99_us": round(float(np.percentile(latencies, 99)) * 1e6, 1),
        "switch_ms": round(switch * 1e3, 2),
    }


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# recs store benchmark — batch inference output (TOP-20 per user)",
        "",
        f"{summary(payload['machine'])} (1-min load {payload['load_average_1m'][0]} → "
        f"{payload['load_average_1m'][1]}) · {payload['date']} · {BATCHES} batches per row (median), "
        f"end to end: checks + store write + popular + audit Parquet + publish (incl. retention of "
        f"the version it replaces); machine shared with other jobs, so times vary ±50 %",
        "",
        "| backend | users | median s | users/s | check s | store write s | audit s | publish s "
        "| get p50 µs | get p99 µs | switch ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in payload["runs"]:
        phases = row["phases_s"]
        lines.append(
            f"| {row['backend']} | {row['users']:,} | {row['median_seconds']:.2f} | "
            f"{row['users_per_second']:,} | {phases['check']:.2f} | {phases['store_write']:.2f} | "
            f"{phases['audit']:.2f} | {phases['publish']:.2f} | {row['get_p50_us']:.0f} | "
            f"{row['get_p99_us']:.0f} | {row['switch_ms']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[30_000, 50_000])
    parser.add_argument(
        "--redis-url", default=os.environ.get("VITRINA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-recs-store-") as home:
        lake = LakePaths(f"{home}/lake")
        for users in args.users:
            with SQLiteRecsStore(Path(home) / f"store-{users}.sqlite3", keep=KEEP) as store:
                rows.append({"backend": "sqlite", **measure(store, lake, users)})
            prefix = f"vitrina-bench-{uuid.uuid4().hex[:8]}:recs"
            with RedisRecsStore(args.redis_url, prefix=prefix, keep=KEEP) as store:
                try:
                    rows.append({"backend": "redis", **measure(store, lake, users)})
                finally:
                    store.remove_all()
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "k": K,
        "products": PRODUCTS,
        "runs": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "recs_store.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "recs_store.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))


if __name__ == "__main__":
    main()
