"""In-process latency of the marketplace search: ``/suggest`` lookups and filtered searches,
beside the plain search measured in the same run.

Loads the served index version of a home (default ``.vitrina``) and times, without HTTP and
without the result cache:

* **plain**: ``engine.search(q)`` — the baseline, what ``GET /search?q=`` computes on a miss,
  interleaved query by query with the filtered search of the same query (so both meet the same
  machine load), each with an empty query-embedding cache;
* **filtered**: :func:`~vitrina.core.search.browse.search_pool` with the filters, sort and page
  of the load benchmark's filtered traffic (:mod:`load_marketplace`), plus the facet counts;
* **suggest**: ``SuggestIndex.complete`` for every keystroke prefix of the same queries, with the
  version's spell corrector (the first lookup of a prefix fills its LRU slot, as in serving).

The queries are the load benchmark's (logged queries, 10 % with a typo). Writes
``docs/benchmarks/search_marketplace.{json,md}``.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/search_marketplace.py --home DIR [--queries 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
from load_marketplace import filtered_search_paths, served_products, suggest_paths
from load_traffic import traffic_from_home
from machine import describe, summary

from vitrina.adapters.models.search_index import load_version
from vitrina.config import get_settings
from vitrina.core.search.browse import search_pool
from vitrina.core.search.facets import facet_counts
from vitrina.core.search.filters import SearchFilters
from vitrina.core.search.sorting import as_sort

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def _stats(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {
        "n": int(ms.size),
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def _filtered(path: str) -> tuple[str, SearchFilters, str]:
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    filters = SearchFilters(
        categories=tuple(params.get("category", ())),
        brands=tuple(params.get("brand", ())),
        price_min=float(params["price_min"][0]) if "price_min" in params else None,
        price_max=float(params["price_max"][0]) if "price_max" in params else None,
    )
    return params["q"][0], filters, params.get("sort", ["relevance"])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("VITRINA_HOME", ".vitrina")))
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    home = args.home.resolve()
    traffic = traffic_from_home(home, n_queries=args.queries)
    engine = load_version(get_settings(home=home)).engine()
    spell = engine.understanding.spell  # type: ignore[attr-defined]
    assert engine.suggest is not None
    load_before = os.getloadavg()[0]
    for query in traffic.queries[:30]:  # code paths warm; per-query caches differ
        engine.search(query)
    encoder = engine.semantic.encoder  # type: ignore[attr-defined]
    plain, filtered, suggest = [], [], []
    relaxed = 0
    # interleaved, each call with an empty query-embedding cache: the two sides share the load
    paths = filtered_search_paths(traffic.queries, served_products(home))
    for query, path in zip(traffic.queries, paths, strict=True):
        encoder.clear_cache()
        started = time.perf_counter()
        engine.search(query)
        plain.append(time.perf_counter() - started)
        q, filters, sort = _filtered(path)
        encoder.clear_cache()
        started = time.perf_counter()
        pool = search_pool(engine, q, filters=filters, sort=as_sort(sort))
        facet_counts(engine.catalog_filters, pool.rows)
        filtered.append(time.perf_counter() - started)
        relaxed += pool.relaxation is not None
    for path in suggest_paths(traffic.queries, traffic.users):
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        user = params.get("user_id", [None])[0]
        affinity = engine.context.affinity.get(user) if user else None
        started = time.perf_counter()
        engine.suggest.complete(params["q"][0], 8, affinity=affinity, correct=spell.correct_token)
        suggest.append(time.perf_counter() - started)
    engine.close()
    payload: dict[str, Any] = {
        "command": "benchmarks/search_marketplace.py " + f"--home {home} --queries {args.queries}",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "products": len(engine.products),
        "suggest_entries": len(engine.suggest),
        "plain_search": _stats(plain),
        "filtered_search": {**_stats(filtered), "relaxed": relaxed},
        "suggest": _stats(suggest),
    }
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / "search_marketplace.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    rows = [
        ("plain search (baseline): `engine.search(q)`", payload["plain_search"]),
        ("filtered search: pool + sort + facets", payload["filtered_search"]),
        ("suggest: `SuggestIndex.complete`", payload["suggest"]),
    ]
    lines = [
        "# Benchmark: marketplace search in process (`benchmarks/search_marketplace.py`)",
        "",
        f"Command: `{payload['command']}`. Date: {payload['date']}. Machine: {summary(payload['machine'])}; "
        f"1-minute load {payload['load_average_1m'][0]} → {payload['load_average_1m'][1]}.",
        "",
        f"{payload['products']:,} products, {payload['suggest_entries']:,} suggest entries; "
        f"{len(plain)} queries, the same ones filtered ({relaxed} relaxed) and typed keystroke by keystroke.",
        "",
        "| what | n | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {name} | {s['n']:,} | {s['p50_ms']:.3f} | {s['p95_ms']:.3f} | {s['p99_ms']:.3f} |"
            for name, s in rows
        ],
        "",
    ]
    (DOCS / "search_marketplace.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
