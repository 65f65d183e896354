"""Baselines: popularity, segment popularity and ALS learn only from the past they are given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.baselines import (
    GlobalPopularity,
    SegmentPopularity,
    UserItems,
    drop_members,
    recency_weights,
)

pytestmark = pytest.mark.unit
PAST: list[Event] = [
    ("u0", "p1", "click", 1.0),
    ("u1", "p1", "click", 2.0),
    ("u2", "p1", "purchase", 3.0),
    ("u3", "p2", "click", 4.0),
    ("u0", "p3", "add_to_cart", 5.0),
]
ALS_KW = {"factors": 4, "iterations": 5, "regularization": 0.1}


def _future(product: str) -> list[Event]:
    return [(f"u{u}", product, "purchase", 11.0 + u) for u in range(4)] * 3


def test_user_items_membership_counts_and_pairs() -> None:
    members = UserItems.of(np.array([0, 0, 2, 2, 2]), np.array([3, 1, 0, 3, 3]), n_items=5)
    ranked = np.array([[1, 2, 3, PAD], [0, 1, 2, 3], [3, 0, 4, PAD]])
    assert members.contains(np.array([0, 1, 2]), ranked).tolist() == [
        [True, False, True, False],
        [False, False, False, False],
        [True, True, False, False],
    ]
    assert members.count(np.array([2, 1, 0])).tolist() == [2, 0, 2]
    rows, items = members.pairs(np.array([2, 1, 0]))
    assert sorted(zip(rows.tolist(), items.tolist(), strict=True)) == [(0, 0), (0, 3), (2, 1), (2, 3)]


def test_drop_members_keeps_order_and_pads() -> None:
    members = UserItems.of(np.array([0, 0]), np.array([5, 7]), n_items=10)
    items = np.array([[5, 1, 7, 2, 3], [5, 1, 7, 2, 3]])
    scores = -np.arange(5, dtype=float)[None, :].repeat(2, axis=0)
    kept, top = drop_members(items, scores, np.array([0, 1]), members, k=4)
    assert kept.tolist() == [[1, 2, 3, PAD], [5, 1, 7, 2]]
    assert top[0].tolist() == [-1.0, -3.0, -4.0, -np.inf]


def test_a_half_life_holding_too_few_users_is_doubled_until_it_holds_enough() -> None:
    # the last choice on day 13; three other users chose on days 8, 9 and 10
    events = [("u0", "p0", "click", 13.0), *[(f"u{u}", "p1", "click", 7.0 + u) for u in (1, 2, 3)]]
    data = handmade(events)
    fixed = recency_weights(data.interactions, half_life_days=1.0)
    crowd = recency_weights(data.interactions, half_life_days=1.0, min_users=3)
    assert fixed.tolist() == pytest.approx([2.0**-5, 2.0**-4, 2.0**-3, 1.0])
    # 1, 2 and 4 days back hold one or two users; 8 days hold all four
    assert crowd.tolist() == pytest.approx([2.0 ** (-5 / 8), 2.0 ** (-4 / 8), 2.0 ** (-3 / 8), 1.0])
    everyone = recency_weights(data.interactions, half_life_days=1.0, min_users=50)
    assert everyone.tolist() == pytest.approx(crowd.tolist())  # never beyond the first choice


def test_recency_weights_halve_per_half_life() -> None:
    data = handmade([("u0", "p0", "click", 0.0), ("u0", "p1", "purchase", 7.0), ("u1", "p2", "click", 14.0)])
    weights = recency_weights(data.interactions, half_life_days=7.0)
    assert weights.tolist() == pytest.approx([0.25, 4 * 0.5, 1.0])
    assert recency_weights(data.interactions, None).tolist() == [1.0, 4.0, 1.0]
    with pytest.raises(ValueError, match="half_life_days"):
        recency_weights(data.interactions, 0.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: GlobalPopularity(),
        lambda: SegmentPopularity(),
        lambda: ALSRecommender(**ALS_KW),  # type: ignore[arg-type]
    ],
    ids=["popularity", "segment", "als"],
)
def test_fitting_before_the_cutoff_never_sees_the_future(make) -> None:  # type: ignore[no-untyped-def]
    # Same past, opposite futures: a baseline fitted on the past must not tell them apart.
    one, other = handmade(PAST + _future("p6")), handmade(PAST + _future("p7"))
    users = np.arange(4)
    lists = []
    for data in (one, other):
        model = make().fit(data, data.part("train"))
        items, scores = model.recommend(users, 5)
        assert items.shape == scores.shape == (4, 5)
        lists.append(items)
    np.testing.assert_array_equal(lists[0], lists[1])
    assert not np.isin(lists[0][:, :2], [6, 7]).any()  # the future hits are not what it learned


def test_popularity_ranks_by_decayed_weight_and_respects_exclusions() -> None:
    data = handmade([*PAST, ("u3", "p4", "click", 9.5)])
    # the toy's four users are its whole crowd: a one-day half-life holding one of them stays one day
    model = GlobalPopularity(half_life_days=1.0, min_recent_users=1).fit(data, data.part("train"))
    items, scores = model.recommend(np.array([3]), 3)
    assert items[0, 0] == 4  # a fresh click beats older, heavier interest with a 1-day half-life
    crowd = GlobalPopularity(half_life_days=1.0, min_recent_users=3).fit(data, data.part("train"))
    assert crowd.recommend(np.array([3]), 1)[0][0, 0] == 1  # one user's fresh click is not popular
    assert np.all(np.diff(scores[0]) <= 0)
    slow = GlobalPopularity(half_life_days=None).fit(data, data.part("train"))
    assert slow.recommend(np.array([3]), 1)[0][0, 0] == 1  # p1 has the most weight overall
    # u2 bought p1: never offered again; excluded items never appear; short lists are padded
    exclude = np.zeros(len(data.items), dtype=bool)
    exclude[[2, 5, 6, 7]] = True
    items, scores = slow.recommend(np.array([2, 0]), 6, exclude)
    assert 1 not in items[0]
    assert 1 in items[1]
    assert not np.isin(items, [2, 5, 6, 7]).any()
    assert (items[0, -2:] == PAD).all()
    assert np.isneginf(scores[0, -2:]).all()


def test_segment_popularity_backs_off_to_global() -> None:
    past: list[Event] = [
        ("u0", "p5", "click", 1.0),
        ("u1", "p5", "click", 2.0),
        ("u2", "p1", "purchase", 3.0),
        ("u2", "p1", "purchase", 3.5),
        ("u3", "p1", "click", 4.0),
    ]
    data = handmade(past, n_users=5, segments=["vip", "vip", "nuevo", "nuevo", None])
    model = SegmentPopularity(prior_strength=1.0, half_life_days=None, exclude_purchased=False)
    items, _ = model.fit(data, data.part("train")).recommend(np.arange(5), 1)
    assert items[:, 0].tolist() == [5, 5, 1, 1, 1]  # own segment first; no segment → global
    flat = SegmentPopularity(prior_strength=1e9, half_life_days=None, exclude_purchased=False)
    items, _ = flat.fit(data, data.part("train")).recommend(np.arange(5), 1)
    assert items[:, 0].tolist() == [1] * 5  # an overwhelming prior is global popularity
    with pytest.raises(ValueError, match="no column"):
        SegmentPopularity(column="planet").fit(data, data.part("train"))


def _blocks() -> list[Event]:
    # Users 0-3 like items 0-3, users 4-7 like items 4-7; user 3 has not seen item 3 yet.
    events = [(f"u{u}", f"p{i}", "click", 1.0 + u) for u in range(4) for i in range(4) if (u, i) != (3, 3)]
    return events + [(f"u{u}", f"p{i}", "click", 1.0 + u) for u in range(4, 8) for i in range(4, 8)]


def test_als_learns_co_consumption_falls_back_and_round_trips(tmp_path: Path) -> None:
    data = handmade(_blocks(), n_users=9)
    model = ALSRecommender(factors=4, iterations=10, regularization=0.01, filter_liked=True)
    model.fit(data, data.part("train"))
    items, _ = model.recommend(np.array([3, 8]), 2)
    assert items[0, 0] == 3  # the unseen item of its own block
    popular, _ = (
        GlobalPopularity(exclude_purchased=False).fit(data, data.part("train")).recommend(np.array([8]), 2)
    )
    np.testing.assert_array_equal(items[1], popular[0])  # unknown user: popularity
    again = ALSRecommender(factors=4, iterations=10, regularization=0.01, filter_liked=True)
    again.fit(data, data.part("train"))
    np.testing.assert_array_equal(again.user_factors, model.user_factors)  # deterministic
    model.save(tmp_path / "als")
    loaded = ALSRecommender.load(tmp_path / "als")
    exclude = np.zeros(len(data.items), dtype=bool)
    exclude[3] = True
    for users in (np.arange(9), np.array([8, 3])):
        np.testing.assert_array_equal(
            loaded.recommend(users, 4, exclude)[0], model.recommend(users, 4, exclude)[0]
        )
    assert 3 not in loaded.recommend(np.array([3]), 4, exclude)[0]
    with pytest.raises(ValueError, match="not a GlobalPopularity"):
        GlobalPopularity.load(tmp_path / "als")


def test_popularity_models_round_trip(tmp_path: Path) -> None:
    data = handmade(PAST, segments=["vip", "nuevo", "vip", None])
    for model, cls in ((GlobalPopularity(), GlobalPopularity), (SegmentPopularity(), SegmentPopularity)):
        model.fit(data, data.part("train"))
        model.save(tmp_path / model.name)
        loaded = cls.load(tmp_path / model.name)
        np.testing.assert_array_equal(
            loaded.recommend(np.arange(4), 5)[0], model.recommend(np.arange(4), 5)[0]
        )
    with pytest.raises(RuntimeError, match="fit"):
        GlobalPopularity().recommend(np.arange(2), 3)
