"""Does the text analysis of the catalog's language pay? Plain BM25 on an English catalog.

Home Depot's product titles (English) with graded human judgments
(``../shared/realdata/homedepot-search``, read its ``SOURCE.md``): every title is indexed with
bm25s through :class:`~vitrina.core.search.lexical.BM25Index` — no query understanding, no
synonyms, no semantic retrieval — once per analyser (Spanish, Portuguese, English), and every
judged query is searched as typed. NDCG@10 takes gain = relevance − 1 (1 = irrelevant,
3 = perfect), linear, over the judged products of each query (unjudged products gain 0);
queries whose judged products are all irrelevant are left out. The difference English −
Spanish comes with a 95 % bootstrap interval over queries.

Writes ``benchmarks/results/search_language.json`` and ``search_language.md``.

    python benchmarks/search_language.py [--data ../shared/realdata/homedepot-search]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from machine import describe, summary

from vitrina.core.metrics.ranking import ndcg
from vitrina.core.metrics.relevance import PAD, Truth, judge
from vitrina.core.search.languages import LANGUAGES
from vitrina.core.search.lexical import BM25Index

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_DATA = REPO.parent / "shared" / "realdata" / "homedepot-search"
K = 10


def _truth(judgments: pd.DataFrame, row_of: dict[str, int]) -> tuple[list[str], Truth]:
    queries = sorted(judgments["search_term"].unique())
    index = {q: i for i, q in enumerate(queries)}
    return queries, Truth.from_pairs(
        judgments["search_term"].map(index).to_numpy(),
        judgments["product_uid"].map(row_of).to_numpy(),
        (judgments["relevance"] - 1.0).to_numpy(),
        n_queries=len(queries),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    products = pd.read_csv(args.data / "products.csv", dtype={"product_uid": str})
    judgments = pd.read_csv(args.data / "judgments.csv", dtype={"product_uid": str})
    ids = products["product_uid"].tolist()
    titles = products["product_title"].fillna("").astype(str).tolist()
    queries, truth = _truth(judgments, {p: i for i, p in enumerate(ids)})
    per_query: dict[str, np.ndarray] = {}
    rows: dict[str, dict[str, Any]] = {}
    for language in LANGUAGES:
        started = time.perf_counter()
        index = BM25Index.build(ids, titles, language=language)
        built = time.perf_counter() - started
        ranked = np.full((len(queries), K), PAD, dtype=np.int64)
        empty = 0
        for q, query in enumerate(queries):
            hits = index.search(query, K).rows
            ranked[q, : hits.size] = hits
            empty += hits.size == 0
        values = ndcg(judge(ranked, truth), K, transform="linear")
        per_query[language] = values
        rows[language] = {
            "ndcg@10": float(np.nanmean(values)),
            "queries": int(np.isfinite(values).sum()),
            "zero_result_queries": empty,
            "index_seconds": round(built, 1),
            "seconds": round(time.perf_counter() - started, 1),
        }
    difference = (per_query["en"] - per_query["es"])[np.isfinite(per_query["es"])]
    rng = np.random.default_rng(0)
    boot = [difference[rng.integers(0, difference.size, difference.size)].mean() for _ in range(2000)]
    result: dict[str, Any] = {
        "machine": describe(),
        "data": str(args.data),
        "products": len(ids),
        "judged_queries": len(queries),
        "models": rows,
        "en_minus_es": {
            "mean": float(difference.mean()),
            "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "queries_better": int((difference > 1e-9).sum()),
            "queries_worse": int((difference < -1e-9).sum()),
        },
    }
    lines = [
        "# Plain BM25 on Home Depot titles, by analyser",
        "",
        summary(result["machine"]),
        "",
        f"{len(ids):,} products, {len(queries):,} judged queries; NDCG@10, gain = relevance − 1.",
        "",
        "| analyser | NDCG@10 | queries | zero-result queries |",
        "|---|---|---|---|",
        *(
            f"| {lang} | {r['ndcg@10']:.4f} | {r['queries']} | {r['zero_result_queries']} |"
            for lang, r in rows.items()
        ),
        "",
        f"English − Spanish: {result['en_minus_es']['mean']:+.4f} (95 % CI "
        f"{result['en_minus_es']['ci95'][0]:+.4f} … {result['en_minus_es']['ci95'][1]:+.4f}); "
        f"{result['en_minus_es']['queries_better']} queries better, "
        f"{result['en_minus_es']['queries_worse']} worse.",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search_language.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "search_language.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
