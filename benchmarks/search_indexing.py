"""Catalog embedding throughput and the quality of int8 product vectors.

Building a search index embeds every product text with the bi-encoder (base MiniLM when the
shop has no search logs). On two real-size catalogs — the homedepot-search titles (54,667,
English, with the shop's judgments) and the simulator's demo catalog (20,000, Spanish, with
its qrels) — one run measures, on the same machine and in the same run:

1. **throughput** on a fixed sample of each catalog: torch fp32 (sentence-transformers
   ``encode``), the fp32 ONNX graph in batches of 64 (how indexes were built before), and the
   int8 ONNX graph in length-sorted batches of several sizes (all with one thread per core);
2. **the whole catalog** embedded as the pipeline now does it (int8, batches of
   ``PRODUCT_BATCH``, through an empty vector cache), then again after 1 % of the titles
   changed (the cache encodes only those), and once with the fp32 graph (the baseline);
3. **quality**: the int8 query encoder (as served) against int8 vs fp32 product vectors,
   exact cosine search and the served HNSW-SQ8 index, NDCG@10 (gain = grade), Recall@100 and
   MRR on the homedepot judgments and on the demo's qrels; and the cosine between each
   product's int8 and fp32 vector.

The machine is shared, so the 1-minute load is recorded around every timed step.
Writes ``docs/benchmarks/search_indexing.json`` and ``search_indexing.md``.

    python benchmarks/search_indexing.py [--homedepot-home DIR] [--demo-home DIR] [--sample 2000]

Without ``--homedepot-home`` the example mapping is imported into a temporary home; without
``--demo-home`` a demo marketplace is generated (a minute or two).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from machine import describe, summary
from world_end import WORLD_END

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings, get_settings
from vitrina.core.search.product_text import catalog_texts
from vitrina.core.search.semantic.embedding_cache import EmbeddingCache, embed_with_cache
from vitrina.core.search.semantic.encoder import PRODUCT_BATCH, Precision, QueryEncoder, encode_products
from vitrina.core.search.semantic.finetune import base_model_path
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.semantic.onnx_export import export_onnx
from vitrina.core.search.semantic.retrieval_quality import exact_ranker, index_ranker, retrieval_report

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks"
EXAMPLE = ROOT / "examples" / "homedepot-search"
REALDATA = ROOT.parent / "shared" / "realdata" / "homedepot-search"
BATCHES = (32, 64, 128, 256)
TARGET_PER_S = 500.0
CHANGED_SHARE = 0.01
METRICS = ("ndcg@10", "recall@100", "mrr")


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _timed(function: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """``function()``, its wall seconds and the CPU seconds of this process (all its threads),
    with the 1-minute load before and after. On a busy machine wall time measures the
    neighbours too; CPU seconds do not (``per_cpu_s`` x cores is what an idle machine would
    give at best)."""
    before = _load()
    started, cpu = time.perf_counter(), time.process_time()
    value = function()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return value, {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "load_before": before,
        "load_after": _load(),
    }


def _rates(n: int, timing: dict[str, float]) -> dict[str, float]:
    return {
        **timing,
        "per_s": round(n / timing["seconds"], 1),
        "per_cpu_s": round(n / max(timing["cpu_seconds"], 1e-9), 1),
    }


def _homedepot_home(given: str | None, work: Path) -> Settings:
    if given:
        return get_settings(home=Path(given))
    from vitrina.pipelines.import_tables import import_mapping
    from vitrina.pipelines.validate import validate_lake

    home = work / "homedepot"
    home.mkdir()
    (home / "vitrina.yaml").write_text((EXAMPLE / "vitrina.yaml").read_text())
    settings = get_settings(home=home)
    import_mapping(settings, EXAMPLE / "mapping.yaml", data_dir=REALDATA)
    validate_lake(settings, max_invalid_share=0.0)
    return settings


def _demo_home(given: str | None, work: Path) -> Settings:
    if given:
        return get_settings(home=Path(given))
    from vitrina.pipelines.validate import validate_lake
    from vitrina.simulator.generate import generate_marketplace

    settings = get_settings(home=work / "demo")
    generate_marketplace(settings, scale="demo", seed=42, drift=None, end_date=WORLD_END, catalog_to=None)
    validate_lake(settings, max_invalid_share=settings.max_invalid_share)
    return settings


def _catalog(settings: Settings, limit: int | None) -> pd.DataFrame:
    with Warehouse.from_settings(settings) as warehouse:
        frame = warehouse.df("SELECT * FROM catalog ORDER BY product_id")
    return frame if limit is None else frame.head(limit)


def _homedepot_judgments(settings: Settings) -> pd.DataFrame:
    with Warehouse.from_settings(settings) as warehouse:
        frame = warehouse.df("SELECT query, product_id, grade FROM judgments")
    return frame.rename(columns={"grade": "relevance"})


def _speed(texts: list[str], onnx_dir: Path, sample: int, seed: int) -> dict[str, Any]:
    """Products per second of each way of embedding, on the same random sample of ``texts``."""
    rng = np.random.default_rng(seed)
    chosen = [texts[i] for i in rng.choice(len(texts), size=min(sample, len(texts)), replace=False)]
    encode_products(chosen[:64], onnx_dir=onnx_dir)  # warm the page cache and the allocator
    runs: dict[str, Callable[[], Any]] = {
        "torch fp32, batch 64": lambda: encode_products(chosen, model_dir=base_model_path(), backend="torch"),
        "onnx fp32, batch 64 (before)": lambda: encode_products(
            chosen, onnx_dir=onnx_dir, precision="fp32", batch_size=64
        ),
    }
    for batch in BATCHES:
        runs[f"onnx int8, batch {batch}"] = functools.partial(
            encode_products, chosen, onnx_dir=onnx_dir, batch_size=batch
        )
    result: dict[str, Any] = {}
    for name, run in runs.items():
        _, timing = _timed(run)
        result[name] = _rates(len(chosen), timing)
        print(f"  {name}: {result[name]['per_s']:.0f}/s (load {timing['load_before']})", flush=True)
    return {"sample": len(chosen), "runs": result}


def _changed(texts: list[str], share: float, seed: int) -> tuple[list[str], int]:
    """``texts`` with ``share`` of them edited (a word appended), and how many."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(texts), size=max(1, int(len(texts) * share)), replace=False)
    edited = list(texts)
    for row in rows:
        edited[row] = f"{edited[row]} (new)"
    return edited, len(rows)


