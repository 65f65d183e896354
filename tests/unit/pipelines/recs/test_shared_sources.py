"""ALS is fitted once at a cutoff: the full model's ALS stands in for the policy's ALS source
and the evaluation's ALS row, and the lists it gives are those a second fit would give. The two
lists' source rankers fit each training window's sources once for both."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.policy import SOURCES, Policy, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.source_ranker import SOURCE_LTR, SOURCE_LTR_NEW, SourceRanker
from vitrina.pipelines.recs.selection import policy_sources, shared_sources

pytestmark = pytest.mark.unit

EVENTS: list[Event] = [
    (f"u{u}", f"p{(u * 3 + j) % 8}", "purchase", float(u + j)) for u in range(6) for j in range(3)
]
ALS_POLICY = Policy("sequence", ("buy_again", "als", "popularity_recent"))


def test_the_full_models_als_is_reused_and_lists_as_a_second_fit_would() -> None:
    data = handmade(EVENTS, n_items=8, n_users=6)
    end = int(data.interactions.ts_us.max()) + 1
    history = data.interactions.before(end)
    assembled = ALSRecommender().fit(data, history)  # what assemble() fits at the cutoff
    shared = shared_sources(assembled, {})
    fitted = policy_sources((ALS_POLICY, None), data, end, {}, shared)
    assert fitted["als"] is assembled
    assert set(fitted) == {"buy_again", "als", "popularity_recent"}
    refitted = policy_sources((ALS_POLICY, None), data, end, {})["als"]
    assert refitted is not assembled
    users = np.arange(len(data.users))
    reused_items, reused_scores = fitted["als"].recommend(users, 5)
    items, scores = refitted.recommend(users, 5)
    assert np.array_equal(reused_items, items)
    assert np.allclose(reused_scores, scores)


def test_no_reuse_when_als_has_settings_of_its_own_or_was_not_fitted() -> None:
    data = handmade(EVENTS, n_items=8, n_users=6)
    fitted = ALSRecommender().fit(data, data.interactions)
    assert shared_sources(fitted, {"als": {"factors": 8}}) == {}
    assert shared_sources(ALSRecommender(), {}) == {}
    assert shared_sources(None, None) == {}


def _staples(n_users: int = 40, days: int = 20) -> list[Event]:
    """Each user re-buys a staple every two days and once bought a one-off."""
    rng = np.random.default_rng(2)
    events: list[Event] = []
    for u in range(n_users):
        events += [(f"u{u}", f"p{u % 4}", "purchase", day + 0.3 + 0.001 * u) for day in range(0, days, 2)]
        events.append((f"u{u}", f"p{4 + int(rng.integers(4))}", "purchase", float(rng.integers(days)) + 0.7))
    return events


def test_both_lists_rankers_share_each_windows_source_fits_and_list_as_fitted_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = handmade(_staples(), n_items=8, n_users=40)
    end = int(data.interactions.ts_us.max()) + 1
    history = data.interactions.before(end)
    ease_fits = {"n": 0}
    plain_ease = SOURCES["ease"]

    def counted(**kw: object) -> Recommender:
        ease_fits["n"] += 1
        return plain_ease(**kw)

    monkeypatch.setitem(SOURCES, "ease", counted)
    both = (Policy("single", (SOURCE_LTR,)), Policy("single", (SOURCE_LTR_NEW,)))
    fitted = policy_sources(both, data, end, {})
    rankers = [fitted[SOURCE_LTR], fitted[SOURCE_LTR_NEW]]
    assert all(isinstance(ranker, SourceRanker) and ranker.fitted for ranker in rankers)
    starts = {w["start_us"] for ranker in rankers if isinstance(ranker, SourceRanker) for w in ranker.windows}
    assert ease_fits["n"] == len(starts) + 1  # once per training window, once to serve
    users = np.arange(len(data.users))
    for name, ranker in zip((SOURCE_LTR, SOURCE_LTR_NEW), rankers, strict=True):
        alone = make_source(name, {}).fit(data, history)
        items, scores = alone.recommend(users, 6)
        shared_items, shared_scores = ranker.recommend(users, 6)
        assert np.array_equal(items, shared_items)
        assert np.array_equal(scores, shared_scores)
