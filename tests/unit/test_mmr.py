"""MMR re-ranking: λ = 1 is the relevance order, lower λ diversifies, the vectorised loop is
the textbook greedy algorithm."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.metrics import category_diversity
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.mmr import ItemSimilarity, mmr_rerank, normalise_relevance

pytestmark = pytest.mark.unit


def random_lists(seed: int, n: int = 40, m: int = 15, n_items: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Candidate rows without repeats, some PAD slots and filtered (-inf) scores, with ties."""
    rng = np.random.default_rng(seed)
    items = np.array([rng.choice(n_items, size=m, replace=False) for _ in range(n)])
    scores = rng.integers(0, 6, size=(n, m)).astype(float)  # few values: many ties
    items[rng.random((n, m)) < 0.15] = PAD
    scores[items == PAD] = -np.inf
    scores[rng.random((n, m)) < 0.1] = -np.inf
    return items, scores


def reference_mmr(
    items: np.ndarray, scores: np.ndarray, k: int, sim: ItemSimilarity, lam: float
) -> list[list[int]]:
    """The textbook greedy MMR, one user at a time, in plain Python."""
    out = []
    for row_items, row_scores in zip(items, scores, strict=True):
        pool = [
            (int(i), float(s))
            for i, s in zip(row_items, row_scores, strict=True)
            if i != PAD and np.isfinite(s)
        ]
        if not pool:
            out.append([])
            continue
        low, high = min(s for _, s in pool), max(s for _, s in pool)
        rel = {i: (s - low) / (high - low) if high > low else 1.0 for i, s in pool}
        chosen: list[int] = []
        remaining = [i for i, _ in pool]
        while remaining and len(chosen) < k:
            values = [
                lam * rel[i]
                - (1 - lam)
                * max((sim.to_picked(np.array([[i]]), np.array([j]))[0, 0] for j in chosen), default=0.0)
                for i in remaining
            ]
            best = remaining[int(np.argmax(values))]  # first maximum: candidate order breaks ties
            chosen.append(best)
            remaining.remove(best)
        out.append(chosen)
    return out


def as_lists(ranked: np.ndarray) -> list[list[int]]:
    return [[int(i) for i in row if i != PAD] for row in ranked]


def test_lambda_one_is_exactly_the_relevance_order() -> None:
    items, scores = random_lists(0)
    sim = ItemSimilarity(categories=np.arange(60) % 4)
    ranked, out_scores = mmr_rerank(items, scores, 10, sim, lambda_=1.0)
    order = np.argsort(-scores, axis=1, kind="stable")
    expected = [
        [int(items[u, c]) for c in order[u] if np.isfinite(scores[u, c])][:10] for u in range(len(items))
    ]
    assert as_lists(ranked) == expected
    real = ranked != PAD
    assert np.all(np.isfinite(out_scores[real]))
    assert np.all(np.isneginf(out_scores[~real]))


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7])
@pytest.mark.parametrize("with_embeddings", [False, True])
def test_vectorised_loop_matches_the_textbook_algorithm(lam: float, with_embeddings: bool) -> None:
    items, scores = random_lists(1, n=12)
    rng = np.random.default_rng(2)
    embeddings = rng.normal(size=(60, 8)) if with_embeddings else None
    sim = ItemSimilarity(categories=np.arange(60) % 5, embeddings=embeddings, embedding_weight=0.6)
    ranked, _ = mmr_rerank(items, scores, 6, sim, lambda_=lam, chunk_size=5)
    assert as_lists(ranked) == reference_mmr(items, scores, 6, sim, lam)


def test_lower_lambda_gives_more_category_diversity() -> None:
    # Relevance is concentrated in category 0: the pure relevance list is one category.
    rng = np.random.default_rng(3)
    n_items, n_users = 80, 30
    categories = np.arange(n_items) % 4
    items = np.array([rng.choice(n_items, size=30, replace=False) for _ in range(n_users)])
    scores = rng.random(items.shape) + 2.0 * (categories[items] == 0)
    sim = ItemSimilarity(categories=categories)
    diversity = [
        float(
            np.nanmean(category_diversity(mmr_rerank(items, scores, 8, sim, lambda_=lam)[0], 8, categories))
        )
        for lam in (1.0, 0.7, 0.4)
    ]
    assert diversity[0] < diversity[1] <= diversity[2]
    assert diversity[2] - diversity[0] > 0.3


def test_normalisation_is_per_user_and_keeps_order() -> None:
    scores = np.array([[10.0, 30.0, 20.0, -np.inf], [5.0, 5.0, np.nan, 5.0]])
    rel = normalise_relevance(scores)
    assert rel[0, :3].tolist() == [0.0, 1.0, 0.5]
    assert np.isneginf(rel[0, 3])
    assert rel[1, [0, 1, 3]].tolist() == [1.0, 1.0, 1.0]
    assert np.isneginf(rel[1, 2])


def test_short_rows_are_padded_and_bad_input_refused() -> None:
    sim = ItemSimilarity(categories=np.zeros(5, dtype=np.int64))
    ranked, out = mmr_rerank([[3, PAD, 1], [PAD, PAD, PAD]], [[0.2, -np.inf, 0.9], [-np.inf] * 3], 4, sim)
    assert ranked.tolist() == [[1, 3, PAD, PAD], [PAD] * 4]
    assert out[0, :2].tolist() == [0.9, 0.2]
    with pytest.raises(ValueError, match="lambda_"):
        mmr_rerank([[1]], [[1.0]], 1, sim, lambda_=1.5)
    with pytest.raises(ValueError, match="item indices"):
        mmr_rerank([[7]], [[1.0]], 1, sim)
    with pytest.raises(ValueError, match="embeddings"):
        ItemSimilarity(categories=np.zeros(5, dtype=np.int64), embeddings=np.ones((4, 2)))


def test_items_already_above_count_in_the_penalty_and_are_not_picked_again() -> None:
    categories = np.array([0, 0, 1, 1, 2, 2])
    similarity = ItemSimilarity(categories)
    candidates = np.array([[1, 3, 5, 2, 4]])
    relevance = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    free, _ = mmr_rerank(candidates, relevance, 3, similarity, lambda_=0.5)
    assert free[0].tolist() == [1, 3, 5]
    # item 0 (category 0) and item 2 (category 1) are already shown: category 2 comes first,
    # and item 2 is not picked a second time
    above = np.array([[0, 2]])
    picked, _ = mmr_rerank(candidates, relevance, 3, similarity, lambda_=0.5, selected=above)
    assert picked[0, 0] == 5
    assert 2 not in picked[0]
    # the textbook loop with 0 and 2 forced first (top relevance, first in order) agrees
    seeded = reference_mmr(
        np.array([[0, 2, 1, 3, 5, 4]]), np.array([[5.0, 5.0, 5.0, 4.0, 3.0, 1.0]]), 5, similarity, 0.5
    )
    assert seeded[0][:2] == [0, 2]
    assert picked[0].tolist() == seeded[0][2:]
    with pytest.raises(ValueError, match="selected"):
        mmr_rerank(candidates, relevance, 3, similarity, selected=np.zeros((2, 1), dtype=np.int64))
