"""A shop's first version always publishes: a choice that loses to popularity on test gives way
to popularity, and drift does not refuse a first version."""

from __future__ import annotations

import pytest

from vitrina.core.recs.policy import Policy
from vitrina.core.recs.selection import ALL_POSITIVES
from vitrina.pipelines.recs.selection import FALLBACK, Selection, first_version_fallback
from vitrina.pipelines.registration import GatePsi, first_version_psi

pytestmark = pytest.mark.unit


def metrics(served: float, popular: float) -> dict[str, dict[str, dict[str, float]]]:
    return {
        "models": {"popularity": {"ndcg@10": 0.05}, "served": {"ndcg@10": 0.04}},
        "all_positives": {"popularity": {"ndcg@10": popular}, "served": {"ndcg@10": served}},
    }


def selection() -> Selection:
    table = {"ease": {ALL_POSITIVES: 0.3, "discovery": 0.1}}
    return Selection(Policy("single", ("ease",)), ALL_POSITIVES, table, users=120)


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


def test_drift_does_not_refuse_a_first_version_but_still_guards_a_champion() -> None:
    measured = GatePsi(0.53)
    assert first_version_psi(measured, has_champion=True) == measured
    first = first_version_psi(measured, has_champion=False)
    assert first.value == 0.53
    assert first.skip_reason is not None
    assert "no champion yet" in first.skip_reason
    drift = GatePsi(0.53, "not applied: drift retrain")
    assert first_version_psi(drift, has_champion=False) == drift
