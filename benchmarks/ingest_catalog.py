"""Catalog PostgreSQL round trip at scale: load (COPY + upsert) and incremental ingestion.

Usage: ``python benchmarks/ingest_catalog.py [--rows 200000] [--url postgresql://…]``.
Writes ``benchmarks/results/ingest_catalog.json`` and ``.md``. Needs a reachable PostgreSQL;
the benchmark table is dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import psycopg
import pyarrow as pa

from vitrina.adapters.ingest.catalog_changes import ingest_catalog_from_postgres
from vitrina.adapters.ingest.catalog_to_postgres import load_catalog_to_postgres
from vitrina.config import get_settings
from vitrina.core.tables import CATALOG

RESULTS = Path(__file__).parent / "results"
T = TypeVar("T")


def synthetic_catalog(rows: int, seed: int = 0) -> pa.Table:
    """``rows`` canonical products with Spanish-length titles and descriptions."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    updated = [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 84 * 86400, rows)]
    words = np.array(["celular", "smartphone", "negro", "128GB", "pantalla", "batería", "cámara", "rápida"])
    text = [" ".join(rng.choice(words, 30)) for _ in range(rows)]
    return pa.table(
        {
            "product_id": [f"P{i:07d}" for i in ids],
            "title": [f"Producto {i} {t[:40]}" for i, t in zip(ids, text, strict=True)],
            "description": text,
            "category_l1": ["Electrónica"] * rows,
            "category_l2": ["Celulares"] * rows,
            "category_l3": ["Smartphones"] * rows,
            "brand": [f"Marca{i % 300}" for i in ids],
            "price": rng.lognormal(4, 1, rows),
            "cost": rng.lognormal(3.5, 1, rows),
            "stock": rng.integers(0, 100, rows),
            "seller_id": [f"S{i % 2000}" for i in ids],
            "created_at": [start] * rows,
            "updated_at": updated,
            "is_sponsored": rng.random(rows) < 0.05,
            "is_reported": rng.random(rows) < 0.01,
        },
        schema=CATALOG.schema,
    )


def timed(action: Callable[[], T]) -> tuple[float, T]:
    began = time.perf_counter()
    value = action()
    return time.perf_counter() - began, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--url", default="postgresql://127.0.0.1:5432/test")
    args = parser.parse_args()
    table = f"bench_catalog_{uuid.uuid4().hex[:8]}"
    catalog = synthetic_catalog(args.rows)
    changed_rows = max(args.rows // 100, 1)
    changed = catalog.slice(0, changed_rows).set_column(
        12,
        "updated_at",
        pa.array(
            [dt.datetime(2024, 6, 1, tzinfo=dt.UTC)] * changed_rows, CATALOG.schema.field("updated_at").type
        ),
    )
    results: dict[str, float | int] = {"rows": args.rows, "changed_rows": changed_rows}
    try:
        with tempfile.TemporaryDirectory() as home:
            settings = get_settings(home=home)
            results["load_s"], written = timed(lambda: load_catalog_to_postgres(catalog, args.url, table))
            results["reload_unchanged_s"], rewritten = timed(
                lambda: load_catalog_to_postgres(catalog, args.url, table)
            )
            results["ingest_full_s"], full = timed(
                lambda: ingest_catalog_from_postgres(settings, url=args.url, table=table)
            )
            results["ingest_nothing_new_s"], nothing = timed(
                lambda: ingest_catalog_from_postgres(settings, url=args.url, table=table)
            )
            load_catalog_to_postgres(changed, args.url, table)
            results["ingest_changed_s"], delta = timed(
                lambda: ingest_catalog_from_postgres(settings, url=args.url, table=table)
            )
            assert (written, rewritten, full.rows, nothing.rows, delta.rows) == (
                args.rows,
                0,
                args.rows,
                0,
                changed_rows,
            ), "benchmark run did not do what it measures"
    finally:
        with psycopg.connect(args.url, autocommit=True) as connection:
            connection.execute(f'DROP TABLE IF EXISTS "{table}"')
    results["load_rows_per_second"] = round(args.rows / float(results["load_s"]))
    results["ingest_rows_per_second"] = round(args.rows / float(results["ingest_full_s"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest_catalog.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"# Catalog PostgreSQL round trip ({args.rows:,} products)",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(
            f"| {k.removesuffix('_s').replace('_', ' ')} | {v:.2f} |"
            for k, v in results.items()
            if k.endswith("_s")
        ),
        "",
        f"load: {results['load_rows_per_second']:,} rows/s; "
        f"full ingest: {results['ingest_rows_per_second']:,} rows/s; changed rows: {changed_rows:,}.",
    ]
    (RESULTS / "ingest_catalog.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
