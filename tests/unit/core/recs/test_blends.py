"""Blends: a sequence fills each list from its parts in turn without repeats; a score blend
mixes scaled scores; each slot says which part supplied it."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import handmade

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.blends import ScoreBlend, SequenceBlend
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
