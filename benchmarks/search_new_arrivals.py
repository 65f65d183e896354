"""Search cold start: where do relevant new products rank against comparable established ones?

On a simulated marketplace (the simulator knows every product's arrival time and which products
are relevant to a query), the served index version answers every truth query whose relevant
set (grade ≥ 2: the target's leaf and brand, or the target itself) holds a product that arrived
in the last :data:`NEW_DAYS` days. For each such relevant product the script records its rank in
the served ``hybrid_ltr`` list and in the text-only ``hybrid`` list (BM25 + semantic, RRF; no
behavioural feature), by days since arrival. A ranker that reads a product without history as
an unpopular one pushes new products down from where their text match puts them:

* **mean rank** of relevant products by age bucket (absent from the top :data:`DEPTH` = DEPTH + 1);
* **shift** — mean ``log2(rank in hybrid_ltr) - log2(rank in hybrid)`` per bucket (> 0: the ranker
  moves them down from their text rank);
* **new above old** — over pairs (relevant new, relevant established) of the same grade in one
  query, the share where the new one ranks higher in ``hybrid_ltr`` (and in ``hybrid``: equal
  text, equal chance);
* **NDCG@10 (new only)** — the served list's NDCG@10 counting only new relevant products.

    python benchmarks/search_new_arrivals.py --home HOME [--train] [--label before]

``--home``: a validated home (default: a fresh demo marketplace, seed 42). ``--train`` runs
``vitrina train search`` on it first (forced). Appends a row to
``benchmarks/results/search_new_arrivals.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from machine import describe, summary
from rich.console import Console
from world_end import add_world_end

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.models.search_index import load_version
from vitrina.config import get_settings
from vitrina.pipelines.search.run import SearchConfig, run_search
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace
from vitrina.simulator.queries import relevance

RESULTS = Path(__file__).parent / "results"
NEW_DAYS = 7.0
DEPTH = 100
BUCKETS = (
    (0.0, 1.0, "0-1 d"),
    (1.0, 3.0, "1-3 d"),
    (3.0, 7.0, "3-7 d"),
    (7.0, 30.0, "7-30 d"),
    (30.0, np.inf, "older"),
)


def _bucket(age: np.ndarray) -> np.ndarray:
    out = np.full(age.size, "older", dtype=object)
    for low, high, name in BUCKETS:
        out[(age >= low) & (age < high)] = name
    return out


def _ranks(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """1-based rank of each ``wanted`` row in ``rows`` (DEPTH + 1 when absent)."""
    where = {int(r): i + 1 for i, r in enumerate(rows.tolist())}
    return np.array([where.get(int(w), DEPTH + 1) for w in wanted.tolist()], dtype=np.float64)


def _ndcg_new(ranked_grades: np.ndarray, new_grades: np.ndarray) -> float:
    top = ranked_grades[:10].astype(np.float64)
    discount = 1.0 / np.log2(np.arange(2, 12))
    dcg = float(((2.0**top - 1.0) * discount[: top.size]).sum())
    ideal_top = np.sort(new_grades)[::-1][:10].astype(np.float64)
    ideal = float(((2.0**ideal_top - 1.0) * discount[: ideal_top.size]).sum())
    return dcg / ideal if ideal > 0 else float("nan")


def measure(settings: Any, version: str | None, max_queries: int, seed: int) -> dict[str, Any]:
    """The cold-start table of ``version`` on the truth queries of ``settings``' simulator."""
    loaded = load_version(settings, version)
    engine = loaded.engine()
    truth = load_truth(settings)
    as_of_us = int(pd.Timestamp(loaded.signals.as_of).value // 1000)
    ids = loaded.products.frame["product_id"].to_numpy()
    facts = truth.products
    facts_rows = truth.product_rows(ids)  # version row → simulator product row
    age = (as_of_us - facts.created_us[facts_rows]) / 86_400e6
    leaf, brand = facts.leaf[facts_rows], facts.brand[facts_rows]
    key = pd.Series(leaf.astype(np.int64) * 1_000_003 + brand.astype(np.int64))
    by_key = {k: np.asarray(v, dtype=np.int64) for k, v in key.groupby(key).groups.items()}
    is_new = (age >= 0) & (age < NEW_DAYS)
    queries = truth.queries[truth.queries["query_type"] != "brand_only"]
    target_rows = pd.Index(ids).get_indexer(queries["product_id"].to_numpy())
    keep = target_rows >= 0
    queries, target_rows = queries[keep], target_rows[keep]
    has_new = np.array([is_new[by_key[int(key.iloc[t])]].any() for t in target_rows])
    queries, target_rows = queries[has_new], target_rows[has_new]
    if len(queries) > max_queries:
        pick = np.sort(np.random.default_rng(seed).choice(len(queries), max_queries, replace=False))
        queries, target_rows = queries.iloc[pick], target_rows[pick]
    records: list[dict[str, Any]] = []
    pairs = {"hybrid_ltr": [0, 0], "hybrid": [0, 0]}
    ndcg_new: list[float] = []
    for query, target in zip(queries["query"].astype(str), target_rows, strict=True):
        relevant = by_key[int(key.iloc[target])]
        tf = truth.product_rows(ids[[target]])
        grade = relevance(
            facts, np.repeat(tf, relevant.size), facts_rows[relevant], np.zeros(relevant.size, bool)
        )
        grade = grade.astype(np.int64)
        lists = {mode: engine.search(query, k=DEPTH, mode=mode).rows for mode in ("hybrid_ltr", "hybrid")}
        ranks = {mode: _ranks(rows, relevant) for mode, rows in lists.items()}
        for i, row in enumerate(relevant.tolist()):
            records.append(
                {
                    "age": age[row],
                    "grade": grade[i],
                    "new": bool(is_new[row]),
                    "ltr": ranks["hybrid_ltr"][i],
                    "text": ranks["hybrid"][i],
                }
            )
        new, old = is_new[relevant], ~is_new[relevant]
        for mode in pairs:
            r = ranks[mode]
            for g in np.unique(grade[new]):
                a, b = r[new & (grade == g)], r[old & (grade == g)]
                found = (a[:, None] <= DEPTH) | (b[None, :] <= DEPTH)
                pairs[mode][0] += int(((a[:, None] < b[None, :]) & found).sum())
                pairs[mode][1] += int(found.sum())
        grade_of = dict(zip(relevant.tolist(), np.where(new, grade, 0).tolist(), strict=True))
        served = np.array([grade_of.get(int(r), 0) for r in lists["hybrid_ltr"].tolist()])
        ndcg_new.append(_ndcg_new(served, grade[new]))
    engine.close()
    frame = pd.DataFrame.from_records(records)
    frame["bucket"] = _bucket(frame["age"].to_numpy())
    frame["shift"] = np.log2(frame["ltr"]) - np.log2(frame["text"])
    table = frame.groupby("bucket").agg(
        products=("ltr", "size"),
        rank_ltr=("ltr", "mean"),
        rank_text=("text", "mean"),
        shift=("shift", "mean"),
        top10_ltr=("ltr", lambda r: float((r <= 10).mean())),
        top10_text=("text", lambda r: float((r <= 10).mean())),
    )
    order = [name for _, _, name in BUCKETS if name in table.index]
    return {
        "queries": len(queries),
        "as_of": pd.Timestamp(as_of_us * 1000, tz="UTC").isoformat(),
        "by_age": {k: {c: float(v) for c, v in row.items()} for k, row in table.loc[order].iterrows()},
        "new_above_old": {m: (p[0] / p[1] if p[1] else float("nan")) for m, p in pairs.items()},
        "pairs": pairs["hybrid_ltr"][1],
        "ndcg10_new_only": float(np.nanmean(ndcg_new)),
    }


def _markdown(result: dict[str, Any]) -> str:
    m = result["measure"]
    lines = [
        f"### {result['label']} — {result['when']} · {summary(result['machine'])}",
        "",
        f"home {result['home']}, version {result['version']}, {m['queries']} queries, signals as of "
        f"{m['as_of']}; served qrels NDCG@10 hybrid_ltr {result.get('qrels_ndcg_ltr', float('nan')):.4f}",
        "",
        "| days since arrival | relevant products | mean rank hybrid_ltr | mean rank hybrid (text) | "
        "shift log2 | top 10 hybrid_ltr | top 10 hybrid |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in m["by_age"].items():
        lines.append(
            f"| {name} | {row['products']:.0f} | {row['rank_ltr']:.1f} | {row['rank_text']:.1f} | "
            f"{row['shift']:+.2f} | {row['top10_ltr']:.3f} | {row['top10_text']:.3f} |"
        )
    above = m["new_above_old"]
    lines += [
        "",
        f"New above an established product of the same grade: hybrid_ltr {above['hybrid_ltr']:.3f}, "
        f"hybrid {above['hybrid']:.3f} ({m['pairs']:,} pairs); NDCG@10 counting only new relevant "
        f"products: {m['ndcg10_new_only']:.4f}",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", help="A validated vitrina home (default: generate a demo one).")
    add_world_end(parser)
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--train", action="store_true", help="Run `vitrina train search` first.")
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--label", default="run")
    parser.add_argument(
        "--finetune-examples",
        type=int,
        default=None,
        help="Bound the encoder fine-tuning (same value for the runs compared).",
    )
    parser.add_argument("--max-queries", type=int, default=1500)
    args = parser.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="vitrina-new-arrivals-"))
    settings = get_settings(home=home)
    if not args.home:
        generate_marketplace(
            settings, scale=args.scale, seed=42, drift=None, end_date=args.world_end, catalog_to=None
        )
        validate_lake(settings, max_invalid_share=0.05)
    version, qrels_ndcg = None, float("nan")
    if args.train or not args.home:
        config = SearchConfig(n_trials=args.trials)
        if args.finetune_examples:
            bounded = replace(config.finetune, max_examples=args.finetune_examples, show_progress=False)
            config = replace(config, finetune=bounded)
        run = run_search(settings, config, Console(stderr=True), force=True)
        version = run.version
        qrels_ndcg = float(run.metrics.get("models", {}).get("hybrid_ltr", {}).get("ndcg@10", float("nan")))
    started = time.perf_counter()
    result = {
        "label": args.label,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": describe(),
        "home": str(home),
        "version": version,
        "qrels_ndcg_ltr": qrels_ndcg,
        "measure": measure(settings, version, args.max_queries, seed=0),
    }
    result["measure_seconds"] = time.perf_counter() - started
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "search_new_arrivals.json"
    runs = json.loads(path.read_text()) if path.is_file() else []
    path.write_text(json.dumps([*runs, result], indent=2, default=str))
    print(_markdown(result))


if __name__ == "__main__":
    main()
