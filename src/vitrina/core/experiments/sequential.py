"""Always-valid p-values for tests that are looked at again and again (mSPRT).

Re-running a fixed-horizon test after every block of sessions and stopping at the first
``p < alpha`` inflates the false-positive rate far above ``alpha`` (with a few dozen looks,
several times over). The mixture sequential probability ratio test (Robbins 1970; Johari,
Koomen, Pekelis & Walsh, "Always Valid Inference", Operations Research 2022) fixes that: its
p-value may be monitored continuously and the chance that it *ever* drops below ``alpha``
under the null is at most ``alpha``.

Normal approximation with a normal mixture over the effect: for an estimate with z statistic
``z`` and ``n_eff`` effective units, and a mixture standard deviation of ``scale`` per-unit
standard deviations (a standardised effect size, like Cohen's d),

    r = scale² · n_eff,        Λ = (1 + r)^(−1/2) · exp(z² · r / (2 (1 + r))),

and the always-valid p-value is the running minimum of ``1 / Λ``. ``n_eff`` is
``1 / (1/n_control + 1/n_treatment)`` for a two-arm comparison and the number of decided
queries for an interleaving sign test (``z = (wins_b − n/2) / sqrt(n/4)``). ``scale`` should
be near the effects one expects to detect; it costs power only logarithmically when off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_SCALE = 0.1
"""Mixture standard deviation in per-unit standard deviations (a 'small' standardised effect)."""


def log_mixture_ratio(z: float, n_eff: float, scale: float = DEFAULT_SCALE) -> float:
    """``log Λ`` of the normal-mixture SPRT for statistic ``z`` after ``n_eff`` effective units."""
    if not (n_eff >= 0 and scale > 0):
        raise ValueError(f"need n_eff >= 0 and scale > 0, got {n_eff} and {scale}")
    r = scale * scale * n_eff
    if math.isinf(z):
        return math.inf if r > 0 else 0.0
    return -0.5 * math.log1p(r) + z * z * r / (2.0 * (1.0 + r))


def two_arm_n_eff(n_control: int, n_treatment: int) -> float:
    """Effective units of a two-arm comparison: ``1 / (1/n_c + 1/n_t)`` (0 if an arm is empty)."""
    if n_control <= 0 or n_treatment <= 0:
        return 0.0
    return 1.0 / (1.0 / n_control + 1.0 / n_treatment)


@dataclass
class AlwaysValidP:
    """Running always-valid p-value of one monitored test; call :meth:`update` at every look."""

    scale: float = DEFAULT_SCALE
    p_value: float = 1.0
    looks: int = 0

    def update(self, z: float, n_eff: float) -> float:
        """Fold in the statistic at this look and return the (non-increasing) p-value."""
        log_ratio = log_mixture_ratio(z, n_eff, self.scale)
        self.p_value = min(self.p_value, 1.0 if log_ratio <= 0 else math.exp(-log_ratio))
        self.looks += 1
        return self.p_value


def confidence_sequence(
    diff: float, se: float, n_eff: float, *, alpha: float = 0.05, scale: float = DEFAULT_SCALE
) -> tuple[float, float]:
    """Always-valid ``1 − alpha`` interval of a difference estimated as ``diff`` with standard
    error ``se`` after ``n_eff`` effective units: the values ``θ`` the mixture test above does
    not reject, ``|diff − θ| / se ≤ sqrt((1 + r) / r · (log(1 + r) + 2 log(1 / alpha)))``
    with ``r = scale² · n_eff``. It may be looked at after every block of traffic (a canary's
    steps) and still covers the true difference at every look with probability ``1 − alpha``;
    ``(−inf, inf)`` before any unit or without a finite standard error."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    r = scale * scale * n_eff
    if r <= 0 or not math.isfinite(se) or se <= 0:
        return -math.inf, math.inf
    half = se * math.sqrt((1.0 + r) / r * (math.log1p(r) + 2.0 * math.log(1.0 / alpha)))
    return diff - half, diff + half
