"""The search pipeline's evaluation step: every model on every relevance source the home has
(the shop's judgments, the simulator's qrels, held-out searches), the fusion weights and the
served mode learnt from one half of the judgments, and the MLflow params that record them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from vitrina.adapters.lake.truth import load_truth
from vitrina.adapters.models.embedding_store import embed_catalog
from vitrina.adapters.models.search_index import SemanticRetriever, base_onnx
from vitrina.config import Settings
from vitrina.core.evaluation.fusion_weight import learn_fusion
from vitrina.core.evaluation.relevance_source import LABELS, gate_source
from vitrina.core.evaluation.search_models import SemanticBatch, batch_semantic, evaluate_search_models
from vitrina.core.evaluation.search_rankings import (
    JudgedQueries,
    judged_from_judgments,
    judged_from_logs,
    judged_from_qrels,
    render_markdown,
    strict_json,
)
from vitrina.core.evaluation.served_mode import JudgedSplit, choose_mode, split_judged, take
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.search.products import ProductTable
from vitrina.core.search.propensity import PositionBias
from vitrina.core.search.semantic.encoder import Precision, QueryEncoder
from vitrina.core.search.semantic.index import SemanticIndex
from vitrina.core.search.types import Int64Array
from vitrina.pipelines.reports import write_report
from vitrina.pipelines.search.judgments import read_judgments
from vitrina.pipelines.search.live_champion import SECTION as LIVE_SECTION
from vitrina.pipelines.search.live_champion import compare_with_served
from vitrina.pipelines.search.logs import LogWindows
from vitrina.pipelines.search.run_record import SearchConfig, SearchRun

PRODUCT_PRECISION: Precision = "int8"
"""Product vectors from the int8 graph, like the queries' (see ``benchmarks/search_indexing.py``)."""


def relevance_params(metrics: dict[str, Any]) -> dict[str, object]:
    """MLflow params naming the relevance the gate read and how many judged queries it had."""
    relevance = metrics.get("relevance", {})
    judged = relevance.get("sources", {}).get("judgments", {})
    return {
        "relevance_source": relevance.get("gate") or "none",
        "judged_queries": judged.get("n_queries", 0),
        "judged_queries_scored": judged.get("n_scored", 0),
        "tuned_on_judgments": bool(relevance.get("tuned_on_judgments", False)),
    }


def served_mode_params(mode: str, chosen: dict[str, Any] | None) -> dict[str, object]:
    """MLflow params naming the served mode and, when judgments chose it, the choice."""
    if not chosen:
        return {"served_mode": mode}
    return {
        "served_mode": mode,
        "served_mode_reason": chosen["reason"],
        "served_mode_selection_queries": chosen["n_selection"],
        "served_mode_gate_queries": chosen["n_gate"],
        **{f"served_mode_selection_ndcg_{m}": v for m, v in chosen["selection"].items()},
    }


def _judged_sources(
    settings: Settings,
    config: SearchConfig,
    run: SearchRun,
    products: ProductTable,
    windows: LogWindows | None,
    logs: pd.DataFrame,
) -> dict[str, JudgedQueries]:
    """Every relevance source this home has, by report section (see ``relevance_source``)."""
    sources: dict[str, JudgedQueries] = {}
    judgments = read_judgments(settings)
    if not judgments.empty:
        sources["judgments"] = judged_from_judgments(judgments, products.rows_of)
    try:
        truth = load_truth(settings)
    except FileNotFoundError:
        run.notes.append("no simulator truth: qrels metrics skipped")
    else:
        sources["models"] = judged_from_qrels(truth.qrels, products.rows_of)
    if windows is not None:
        held_out = logs[logs["ts"] >= windows.t_eval]
        sources["logs"] = judged_from_logs(
            held_out, products.rows_of, max_queries=config.max_eval_searches, seed=config.seed
        )
    return sources


