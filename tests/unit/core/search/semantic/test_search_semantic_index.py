"""SemanticIndex: HNSW + 8-bit scalar quantisation over normalised product embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from vitrina.core.ranking.ann import brute_force_top_k
from vitrina.core.search.semantic.index import EMBEDDINGS_FILE, META_FILE, SemanticIndex
from vitrina.core.search.types import Hits

Vectors = npt.NDArray[np.float32]


def _normalised(x: npt.NDArray[np.float64]) -> Vectors:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def products() -> Vectors:
    """1,500 clustered unit vectors in 48-d (embeddings cluster by category)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(30, 48))
    return _normalised(centres[rng.integers(0, 30, 1500)] + 0.5 * rng.normal(size=(1500, 48)))


@pytest.fixture(scope="module")
def queries(products: Vectors) -> Vectors:
    rng = np.random.default_rng(1)
    return _normalised(products[rng.integers(0, len(products), 60)] + 0.3 * rng.normal(size=(60, 48)))


@pytest.fixture(scope="module")
def index(products: Vectors) -> SemanticIndex:
    return SemanticIndex.build(products)


@pytest.mark.unit
def test_search_agrees_with_exact_cosine_top_k(
    index: SemanticIndex, products: Vectors, queries: Vectors
) -> None:
    exact, _ = brute_force_top_k(queries, products, 100)
    overlaps = []
    for query, truth in zip(queries, exact, strict=True):
        hits = index.search(query, k=100)
        assert isinstance(hits, Hits)
        assert len(hits) == 100
        assert np.all(np.diff(hits.scores) <= 1e-6), "best first"
        # SQ8 scores are cosines against decoded vectors: close to the exact ones
        np.testing.assert_allclose(hits.scores, products[hits.rows] @ query, atol=0.02)
        overlaps.append(len(set(hits.rows.tolist()) & set(truth.tolist())) / 100)
    assert np.mean(overlaps) >= 0.9


@pytest.mark.unit
def test_batch_search_equals_single_searches(index: SemanticIndex, queries: Vectors) -> None:
    batch = index.search_batch(queries[:5], k=20)
    for query, hits in zip(queries[:5], batch, strict=True):
        single = index.search(query, k=20)
        np.testing.assert_array_equal(hits.rows, single.rows)


@pytest.mark.unit
def test_excluded_rows_never_come_back(index: SemanticIndex, queries: Vectors) -> None:
    first = index.search(queries[0], k=10)
    exclude = np.zeros(index.n_products, dtype=bool)
    exclude[first.rows[:5]] = True
    again = index.search(queries[0], k=10, exclude=exclude)
    assert len(again) == 10
    assert not exclude[again.rows].any()
    assert set(first.rows[5:].tolist()) <= set(again.rows.tolist())


@pytest.mark.unit
def test_k_above_the_catalog_size_returns_every_product() -> None:
    vectors = _normalised(np.random.default_rng(2).normal(size=(7, 8)))
    hits = SemanticIndex.build(vectors).search(vectors[0], k=100)
    assert sorted(hits.rows.tolist()) == list(range(7))
    assert hits.rows[0] == 0


@pytest.mark.unit
def test_ef_search_is_configurable_and_saved(index: SemanticIndex, tmp_path: Path) -> None:
    small = SemanticIndex.build(index.embeddings, ef_search=16)
    assert small.ef_search == 16
    small.ef_search = 48
    assert SemanticIndex.load(small.save(tmp_path)).ef_search == 48
    with pytest.raises(ValueError, match="ef_search"):
        small.ef_search = 0


@pytest.mark.unit
def test_similarity_is_the_exact_cosine(index: SemanticIndex, products: Vectors, queries: Vectors) -> None:
    rows = np.array([3, 1400, 7])
    np.testing.assert_allclose(index.similarity(queries[0], rows), products[rows] @ queries[0], rtol=1e-6)
    with pytest.raises(ValueError, match="rows"):
        index.similarity(queries[0], [index.n_products])


@pytest.mark.unit
def test_save_load_round_trip(index: SemanticIndex, queries: Vectors, tmp_path: Path) -> None:
    folder = index.save(tmp_path / "products-v1" / "semantic")
    loaded = SemanticIndex.load(folder)
    assert (loaded.n_products, loaded.dim, loaded.ef_search) == (index.n_products, index.dim, index.ef_search)
    np.testing.assert_array_equal(loaded.embeddings, index.embeddings)
    np.testing.assert_array_equal(SemanticIndex.read_embeddings(folder), index.embeddings)
    for query in queries[:5]:
        before, after = index.search(query, k=50), loaded.search(query, k=50)
        np.testing.assert_array_equal(before.rows, after.rows)
        np.testing.assert_allclose(before.scores, after.scores)
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["kind"] == "hnsw_sq8"
    assert meta["n_products"] == index.n_products
    (folder / EMBEDDINGS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=EMBEDDINGS_FILE):
        SemanticIndex.load(folder)


@pytest.mark.unit
def test_bad_embeddings_and_queries_are_refused(index: SemanticIndex) -> None:
    with pytest.raises(ValueError, match="normalised"):
        SemanticIndex.build(np.ones((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        SemanticIndex.build(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="non-empty"):
        SemanticIndex.build(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="shape"):
        index.search(np.ones(index.dim + 1))
