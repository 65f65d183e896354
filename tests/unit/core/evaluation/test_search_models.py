"""Held-out searches are judged on the products that existed when they were made: the engine
holds today's catalog, a search of last week did not."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from support import marketplace_engine

from vitrina.core.evaluation.search_models import evaluate_search_models
from vitrina.core.evaluation.search_rankings import judged_from_logs
from vitrina.core.search.types import Hits

pytestmark = pytest.mark.unit

SEARCHED = pd.Timestamp("2026-02-10 12:00", tz="UTC")
CLICKED = "p050"
"""A Bosch drill: every Bosch title scores the same for "taladro", ties go by product id, so
fifty drills come before it."""
EARLIER_DRILLS = range(0, 50)


def _logs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "query": ["taladro"],
            "user_id": ["u1"],
            "ts": [SEARCHED],
            "results_clicked": [[CLICKED]],
            "results_purchased": [[]],
        }
    )


def _listed_us(drills_listed: pd.Timestamp) -> np.ndarray:
    """Every product listed long ago, but the fifty drills before the clicked one, listed at
    ``drills_listed``."""
    listed = np.full(marketplace_engine.N, pd.Timestamp("2025-01-01", tz="UTC").value // 1000, dtype=np.int64)
    listed[list(EARLIER_DRILLS)] = drills_listed.value // 1000
    return listed


def _no_semantic_hits(texts: Sequence[str]) -> list[Hits]:
    return [Hits.empty() for _ in texts]


def _bm25_ndcg(listed_us: np.ndarray | None, logs: pd.DataFrame) -> float:
    engine = marketplace_engine.engine()
    try:
        queries = judged_from_logs(logs, engine.products.rows_of, max_queries=10, seed=0)
        report = evaluate_search_models(engine, queries, tuned=_no_semantic_hits, listed_us=listed_us)
    finally:
        engine.close()
    return float(report["bm25"]["ndcg@10"])  # type: ignore[arg-type]


def test_products_listed_after_a_held_out_search_are_not_its_candidates() -> None:
    later = _bm25_ndcg(_listed_us(SEARCHED + pd.Timedelta(days=1)), _logs())
    every = _bm25_ndcg(None, _logs())
    assert every == 0.0  # fifty drills (forty-seven in stock) above the clicked one
    assert later == pytest.approx(1.0)  # without the drills listed after the search, it is first


def test_products_listed_before_the_search_stay_candidates() -> None:
    assert _bm25_ndcg(_listed_us(SEARCHED - pd.Timedelta(seconds=1)), _logs()) == 0.0


def test_logs_without_times_are_judged_on_every_product() -> None:
    untimed = _logs().drop(columns=["ts"])
    assert _bm25_ndcg(_listed_us(SEARCHED + pd.Timedelta(days=1)), untimed) == 0.0