def evaluate_run(
    settings: Settings,
    config: SearchConfig,
    run: SearchRun,
    products: ProductTable,
    windows: LogWindows | None,
    logs: pd.DataFrame,
    engine_as_of: Any,
    ranker: LambdaRanker | None,
    texts: list[str],
    fine_tuned: np.ndarray | None,
    normalise: Callable[[str], str],
    learnt: frozenset[str] = frozenset(),
    bias: PositionBias | None = None,
    ranker_rows: dict[str, Any] | None = None,
    listed_us: Int64Array | None = None,
) -> dict[str, Any]:
    """Every model on every relevance source (``fine_tuned``: the served embeddings when the
    encoder was fine-tuned; None when the base encoder serves, whose index is then reused as
    ``semantic_base`` instead of embedding the catalog twice), plus which source the gate reads.

    Without a ranker, the shop's judgments teach the hybrid's fusion weights and then choose
    the served mode on one half of the judged queries (section ``judgments_selection``) and the
    ``judgments`` section, which the gate reads, holds the other half only. The judged query
    texts the encoder ``learnt`` from are left out of the selection half. ``ranker_rows``: the
    choice of the ranker's training rows (:class:`~vitrina.core.evaluation.shown_pages.RowsChoice`),
    recorded as the report's section of that name. ``listed_us``: when each product row was
    listed (:func:`~vitrina.core.search.ranker_examples.listing_times`); a held-out search then
    ranks only the products listed before it."""
    sources = _judged_sources(settings, config, run, products, windows, logs)
    run.judged_queries = sources["judgments"].texts if "judgments" in sources else []
    split = (
        split_judged(sources["judgments"], normalise) if ranker is None and "judgments" in sources else None
    )
    if split is not None:
        sources["judgments"] = split.gate
        if learnt:
            kept = [i for i, text in enumerate(split.selection.texts) if text not in learnt]
            split = JudgedSplit(take(split.selection, kept), split.gate)
    report: dict[str, Any] = {"judgments": {}, "models": {}, "logs": {}}
    if sources:
        as_of = windows.t_eval if windows is not None else pd.Timestamp.now(tz="UTC")
        engine, _ = engine_as_of(as_of, ranker)
        semantic = engine.semantic
        assert isinstance(semantic, SemanticRetriever)
        tuned = batch_semantic(semantic.encoder.encode_batch, semantic.index.search_batch)
        base: SemanticBatch = tuned
        if fine_tuned is not None:
            base_dir = base_onnx(settings)
            base_vectors = embed_catalog(settings, texts, base_dir, PRODUCT_PRECISION).vectors
            base_index = SemanticIndex.build(base_vectors)
            base = batch_semantic(QueryEncoder.load(base_dir).encode_batch, base_index.search_batch)
        if split is not None:  # the selection half teaches the fusion before anything is measured
            fusion = learn_fusion(engine, split.selection, tuned)
            engine.fusion = fusion.fusion
            report["fusion"] = fusion.to_dict()
            run.notes.append(fusion.reason)
        for section, queries in sources.items():
            report[section] = evaluate_search_models(
                engine, queries, tuned=tuned, base=base, listed_us=listed_us
            )
        if split is not None:
            selection = evaluate_search_models(engine, split.selection, tuned=tuned, base=base)
            report["judgments_selection"] = selection
            choice = choose_mode(selection, split)
            report["served_mode"] = choice.to_dict()
            run.notes.append(choice.reason)
            engine.served_mode = choice.mode
        live = compare_with_served(
            settings,
            logs,
            windows,
            engine,
            name=f"search-{run.run_id}",
            bias=bias,
            max_searches=config.max_eval_searches,
            seed=config.seed,
        )
        report[LIVE_SECTION] = {"skipped": live} if isinstance(live, str) else live.to_dict()
        run.notes.append(live if isinstance(live, str) else live.reason())
        engine.close()
    chosen = gate_source(report)
    report["relevance"] = {
        "gate": chosen.label,
        "gate_detail": chosen.detail,
        "sources": {
            LABELS[section]: {
                "n_queries": len(queries),
                "n_scored": queries.n_scored,
                "n_pairs": int(sum(rows.size for rows in queries.rows)),
            }
            for section, queries in sources.items()
        },
        "tuned_on_judgments": split is not None,
    }
    if ranker_rows is not None:
        report["ranker_rows"] = ranker_rows
    report["notes"] = list(run.notes)
    payload: dict[str, Any] = strict_json(report)  # type: ignore[assignment]
    write_report(settings, "search", run.run_id, payload, render_markdown(report, run.run_id))
    return payload
