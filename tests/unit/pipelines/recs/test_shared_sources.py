"""ALS is fitted once at a cutoff: the full model's ALS stands in for the policy's ALS source
and the evaluation's ALS row, and the lists it gives are those a second fit would give."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.policy import Policy
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
