"""The search engine's ranking modes, rules hook and explanations, with stand-in retrievers."""

from __future__ import annotations

import fcntl
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.models.search_index import served_mode
from vitrina.adapters.search_cache.cached_search import CachedSearch, frequent_queries
from vitrina.adapters.search_cache.sqlite import SQLiteResultCache
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.training_set import RankingFrame
from vitrina.core.search.engine import Mode, SearchEngine, rrf
from vitrina.core.search.fusion import Fusion
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import FEATURES, RankingContext, merge_hits
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.signals import PRODUCT_COLUMNS, SearchSignals, query_frequencies
from vitrina.core.search.types import Hits, ParsedQuery
from vitrina.serving.search.answer import default_mode
from vitrina.serving.search.warmup import SearchWarmUp

N = 6


class Parse:
    def parse(self, raw: str) -> ParsedQuery:
        text = raw.lower().strip()
        return ParsedQuery(raw=raw, normalised=text, corrected=text)


class Fixed:
    def __init__(self, rows: list[int]) -> None:
        self.hits = Hits(np.array(rows, dtype=np.int64), np.linspace(1, 0.5, len(rows)).astype(np.float32))

    def search(self, query: ParsedQuery, k: int = 100) -> Hits:
        return self.hits


def _products() -> ProductTable:
    ids = [f"p{i}" for i in range(N)]
    return ProductTable.from_catalog(
        pd.DataFrame(
            {
                "product_id": ids,
                "title": [f"producto {i}" for i in range(N)],
                "brand": ["marca"] * N,
                "category_l1": ["a"] * N,
                "category_l2": ["b"] * N,
                "category_l3": ["c"] * N,
                "price": np.arange(1, N + 1, dtype=float),
                "stock": [1, 1, 0, 1, 1, 1],
                "seller_id": ["s"] * N,
                "is_sponsored": [False] * N,
                "is_reported": [False] * N,
                "updated_at": pd.to_datetime(["2026-01-01"] * N, utc=True),
            }
        )
    )


def _ranker_preferring_both_retrievers() -> LambdaRanker:
    rng = np.random.default_rng(0)
    n_queries, per = 60, 10
    features = pd.DataFrame(rng.random((n_queries * per, len(FEATURES))), columns=list(FEATURES))
    features["in_both"] = rng.integers(0, 2, len(features)).astype(float)
    labels = (features["in_both"].to_numpy() * (rng.random(len(features)) < 0.8)).astype(np.int64)
    groups = np.repeat(np.arange(n_queries), per)
    half = n_queries // 2 * per
    frame = RankingFrame(features, labels, groups, groups, np.arange(len(groups)))

    def part(rows: slice) -> RankingFrame:
        return RankingFrame(
            frame.features.iloc[rows].reset_index(drop=True),
            frame.labels[rows],
            frame.groups[rows],
            frame.users[rows],
            frame.items[rows],
        )

    return LambdaRanker(max_rounds=30, num_threads=1).fit(
        part(slice(0, half)), part(slice(half, None)), n_trials=1
    )


def _engine(ranker: LambdaRanker | None, served_mode: Mode | None = None) -> SearchEngine:
    products = _products()
    signals = SearchSignals(
        as_of=pd.Timestamp("2026-02-01", tz="UTC"),
        product=pd.DataFrame({c: np.zeros(N) for c in PRODUCT_COLUMNS}),
        query_clicks=pd.DataFrame({"query": [], "row": [], "clicks": [], "impressions": []}),
        affinity=pd.DataFrame({"user_id": [], "category_l2": [], "affinity": []}),
        frequent_queries=pd.DataFrame({"query": ["producto"], "searches": [2]}),
    )
    return SearchEngine(
        understanding=Parse(),
        lexical=Fixed([0, 1, 2, 3]),
        semantic=Fixed([5, 3, 2]),
        products=products,
        context=RankingContext.build(products, signals, lambda t: t.split()),
        ranker=ranker,
        rules=SearchRules.build(products.frame),
        index_version="products-v1",
        model_version="test",
        served_mode=served_mode,
    )


