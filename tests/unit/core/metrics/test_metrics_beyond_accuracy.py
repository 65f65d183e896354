"""Coverage, intra-list diversity and novelty: hand-computed examples and a loop reference."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from vitrina.core.metrics import (
    PAD,
    catalog_coverage,
    category_diversity,
    embedding_diversity,
    novelty,
    self_information,
)
from vitrina.core.metrics import beyond_accuracy as module

pytestmark = pytest.mark.unit

NAN = float("nan")


# ---------------------------------------------------------------- plain reference implementations


def shown(row: list[int], k: int) -> list[int]:
    return [item for item in row[:k] if item != PAD]


def reference_coverage(ranked: np.ndarray, k: int, n_items: int) -> float:
    return len({item for row in ranked.tolist() for item in shown(row, k)}) / n_items


def reference_category_diversity(row: list[int], k: int, categories: list[int]) -> float:
    pairs = list(combinations(shown(row, k), 2))
    if not pairs:
        return NAN
    return sum(categories[a] != categories[b] for a, b in pairs) / len(pairs)


def reference_embedding_diversity(row: list[int], k: int, vectors: np.ndarray) -> float:
    pairs = list(combinations(shown(row, k), 2))
    if not pairs:
        return NAN
    distances = []
    for a, b in pairs:
        u, v = vectors[a], vectors[b]
        distances.append(1.0 - float(u @ v) / (math.sqrt(float(u @ u)) * math.sqrt(float(v @ v))))
    return sum(distances) / len(distances)


def reference_novelty(row: list[int], k: int, counts: list[int], alpha: float) -> float:
    items = shown(row, k)
    if not items:
        return NAN
    total = sum(counts) + alpha * len(counts)
    return sum(-math.log2((counts[i] + alpha) / total) for i in items) / len(items)


@pytest.mark.parametrize("seed", [0, 1])
def test_beyond_accuracy_matches_reference_on_random_cases(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    n_queries, k_max, n_items = 300, 12, 50
    ranked = rng.integers(0, n_items, size=(n_queries, k_max))  # repeats happen within rows
    lengths = rng.integers(0, k_max + 1, size=n_queries)
    ranked[np.arange(k_max)[None, :] >= lengths[:, None]] = PAD
    ranked[rng.random(ranked.shape) < 0.05] = PAD
    categories = rng.integers(0, 6, size=n_items)
    vectors = rng.normal(size=(n_items, 5)) * rng.uniform(0.1, 3.0, size=(n_items, 1))
    counts = rng.poisson(3.0, size=n_items) * (rng.random(n_items) < 0.7)  # ~30 % unseen items
    rows = ranked.tolist()
    # A tiny chunk budget forces one row per chunk, exercising the chunked path.
    monkeypatch.setattr(module, "_CHUNK_ELEMENTS", 7)
    for k in (1, 2, 5, 12, 20):
        assert catalog_coverage(ranked, k, n_items) == pytest.approx(reference_coverage(ranked, k, n_items))
        np.testing.assert_allclose(
            category_diversity(ranked, k, categories),
            [reference_category_diversity(r, k, categories.tolist()) for r in rows],
        )
        np.testing.assert_allclose(
            embedding_diversity(ranked, k, vectors),
            [reference_embedding_diversity(r, k, vectors) for r in rows],
            atol=1e-12,
        )
        for alpha in (1.0, 0.5):
            np.testing.assert_allclose(
                novelty(ranked, k, counts, smoothing=alpha),
                [reference_novelty(r, k, counts.tolist(), alpha) for r in rows],
            )


# ---------------------------------------------------------------- hand-computed examples


def test_catalog_coverage_hand_computed() -> None:
    ranked = np.array([[0, 1, 2], [1, 3, PAD]])
    # top-2 lists {0, 1} and {1, 3} -> 3 distinct of 10; top-3 adds item 2 -> 4 of 10.
    assert catalog_coverage(ranked, 2, n_items=10) == pytest.approx(0.3)
    assert catalog_coverage(ranked, 3, n_items=10) == pytest.approx(0.4)
    assert catalog_coverage(ranked, 50, n_items=4) == pytest.approx(1.0)
    assert catalog_coverage(np.empty((0, 3), dtype=np.int64), 3, n_items=10) == 0.0
    assert catalog_coverage(np.full((2, 3), PAD), 3, n_items=10) == 0.0


def test_category_diversity_hand_computed() -> None:
    categories = np.array([0, 0, 1, 2, 1])
    ranked = np.array([[0, 1, 2, 3], [2, 4, PAD, PAD], [3, PAD, PAD, PAD], [0, 0, 3, PAD]])
    # [0, 1, 2, 3] -> cats [0, 0, 1, 2]: 6 pairs, 1 same-category pair (items 0, 1) -> 5/6.
    # [2, 4] -> cats [1, 1]: 1 pair, same -> 0.      [3] alone: no pair -> NaN.
    # [0, 0, 3] -> cats [0, 0, 2]: the repeated item is a same-category pair -> 2/3.
    np.testing.assert_allclose(category_diversity(ranked, 4, categories), [5 / 6, 0.0, NAN, 2 / 3])
    # k = 2: [0, 1] -> 0; [2, 4] -> 0; [3] -> NaN; [0, 0] -> 0.
    np.testing.assert_allclose(category_diversity(ranked, 2, categories), [0.0, 0.0, NAN, 0.0])


def test_embedding_diversity_hand_computed() -> None:
    # Item 3 points like item 0 but is longer: cosine ignores length.
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [2.0, 0.0]])
    ranked = np.array([[0, 1, 2], [0, 3, PAD], [1, PAD, PAD]])
    # [0, 1, 2]: cosines (0,1)=0, (0,2)=-1, (1,2)=0 -> distances 1, 2, 1 -> 4/3.
    # [0, 3]: cosine 1 -> 0.       [1]: no pair -> NaN.
    np.testing.assert_allclose(embedding_diversity(ranked, 3, vectors), [4 / 3, 0.0, NAN], atol=1e-12)


def test_novelty_hand_computed() -> None:
    counts = np.array([6, 2, 0, 0])
    # alpha = 1: denominator 8 + 1 * 4 = 12; p = [7/12, 3/12, 1/12, 1/12].
    # Unseen items get the largest, finite, self-information log2(12).
    np.testing.assert_allclose(
        self_information(counts), [math.log2(12 / 7), 2.0, math.log2(12), math.log2(12)]
    )
    ranked = np.array([[0, 1], [2, PAD], [PAD, PAD]])
    expected = [(math.log2(12 / 7) + 2.0) / 2, math.log2(12), NAN]
    np.testing.assert_allclose(novelty(ranked, 2, counts), expected)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("k", [0, -1, 1.5])
def test_bad_k_is_rejected(k: int) -> None:
    ranked = np.array([[0, 1]])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        catalog_coverage(ranked, k, 3)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        category_diversity(ranked, k, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        embedding_diversity(ranked, k, np.eye(3))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        novelty(ranked, k, np.array([1, 2, 3]))


def test_ids_outside_the_attribute_arrays_are_rejected() -> None:
    ranked = np.array([[0, 5]])
    with pytest.raises(ValueError, match="outside the 3 items"):
        catalog_coverage(ranked, 2, 3)
    with pytest.raises(ValueError, match="outside the 3 items"):
        category_diversity(ranked, 2, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="outside the 3 items"):
        embedding_diversity(ranked, 2, np.eye(3))
    with pytest.raises(ValueError, match="outside the 3 items"):
        novelty(ranked, 2, np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="at least one item"):
        catalog_coverage(ranked, 2, 0)


def test_bad_attributes_are_rejected() -> None:
    ranked = np.array([[0, 1]])
    with pytest.raises(ValueError, match="integer array"):
        category_diversity(ranked, 2, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=">= 0"):
        category_diversity(ranked, 2, np.array([0, -1]))
    with pytest.raises(ValueError, match="finite and non-zero"):
        embedding_diversity(ranked, 2, np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="2-D"):
        embedding_diversity(ranked, 2, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        novelty(ranked, 2, np.array([1, -1]))
    with pytest.raises(ValueError, match="smoothing"):
        novelty(ranked, 2, np.array([1, 1]), smoothing=0.0)
    # A zero embedding is fine as long as its item is never shown.
    np.testing.assert_allclose(
        embedding_diversity(ranked, 2, np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])), [1.0]
    )
