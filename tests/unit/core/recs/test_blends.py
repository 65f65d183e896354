"""Blends: a sequence fills each list from its parts in turn without repeats; a score blend
mixes scaled scores; each slot says which part supplied it."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import handmade

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.blends import ScoreBlend, SequenceBlend, _top_sums
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease import EASE
from vitrina.core.recs.policy import Policy, build_policy

pytestmark = pytest.mark.unit


class Fixed:
    """A recommender that returns the same ranked list (item → score) for every user."""

    def __init__(self, scores: dict[int, float], name: str = "fixed") -> None:
        self.scores = scores
        self.name = name

    def fit(self, data: RecsData, history: Interactions) -> Fixed:
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[IntArray, FloatArray]:
        ranked = [
            i for i in sorted(self.scores, key=lambda i: -self.scores[i]) if exclude is None or not exclude[i]
        ]
        items = np.full((len(users), k), PAD, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf)
        for j, item in enumerate(ranked[:k]):
            items[:, j], scores[:, j] = item, self.scores[item]
        return items, scores


def test_a_sequence_takes_each_part_in_turn_skips_repeats_and_zero_scores() -> None:
    again = Fixed({3: 2.0, 5: 1.0, 7: 0.0})  # 7 scored 0: nothing to say about it
    knn = Fixed({5: 0.9, 1: 0.5})
    popular = Fixed({0: 9.0, 1: 8.0, 2: 7.0, 3: 6.0, 4: 5.0})
    blend = SequenceBlend([again, knn, popular], "seq")
    items, scores, sources = blend.recommend_with_sources(np.array([0, 1]), 6)
    assert items[0].tolist() == [3, 5, 1, 0, 2, 4]
    assert sources[0].tolist() == [0, 0, 1, 2, 2, 2]
    assert np.all(np.diff(scores[0]) < 0)
    assert np.isfinite(scores).all()
    exclude = np.zeros(8, dtype=bool)
    exclude[[3, 0]] = True
    items, _, _ = blend.recommend_with_sources(np.array([0]), 4, exclude)
    assert items[0].tolist() == [5, 1, 2, 4]


def test_a_sequence_pads_when_its_parts_run_out() -> None:
    items, scores, sources = SequenceBlend(
        [Fixed({2: 1.0}), Fixed({2: 1.0, 4: 0.5})], "s"
    ).recommend_with_sources(np.array([0]), 4)
    assert items[0].tolist() == [2, 4, PAD, PAD]
    assert sources[0].tolist() == [0, 1, -1, -1]
    assert np.isneginf(scores[0, 2:]).all()


def test_a_score_blend_mixes_scaled_scores_by_its_weight() -> None:
    first = Fixed({0: 10.0, 1: 5.0, 2: 0.0})  # scaled 1, 0.5, 0
    second = Fixed({2: 100.0, 3: 50.0, 0: 0.0})  # scaled 1, 0.5, 0
    items, scores, sources = ScoreBlend(first, second, 0.75, "b").recommend_with_sources(np.array([0]), 4)
    # 0: .75; 1: .375; 2: .25; 3: .125
    assert items[0].tolist() == [0, 1, 2, 3]
    assert scores[0].tolist() == pytest.approx([0.75, 0.375, 0.25, 0.125])
    assert sources[0].tolist() == [0, 0, 1, 1]
    items, _, _ = ScoreBlend(first, second, 0.25, "b").recommend_with_sources(np.array([0]), 2)
    assert items[0].tolist() == [2, 3]


def _top_sums_by_row(
    items: IntArray, shares: FloatArray, parts: IntArray, k: int
) -> tuple[list[list[int]], list[list[float]], list[list[int]]]:
    """The score blend's merge spelt out one row at a time (the reference for ``_top_sums``)."""
    out_items, out_scores, out_sources = [], [], []
    for row in range(items.shape[0]):
        total: dict[int, float] = {}
        best: dict[int, tuple[float, int]] = {}
        for item, share, part in zip(items[row], shares[row], parts[row], strict=True):
            if item == PAD:
                continue
            total[int(item)] = total.get(int(item), 0.0) + float(share)
            if int(item) not in best or (share, -part) > (best[int(item)][0], -best[int(item)][1]):
                best[int(item)] = (float(share), int(part))
        ranked = sorted(total, key=lambda item: (-total[item], item))[:k]
        out_items.append(ranked + [PAD] * (k - len(ranked)))
        out_scores.append([total[i] for i in ranked] + [-np.inf] * (k - len(ranked)))
        out_sources.append([best[i][1] for i in ranked] + [-1] * (k - len(ranked)))
    return out_items, out_scores, out_sources


