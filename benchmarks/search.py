"""Search benchmark: quality of every model, end-to-end latency, build time.

Runs `vitrina train search` once on a validated home (default: a fresh demo marketplace in a
temporary folder), then times queries through the published index version, and checks the
bars in the same run:

* ``hybrid_ltr`` NDCG@10 ≥ 1.2 × ``bm25`` on the simulator's qrels; zero-result rate < 1 %;
  typo and synonym queries gain the most over ``bm25``;
* one query end to end (understanding, both retrievals, features, ranking, rules) p95 ≤ 15 ms
  and ≤ 3 × BM25 alone (understanding + BM25 top-100), measured here on the same queries;
* fine-tuning + indexing ≤ 15 min.

It also reports, for the served version, how high a ranker could go on the qrels and what it
would need to know (``benchmarks/search_ceilings.py``).

Writes ``benchmarks/results/search.json`` and ``search.md``.

    python benchmarks/search.py [--home DIR] [--scale demo] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import describe, summary
from rich.console import Console
from search_ceilings import markdown as ceiling_lines
from search_ceilings import measure as search_ceilings
from world_end import add_world_end

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.models.search_index import load_version
from vitrina.config import get_settings
from vitrina.core.evaluation.search_rankings import render_markdown
from vitrina.pipelines.search.run import SearchConfig, run_search
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace

RESULTS = Path(__file__).parent / "results"
BUILD_STEPS = ("fine-tune the bi-encoder", "index products (BM25 + HNSW)")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.asarray(samples) * 1000.0
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}  # fmt: skip


def _latency(settings: Any, name: str | None, queries: list[str]) -> dict[str, dict[str, float]]:
    """Per-query wall time of the whole engine and of understanding + BM25 alone, cache off;
    ``name``: the index version this run built (not necessarily the served champion)."""
    version = load_version(settings, name)
    engine = version.engine()
    for query in queries[:50]:  # warm code paths, not the per-query caches (queries differ)
        engine.search(query)
    engine.semantic.encoder.clear_cache()  # type: ignore[attr-defined]
    full, lexical = [], []
    for query in queries:
        started = time.perf_counter()
        engine.search(query, k=20)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        engine.lexical.search(engine.understanding.parse(query), 100)
        lexical.append(time.perf_counter() - started)
    engine.close()
    return {"end_to_end": _percentiles(full), "bm25_alone": _percentiles(lexical)}


def _bars(metrics: dict[str, Any], latency: dict[str, Any], build_s: float) -> dict[str, bool]:
    bars: dict[str, bool] = {}
    qrels = metrics.get("models", {})
    if qrels:
        ltr, bm25 = qrels["hybrid_ltr"], qrels["bm25"]
        bars["hybrid_ltr NDCG@10 >= 1.2 x bm25"] = ltr["ndcg@10"] >= 1.2 * bm25["ndcg@10"]
        bars["hybrid_ltr zero-result rate < 1 %"] = ltr["zero_result_rate"] < 0.01
        gains = {
            kind: ltr["by_query_type"][kind]["ndcg@10"] - bm25["by_query_type"][kind]["ndcg@10"]
            for kind in ltr["by_query_type"]
        }
        top = sorted(gains, key=lambda kind: -gains[kind])[:2]
        bars["typo and synonym gain the most"] = set(top) == {"typo", "synonym"}
    end, alone = latency["end_to_end"]["p95_ms"], latency["bm25_alone"]["p95_ms"]
    bars["p95 <= 15 ms"] = end <= 15.0
    bars["p95 <= 3 x bm25 alone"] = end <= 3.0 * alone
    bars["fine-tune + index <= 15 min"] = build_s <= 900
    return bars


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Search benchmark",
        "",
        f"{result['when']} · {summary(result['machine'])} · home {result['home']}",
        "",
    ]
    lines.append(render_markdown(result["metrics"], result["run_id"]))
    lines += ["## Latency (one query, in process, result cache off)", ""]
    lines += ["| path | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|"]
    for name, values in result["latency"].items():
        lines.append(f"| {name} | {values['p50_ms']:.2f} | {values['p95_ms']:.2f} | {values['p99_ms']:.2f} |")
    ceiling = result.get("ceiling")
    if ceiling:
        lines += ["", "## Ceilings: what a ranker would need to know (`benchmarks/search_ceilings.py`)", ""]
        lines += ceiling_lines(ceiling)
    lines += ["", f"Fine-tune + index: {result['build_seconds']:.0f} s; whole pipeline: "
              f"{result['pipeline_seconds']:.0f} s", "", "## Bars", ""]  # fmt: skip
    lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in result["bars"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", help="A validated vitrina home (default: generate one).")
    add_world_end(parser)
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--queries", type=int, default=2000, help="Queries timed for latency.")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="vitrina-search-bench-"))
    settings = get_settings(home=home)
    if not args.home:
        generate_marketplace(
            settings, scale=args.scale, seed=42, drift=None, end_date=args.world_end, catalog_to=None
        )
        validate_lake(settings, max_invalid_share=0.05)
    started = time.perf_counter()
    # force: a benchmark measures a fresh build, even when the ledger has one for these inputs
    run = run_search(settings, SearchConfig(n_trials=args.trials), Console(stderr=True), force=True)
    pipeline_s = time.perf_counter() - started
    truth_queries = load_truth(settings).queries["query"].astype(str).tolist()
    rng = np.random.default_rng(0)
    sample = [truth_queries[i] for i in rng.choice(len(truth_queries), min(args.queries, len(truth_queries)),
                                                    replace=False)]  # fmt: skip
    latency = _latency(settings, run.version, sample)
    ceiling = search_ceilings(settings, run.version) if run.metrics.get("models") else None
    build_s = sum(run.seconds.get(step, 0.0) for step in BUILD_STEPS)
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": describe(),
        "home": str(home),
        "run_id": run.run_id,
        "version": run.version,
        "metrics": run.metrics,
        "latency": latency,
        "ceiling": ceiling,
        "seconds": run.seconds,
        "build_seconds": build_s,
        "pipeline_seconds": pipeline_s,
        "bars": _bars(run.metrics, latency, build_s),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / "search.md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
