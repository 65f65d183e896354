"""Semantic retrieval benchmark: fine-tuning, encoders, HNSW-SQ8 index.

On a validated home (default: a fresh demo marketplace in a temporary folder), one run:

1. fine-tunes all-MiniLM-L6-v2 on (query, clicked, shown-not-clicked) triples of the logs
   before the last 7 days (time-bounded), exports base and tuned models to ONNX (fp32 + int8);
2. encodes the catalog (torch vs ONNX fp32 throughput on a sample, then all products with
   the faster) and builds the HNSW-SQ8 index;
3. measures query-encoding latency one query at a time (torch fp32, ONNX fp32, ONNX int8,
   cached) and HNSW search latency and its recall against exact search;
4. scores base vs tuned, as served (int8 queries through the index), against the simulator's
   qrels (NDCG@10, Recall@100, MRR, per query type) and the held-out clicks of the last 7 days.

Writes ``benchmarks/results/search_semantic.json`` and ``search_semantic.md``.

    python benchmarks/search_semantic.py [--home DIR] [--scale demo] [--max-seconds 360]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
import torch
from machine import describe, summary
from world_end import add_world_end

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import get_settings
from vitrina.core.ranking.ann import brute_force_top_k
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.semantic.encoder import QueryEncoder, encode_products
from vitrina.core.search.semantic.finetune import FinetuneConfig, base_model_path, finetune, load_model
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.semantic.onnx_export import export_onnx
from vitrina.core.search.semantic.retrieval_quality import exact_ranker, index_ranker, retrieval_report
from vitrina.core.search.semantic.triples import held_out_clicks, holdout_start, id_texts, training_triples
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace

RESULTS = Path(__file__).parent / "results"
HOLDOUT_DAYS = 7
BUDGET_S = 900.0
N_LATENCY = 300
SPEED_SAMPLE = 1000
T = TypeVar("T")


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def _latency_ms(function: Callable[[T], Any], inputs: Sequence[T]) -> dict[str, float]:
    """p50 / p95 / mean milliseconds of ``function`` called once per input (after a warm-up)."""
    for item in inputs[:10]:
        function(item)
    times = []
    for item in inputs:
        started = time.perf_counter()
        function(item)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "mean_ms": float(np.mean(times))}


def _load(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with Warehouse.from_settings(get_settings(home=home)) as warehouse:
        logs = warehouse.connection.sql("SELECT * FROM search_logs").df()
        catalog = warehouse.connection.sql("SELECT * FROM catalog ORDER BY product_id").df()
    return logs, catalog


def _encoding_speed(texts: list[str], tuned: Path, tuned_onnx: Path) -> dict[str, float]:
    """Products per second of each batch backend on the same sample, all cores."""
    sample = texts[:SPEED_SAMPLE]
    _, torch_s = _timed(lambda: encode_products(sample, model_dir=tuned, backend="torch"))
    _, onnx_s = _timed(lambda: encode_products(sample, onnx_dir=tuned_onnx))
    return {"torch_fp32_per_s": len(sample) / torch_s, "onnx_fp32_per_s": len(sample) / onnx_s}


def _query_latency(tuned: Path, tuned_onnx: Path, queries: list[str]) -> dict[str, dict[str, float]]:
    torch.set_num_threads(1)  # one request, one core: as served
    model = load_model(tuned)
    int8 = QueryEncoder.load(tuned_onnx)
    fp32 = QueryEncoder.load(tuned_onnx, quantized=False)
    result = {
        "torch_fp32": _latency_ms(lambda q: model.encode([q], normalize_embeddings=True), queries),
        "onnx_fp32": _latency_ms(fp32.encode_uncached, queries),
        "onnx_int8": _latency_ms(int8.encode_uncached, queries),
    }
    for query in queries:
        int8.encode(query)
    result["onnx_int8_cached"] = _latency_ms(int8.encode, queries)
    return result


def _index_speed(index: SemanticIndex, vectors: np.ndarray, products: np.ndarray) -> dict[str, float]:
    latency = _latency_ms(lambda vector: index.search(vector, k=100), list(vectors))
    exact, _ = brute_force_top_k(vectors, products, 100)
    found = index.search_batch(vectors, 100)
    overlap = [len(set(h.rows.tolist()) & set(e.tolist())) / 100 for h, e in zip(found, exact, strict=True)]
    return {**latency, "recall@100_vs_exact": float(np.mean(overlap)), "ef_search": index.ef_search}


def _quality(
    name: str, onnx_dir: Path, products: np.ndarray, ids: list[str], qrels: pd.DataFrame, held: pd.DataFrame
) -> dict[str, Any]:
    encoder = QueryEncoder.load(onnx_dir)
    index = SemanticIndex.build(products)
    served = index_ranker(encoder.encode_batch, index)
    truth = retrieval_report(served, ids, qrels, by="query_type")
    clicks = retrieval_report(served, ids, held)
    exact = retrieval_report(exact_ranker(encoder.encode_batch, products), ids, qrels)
    print(f"{name}: qrels {truth.metrics} held-out {clicks.metrics}", flush=True)
    return {
        "qrels": truth.metrics,
        "qrels_queries": truth.queries,
        "qrels_by_query_type": truth.by_group,
        "qrels_exact_search": exact.metrics,
        "held_out_clicks": clicks.metrics,
        "held_out_queries": clicks.queries,
    }


def run(home: Path, work: Path, config: FinetuneConfig) -> dict[str, Any]:
    logs, catalog = _load(home)
    truth = load_truth(get_settings(home=home))
    ids = catalog["product_id"].tolist()
    texts = catalog_texts(catalog)
    start = holdout_start(logs, HOLDOUT_DAYS)
    triples = training_triples(logs, until=start, max_examples=config.max_examples, seed=config.seed)
    held = held_out_clicks(logs, since=start)
    torch.set_num_threads(2)
    steps: dict[str, float] = {}
    product_texts = id_texts(ids, texts)
    report, steps["fine-tune"] = _timed(lambda: finetune(triples, product_texts, work / "tuned", config))
    print(f"fine-tuned: {report}", flush=True)
    _, steps["ONNX export (tuned)"] = _timed(lambda: export_onnx(work / "tuned", work / "tuned-onnx"))
    speed = _encoding_speed(texts, work / "tuned", work / "tuned-onnx")
    onnx_faster = speed["onnx_fp32_per_s"] >= speed["torch_fp32_per_s"]
    best: Literal["onnx", "torch"] = "onnx" if onnx_faster else "torch"
    tuned_vectors, steps["product encoding"] = _timed(
        lambda: encode_products(texts, onnx_dir=work / "tuned-onnx", model_dir=work / "tuned", backend=best)
    )
    index, steps["index build"] = _timed(lambda: SemanticIndex.build(tuned_vectors))
    index.save(work / "index")
    export_onnx(base_model_path(), work / "base-onnx")
    base_vectors = encode_products(texts, onnx_dir=work / "base-onnx")
    sample = truth.queries["query"].drop_duplicates().sample(N_LATENCY, random_state=0).tolist()
    query_vectors = QueryEncoder.load(work / "tuned-onnx").encode_batch(sample)
    qrels = truth.qrels
    quality = {
        "semantic_base": _quality("base", work / "base-onnx", base_vectors, ids, qrels, held),
        "semantic_tuned": _quality("tuned", work / "tuned-onnx", tuned_vectors, ids, qrels, held),
    }
    return {
        "finetune": asdict(report),
        "triples": {"before_holdout": len(training_triples(logs, until=start)), "used": len(triples)},
        "holdout_start": start.isoformat(),
        "steps_s": steps,
        "budget_s": sum(steps.values()),
        "product_encoding": {**speed, "backend": best, "products": len(texts)},
        "query_latency": _query_latency(work / "tuned", work / "tuned-onnx", sample),
        "hnsw_search": _index_speed(index, query_vectors, tuned_vectors),
        "quality": quality,
    }


def _bars(result: dict[str, Any]) -> dict[str, bool]:
    base, tuned = (result["quality"][m]["qrels"] for m in ("semantic_base", "semantic_tuned"))
    latency = result["query_latency"]
    return {
        "fine-tune + export + encode + index <= 900 s": result["budget_s"] <= BUDGET_S,
        "fine-tune <= 360 s": result["steps_s"]["fine-tune"] <= 360,
        "tuned NDCG@10 > base (qrels)": tuned["ndcg@10"] > base["ndcg@10"],
        "tuned Recall@100 >= base (qrels)": tuned["recall@100"] >= base["recall@100"],
        "int8 query p95 < torch p95": latency["onnx_int8"]["p95_ms"] < latency["torch_fp32"]["p95_ms"],
        "HNSW recall@100 vs exact >= 0.95": result["hnsw_search"]["recall@100_vs_exact"] >= 0.95,
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Semantic retrieval benchmark",
        "",
        f"{result['when']} · {summary(result['machine'])} · home {result['home']}",
        "",
        "## Quality, as served (int8 query encoder → HNSW-SQ8 over fp32 product vectors)",
        "",
        "| model | NDCG@10 qrels | Recall@100 qrels | MRR qrels | NDCG@10 exact | "
        "Recall@10 held-out clicks | NDCG@10 held-out clicks |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, q in result["quality"].items():
        cells = [q["qrels"]["ndcg@10"], q["qrels"]["recall@100"], q["qrels"]["mrr"]]
        cells += [q["qrels_exact_search"]["ndcg@10"], q["held_out_clicks"]["recall@10"]]
        cells += [q["held_out_clicks"]["ndcg@10"]]
        lines.append(f"| {name} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
    base, tuned = (result["quality"][m]["qrels_by_query_type"] for m in ("semantic_base", "semantic_tuned"))
    lines += ["", "| query type | NDCG@10 base | NDCG@10 tuned | gain |", "|---|---:|---:|---:|"]
    for kind in sorted(tuned):
        b, t = base[kind]["ndcg@10"], tuned[kind]["ndcg@10"]
        lines.append(f"| {kind} | {b:.4f} | {t:.4f} | {t - b:+.4f} |")
    lines += ["", "## Time (2 cores)", "", "| step | seconds |", "|---|---:|"]
    lines += [f"| {step} | {seconds:.1f} |" for step, seconds in result["steps_s"].items()]
    lines.append(f"| **total** | **{result['budget_s']:.1f}** |")
    ft, enc = result["finetune"], result["product_encoding"]
    batch = ft["config"]["batch_size"]
    seen = ft["steps"] * batch
    lines += [
        "",
        f"Fine-tuning: {ft['steps']} steps of {batch} triples ({min(seen, ft['examples']):,} of the "
        f"{ft['examples']:,} sampled from {result['triples']['before_holdout']:,} before the hold-out), "
        f"mean loss {ft['train_loss']:.3f}, stopped by the time bound: "
        f"{'yes' if ft['stopped_by_time'] else 'no'}.",
        f"Product encoding (batch, all cores, {SPEED_SAMPLE:,} products): torch fp32 "
        f"{enc['torch_fp32_per_s']:,.0f}/s, ONNX fp32 {enc['onnx_fp32_per_s']:,.0f}/s → {enc['backend']}.",
        "",
        "| query encoder (1 thread, one query) | p50 ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for name, lat in result["query_latency"].items():
        lines.append(f"| {name} | {lat['p50_ms']:.3f} | {lat['p95_ms']:.3f} |")
    hnsw = result["hnsw_search"]
    lines += [
        f"| HNSW-SQ8 search, k=100, efSearch {hnsw['ef_search']} | {hnsw['p50_ms']:.2f} | "
        f"{hnsw['p95_ms']:.2f} |",
        "",
        f"HNSW recall@100 against exact search: {hnsw['recall@100_vs_exact']:.4f}.",
        "",
        "| bar | met |",
        "|---|---|",
    ]
    lines += [f"| {bar} | {'yes' if ok else '**no**'} |" for bar, ok in result["bars"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="a validated vitrina home; default: generate one")
    add_world_end(parser)
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--max-examples", type=int, default=FinetuneConfig.max_examples)
    parser.add_argument("--max-seconds", type=float, default=FinetuneConfig.max_seconds)
    args = parser.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="vitrina-bench-semantic-"))
    if not args.home:
        settings = get_settings(home=home)
        generate_marketplace(
            settings, scale=args.scale, seed=42, drift=None, end_date=args.world_end, catalog_to=None
        )
        validate_lake(settings, max_invalid_share=settings.max_invalid_share)
    config = FinetuneConfig(max_examples=args.max_examples, max_seconds=args.max_seconds)
    with tempfile.TemporaryDirectory(prefix="search-semantic-") as work:
        result = run(home, Path(work), config)
    result |= {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": describe(),
        "home": str(home),
    }
    result["bars"] = _bars(result)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_semantic.json").write_text(json.dumps(result, indent=2, default=str))
    markdown = _markdown(result)
    (RESULTS / "search_semantic.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
