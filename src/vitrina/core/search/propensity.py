"""Position bias estimated from the search logs, for unbiased learning to rank (docs/spec.md §4.5).

Users click what they look at, and they look at the top: a click at rank 1 says less about
relevance than a click at rank 15. Under the position-based model

    P(click | q, d, k) = θ_k · γ_qd        θ_k = P(examined | rank k),  γ_qd = P(relevant)

the examination curve θ is learned from the logs themselves with the EM algorithm of
Wang et al. (WSDM 2018, "Position bias estimation for unbiased learning to rank in personal
search"), with one free γ per (query, product) pair: the logging policy's noise shows the same
product for the same query at different ranks, which is what identifies θ. The curve is
normalised to θ_1 = 1 and made non-increasing. A click at rank k then weighs ``1 / θ_k``
(clipped) in the ranker's loss: inverse propensity scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPS = 1e-6


@dataclass(frozen=True)
class PositionBias:
    """Examination probability per 1-based rank; ``theta[0]`` is rank 1 (= 1.0)."""

    theta: FloatArray
    max_weight: float = 10.0

    def examination(self, positions: npt.ArrayLike) -> FloatArray:
        """θ at 1-based ``positions``; ranks past the estimated ones take the last value."""
        pos = np.clip(np.asarray(positions, dtype=np.int64), 1, self.theta.size) - 1
        return np.asarray(self.theta[pos], dtype=np.float64)

    def weights(self, positions: npt.ArrayLike) -> FloatArray:
        """Inverse-propensity weights ``1/θ_k``, clipped to ``max_weight`` (variance control)."""
        return np.minimum(1.0 / np.maximum(self.examination(positions), _EPS), self.max_weight)

    def to_dict(self) -> dict[str, object]:
        return {"theta": [float(t) for t in self.theta], "max_weight": self.max_weight}

    @classmethod
    def from_dict(cls, payload: dict[str, object]) -> PositionBias:
        theta = np.asarray(payload["theta"], dtype=np.float64)
        return cls(theta=theta, max_weight=float(payload.get("max_weight", 10.0)))  # type: ignore[arg-type]


def estimate_position_bias(
    pairs: npt.ArrayLike,
    positions: npt.ArrayLike,
    clicks: npt.ArrayLike,
    *,
    n_positions: int | None = None,
    iterations: int = 100,
    tol: float = 1e-6,
    max_weight: float = 10.0,
) -> PositionBias:
    """EM estimate of θ from impressions.

    Args:
        pairs: ``(n,)`` integer id of the (query, product) pair of each impression.
        positions: ``(n,)`` 1-based rank at which it was shown.
        clicks: ``(n,)`` 0/1 whether it was clicked.
        n_positions: ranks to estimate (default: the largest seen).
    """
    pair = np.asarray(pairs, dtype=np.int64)
    pos = np.asarray(positions, dtype=np.int64)
    click = np.asarray(clicks, dtype=np.float64)
    if not (pair.shape == pos.shape == click.shape) or pair.ndim != 1:
        raise ValueError("pairs, positions and clicks must be aligned 1-d arrays")
    if pair.size == 0 or click.sum() == 0:
        raise ValueError("position bias needs impressions with at least one click")
    if pos.min() < 1:
        raise ValueError("positions are 1-based")
    k = int(n_positions or pos.max())
    keep = pos <= k
    pair, pos, click = pair[keep], pos[keep] - 1, click[keep]
    _, pair = np.unique(pair, return_inverse=True)
    per_rank = np.maximum(np.bincount(pos, minlength=k), 1)
    per_pair = np.bincount(pair)
    theta = np.full(k, 0.5)
    gamma = np.full(per_pair.size, 0.5)
    for _ in range(iterations):
        t, g = theta[pos], gamma[pair]
        miss = np.maximum(1.0 - t * g, _EPS)
        seen = click + (1 - click) * t * (1 - g) / miss
        relevant = click + (1 - click) * (1 - t) * g / miss
        new_theta = np.bincount(pos, weights=seen, minlength=k) / per_rank
        gamma = np.clip(np.bincount(pair, weights=relevant) / per_pair, _EPS, 1 - _EPS)
        done = np.max(np.abs(new_theta - theta)) < tol
        theta = np.clip(new_theta, _EPS, 1.0)
        if done:
            break
    theta = np.minimum.accumulate(theta / theta[0])
    return PositionBias(theta=theta, max_weight=max_weight)