@pytest.mark.unit
def test_modes_order_by_their_own_score_and_rules_drop_out_of_stock() -> None:
    engine = _engine(None)
    assert engine.search("x", mode="bm25").rows.tolist() == [0, 1, 3]  # 2 is out of stock
    assert engine.search("x", mode="semantic").rows.tolist() == [5, 3]
    hybrid = engine.search("x")  # no ranker → the score-fusion hybrid, default weights
    # min-max: lexical 0 → 1, 1 → 2/3, 3 → 0; semantic 5 → 1, 3 → 1/2; no title holds "x"
    assert hybrid.rows.tolist() == [0, 1, 5, 3]
    engine.fusion = Fusion(0.0, 0.0)  # the encoder's order, BM25-only hits after it
    assert engine.search("x").rows.tolist() == [5, 3, 0, 1]
    engine.fusion = Fusion()
    assert hybrid.n_candidates == 5
    assert engine.search("x", apply_rules=False, k=10).rows.size == 5
    with pytest.raises(ValueError, match="needs a trained ranker"):
        engine.search("x", mode="hybrid_ltr")
    engine.close()


@pytest.mark.unit
def test_a_version_served_in_bm25_ranks_in_bm25_by_default() -> None:
    engine = _engine(None, served_mode=served_mode({"served_mode": "bm25"}))
    assert engine.default_mode == default_mode(engine) == "bm25"
    assert engine.search("x").rows.tolist() == engine.search("x", mode="bm25").rows.tolist() == [0, 1, 3]
    assert engine.search("x", mode="hybrid").rows.tolist() == [
        0,
        1,
        5,
        3,
    ]  # an experiment naming a mode still gets it
    engine.close()
    older = _engine(None, served_mode=served_mode({}))  # a version.json without the field
    assert older.default_mode == "hybrid"
    assert older.search("x").rows.tolist() == [0, 1, 5, 3]
    older.close()
    with pytest.raises(ValueError, match="unknown served mode"):
        served_mode({"served_mode": "bm42"})
    with pytest.raises(ValueError, match="needs a trained ranker"):
        _engine(None, served_mode="hybrid_ltr")


@pytest.mark.unit
def test_warm_up_fills_the_cache_with_the_frequent_queries_in_the_background(tmp_path: Path) -> None:
    engine = _engine(None)
    cache = SQLiteResultCache(tmp_path / "cache.sqlite3")
    cached = CachedSearch(engine, cache)
    cached.search("otro", k=20)  # already cached: warming it costs a lookup only
    warm = SearchWarmUp(cached, ["producto", "otro", "tercero"], limit=2, every_s=3600).start()
    assert warm.wait(timeout=30)
    assert (warm.passes, warm.done, warm.computed) == (1, 2, 1)  # the limit cut the third
    assert warm.describe().startswith("done: 2/2 queries of ")
    warm.stop()
    warm.join(timeout=30)
    assert cached.search(" Producto", k=20).cached
    assert not cached.search("tercero", k=20).cached
    engine.understanding = None  # type: ignore[assignment]  # every search now raises
    failed = SearchWarmUp(cached, ["nuevo"], limit=5, every_s=3600).start()
    assert failed.wait(timeout=30)  # a warm-up whose search fails ends with an error, serving goes on
    assert failed.describe().startswith("failed in pass 1 after 0/1 queries")
    engine.close()
    cache.close()


@pytest.mark.unit
def test_a_closed_engine_still_answers_a_request_in_flight() -> None:
    engine = _engine(None)
    before = [engine.search("x", mode=mode).rows.tolist() for mode in ("bm25", "semantic", "hybrid")]
    engine.close()  # a reload swapped it out while a request was answering with it
    after = [engine.search("x", mode=mode).rows.tolist() for mode in ("bm25", "semantic", "hybrid")]
    assert after == before == [[0, 1, 3], [5, 3], [0, 1, 5, 3]]


@pytest.mark.unit
def test_processes_sharing_a_cache_take_turns_through_the_lock_file(tmp_path: Path) -> None:
    engine = _engine(None)
    cache = SQLiteResultCache(tmp_path / "cache.sqlite3")
    cached, lock = CachedSearch(engine, cache), tmp_path / "serving" / ".warm.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as peer:  # another worker is warming
        fcntl.flock(peer, fcntl.LOCK_EX)
        skipped = SearchWarmUp(cached, ["producto"], limit=5, every_s=3600, lock=lock).start()
        assert skipped.wait(timeout=30)
        assert (skipped.passes, skipped.peer_warms) == (0, True)
        assert skipped.describe().startswith("another worker warms the shared cache")
        skipped.stop()
    assert not cached.search("producto", k=20).cached  # nothing was computed while skipping
    cache.clear()
    warm = SearchWarmUp(cached, ["producto"], limit=5, every_s=3600, lock=lock).start()
    assert warm.wait(timeout=30)  # the lock is free again: this one warms
    assert (warm.passes, warm.computed, warm.peer_warms) == (1, 1, False)
    warm.stop()
    engine.close()
    cache.close()


