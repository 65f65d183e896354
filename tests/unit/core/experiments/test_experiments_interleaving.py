"""Team-draft interleaving: list properties, credit, sign test, self-comparison is a coin flip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from support.experiments_synthetic import RankingProblem

from vitrina.core.experiments import Interleaved, interleaving_test, outcome, team_draft
from vitrina.core.experiments.interleaving import TEAM_A, TEAM_B, credit

pytestmark = pytest.mark.unit

rankings = st.lists(st.integers(0, 30), max_size=25)


@settings(max_examples=300, deadline=None)
@given(a=rankings, b=rankings, k=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_team_draft_list_properties(a: list[int], b: list[int], k: int, seed: int) -> None:
    shown = team_draft(a, b, k, seed)
    assert len(shown.items) == len(shown.teams) <= k
    assert len(set(shown.items)) == len(shown.items), "no duplicates"
    for team, ranking in ((TEAM_A, a), (TEAM_B, b)):
        drafted = shown.team_items(team)
        first_rank = {item: ranking.index(item) for item in drafted}  # KeyError/ValueError if foreign
        assert [first_rank[i] for i in drafted] == sorted(first_rank[i] for i in drafted), "order kept"
    picks_a, picks_b = shown.teams.count(TEAM_A), shown.teams.count(TEAM_B)
    assert abs(picks_a - picks_b) <= 1, "teams draft in turns"
    # the list stops only at k or when one ranking has nothing new left
    if len(shown.items) < k:
        assert set(a) <= set(shown.items) or set(b) <= set(shown.items)
    # a shorter list is a prefix of the longer one (same seed)
    if len(shown.items) > 1:
        shorter = team_draft(a, b, len(shown.items) - 1, seed)
        assert shorter.items == shown.items[:-1]


def test_same_seed_same_list_and_both_teams_lead_equally_often() -> None:
    a, b = list(range(10)), list(range(10, 20))
    assert team_draft(a, b, 10, 7) == team_draft(a, b, 10, 7)
    rng = np.random.default_rng(0)
    firsts = [team_draft(a, b, 10, rng).teams[0] for _ in range(4_000)]
    assert stats.binomtest(sum(firsts), 4_000).pvalue > 0.001
    with pytest.raises(ValueError, match="k must be"):
        team_draft(a, b, 0, 1)


def test_credit_and_outcome_by_hand() -> None:
    shown = Interleaved(items=("p1", "p2", "p3", "p4"), teams=(TEAM_B, TEAM_A, TEAM_A, TEAM_B))
    assert credit(shown, ["p2", "p3", "p4", "p4", "zz"]) == (2, 1)
    assert outcome(shown, ["p2", "p3", "p4"]) == -1
    assert outcome(shown, ["p1"]) == 1
    assert outcome(shown, ["p1", "p2"]) == 0
    assert outcome(shown, []) == 0


def test_interleaving_test_matches_the_binomial_sign_test() -> None:
    outcomes = np.array([1] * 60 + [-1] * 38 + [0] * 102)
    result = interleaving_test(outcomes)
    reference = stats.binomtest(60, 98, 0.5)
    assert (result.wins_a, result.wins_b, result.ties, result.queries) == (38, 60, 102, 200)
    assert result.p_value == pytest.approx(reference.pvalue)
    ci = reference.proportion_ci(method="exact")
    assert (result.share_ci_low, result.share_ci_high) == pytest.approx((ci.low, ci.high))
    assert result.delta == pytest.approx((60 - 38) / 200)
    assert result.winner == "b"
    assert interleaving_test(-outcomes).winner == "a"
    assert interleaving_test([1] * 6 + [-1] * 4 + [0] * 5).winner is None
    none = interleaving_test(np.zeros(10, int))
    assert (none.p_value, none.winner, none.delta) == (1.0, None, 0.0)
    with pytest.raises(ValueError, match="-1, 0 and"):
        interleaving_test([2, 0])


def test_a_ranker_against_itself_wins_half_of_the_decided_queries() -> None:
    problem = RankingProblem(np.random.default_rng(21))
    result = interleaving_test(problem.interleaved(3_000, same_ranker=True))
    assert result.wins_a + result.wins_b > 500
    assert result.share_ci_low < 0.5 < result.share_ci_high
    assert result.winner is None


def test_the_better_ranker_wins() -> None:
    problem = RankingProblem(np.random.default_rng(22))
    result = interleaving_test(problem.interleaved(3_000))
    assert result.winner == "b"
    assert result.share_b > 0.5
