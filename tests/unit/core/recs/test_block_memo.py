"""A shared source's lists kept for the last block of users: the batch's two lists ask it once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.config import get_settings
from vitrina.core.recs.blends import SCORE_BLEND_DEPTH
from vitrina.core.recs.block_memo import BlockMemo, shared_for_a_batch
from vitrina.core.recs.discover import NewToUser
from vitrina.core.recs.policy import FILL, Policy, build_policy, make_source
from vitrina.core.recs.source_ranker import SOURCE_LTR, SOURCE_LTR_NEW, SourceRanker, fit_rankers
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs.publish import score_lists

pytestmark = pytest.mark.unit


def shop() -> list[Event]:
    """40 users over 30 products: each buys and views a few, seeded, over the training days."""
    rng = np.random.default_rng(5)
    events: list[Event] = []
    for user in range(40):
        for item in rng.choice(30, size=int(rng.integers(2, 9)), replace=False):
            kind = "purchase" if rng.random() < 0.4 else "click"
            events.append((f"u{user}", f"p{item}", kind, float(rng.uniform(0, 9.5))))
    return sorted(events, key=lambda e: e[3])


def test_a_part_of_the_last_block_is_answered_from_it_at_that_depth_or_less_and_the_same_exclusions() -> None:
    data = handmade(shop(), n_items=30, n_users=40)
    als = make_source("als").fit(data, data.interactions)
    memo = BlockMemo(als, depth=10)
    exclude = np.zeros(30, dtype=bool)
    exclude[[3, 4]] = True
    block = np.arange(5, 25)
    items, _scores = memo.recommend(block, 6, exclude)  # scored 10 deep, answered 6
    assert items.shape == (20, 6)
    assert (memo.hits, memo.misses) == (0, 1)
    part = np.array([20, 7, 5])
    kept = memo.recommend(part, 10, exclude)
    assert (memo.hits, memo.misses) == (1, 1)
    fresh = als.recommend(part, 10, exclude)
    assert np.array_equal(kept[0], fresh[0])
    assert np.array_equal(kept[0][:, :6], items[[15, 2, 0]])  # a list is the prefix of a deeper one
    np.testing.assert_allclose(kept[1], fresh[1], rtol=1e-6)  # BLAS rounding of another product
    shallower = memo.recommend(part, 4, exclude)
    assert (memo.hits, memo.misses) == (2, 1)
    assert np.array_equal(shallower[0], als.recommend(part, 4, exclude)[0])
    memo.recommend(block, 10, exclude.copy())  # another mask, however equal
    memo.recommend(np.array([1, 5]), 10, exclude)  # u1 was not in the block
    memo.recommend(np.array([1, 5]), 15, exclude)  # deeper than kept
    assert (memo.hits, memo.misses) == (2, 4)
    memo.recommend(block, 10, exclude)
    assert memo.recommend(part, 10, exclude)[0].shape == (3, 10)
    assert (memo.hits, memo.misses) == (3, 5)


def test_both_lists_block_by_block_equal_each_scored_alone(tmp_path: Path) -> None:
    data = handmade(shop(), n_items=30, n_users=40)
    history = data.interactions
    settings = get_settings(home=tmp_path).model_copy(update={"batch_block_users": 7})
    policy = Policy("score", ("als", FILL), 0.75)
    exclude = ~data.servable
    users = np.arange(40)
    bought = UserItems.purchases(history, 30)

    def models(shared: bool) -> tuple[object, NewToUser]:
        sources = {"als": make_source("als").fit(data, history)}
        sources = shared_for_a_batch(sources) if shared else sources
        served = build_policy(policy, data, history, sources)
        return served, NewToUser(build_policy(policy, data, history, sources), bought)

    served, discover = models(shared=False)
    alone = (
        served.recommend_with_reasons(users, 8, exclude),
        discover.recommend_with_reasons(users, 8, exclude),
    )
    served, discover = models(shared=True)
    together = score_lists(settings, served, discover, users, 8, exclude)
    assert together[1] is not None
    for want, got in zip(alone, together, strict=True):
        items, scores, reasons = got
        assert np.array_equal(items, want[0])
        assert np.array_equal(reasons, want[2])
        np.testing.assert_allclose(scores, want[1], rtol=1e-6)  # BLAS rounding of another product
    memo = served.model.parts[0]
    assert isinstance(memo, BlockMemo)
    assert memo.hits > 0


def _ranker(name: str) -> SourceRanker:
    ranker = make_source(name)
    assert isinstance(ranker, SourceRanker)
    return ranker


def test_the_rankers_candidates_and_a_blend_holding_the_same_fit_share_one_memo() -> None:
    data = handmade(shop(), n_items=30, n_users=40)
    history = data.interactions
    als = make_source("als").fit(data, history)
    rankers = [_ranker(SOURCE_LTR), _ranker(SOURCE_LTR_NEW)]
    fit_rankers(rankers, data, history, {"als": als})
    shared = shared_for_a_batch({"als": als, SOURCE_LTR: rankers[0], SOURCE_LTR_NEW: rankers[1]})
    memo, served, discover = shared["als"], shared[SOURCE_LTR], shared[SOURCE_LTR_NEW]
    assert isinstance(memo, BlockMemo)
    assert isinstance(served, SourceRanker)
    assert isinstance(discover, SourceRanker)
    assert served.sources["als"] is memo
    assert discover.sources["als"] is memo
    ease = served.sources["ease"]
    assert isinstance(ease, BlockMemo)
    assert (memo.depth, ease.depth) == (SCORE_BLEND_DEPTH, 0)  # a blend's part; the rankers' alone
    assert served.sources["ease"] is discover.sources["ease"]
    assert served.sources["buy_again"] is rankers[0].sources["buy_again"]  # cheap: not kept
    users, exclude = np.arange(40), ~data.servable
    for ranker, memoised in zip(rankers, (served, discover), strict=True):
        want, got = ranker.recommend(users, 8, exclude), memoised.recommend(users, 8, exclude)
        assert np.array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    assert (memo.hits, memo.misses) == (1, 1)  # the discovery ranker's ask was the served one's
    assert memo.recommend(users, SCORE_BLEND_DEPTH, exclude)[0].shape[1] == SCORE_BLEND_DEPTH
    assert (memo.hits, memo.misses) == (2, 1)  # a blend's ask: scored as deep for the ranker
