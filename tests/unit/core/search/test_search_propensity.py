"""Position-bias EM recovers a known examination curve."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.search.propensity import PositionBias, estimate_position_bias


def _impressions(theta: np.ndarray, n_pairs: int, shows: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    gamma = rng.beta(1.0, 3.0, n_pairs)
    pairs = np.repeat(np.arange(n_pairs), shows)
    positions = rng.integers(1, theta.size + 1, pairs.size)
    clicks = rng.random(pairs.size) < theta[positions - 1] * gamma[pairs]
    return pairs, positions, clicks.astype(np.int64)


@pytest.mark.unit
def test_em_recovers_the_examination_curve() -> None:
    truth = np.arange(1, 21, dtype=np.float64) ** -0.9
    pairs, positions, clicks = _impressions(truth, n_pairs=3000, shows=40, seed=1)
    bias = estimate_position_bias(pairs, positions, clicks)
    assert bias.theta[0] == 1.0
    assert np.all(np.diff(bias.theta) <= 0)
    np.testing.assert_allclose(bias.theta, truth, atol=0.04)


@pytest.mark.unit
def test_naive_ctr_by_rank_would_be_wrong_where_em_is_right() -> None:
    """Ranks seen mostly with relevant products inflate naive CTR; EM separates the two."""
    truth = np.arange(1, 11, dtype=np.float64) ** -0.9
    rng = np.random.default_rng(3)
    n_pairs, shows = 2000, 30
    gamma = rng.beta(1.0, 3.0, n_pairs)
    pairs = np.repeat(np.arange(n_pairs), shows)
    # A biased logger: more relevant products tend to be shown higher.
    noisy = gamma[pairs] + rng.normal(0, 0.25, pairs.size)
    order = np.argsort(np.argsort(-noisy)) / pairs.size
    positions = np.clip((order * 10).astype(np.int64) + rng.integers(-2, 3, pairs.size), 0, 9) + 1
    clicks = (rng.random(pairs.size) < truth[positions - 1] * gamma[pairs]).astype(np.int64)
    naive = np.bincount(positions - 1, weights=clicks) / np.bincount(positions - 1)
    naive = naive / naive[0]
    bias = estimate_position_bias(pairs, positions, clicks)
    em_error = np.abs(bias.theta - truth).max()
    naive_error = np.abs(naive - truth).max()
    assert em_error < 0.06
    assert em_error < naive_error / 2


@pytest.mark.unit
def test_weights_are_inverse_propensities_clipped() -> None:
    bias = PositionBias(theta=np.array([1.0, 0.5, 0.05]), max_weight=10.0)
    np.testing.assert_allclose(bias.weights([1, 2, 3, 9]), [1.0, 2.0, 10.0, 10.0])
    again = PositionBias.from_dict(bias.to_dict())
    np.testing.assert_array_equal(again.theta, bias.theta)


@pytest.mark.unit
def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one click"):
        estimate_position_bias([0, 1], [1, 2], [0, 0])
    with pytest.raises(ValueError, match="1-based"):
        estimate_position_bias([0, 1], [0, 2], [1, 0])
    with pytest.raises(ValueError, match="aligned"):
        estimate_position_bias([0, 1], [1], [1, 0])