def test_a_score_blend_sums_equal_items_per_row_as_spelt_out() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        n, depth, k = int(rng.integers(1, 8)), int(rng.integers(1, 9)), int(rng.integers(1, 12))
        items = rng.integers(-1, 10, (n, 2 * depth))  # repeats within and across parts, padding
        shares = np.where(items == PAD, 0.0, rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], items.shape))
        parts = np.repeat([[0] * depth + [1] * depth], n, axis=0)
        got = _top_sums(items, shares, parts, k)
        want = _top_sums_by_row(items, shares, parts, k)
        assert got[0].tolist() == want[0]
        np.testing.assert_array_equal(got[1], np.array(want[1]))  # the same sums, added in column order
        assert got[2].tolist() == want[2]


def test_a_built_policy_gives_each_item_the_reason_of_its_source() -> None:
    events = [("u0", "p1", "purchase", 1.0), ("u0", "p1", "purchase", 3.0), ("u1", "p2", "purchase", 2.0)]
    data = handmade(events)
    policy = Policy("sequence", ("buy_again", "popularity_recent"))
    model = build_policy(policy, data, data.interactions, trained={})
    items, scores, reasons = model.recommend_with_reasons(np.array([0, 3]), 3, ~data.servable)
    assert items[0, 0] == 1
    assert reasons[0, 0] == "para volver a comprar"
    assert reasons[0, 1] == "popular ahora"
    assert items[1, 0] == 1
    assert reasons[1, 0] == "popular ahora"
    assert np.isfinite(scores[items >= 0]).all()
    with pytest.raises(KeyError, match="no known source"):
        build_policy(Policy("single", ("full",)), data, data.interactions, trained={})


def test_a_policy_completes_short_lists_from_recent_popularity() -> None:
    events = [("u0", "p1", "purchase", 1.0), ("u0", "p1", "purchase", 3.0), ("u1", "p2", "purchase", 2.0)]
    data = handmade(events)
    model = build_policy(Policy("single", ("buy_again",)), data, data.interactions, trained={})
    items, scores, reasons = model.recommend_with_reasons(np.array([0, 3]), 4, ~data.servable)
    assert (items >= 0).all()  # u3 bought nothing, u0 one product: both lists are complete
    assert items[0, 0] == 1
    assert reasons[0, 0] == "para volver a comprar"
    assert set(reasons[0, 1:]) == {"popular ahora"}
    assert set(reasons[1]) == {"popular ahora"}
    assert np.all(np.diff(scores, axis=1) < 0)
    assert len(set(items[0].tolist())) == 4


def test_a_built_policy_refits_its_sources_with_the_settings_chosen_for_them() -> None:
    events = [(f"u{u}", f"p{(u + d) % 5}", "purchase", float(d)) for u in range(4) for d in range(3)]
    data = handmade(events)
    policy = Policy("single", ("ease",))
    default = build_policy(policy, data, data.interactions, trained={}).model
    chosen = build_policy(
        policy, data, data.interactions, trained={}, settings={"ease": {"lambda_scale": 8.0}}
    ).model
    assert isinstance(default, EASE)
    assert isinstance(chosen, EASE)
    assert chosen.lambda_scale == 8.0
    assert chosen.l2_used == pytest.approx(8.0 / default.lambda_scale * default.l2_used)
