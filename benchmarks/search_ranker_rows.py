"""Which training rows and labels the search ranker learns what from, on one trained home.

Fitted on every candidate of its training searches, the ranker (``hybrid_ltr``) leads every
model on held-out clicks but trails BM25 after query understanding (``bm25_qu``) on the
simulator's qrels for exact, typo, synonym and partial queries (``benchmarks/search.py``). This
benchmark re-builds the ranker's training frame exactly as
``vitrina train search`` does (same searches, candidates, point-in-time signals, position-bias
weights, seed) from a home's served index version, refits the ranker on variants of its rows and
labels, and scores each on the qrels (by query type) and on the held-out searches, twice: NDCG@10
of the clicks over everything the model returns (``held_out_logs``, the pipeline's report), and
the IPS-weighted DCG@10 of the shown page the model re-orders (``held_out_ips_dcg``,
:mod:`vitrina.core.evaluation.shown_pages`: free of the logging policy's exposure bias), with
the one-sided paired test of each variant against ``all_candidates`` on it:

* ``all_candidates``: the pipeline's frame, every candidate (its numbers reproduce the pipeline's
  report when the pipeline serves it: ADR-0050);
* ``shown_only``: only the products the logging policy showed (a candidate nobody was shown
  could not be clicked: its 0 says nothing about relevance), the pipeline's challenger;
* ``retrieved_only``: without the shown products neither retriever returns (serving never
  ranks such a row);
* ``no_ips``: all row weights 1 (no position-bias correction);
* ``binary_labels``: a purchase labelled like a click.

Nothing here chooses a served setting: the qrels are the simulator's test, read only to explain;
the pipeline chooses between ``all_candidates`` and ``shown_only`` on ``held_out_ips_dcg``.

    python benchmarks/search_ranker_rows.py --home DIR [--variants all_candidates shown_only]
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

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.models.search_index import LoadedVersion, SemanticRetriever, load_version
from vitrina.config import Settings, get_settings
from vitrina.core.evaluation.search_rankings import (
    JudgedQueries,
    evaluate_rankings,
    judged_from_logs,
    judged_from_qrels,
)
from vitrina.core.evaluation.shown_pages import shown_page_ips_dcg
from vitrina.core.ranking.training_set import RankingFrame
from vitrina.core.recs.paired import p_better
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.propensity import PositionBias
from vitrina.core.search.ranker_features import RankingContext
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.types import Hits, ParsedQuery
from vitrina.pipelines.search.corpus import read_search_inputs
from vitrina.pipelines.search.logs import LogWindows, log_windows, read_search_logs
from vitrina.pipelines.search.ranker_training import (
    fit_ranker,
    held_out_pages,
    held_out_searches,
    page_ips_dcg,
    shown_rows,
    training_frame,
    training_searches,
)
from vitrina.pipelines.search.run_record import SearchConfig
from vitrina.pipelines.search.signals import compute_signals

RESULTS = Path(__file__).parent / "results"
BASE = "all_candidates"
"""The variant every other is tested against: the pipeline's incumbent."""


def _engine(settings: Settings, version: LoadedVersion, as_of: pd.Timestamp) -> SearchEngine:
    """The pipeline's ``engine_as_of``: the version's models with signals as of ``as_of``."""
    analyzer = version.understanding.analyzer
    signals = compute_signals(settings, version.products, as_of, analyzer.normalise)
    return SearchEngine(
        understanding=version.understanding,
        lexical=version.lexical,
        semantic=SemanticRetriever(version.encoder, version.semantic),
        products=version.products,
        context=RankingContext.build(version.products, signals, analyzer.analyse),
        ranker=None,
        rules=SearchRules.build(version.products.frame),
        index_version=version.name,
        model_version="benchmark",
        language=version.language,
    )


def _frame(
    settings: Settings, version: LoadedVersion, logs: pd.DataFrame, windows: LogWindows, config: SearchConfig
) -> tuple[RankingFrame, pd.DataFrame, PositionBias]:
    """The training frame of the pipeline's ranker step, the searches it was built from and the
    position bias weighting it."""
    engine = _engine(settings, version, windows.t_rank)
    searches = training_searches(logs, windows, config)
    frame, bias = training_frame(
        settings,
        logs,
        windows,
        searches,
        version.products,
        read_search_inputs(settings).catalog,
        version.understanding,
        engine,
        version.understanding.analyzer,
    )
    engine.close()
    return frame, searches, bias


def _variants(frame: RankingFrame, searches: pd.DataFrame, version: LoadedVersion) -> dict[str, RankingFrame]:
    was_shown = shown_rows(frame, searches, version.products)
    retrieved = frame.features[["bm25", "semantic"]].notna().any(axis=1).to_numpy()
    return {
        "all_candidates": frame,
        "shown_only": frame.take(was_shown),
        "retrieved_only": frame.take(retrieved),
        "no_ips": frame.with_weights(None),
        "binary_labels": RankingFrame(
            frame.features, np.minimum(frame.labels, 1), frame.groups, frame.users, frame.items, frame.weights
        ),
    }


Judged = tuple[JudgedQueries, list[ParsedQuery], list[tuple[Hits, Hits]]]


def _score(engine: SearchEngine, sets: dict[str, Judged], mode: str) -> dict[str, Any]:
    out = {}
    for name, (queries, parsed, hits) in sets.items():
        lists = [
            engine.rank(p, lexical, semantic if mode != "bm25" else Hits.empty(), user_id=user, k=100,
                        mode=mode).rows  # type: ignore[arg-type]
            for p, (lexical, semantic), user in zip(parsed, hits, queries.user_ids, strict=True)
        ]  # fmt: skip
        out[name] = evaluate_rankings(queries, lists)
    return out


