"""The behavioural prior of the search signals: its strength is what the data says, and a
product's rate is shrunk towards its category's by exactly the formula of docs/adr/0044."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.search.behaviour_prior import Prior, fit_prior, shrunk_rates

pytestmark = pytest.mark.unit


def test_the_poisson_strength_recovers_the_spread_of_true_rates() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    rates = rng.gamma(shape=4.0, scale=0.5, size=n)  # mean 2, variance 1: strength 2 days
    exposure = rng.uniform(5.0, 50.0, n)
    events = rng.poisson(rates * exposure).astype(np.float64)
    prior = fit_prior(events, exposure, np.zeros(n, dtype=np.int64), "poisson")
    assert prior.strength == pytest.approx(2.0, rel=0.1)
    assert prior.rate == pytest.approx(2.0, rel=0.02)
    assert prior.fitted_on == n


def test_the_binomial_strength_recovers_the_beta_prior() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    ctr = rng.beta(2.0, 18.0, n)  # a + b = 20 impressions of evidence
    shown = rng.integers(20, 400, n).astype(np.float64)
    clicks = rng.binomial(shown.astype(np.int64), ctr).astype(np.float64)
    prior = fit_prior(clicks, shown, np.zeros(n, dtype=np.int64), "binomial")
    assert prior.strength == pytest.approx(20.0, rel=0.15)


def test_spread_the_categories_explain_is_not_counted_as_product_spread() -> None:
    rng = np.random.default_rng(2)
    n = 10_000
    groups = np.arange(n, dtype=np.int64) % 2
    exposure = np.full(n, 30.0)
    events = rng.poisson(np.where(groups == 0, 1.0, 9.0) * exposure).astype(np.float64)
    prior = fit_prior(events, exposure, groups, "poisson")
    # every product is its category's rate plus noise: the prior outweighs any product's own
    # 30 days many times over (ignoring the categories would give a strength under a day)
    assert prior.strength > 50 * 30.0
    pooled = fit_prior(events, exposure, np.zeros(n, dtype=np.int64), "poisson")
    assert pooled.strength < 1.0


def test_a_product_without_exposure_gets_its_category_rate_and_evidence_pulls_away() -> None:
    prior = Prior(strength=2.0, rate=1.0, fitted_on=3)
    groups = np.array([0, 0, 0, 1], dtype=np.int64)
    events = np.array([10.0, 30.0, 0.0, 0.0])
    exposure = np.array([5.0, 5.0, 0.0, 0.0])
    rates = shrunk_rates(events, exposure, groups, prior)
    category = (40.0 + 2.0 * 1.0) / (10.0 + 2.0)  # category 0's pooled rate, shrunk to the catalog's
    assert rates[2] == pytest.approx(category)
    assert rates[3] == pytest.approx(1.0)  # a category without exposure: the catalog's rate
    assert rates[0] == pytest.approx((10.0 + 2.0 * category) / (5.0 + 2.0))
    assert rates[1] == pytest.approx((30.0 + 2.0 * category) / (5.0 + 2.0))
    assert rates[0] < rates[2] < rates[1]


def test_without_any_exposure_the_prior_is_weak_and_centred_on_zero() -> None:
    prior = fit_prior(np.zeros(3), np.zeros(3), np.zeros(3, dtype=np.int64), "poisson")
    assert prior == Prior(strength=1.0, rate=0.0, fitted_on=0)