@pytest.mark.unit
def test_warm_up_runs_again_every_period_and_recomputes_what_expired(tmp_path: Path) -> None:
    engine = _engine(None)
    cache = SQLiteResultCache(tmp_path / "cache.sqlite3")
    warm = SearchWarmUp(CachedSearch(engine, cache), ["producto", "otro"], limit=10, every_s=1.0).start()
    assert warm.wait(timeout=30)
    assert warm.computed == 2
    cache.clear()  # what a TTL does to the pages between two passes
    deadline = time.monotonic() + 30
    while not (warm.passes >= 2 and warm.done == 2):
        assert time.monotonic() < deadline, warm.describe()
        time.sleep(0.05)
    warm.stop()
    warm.join(timeout=30)
    assert warm.computed == 2  # the second pass found both expired and put them back
    engine.close()
    cache.close()


@pytest.mark.unit
def test_query_frequencies_count_searches_per_normalised_query() -> None:
    counts = pd.DataFrame({"query": ["TV", "tv", "Celular", "celular ", "  "], "searches": [1, 4, 3, 3, 9]})
    top = query_frequencies(counts, lambda q: q.strip().lower(), limit=5)
    assert top.to_dict("list") == {"query": ["Celular", "tv"], "searches": [6, 5]}  # blank dropped
    assert query_frequencies(counts, lambda q: q.strip().lower(), limit=1)["query"].tolist() == ["Celular"]


@pytest.mark.unit
def test_learned_mode_uses_the_ranker_and_explains_itself() -> None:
    engine = _engine(_ranker_preferring_both_retrievers())
    ranked = engine.search("x", k=3, explain=True)
    assert ranked.rows[0] == 3  # in_both products first; 2 is in both but out of stock
    assert len(ranked.explanations) == 3
    first = ranked.explanations[0]
    assert first["found_by"] == ["bm25", "semantic"]
    assert "in_both" in first["contributions"]
    engine.close()


@pytest.mark.unit
def test_rrf_sums_reciprocal_ranks_of_the_retrievers_that_found_it() -> None:
    _, retrieval = merge_hits(
        Hits(np.array([7]), np.ones(1, dtype=np.float32)),
        Hits(np.array([7, 8]), np.ones(2, dtype=np.float32)),
    )
    np.testing.assert_allclose(rrf(retrieval), [2 / 61, 1 / 62], rtol=1e-6)


@pytest.mark.unit
def test_cached_search_serves_the_same_page_until_the_index_changes(tmp_path: Path) -> None:
    engine = _engine(None)
    cache = SQLiteResultCache(tmp_path / "cache.sqlite3")
    cached = CachedSearch(engine, cache)
    first = cached.search("Producto", k=3)
    again = cached.search(" producto ", k=3)  # same understood query
    assert not first.cached
    assert again.cached
    assert again.ranked.rows.tolist() == first.ranked.rows.tolist()
    engine.index_version = "products-v2"  # a blue-green switch makes old pages unreachable
    assert not cached.search("producto", k=3).cached
    logs = pd.DataFrame({"query": ["Celular", "celular", "tv", "celular "]})
    assert frequent_queries(logs, lambda q: q.strip().lower(), limit=1) == ["Celular"]
    cache.close()
    engine.close()


@pytest.mark.unit
def test_hybrid_lifts_a_product_whose_whole_title_is_the_query() -> None:
    engine = _engine(None)
    fused = engine.search("x").rows.tolist()
    assert fused[0] == 0  # the fusion's best
    exact = engine.search("producto 1").rows.tolist()  # product 1's whole title
    assert exact == [1, *(row for row in fused if row != 1)]  # lifted first, the rest in fused order
    assert engine.search("producto 1", mode="bm25").rows.tolist() == [0, 1, 3]  # other modes unchanged
    engine.close()