def _row(scores: dict[str, Any]) -> dict[str, float]:
    qrels = scores["qrels"]
    row = {"qrels": float(qrels["ndcg@10"])}
    row |= {kind: float(v["ndcg@10"]) for kind, v in qrels["by_query_type"].items()}
    row["held_out_logs"] = float(scores["logs"]["ndcg@10"])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", required=True, help="A home `vitrina train search` has run on.")
    parser.add_argument("--variants", nargs="+", help="Row variants to fit (default: all).")
    args = parser.parse_args()
    settings = get_settings(home=Path(args.home))
    config = SearchConfig()
    version = load_version(settings)
    logs = read_search_logs(settings)
    windows = log_windows(logs, config.eval_days, config.ranker_days)
    if windows is None:
        raise SystemExit("this home's search logs are too short to train a ranker")
    started = time.perf_counter()
    frame, searches, bias = _frame(settings, version, logs, windows, config)
    frame_s = time.perf_counter() - started
    engine = _engine(settings, version, windows.t_eval)
    analyzer = version.understanding.analyzer
    held = held_out_searches(logs, windows, config)
    pages = held_out_pages(
        settings, windows.t_eval, held, version.products, version.understanding, engine, analyzer, bias
    )
    judged = {
        "qrels": judged_from_qrels(load_truth(settings).qrels, version.products.rows_of),
        "logs": judged_from_logs(
            logs[logs["ts"] >= windows.t_eval],
            version.products.rows_of,
            max_queries=config.max_eval_searches,
            seed=config.seed,
        ),
    }
    sets: dict[str, Judged] = {}
    for name, queries in judged.items():
        parsed = [engine.understanding.parse(text) for text in queries.texts]
        sets[name] = (queries, parsed, [engine.retrieve(p) for p in parsed])
    rows = {"bm25_qu": _row(_score(engine, sets, "bm25"))}
    bm25 = np.nan_to_num(pages.features["bm25"].to_numpy(np.float64), nan=-np.inf)
    rows["bm25_qu"]["held_out_ips_dcg"] = float(
        shown_page_ips_dcg(pages.groups, bm25, pages.labels, pages.row_weights).mean()
    )
    views = pages.features["log_views_7d"].to_numpy(np.float64)  # the page by popularity alone
    rows["log_views_7d (page only)"] = {
        "held_out_ips_dcg": float(
            shown_page_ips_dcg(pages.groups, views, pages.labels, pages.row_weights).mean()
        )
    }
    rankers: dict[str, Any] = {}
    per_search: dict[str, np.ndarray] = {}
    variants = _variants(frame, searches, version)
    for name, variant in variants.items():
        if args.variants and name not in args.variants:
            continue
        ranker = fit_ranker(variant, config)
        engine.ranker = ranker
        rows[f"hybrid_ltr · {name}"] = _row(_score(engine, sets, "hybrid_ltr"))
        per_search[name] = page_ips_dcg(ranker, pages)
        rows[f"hybrid_ltr · {name}"]["held_out_ips_dcg"] = float(per_search[name].mean())
        gain = ranker.booster.feature_importance("gain") if ranker.booster is not None else np.zeros(1)
        share = gain / max(float(gain.sum()), 1e-12)
        names = ranker.feature_names
        top = sorted(zip(names, share.round(3).tolist(), strict=True), key=lambda p: -p[1])[:5]
        views_share = float(dict(zip(names, share.tolist(), strict=True)).get("log_views_7d", 0.0))
        rankers[name] = {"rows": len(variant), "valid_ndcg@10": ranker.best_ndcg, "top_gain": top}
        rankers[name]["views_share"] = views_share
    engine.close()
    tests = {
        name: {"p_better": p_better(scores, per_search[BASE]), "p_worse": p_better(per_search[BASE], scores)}
        for name, scores in per_search.items() if name != BASE and BASE in per_search
    }  # fmt: skip
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": describe(),
        "home": args.home,
        "version": version.name,
        "frame_seconds": frame_s,
        "frame_rows": len(frame),
        "searches": len(searches),
        "held_out_pages": {"searches": int(np.unique(pages.groups).size), "rows": len(pages)},
        "paired_ips_dcg_vs_all_candidates": tests,
        "table": rows,
        "rankers": rankers,
    }
    table = pd.DataFrame(rows).T
    header = f"{result['when']} · {summary(result['machine'])} · home {args.home} · version {version.name}"
    lines = ["# Search ranker: training rows and labels", "", header, "",
             f"{len(searches):,} training searches, {len(frame):,} rows; held-out pages: "
             f"{result['held_out_pages']['searches']:,} searches, {len(pages):,} shown rows.", "",
             "| model | "
             + " | ".join(table.columns) + " |", "|---|" + "---:|" * len(table.columns)]  # fmt: skip
    lines += [
        f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |" for name, values in table.iterrows()
    ]
    lines += ["", "| variant | rows | valid NDCG@10 | top features by gain share |", "|---|---:|---:|---|"]
    lines += [
        f"| {name} | {r['rows']:,} | {r['valid_ndcg@10']:.4f} | "
        + ", ".join(f"{f} {s}" for f, s in r["top_gain"])
        + " |"
        for name, r in rankers.items()
    ]
    lines += ["", "| vs all_candidates (held_out_ips_dcg, one-sided paired t-test) | p better | p worse |",
              "|---|---:|---:|"]  # fmt: skip
    lines += [f"| {name} | {t['p_better']:.3g} | {t['p_worse']:.3g} |" for name, t in tests.items()]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_ranker_rows.json").write_text(json.dumps(result, indent=2, default=str))
    (RESULTS / "search_ranker_rows.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
