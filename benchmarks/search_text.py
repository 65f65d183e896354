"""Search text benchmark: query understanding and BM25, speed and quality.

On a validated home (default: a fresh demo marketplace in a temporary folder) it builds the
query understanding and the BM25 index, saves and reloads them, then measures in process:

* ``parse`` latency per distinct logged query, cold (fresh load: no token cache) and warm;
* BM25 top-100 latency on the understood queries and on the raw text;
* with the simulator's qrels: NDCG@10, Recall@100 and zero-result rate of BM25 on raw text
  and on understood queries, by query type.

Writes ``benchmarks/results/search_text.json`` and ``search_text.md``.

    python benchmarks/search_text.py [--home DIR] [--scale demo] [--queries 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from machine import describe, summary
from world_end import add_world_end

from vitrina.adapters.lake.truth import load_truth
from vitrina.config import Settings, get_settings
from vitrina.core.metrics.ranking import mean_over_queries, ndcg, recall
from vitrina.core.metrics.relevance import PAD, Truth, judge
from vitrina.core.search.corpus import product_texts
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.types import Hits, ParsedQuery
from vitrina.core.search.understanding import QueryUnderstanding
from vitrina.pipelines.search.corpus import read_search_inputs
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace

RESULTS = Path(__file__).parent / "results"
PARSE_BAR_MS = 0.3
BM25_BAR_MS = 1.3


def _latency_ms(
    function: Callable[[Any], object], inputs: Sequence[Any], repeats: int = 1
) -> dict[str, float]:
    """Per-call wall time of ``function`` over ``inputs``: p50, p95, p99, mean (ms).

    With ``repeats`` > 1 each input counts its fastest of that many calls: on a shared
    machine this removes the time the process waited for a core (the work itself is
    deterministic), so the tail shows slow queries rather than the scheduler.
    """
    times = np.full(len(inputs), np.inf)
    for i, value in enumerate(inputs):
        for _ in range(repeats):
            started = time.perf_counter()
            function(value)
            times[i] = min(times[i], time.perf_counter() - started)
    times *= 1000.0
    return {
        "p50": float(np.percentile(times, 50)),
        "p95": float(np.percentile(times, 95)),
        "p99": float(np.percentile(times, 99)),
        "mean": float(times.mean()),
        "n": len(inputs),
    }


def _quality(
    settings: Settings, index: BM25Index, understanding: QueryUnderstanding
) -> dict[str, Any] | None:
    """BM25 on raw text vs understood queries against the simulator's qrels, by query type
    (None when the home has no simulator truth)."""
    try:
        qrels = load_truth(settings).qrels
    except FileNotFoundError:
        return None
    row_of = {p: i for i, p in enumerate(index.product_ids)}
    queries = qrels.drop_duplicates("query_id")[["query_id", "query", "query_type"]].reset_index(drop=True)
    position = {q: i for i, q in enumerate(queries["query_id"])}
    grades: list[dict[int, float]] = [{} for _ in range(len(queries))]
    for query_id, product, grade in qrels[["query_id", "product_id", "relevance"]].itertuples(index=False):
        grades[position[query_id]][row_of[product]] = float(grade)
    truth = Truth.from_dicts(grades)
    out: dict[str, Any] = {}
    for name, prepare in (("bm25 raw", lambda q: q), ("bm25 + understanding", understanding.parse)):
        answers: list[Hits] = [index.search(prepare(q), 100) for q in queries["query"]]
        ranked = np.full((len(answers), 100), PAD, dtype=np.int64)
        for i, hits in enumerate(answers):
            ranked[i, : len(hits)] = hits.rows
        judged = judge(ranked, truth)
        frame = pd.DataFrame(
            {
                "type": queries["query_type"],
                "ndcg@10": ndcg(judged, 10),
                "recall@100": recall(judged, 100),
                "zero": [len(h) == 0 for h in answers],
            }
        )
        by_type = {
            kind: {"ndcg@10": mean_over_queries(part["ndcg@10"]), "n": len(part)}
            for kind, part in frame.groupby("type")
        }
        out[name] = {
            "ndcg@10": mean_over_queries(frame["ndcg@10"]),
            "recall@100": mean_over_queries(frame["recall@100"]),
            "zero_result_rate": float(frame["zero"].mean()),
            "by_query_type": by_type,
        }
    return out


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Search text benchmark (query understanding + BM25)",
        "",
        f"{result['when']} · {summary(result['machine'])} · home {result['home']}",
        "",
        f"Load average while timing: {result['load_average']:.1f} on {os.cpu_count()} cores "
        "(other processes share the machine: the *best of 3* rows drop the time spent waiting for a core).",
        "",
        f"{result['products']:,} products · {result['searches']:,} logged searches · "
        f"{result['latency']['parse cold']['n']:,} distinct queries timed",
        "",
        "| step | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {step} | {seconds:.1f} |" for step, seconds in result["build_s"].items()]
    lines += ["", "| latency (ms) | p50 | p95 | p99 | mean |", "|---|---:|---:|---:|---:|"]
    for name, row in result["latency"].items():
        cells = " | ".join(f"{row[stat]:.3f}" for stat in ("p50", "p95", "p99", "mean"))
        lines.append(f"| {name} | {cells} |")
    quality = result.get("quality")
    if quality:
        kinds = sorted(next(iter(quality.values()))["by_query_type"])
        lines += ["", f"| model | NDCG@10 | Recall@100 | zero-result | {' | '.join(kinds)} |"]
        lines.append("|---|" + "---:|" * (3 + len(kinds)))
        for name, row in quality.items():
            quality_cells = [
                f"{row['ndcg@10']:.4f}",
                f"{row['recall@100']:.4f}",
                f"{row['zero_result_rate']:.2%}",
            ]
            quality_cells += [f"{row['by_query_type'][k]['ndcg@10']:.4f}" for k in kinds]
            lines.append(f"| {name} | {' | '.join(quality_cells)} |")
    lines += ["", f"Artifacts: understanding {result['sizes_kb']['understanding']:,.0f} KB, "
              f"BM25 {result['sizes_kb']['bm25']:,.0f} KB.", "", "| bar | met |", "|---|---|"]  # fmt: skip
    lines += [f"| {bar} | {'yes' if ok else '**no**'} |" for bar, ok in result["bars"].items()]
    return "\n".join(lines) + "\n"


def _size_kb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="a validated vitrina home; default: generate one")
    add_world_end(parser)
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--queries", type=int, default=5000, help="distinct logged queries to time")
    args = parser.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="vitrina-bench-search-text-"))
    settings = get_settings(home=home)
    if not args.home:
        generate_marketplace(
            settings, scale=args.scale, seed=42, drift=None, end_date=args.world_end, catalog_to=None
        )
        validate_lake(settings, max_invalid_share=settings.max_invalid_share)
    build_s: dict[str, float] = {}
    started = time.perf_counter()
    inputs = read_search_inputs(settings)
    build_s["read catalog + search logs"] = time.perf_counter() - started
    started = time.perf_counter()
    understanding = QueryUnderstanding.build(inputs.catalog, inputs.search_logs, inputs.synonyms)
    build_s["build query understanding"] = time.perf_counter() - started
    started = time.perf_counter()
    index = BM25Index.build(inputs.catalog["product_id"].astype(str).tolist(), product_texts(inputs.catalog))
    build_s["build BM25 index"] = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="vitrina-search-text-") as scratch:
        folder = Path(scratch)
        understanding.save(folder / "understanding")
        index.save(folder / "bm25")
        started = time.perf_counter()
        understanding = QueryUnderstanding.load(folder / "understanding")
        index = BM25Index.load(folder / "bm25")
        build_s["load both"] = time.perf_counter() - started
        sizes = {"understanding": _size_kb(folder / "understanding"), "bm25": _size_kb(folder / "bm25")}

    distinct = pd.unique(inputs.search_logs["query"].astype(str))
    rng = np.random.default_rng(0)
    raw = list(rng.permutation(np.asarray(distinct))[: args.queries])
    load_before = os.getloadavg()[0]
    latency = {"parse cold": _latency_ms(understanding.parse, raw)}
    latency["parse warm"] = _latency_ms(understanding.parse, raw)
    latency["parse warm, best of 3"] = _latency_ms(understanding.parse, raw, repeats=3)
    parsed: list[ParsedQuery] = [understanding.parse(q) for q in raw]
    latency["bm25 top-100 (understood)"] = _latency_ms(index.search, parsed)
    latency["bm25 top-100 (understood), best of 3"] = _latency_ms(index.search, parsed, repeats=3)
    latency["bm25 top-100 (raw text)"] = _latency_ms(index.search, raw)
    latency["parse + bm25 top-100"] = _latency_ms(lambda q: index.search(understanding.parse(q)), raw)
    latency["parse + bm25 top-100, best of 3"] = _latency_ms(
        lambda q: index.search(understanding.parse(q)), raw, repeats=3
    )
    load_average = (load_before + os.getloadavg()[0]) / 2

    quality = _quality(settings, index, understanding)
    bars = {
        f"parse p95 < {PARSE_BAR_MS} ms (cold)": latency["parse cold"]["p95"] < PARSE_BAR_MS,
        f"bm25 top-100 p50 <= {BM25_BAR_MS} ms": latency["bm25 top-100 (understood)"]["p50"] <= BM25_BAR_MS,
        f"parse + bm25 top-100 p95 <= {BM25_BAR_MS + PARSE_BAR_MS} ms (best of 3)": (
            latency["parse + bm25 top-100, best of 3"]["p95"] <= BM25_BAR_MS + PARSE_BAR_MS
        ),
    }
    if quality:
        bars["understanding raises BM25 NDCG@10"] = (
            quality["bm25 + understanding"]["ndcg@10"] > quality["bm25 raw"]["ndcg@10"]
        )
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": describe(),
        "home": str(home),
        "load_average": load_average,
        "products": len(index),
        "searches": len(inputs.search_logs),
        "build_s": build_s,
        "sizes_kb": sizes,
        "latency": latency,
        "quality": quality,
        "vocabularies": {
            "spell_words": len(understanding.spell),
            "synonym_groups": len(understanding.synonyms),
            "neighbour_words": len(understanding.neighbours),
        },
        "bars": bars,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_text.json").write_text(json.dumps(result, indent=2, default=str))
    markdown = _markdown(result)
    (RESULTS / "search_text.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
