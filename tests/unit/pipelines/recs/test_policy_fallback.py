"""A shop's first version always publishes: a choice that loses to popularity on test gives way
to popularity, and drift does not refuse a first version."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.recs.policy import FULL, Policy
from vitrina.core.recs.selection import ALL_POSITIVES
from vitrina.pipelines.recs.first_version import FALLBACK, first_version_fallback
from vitrina.pipelines.recs.selection_record import Selection
from vitrina.pipelines.registration import GatePsi, first_version_psi

pytestmark = pytest.mark.unit


def metrics(served: float, popular: float) -> dict[str, dict[str, dict[str, float]]]:
    return {
        "models": {"popularity": {"ndcg@10": 0.05}, "served": {"ndcg@10": 0.04}},
        "all_positives": {"popularity": {"ndcg@10": popular}, "served": {"ndcg@10": served}},
    }


def selection(part: str = "ease") -> Selection:
    table = {part: {ALL_POSITIVES: 0.3, "discovery": 0.1}}
    return Selection(Policy("single", (part,)), ALL_POSITIVES, table, users=120)


def per_user(gain: float, users: int = 200, seed: int = 5) -> dict[str, np.ndarray]:
    """Per-user test NDCG@10 of popularity and of a choice ``gain`` above it on average, each
    user's difference spread by ±0.3 (so about 0.02 is noise on 200 users)."""
    rng = np.random.default_rng(seed)
    popularity = rng.uniform(0.0, 0.4, users)
    noise = rng.choice([-0.3, 0.3], users)
    noise -= noise.mean()
    return {"popularity": popularity, "served": popularity + gain + noise}


def scored(scores: dict[str, np.ndarray]) -> dict[str, dict[str, dict[str, float]]]:
    """The test metrics whose all-positives means are those of ``scores``."""
    return metrics(served=float(scores["served"].mean()), popular=float(scores["popularity"].mean()))


def test_a_choice_that_beats_popularity_on_test_is_kept() -> None:
    chosen, numbers = selection(), metrics(served=0.08, popular=0.07)
    assert not first_version_fallback(chosen, numbers, ratio=1.0)
    assert chosen.policy.name == "ease"
    assert chosen.record()["selection.chosen"] == "ease"
    assert numbers["all_positives"]["served"]["ndcg@10"] == 0.08


def test_a_choice_that_loses_on_test_gives_way_to_popularity_and_says_so() -> None:
    chosen, numbers = selection(), metrics(served=0.06, popular=0.07)
    assert first_version_fallback(chosen, numbers, ratio=1.0)
    assert chosen.policy == FALLBACK
    record = chosen.record()
    assert record["selection.chosen"] == FALLBACK.name
    assert record["selection.validation_choice"] == "ease"
    assert "0.0600" in record["selection.fallback"]
    assert "ease" in chosen.note()
    for section in numbers.values():  # every served row now reads popularity's numbers
        assert section["served"] == section["popularity"]


def test_a_trained_choice_keeps_serving_only_when_it_beats_popularity_beyond_noise() -> None:
    within = per_user(gain=0.01)
    chosen, numbers = selection(FULL), scored(within)
    assert numbers["all_positives"]["served"]["ndcg@10"] > numbers["all_positives"]["popularity"]["ndcg@10"]
    assert first_version_fallback(chosen, numbers, ratio=1.0, scores=within)
    assert chosen.policy == FALLBACK
    assert chosen.fallback is not None
    assert "not better beyond noise" in chosen.fallback
    assert "200 users" in chosen.fallback
    beyond = per_user(gain=0.1)
    chosen = selection(FULL)
    assert not first_version_fallback(chosen, scored(beyond), ratio=1.0, scores=beyond)
    assert chosen.policy.name == FULL


def test_a_refitted_choice_within_noise_keeps_the_better_mean() -> None:
    above, below = per_user(gain=0.01), per_user(gain=-0.01)
    chosen = selection()
    assert not first_version_fallback(chosen, scored(above), ratio=1.0, scores=above)
    assert chosen.policy.name == "ease"
    # below popularity's mean, within noise: the gate's bar (ratio × popularity) still decides
    chosen = selection()
    assert first_version_fallback(chosen, scored(below), ratio=1.0, scores=below)
    assert chosen.fallback is not None
    assert "within noise, the lower mean" in chosen.fallback


def test_a_refitted_choice_beaten_beyond_noise_gives_way_even_above_the_ratio() -> None:
    beaten = per_user(gain=-0.05)
    chosen, numbers = selection(), scored(beaten)
    served = numbers["all_positives"]["served"]["ndcg@10"]
    popular = numbers["all_positives"]["popularity"]["ndcg@10"]
    assert served >= 0.7 * popular
    assert not first_version_fallback(selection(), scored(beaten), ratio=0.7)  # the means alone: kept
    assert first_version_fallback(chosen, numbers, ratio=0.7, scores=beaten)
    assert chosen.fallback is not None
    assert "worse beyond noise" in chosen.fallback


def test_drift_does_not_refuse_a_first_version_but_still_guards_a_champion() -> None:
    measured = GatePsi(0.53)
    assert first_version_psi(measured, has_champion=True) == measured
    first = first_version_psi(measured, has_champion=False)
    assert first.value == 0.53
    assert first.skip_reason is not None
    assert "no champion yet" in first.skip_reason
    drift = GatePsi(0.53, "not applied: drift retrain")
    assert first_version_psi(drift, has_champion=False) == drift
