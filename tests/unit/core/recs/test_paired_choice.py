"""Telling contenders apart by a paired test on the same users' NDCG@10 (docs/adr/0029): an
incumbent keeps its place unless a challenger wins beyond noise, and lists tied on all
positives are told apart by discovery; the same gap decides on many users and not on a few."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.recs.paired import LEVEL, beyond_noise, p_better, pooled_scores
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, challenge, choose, choose_discover, full_or

pytestmark = pytest.mark.unit


def swing(n: int, period: int = 1) -> np.ndarray:
    """+1 and -1 in turns of ``period`` users: a per-user spread that averages to zero."""
    return np.where((np.arange(n) // period) % 2 == 0, 1.0, -1.0)


def pair(n: int, gain: float) -> tuple[np.ndarray, np.ndarray]:
    """The simpler contender's per-user scores, and the other's on the same users: ``gain``
    better on average, each user's difference ``gain`` ± 0.2 (``n`` even)."""
    simple = np.linspace(0.2, 0.6, n)
    return simple, simple + gain + 0.2 * swing(n)


def table(scores: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    return {
        name: {view: float(values.mean()) for view, values in row.items()} for name, row in scores.items()
    }


def test_a_list_choice_takes_the_best_mean_even_within_noise() -> None:
    # the paired test decides when a view cannot tell (below), not which of two tied lists serves
    simple, better = pair(300, 0.005)  # t = 0.43
    scores = {"popularity_recent": {DISCOVERY: simple}, "ease": {DISCOVERY: better}}
    means = table(scores)
    assert p_better(better, simple) >= LEVEL  # not beyond noise…
    assert choose_discover(means, scores=scores) == "ease"  # …yet the better mean serves


def test_a_clear_advantage_picks_the_better_contender() -> None:
    simple, better = pair(300, 0.08)
    scores = {"popularity_recent": {DISCOVERY: simple}, "ease": {DISCOVERY: better}}
    assert p_better(better, simple) < LEVEL
    assert choose_discover(table(scores), scores=scores) == "ease"


def test_the_same_gap_decides_on_many_users_and_not_on_few() -> None:
    # no fixed margin: the gap that counts shrinks with the users behind it
    few_simple, few_better = pair(40, 0.02)
    many_simple, many_better = pair(20_000, 0.02)
    assert not beyond_noise(few_better, few_simple)
    assert beyond_noise(many_better, many_simple)


def test_within_noise_on_all_positives_the_better_discovery_mean_wins() -> None:
    tied, tied_too = pair(400, 0.0)
    simple, slightly_better = pair(400, 0.005)
    scores = {
        "buy_again": {ALL_POSITIVES: tied, DISCOVERY: simple},
        "buy_again > ease": {ALL_POSITIVES: tied_too, DISCOVERY: slightly_better},
    }
    assert choose(table(scores), scores=scores) == "buy_again > ease"  # finds something new
    # a clear lead on all positives is not given up for discovery
    _, clearly_better = pair(400, 0.1)
    scores["buy_again"][ALL_POSITIVES] = clearly_better
    scores["buy_again > ease"][DISCOVERY] = simple + 0.3
    assert beyond_noise(clearly_better, tied_too)
    assert choose(table(scores), scores=scores) == "buy_again"


def test_exact_ties_go_to_the_simpler() -> None:
    same = np.linspace(0.2, 0.6, 200)
    scores = {"popularity_recent": {DISCOVERY: same}, "ease": {DISCOVERY: same.copy()}}
    assert choose_discover(table(scores), scores=scores) == "popularity_recent"


def test_a_rival_and_the_full_model_must_win_the_paired_test() -> None:
    simple, noisy = pair(300, 0.005)
    _, clear = pair(300, 0.08)
    for rival, expected in ((noisy, "pooled"), (clear, "rival")):
        scores = {
            "pooled": {ALL_POSITIVES: simple, DISCOVERY: simple},
            "rival": {ALL_POSITIVES: rival, DISCOVERY: simple},
        }
        assert challenge("pooled", "rival", table(scores), scores=scores) == expected
    for full, expected in ((noisy, "ease"), (clear, "full")):
        scores = {
            "ease": {ALL_POSITIVES: simple, DISCOVERY: simple},
            "full": {ALL_POSITIVES: full, DISCOVERY: simple},
        }
        assert full_or("ease", table(scores), users=300, scores=scores) == expected


def test_pooled_windows_pool_the_per_user_differences() -> None:
    windows = []
    for _ in range(3):
        simple, better = pair(150, 0.02)  # t = 1.22 per window, 2.12 pooled
        windows.append({"popularity_recent": {DISCOVERY: simple}, "ease": {DISCOVERY: better}})
    # no single window of 150 users tells them apart…
    assert not any(beyond_noise(w["ease"][DISCOVERY], w["popularity_recent"][DISCOVERY]) for w in windows)
    pooled = pooled_scores(windows)
    assert pooled["ease"][DISCOVERY].size == 450
    # …their 450 users together do
    assert beyond_noise(pooled["ease"][DISCOVERY], pooled["popularity_recent"][DISCOVERY])
    assert choose_discover(table(pooled), scores=pooled) == "ease"


def test_degenerate_pairs_prove_nothing_or_everything() -> None:
    assert p_better(np.array([1.0]), np.array([0.0])) == 1.0  # one user
    assert p_better(np.full(5, 0.5), np.full(5, 0.4)) == 0.0  # every user better by the same
    assert p_better(np.full(5, 0.4), np.full(5, 0.4)) == 1.0  # identical lists
    assert p_better(np.array([0.5, np.nan, 0.75, 1.0]), np.array([0.25, 0.5, np.nan, 0.75])) == 0.0
    with pytest.raises(ValueError, match="same users"):
        p_better(np.zeros(3), np.zeros(4))
    assert pooled_scores([]) == {}
    # a contender missing from a window would misalign the pairs: left out
    assert set(
        pooled_scores(
            [{"a": {DISCOVERY: np.zeros(2)}, "b": {DISCOVERY: np.zeros(2)}}, {"a": {DISCOVERY: np.ones(1)}}]
        )
    ) == {"a"}
