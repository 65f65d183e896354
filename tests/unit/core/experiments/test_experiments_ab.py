"""A/B statistics against hand-computed values and scipy / statsmodels references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import power as sm_power
from statsmodels.stats import proportion as sm_proportion

from vitrina.core.experiments import (
    SampleStats,
    power_proportions,
    sample_size_proportions,
    srm_check,
    two_proportion_test,
    welch_test,
)

pytestmark = pytest.mark.unit

Z975 = stats.norm.ppf(0.975)


def test_two_proportion_test_matches_the_hand_computation() -> None:
    # 500/10 000 vs 580/10 000: pooled p = 0.054, se0 = sqrt(.054 * .946 * 2e-4) = 0.0031964
    c = two_proportion_test(500, 10_000, 580, 10_000)
    assert c.control == 0.05
    assert c.treatment == 0.058
    assert c.diff == pytest.approx(0.008)
    assert c.statistic == pytest.approx(0.008 / 0.0031964, rel=1e-4)
    assert c.p_value == pytest.approx(2 * stats.norm.sf(2.50284), rel=1e-4)
    se = math.sqrt(0.05 * 0.95 / 10_000 + 0.058 * 0.942 / 10_000)
    assert (c.ci_low, c.ci_high) == pytest.approx((0.008 - Z975 * se, 0.008 + Z975 * se))
    assert c.lift == pytest.approx(0.16)
    se_log = math.sqrt(0.95 / 500 + 0.942 / 580)
    assert (c.lift_ci_low, c.lift_ci_high) == pytest.approx(
        (1.16 * math.exp(-Z975 * se_log) - 1, 1.16 * math.exp(Z975 * se_log) - 1)
    )
    assert c.significant
    assert c.direction == "better"


@pytest.mark.parametrize("seed", range(5))
def test_z_squared_is_pearsons_chi2_on_the_2x2_table(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n2 = (int(x) for x in rng.integers(50, 5000, 2))
    x1, x2 = int(rng.integers(1, n1)), int(rng.integers(1, n2))
    c = two_proportion_test(x1, n1, x2, n2)
    reference = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert c.statistic**2 == pytest.approx(reference.statistic)
    assert c.p_value == pytest.approx(reference.pvalue)
    assert math.copysign(1, c.statistic) == math.copysign(1, x2 / n2 - x1 / n1)


def test_two_proportion_test_matches_statsmodels() -> None:
    c = two_proportion_test(412, 8_000, 131, 2_000)
    z, p = sm_proportion.proportions_ztest([131, 412], [2_000, 8_000])
    assert (c.statistic, c.p_value) == pytest.approx((z, p))
    low, high = sm_proportion.confint_proportions_2indep(
        131, 2_000, 412, 8_000, compare="diff", method="wald"
    )
    assert (c.ci_low, c.ci_high) == pytest.approx((low, high))
    low, high = sm_proportion.confint_proportions_2indep(
        131, 2_000, 412, 8_000, compare="ratio", method="log"
    )
    assert (c.lift_ci_low, c.lift_ci_high) == pytest.approx((low - 1, high - 1))


def test_two_proportion_edge_cases() -> None:
    same = two_proportion_test(0, 100, 0, 100)
    assert same.p_value == 1.0
    assert not same.significant
    assert math.isnan(same.lift)
    assert two_proportion_test(100, 100, 100, 100).p_value == 1.0
    with pytest.raises(ValueError, match="successes"):
        two_proportion_test(11, 10, 1, 10)
    with pytest.raises(ValueError, match="n > 0"):
        two_proportion_test(0, 0, 1, 10)
    with pytest.raises(ValueError, match="alpha"):
        two_proportion_test(1, 10, 1, 10, alpha=1.5)


@pytest.mark.parametrize("seed", range(4))
def test_welch_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.exponential(10.0, int(rng.integers(30, 800)))
    treatment = rng.exponential(12.0, int(rng.integers(30, 800))) * (rng.random() < 0.8)
    c = welch_test(control, treatment, alpha=0.1)
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    assert c.statistic == pytest.approx(reference.statistic)
    assert c.p_value == pytest.approx(reference.pvalue)
    assert c.df == pytest.approx(reference.df)
    ci = reference.confidence_interval(confidence_level=0.9)
    assert (c.ci_low, c.ci_high) == pytest.approx((ci.low, ci.high))
    assert c.diff == pytest.approx(treatment.mean() - control.mean())
    # the t-test and its interval agree exactly: significant iff 0 is outside the interval
    assert c.significant == (c.ci_low > 0 or c.ci_high < 0)
    assert c.lift_ci_low < c.lift < c.lift_ci_high


def test_welch_on_summary_statistics_equals_raw_values_and_scipy_from_stats() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(5, 2, 400), rng.normal(5.3, 3, 150)
    raw = welch_test(a, b)
    summary = welch_test(SampleStats.of(a), SampleStats.of(b))
    assert raw == summary
    reference = stats.ttest_ind_from_stats(b.mean(), b.std(ddof=1), 150, a.mean(), a.std(ddof=1), 400, False)
    assert (summary.statistic, summary.p_value) == pytest.approx(tuple(reference))


def test_welch_degenerate_and_bad_input() -> None:
    assert welch_test([1.0, 1.0], [1.0, 1.0]).p_value == 1.0
    different = welch_test([1.0, 1.0], [2.0, 2.0])
    assert different.p_value == 0.0
    assert different.direction == "better"
    with pytest.raises(ValueError, match="at least 2"):
        welch_test([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        welch_test([1.0, math.nan], [1.0, 2.0])


def test_srm_check_matches_scipy_chisquare_and_flags_a_broken_split() -> None:
    ok = srm_check({"champion": 8_030, "challenger": 1_970}, {"champion": 0.8, "challenger": 0.2})
    reference = stats.chisquare([8_030, 1_970], [8_000, 2_000])
    assert (ok.chi2, ok.p_value) == pytest.approx((reference.statistic, reference.pvalue))
    assert not ok.mismatch
    # 8 200 / 1 800 instead of 8 000 / 2 000: chi2 = 200²/8000 + 200²/2000 = 25, p ≈ 6e-7
    broken = srm_check({"champion": 8_200, "challenger": 1_800}, {"champion": 80, "challenger": 20})
    assert broken.chi2 == pytest.approx(25.0)
    assert broken.mismatch
    assert broken.expected == pytest.approx({"champion": 8_000, "challenger": 2_000})
    three = srm_check({"a": 340, "b": 330, "c": 330}, {"a": 1, "b": 1, "c": 1})
    assert three.p_value == pytest.approx(stats.chisquare([340, 330, 330]).pvalue)


@pytest.mark.parametrize(
    ("observed", "shares", "message"),
    [
        ({"a": 1, "b": 2}, {"a": 0.5, "c": 0.5}, "must equal"),
        ({"a": 1}, {"a": 1.0}, "at least 2"),
        ({"a": 0, "b": 0}, {"a": 0.5, "b": 0.5}, "positive total"),
        ({"a": 1, "b": 2}, {"a": 0.0, "b": 1.0}, "> 0"),
    ],
)
def test_srm_check_rejects_bad_input(
    observed: dict[str, int], shares: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        srm_check(observed, shares)


def test_sample_size_hand_value_and_inverse_of_power() -> None:
    # 5 % → 6 %, alpha .05, power .8: [1.95996·√(2·.055·.945) + .84162·√(.05·.95 + .06·.94)]² / .01² = 8157.9
    size = sample_size_proportions(0.05, 0.06)
    assert (size.control, size.treatment, size.total) == (8_158, 8_158, 16_316)
    for ratio in (1.0, 0.25):
        size = sample_size_proportions(0.10, 0.11, power=0.9, ratio=ratio)
        assert size.treatment == math.ceil(ratio * size.control)
        assert power_proportions(0.10, 0.11, size.control, ratio=ratio) >= 0.9
        assert power_proportions(0.10, 0.11, size.control - 1, ratio=ratio) < 0.9


def test_sample_size_is_close_to_statsmodels_arcsine_approximation() -> None:
    effect = sm_proportion.proportion_effectsize(0.06, 0.05)
    reference = sm_power.NormalIndPower().solve_power(effect, alpha=0.05, power=0.8, ratio=1.0)
    assert sample_size_proportions(0.05, 0.06).control == pytest.approx(reference, rel=0.01)


@pytest.mark.parametrize("ratio", [1.0, 0.25])
def test_sample_size_delivers_the_planned_power_in_simulation(ratio: float) -> None:
    size = sample_size_proportions(0.05, 0.06, ratio=ratio)
    rng = np.random.default_rng(11)
    runs = 2_000
    x_c = rng.binomial(size.control, 0.05, runs)
    x_t = rng.binomial(size.treatment, 0.06, runs)
    hits = [
        two_proportion_test(int(a), size.control, int(b), size.treatment).significant
        for a, b in zip(x_c, x_t, strict=True)
    ]
    assert np.mean(hits) == pytest.approx(0.8, abs=3 * math.sqrt(0.16 / runs))


def test_sample_size_rejects_impossible_plans() -> None:
    with pytest.raises(ValueError, match="differ"):
        sample_size_proportions(0.05, 0.05)
    with pytest.raises(ValueError, match="power"):
        sample_size_proportions(0.05, 0.06, power=1.0)
    with pytest.raises(ValueError, match="ratio"):
        sample_size_proportions(0.05, 0.06, ratio=0.0)
