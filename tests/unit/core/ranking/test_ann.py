"""The ANN wrapper returns the exact top-k where it promises to, and never an excluded item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vitrina.core.ranking.ann import EXACT_MAX_ITEMS, AnnIndex, ItemSets, brute_force_top_k, choose_kind
from vitrina.core.ranking.top_k import PAD

pytestmark = pytest.mark.unit


def _vectors(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_index_equals_brute_force_numpy_top_k() -> None:
    items, queries = _vectors(500, 16, 0), _vectors(40, 16, 1)
    index = AnnIndex.build(items)
    assert index.kind == "flat"
    found, scores = index.search(queries, 10)
    expected, expected_scores = brute_force_top_k(queries, items, 10)
    assert np.array_equal(found, expected)
    assert np.allclose(scores, expected_scores, atol=1e-5)


def test_exclusions_are_never_returned_and_the_rest_is_still_exact() -> None:
    items, queries = _vectors(300, 8, 2), _vectors(25, 8, 3)
    rng = np.random.default_rng(4)
    exclude = rng.random(300) < 0.9  # most of the catalog: forces several over-fetch rounds
    seen_lists = [rng.choice(300, size=rng.integers(0, 40), replace=False) for _ in range(25)]
    seen = ItemSets.from_pairs(
        np.repeat(np.arange(25), [len(s) for s in seen_lists]), np.concatenate(seen_lists), 25
    )
    found, scores = AnnIndex.build(items).search(queries, 20, exclude=exclude, seen=seen)
    for row in range(25):
        returned = found[row][found[row] != PAD]
        assert not exclude[returned].any()
        assert not np.isin(returned, seen_lists[row]).any()
        allowed = ~exclude
        allowed[seen_lists[row]] = False
        expected, _ = brute_force_top_k(queries[row : row + 1], items, 20, exclude=~allowed)
        assert np.array_equal(found[row], expected[0])  # includes PAD where < 20 are allowed
        assert np.all(np.isneginf(scores[row][found[row] == PAD]))


def test_hnsw_for_large_catalogs_recalls_the_exact_neighbours() -> None:
    assert choose_kind(EXACT_MAX_ITEMS) == "flat"
    assert choose_kind(EXACT_MAX_ITEMS + 1) == "hnsw"
    items, queries = _vectors(3000, 16, 5), _vectors(50, 16, 6)
    exclude = np.zeros(3000, dtype=bool)
    exclude[::7] = True
    found, _ = AnnIndex.build(items, kind="hnsw").search(queries, 10, exclude=exclude)
    expected, _ = brute_force_top_k(queries, items, 10, exclude=exclude)
    assert not exclude[found].any()
    overlap = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(found, expected, strict=True)])
    assert overlap > 0.95


def test_hnsw_sq8_keeps_its_kind_and_search_breadth_through_save(tmp_path: Path) -> None:
    items, queries = _vectors(2000, 32, 9), _vectors(40, 32, 10)
    index = AnnIndex.build(items, kind="hnsw_sq8", ef_search=40)
    assert (index.kind, index.ef_search) == ("hnsw_sq8", 40)
    found, _ = index.search(queries, 10)
    expected, _ = brute_force_top_k(queries, items, 10)
    overlap = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(found, expected, strict=True)])
    assert overlap > 0.9
    deep, _ = index.search(queries[:2], 100)  # deeper than ef_search: widened for this call
    assert (deep >= 0).all()
    assert index.ef_search == 40
    index.save(tmp_path / "sq8.faiss")
    loaded = AnnIndex.load(tmp_path / "sq8.faiss")
    assert (loaded.kind, loaded.ef_search) == ("hnsw_sq8", 40)
    assert np.array_equal(loaded.search(queries, 10)[0], found)
    flat = AnnIndex.build(items[:10], kind="flat")
    assert flat.ef_search is None
    with pytest.raises(ValueError, match="HNSW"):
        flat.ef_search = 10


def test_save_and_load_give_identical_results(tmp_path: Path) -> None:
    items, queries = _vectors(200, 8, 7), _vectors(10, 8, 8)
    index = AnnIndex.build(items)
    index.save(tmp_path / "idx" / "items.faiss")
    loaded = AnnIndex.load(tmp_path / "idx" / "items.faiss")
    a, sa = index.search(queries, 15)
    b, sb = loaded.search(queries, 15)
    assert np.array_equal(a, b)
    assert np.array_equal(sa, sb)
    with pytest.raises(FileNotFoundError):
        AnnIndex.load(tmp_path / "missing.faiss")


def test_bad_inputs_get_clear_errors() -> None:
    index = AnnIndex.build(_vectors(20, 4, 9))
    with pytest.raises(ValueError, match="queries must be"):
        index.search(np.zeros((2, 5)), 3)
    with pytest.raises(ValueError, match="exclude must have shape"):
        index.search(np.zeros((2, 4)), 3, exclude=np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="NaN"):
        AnnIndex.build(np.full((3, 4), np.nan))


def test_item_sets_subset_and_membership() -> None:
    sets = ItemSets.from_pairs([2, 0, 2, 2], [5, 1, 3, 5], n_rows=3)
    assert sets.sizes().tolist() == [1, 0, 2]
    sub = sets.subset([2, 1, 0])
    assert sub.items.tolist() == [3, 5, 1]
    assert sub.contains(np.array([[0], [1], [2]]), np.array([[3, 5, 1]])).tolist() == [
        [True, True, False],
        [False, False, False],
        [False, False, True],
    ]