def _full(texts: list[str], onnx_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The whole catalog: int8 through an empty cache, again with 1 % edited, fp32 once."""
    encode: Callable[[list[str]], np.ndarray] = lambda fresh: encode_products(fresh, onnx_dir=onnx_dir)  # noqa: E731
    first, cold = _timed(lambda: embed_with_cache(texts, encode, EmbeddingCache.empty("int8")))
    edited, n_edited = _changed(texts, CHANGED_SHARE, seed=1)
    second, warm = _timed(lambda: embed_with_cache(edited, encode, first.cache))
    fp32, fp32_timing = _timed(
        lambda: encode_products(texts, onnx_dir=onnx_dir, precision="fp32", batch_size=64)
    )
    n = len(texts)
    report: dict[str, Any] = {
        "products": n,
        "distinct_texts": len(first.cache),
        "int8_cold_cache": {**_rates(n, cold), "embedded": first.n_embedded},
        "int8_after_edits": {
            **_rates(n, warm),
            "edited": n_edited,
            "embedded": second.n_embedded,
            "reused": second.n_reused,
        },
        "fp32_batch64_before": _rates(n, fp32_timing),
    }
    for name in ("int8_cold_cache", "int8_after_edits", "fp32_batch64_before"):
        print(f"  {name}: {report[name]['per_s']:.0f}/s in {report[name]['seconds']:.1f} s", flush=True)
    return {"int8": first.vectors, "fp32": np.asarray(fp32)}, report


def _quality(
    vectors: dict[str, np.ndarray], onnx_dir: Path, ids: list[str], judged: pd.DataFrame
) -> dict[str, Any]:
    queries = QueryEncoder.load(onnx_dir)
    cosine = np.sum(vectors["int8"] * vectors["fp32"], axis=1)
    result: dict[str, Any] = {
        "product_cosine_int8_vs_fp32": {
            "mean": round(float(cosine.mean()), 5),
            "p01": round(float(np.percentile(cosine, 1)), 5),
            "min": round(float(cosine.min()), 5),
        }
    }
    precision: Precision
    for precision in ("fp32", "int8"):
        matrix = vectors[precision]
        exact = retrieval_report(exact_ranker(queries.encode_batch, matrix), ids, judged, METRICS)
        served = retrieval_report(
            index_ranker(queries.encode_batch, SemanticIndex.build(matrix)), ids, judged, METRICS
        )
        result[f"{precision}_products"] = {
            "queries": exact.queries,
            "exact": {k: round(v, 4) for k, v in exact.metrics.items()},
            "hnsw_sq8": {k: round(v, 4) for k, v in served.metrics.items()},
        }
        print(f"  {precision} products: exact {exact.metrics} served {served.metrics}", flush=True)
    return result


def _catalog_run(
    name: str, texts: list[str], ids: list[str], judged: pd.DataFrame, onnx: Path, sample: int
) -> dict[str, Any]:
    print(f"{name}: {len(texts):,} products, {judged['query'].nunique():,} judged queries", flush=True)
    speed = _speed(texts, onnx, sample, seed=0)
    vectors, full = _full(texts, onnx)
    return {"speed": speed, "full": full, "quality": _quality(vectors, onnx, ids, judged)}


def _cells(row: dict[str, float]) -> str:
    return f"{row['seconds']:.1f} | {row['per_s']:,.0f} | {row['per_cpu_s']:,.0f} | {row['load_before']}"


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Catalog embedding: throughput and int8 quality",
        "",
        f"{result['date']} · {summary(result['machine'])} · "
        f"1-min load at start {result['machine']['load_1m']}, at end {result['load_1m_at_end']}",
        "",
        f"Command: `{result['command']}`",
        "",
        "The machine is shared with other jobs: each row gives the 1-minute load before it ran "
        "(2 cores: a load above 2 means the run had less than the whole machine), and products "
        "per CPU-second of this process, which the neighbours do not change (times the cores: "
        "the best an idle machine gives).",
        "",
    ]
    for name, run in result["catalogs"].items():
        speed, full, quality = run["speed"], run["full"], run["quality"]
        lines += [
            f"## {name}",
            "",
            f"### Throughput on {speed['sample']:,} products (products embedded per second, 2 threads)",
            "",
            "| encoder | products/s | seconds | products per CPU-second | load before |",
            "|---|---:|---:|---:|---:|",
        ]
        for encoder, row in speed["runs"].items():
            lines.append(
                f"| {encoder} | {row['per_s']:,.0f} | {row['seconds']:.1f} | {row['per_cpu_s']:,.0f} | "
                f"{row['load_before']} |"
            )
        cold, warm, fp32 = full["int8_cold_cache"], full["int8_after_edits"], full["fp32_batch64_before"]
        lines += [
            "",
            f"### The whole catalog ({full['products']:,} products, "
            f"{full['distinct_texts']:,} distinct texts)",
            "",
            "| build | embedded | seconds | products/s | products per CPU-second | load before |",
            "|---|---:|---:|---:|---:|---:|",
            f"| onnx fp32, batch 64 (before) | {full['products']:,} | {_cells(fp32)} |",
            f"| onnx int8, batch {result['product_batch']}, empty cache | {cold['embedded']:,} | "
            f"{_cells(cold)} |",
            f"| same, after {warm['edited']:,} titles changed (cache) | {warm['embedded']:,} | "
            f"{_cells(warm)} |",
            "",
            "### Retrieval quality: int8 queries (as served) against int8 or fp32 product vectors",
            "",
            "| product vectors | search | NDCG@10 | Recall@100 | MRR |",
            "|---|---|---:|---:|---:|",
        ]
        for precision in ("fp32", "int8"):
            block = quality[f"{precision}_products"]
            for search in ("exact", "hnsw_sq8"):
                m = block[search]
                cells = " | ".join(f"{m[metric]:.4f}" for metric in METRICS)
                lines.append(f"| {precision} | {search} | {cells} |")
        cosine = quality["product_cosine_int8_vs_fp32"]
        lines += [
            "",
            f"{quality['int8_products']['queries']:,} judged queries. Cosine between a product's int8 and "
            f"fp32 vector: mean {cosine['mean']:.4f}, 1st percentile {cosine['p01']:.4f}, "
            f"min {cosine['min']:.4f}.",
            "",
        ]
    lines += ["## Bars", "", "| bar | met |", "|---|---|"]
    lines += [f"| {bar} | {'yes' if ok else '**no**'} |" for bar, ok in result["bars"].items()]
    return "\n".join(lines) + "\n"


def _bars(result: dict[str, Any]) -> dict[str, bool]:
    bars = {}
    for name, run in result["catalogs"].items():
        cold = run["full"]["int8_cold_cache"]["per_s"]
        bars[f"{name}: int8 batched ≥ {TARGET_PER_S:.0f} products/s (whole catalog)"] = cold >= TARGET_PER_S
        fp32 = run["quality"]["fp32_products"]["exact"]["ndcg@10"]
        int8 = run["quality"]["int8_products"]["exact"]["ndcg@10"]
        bars[f"{name}: int8 NDCG@10 within 0.005 of fp32 (exact)"] = int8 >= fp32 - 0.005
        warm = run["full"]["int8_after_edits"]
        bars[f"{name}: re-index embeds only the changed titles"] = warm["embedded"] <= warm["edited"]
    return bars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homedepot-home", help="a validated home of the homedepot-search example")
    parser.add_argument("--demo-home", help="a validated home of the simulator's demo marketplace")
    parser.add_argument("--sample", type=int, default=2000, help="products in each throughput sample")
    parser.add_argument("--limit", type=int, help="only the first N products of each catalog (a smoke run)")
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    machine = describe()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="search-indexing-") as tmp:
        work = Path(tmp)
        onnx = work / "onnx"
        export_onnx(base_model_path(), onnx)
        catalogs: dict[str, Any] = {}
        homedepot = _homedepot_home(args.homedepot_home, work)
        catalog = _catalog(homedepot, args.limit)
        catalogs["homedepot-search"] = _catalog_run(
            "homedepot-search",
            catalog_texts(catalog),
            catalog["product_id"].astype(str).tolist(),
            _homedepot_judgments(homedepot),
            onnx,
            args.sample,
        )
        demo = _demo_home(args.demo_home, work)
        catalog = _catalog(demo, args.limit)
        catalogs["simulator demo"] = _catalog_run(
            "simulator demo",
            catalog_texts(catalog),
            catalog["product_id"].astype(str).tolist(),
            load_truth(demo).qrels,
            onnx,
            args.sample,
        )
    result: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/search_indexing.py", *sys.argv[1:]]),
        "machine": machine,
        "load_1m_at_end": _load(),
        "threads": threads,
        "product_batch": PRODUCT_BATCH,
        "seconds": round(time.perf_counter() - started, 1),
        "catalogs": catalogs,
    }
    result["bars"] = _bars(result)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "search_indexing.json").write_text(json.dumps(result, indent=2) + "\n")
    (OUT / "search_indexing.md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
