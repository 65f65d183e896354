"""Benchmark the item-kNN neighbour table at marketplace scale on a synthetic log.

    .venv/bin/python benchmarks/item_knn_scale.py --items 200000 --users 500000 --per-user 20

Users choose ``--per-user`` items on average (Poisson), items drawn from a Zipf(1) popularity,
so best-sellers co-occur with almost everything — the hard case for ``XᵀX``. Reports the time to
build the user × item matrix and the top-50 cosine neighbours (one core: scipy's sparse product
is single-threaded) and the process's peak resident memory, against the baseline of building the
matrix alone, measured in the same run. Writes ``docs/benchmarks/item_knn_scale.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import time
from pathlib import Path

import numpy as np
from machine import describe, summary

from vitrina.core.ranking.interactions import Interactions
from vitrina.core.recs.item_knn import cosine_neighbours, user_item_matrix

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"


def synthetic_log(n_items: int, n_users: int, per_user: float, seed: int) -> Interactions:
    rng = np.random.default_rng(seed)
    sizes = np.maximum(rng.poisson(per_user, n_users), 1)
    user = np.repeat(np.arange(n_users, dtype=np.int64), sizes)
    popularity = 1.0 / np.arange(1, n_items + 1)
    item = rng.choice(n_items, size=user.size, p=popularity / popularity.sum()).astype(np.int64)
    n = user.size
    zeros = np.zeros(n, dtype=np.int64)
    ts = rng.integers(0, 90 * 86_400_000_000, n)
    return Interactions(user, item, np.full(n, 3), ts, zeros, zeros, np.full(n, "home"))


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=500_000)
    parser.add_argument("--per-user", type=float, default=20.0)
    parser.add_argument("--neighbours", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    log = synthetic_log(args.items, args.users, args.per_user, args.seed)
    start = time.perf_counter()
    matrix = user_item_matrix(log, args.users, args.items, max_user_items=200)
    matrix_s = time.perf_counter() - start
    rss_matrix = peak_rss_gb()
    start, cpu = time.perf_counter(), time.process_time()
    table = cosine_neighbours(matrix, args.neighbours)
    knn_s, knn_cpu = time.perf_counter() - start, time.process_time() - cpu
    machine = describe()
    report = {
        "command": "benchmarks/item_knn_scale.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "events": len(log),
        "matrix_nnz": int(matrix.nnz),
        "baseline_matrix_seconds": round(matrix_s, 2),
        "neighbours_seconds": round(knn_s, 2),
        "neighbours_cpu_seconds": round(knn_cpu, 2),
        "neighbour_entries": int(table.nnz),
        "peak_rss_gb_after_matrix": round(rss_matrix, 2),
        "peak_rss_gb": round(peak_rss_gb(), 2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "item_knn_scale.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Item-kNN neighbour table at scale",
        "",
        f"`{report['command']}` · {report['date']} · {summary(machine)} · load {machine['load_1m']}",
        "",
        "| step | wall seconds | CPU seconds | peak RSS (GB) |",
        "|---|---|---|---|",
        f"| user × item matrix ({report['matrix_nnz']:,} entries; baseline) "
        f"| {matrix_s:.1f} | | {rss_matrix:.2f} |",
        f"| top-{args.neighbours} cosine neighbours ({report['neighbour_entries']:,} kept) "
        f"| {knn_s:.1f} | {knn_cpu:.1f} | {report['peak_rss_gb']:.2f} |",
    ]
    (OUT / "item_knn_scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
