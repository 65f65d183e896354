"""A/A false positives, always-valid monitoring, and sessions to a decision: A/B vs interleaving."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from support.experiments_synthetic import ArmPair, RankingProblem, bernoulli_arms

from vitrina.core.experiments.sequential import AlwaysValidP, log_mixture_ratio, two_arm_n_eff
from vitrina.core.experiments.simulation import (
    aa_false_positive_rates,
    ab_sessions_to_decision,
    interleaving_sessions_to_decision,
    sessions_to_decision,
)

pytestmark = pytest.mark.unit


def aa_run(i: int) -> ArmPair:
    """One A/A experiment: 20 000 sessions of one system (CTR 5 %, conversion 1 %), split 80/20.

    Large enough for ~40 buying sessions in the small arm: with far fewer, Welch's test on the
    heavy-tailed revenue is liberal (≈ 8 % false positives at 12 buyers).
    """
    return bernoulli_arms(np.random.default_rng([17, i]), 20_000, 0.05, 0.05, share_treatment=0.2)


def test_forty_aa_runs_give_a_false_positive_rate_consistent_with_alpha() -> None:
    checks = aa_false_positive_rates(aa_run, runs=40)
    assert set(checks) == {"ctr", "conversion", "revenue"}
    for check in checks.values():
        assert check.runs == 40
        assert len(check.p_values) == 40
        assert check.ci_low <= check.rate <= check.ci_high
        assert check.consistent, check.to_dict()


def test_aa_p_values_are_uniform_and_a_real_effect_fires_almost_always() -> None:
    checks = aa_false_positive_rates(aa_run, runs=300)
    for check in checks.values():
        assert stats.kstest(check.p_values, "uniform").pvalue > 0.001
    # 5 % vs 6 % with 20 000 sessions per arm: power ≈ 0.98
    real = aa_false_positive_rates(
        lambda i: bernoulli_arms(np.random.default_rng([18, i]), 40_000, 0.05, 0.06),
        runs=40,
        metrics=("ctr",),
    )["ctr"]
    assert real.rate > 0.85
    assert not real.consistent


def test_always_valid_p_controls_false_positives_under_continuous_monitoring() -> None:
    # 300 A/A streams looked at every 200 sessions up to 20 000: naive peeking fires far more
    # often than alpha, the mixture SPRT at most alpha.
    rng = np.random.default_rng(3)
    looks = np.arange(200, 20_001, 200)
    naive = valid = 0
    for _ in range(300):
        x = np.cumsum(rng.random((2, looks[-1])) < 0.05, axis=1)[:, looks - 1]
        n = looks / 1.0
        pooled = (x[0] + x[1]) / (2 * n)
        z = (x[1] - x[0]) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
        naive += bool((2 * stats.norm.sf(np.abs(z)) < 0.05).any())
        monitor = AlwaysValidP()
        valid += bool(
            min(monitor.update(float(zi), two_arm_n_eff(int(m), int(m))) for zi, m in zip(z, n, strict=True))
            < 0.05
        )
    assert naive / 300 > 0.15
    assert valid / 300 <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 300)


def test_mixture_ratio_by_hand_and_monotone_p() -> None:
    # r = 0.1² · 400 = 4: log Λ = −½ log 5 + z² · 4 / 10
    assert log_mixture_ratio(3.0, 400, 0.1) == pytest.approx(-0.5 * math.log(5) + 9 * 0.4)
    assert log_mixture_ratio(0.0, 0, 0.1) == 0.0
    assert two_arm_n_eff(100, 100) == 50.0
    assert two_arm_n_eff(0, 100) == 0.0
    monitor = AlwaysValidP()
    p = [monitor.update(z, 1_000) for z in (4.0, 0.0, 5.0)]
    assert p[0] == pytest.approx(math.exp(-log_mixture_ratio(4.0, 1_000)))
    assert p[1] == p[0] > p[2]
    assert monitor.looks == 3
    with pytest.raises(ValueError, match="scale"):
        log_mixture_ratio(1.0, 10, 0.0)


def test_a_real_ab_effect_is_detected_in_the_right_direction() -> None:
    rng = np.random.default_rng(4)
    result = ab_sessions_to_decision(
        lambda n: bernoulli_arms(rng, n, 0.05, 0.06), block=2_000, max_sessions=100_000
    )
    assert result.decided
    assert result.winner == "treatment"
    assert result.p_value < 0.05
    assert result.sessions == 2_000 * result.looks
    same = ab_sessions_to_decision(
        lambda n: bernoulli_arms(rng, n, 0.05, 0.05), block=2_000, max_sessions=20_000
    )
    assert (same.decided, same.winner, same.sessions) == (False, None, 20_000)


def test_interleaving_needs_fewer_sessions_than_ab_on_a_ranking_problem() -> None:
    problem = RankingProblem(np.random.default_rng(2026))
    comparison = sessions_to_decision(
        problem.ab, problem.interleaved, repeats=5, block=200, max_sessions=30_000
    )
    every = comparison.ab + comparison.interleaving
    assert all(r.decided and r.winner == "treatment" for r in every), comparison.to_dict()
    assert comparison.median_interleaving < comparison.median_ab
    assert comparison.ratio > 1.5
    assert [r.method for r in every] == ["ab"] * 5 + ["interleaving"] * 5


def test_interleaving_between_equal_rankers_stays_undecided() -> None:
    problem = RankingProblem(np.random.default_rng(8))
    result = interleaving_sessions_to_decision(
        lambda n: problem.interleaved(n, same_ranker=True), block=500, max_sessions=3_000
    )
    assert not result.decided
    assert result.winner is None


def test_bad_schedules_are_rejected() -> None:
    with pytest.raises(ValueError, match="block"):
        ab_sessions_to_decision(lambda n: bernoulli_arms(np.random.default_rng(0), n, 0.1, 0.1), block=0)
    with pytest.raises(ValueError, match="runs"):
        aa_false_positive_rates(aa_run, runs=0)
    with pytest.raises(ValueError, match="repeats"):
        sessions_to_decision(aa_run, aa_run, repeats=0)  # type: ignore[arg-type]
