"""A/B statistics: two-proportion z-test, Welch's t-test, SRM guard, sample size (docs/spec.md §5.6).

Every comparison reads **treatment − control** (challenger − champion): a positive ``diff``
means the challenger is higher. All metrics here are higher-is-better (CTR, conversion,
revenue per session). Confidence intervals are two-sided at ``1 − alpha``.

* :func:`two_proportion_test` — pooled z-test (equivalent to Pearson's χ² on the 2×2 table)
  with an unpooled Wald interval for the difference and a log-ratio (Katz) interval for the
  relative lift. The test and the interval use different standard errors, as is standard;
  they can disagree only at the very margin of significance.
* :func:`welch_test` — Welch's unequal-variance t-test on summary statistics, with the
  Welch–Satterthwaite degrees of freedom; the lift interval is the delta method on the log
  of the ratio of means.
* :func:`srm_check` — χ² goodness of fit of the observed arm counts to the configured split;
  ``p < 0.001`` flags a sample-ratio mismatch, which invalidates the experiment.
* :func:`sample_size_proportions` / :func:`power_proportions` — per-arm sizes for a minimum
  detectable effect (normal approximation without continuity correction, unequal allocation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

SRM_THRESHOLD = 0.001
"""p-value below which the observed split is declared a sample-ratio mismatch."""

NAN = float("nan")


def _check_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(alpha)


@dataclass(frozen=True)
class Comparison:
    """Treatment against control on one metric.

    Attributes:
        metric: name of the metric (``ctr``, ``conversion``, ``revenue`` …).
        test: ``"z"`` (two proportions) or ``"welch"`` (means).
        n_control, n_treatment: units (sessions) per arm.
        control, treatment: the rate or the mean per arm.
        diff, ci_low, ci_high: ``treatment − control`` and its interval.
        lift, lift_ci_low, lift_ci_high: ``treatment / control − 1`` and its interval
            (NaN when the control is 0 or an arm has no successes).
        statistic, p_value: the test statistic (z or t) and its two-sided p-value.
        alpha: significance level of the intervals and of :attr:`significant`.
        df: degrees of freedom (Welch), ``None`` for the z-test.
    """

    metric: str
    test: Literal["z", "welch"]
    n_control: int
    n_treatment: int
    control: float
    treatment: float
    diff: float
    ci_low: float
    ci_high: float
    lift: float
    lift_ci_low: float
    lift_ci_high: float
    statistic: float
    p_value: float
    alpha: float
    df: float | None = None

    @property
    def significant(self) -> bool:
        """``p_value < alpha``."""
        return self.p_value < self.alpha

    @property
    def direction(self) -> Literal["better", "worse", "flat"]:
        """``better``/``worse`` when significant (treatment higher/lower), else ``flat``."""
        if not self.significant or self.diff == 0:
            return "flat"
        return "better" if self.diff > 0 else "worse"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``significant`` and ``direction``."""
        return {**asdict(self), "significant": self.significant, "direction": self.direction}


def _lift(control: float, treatment: float) -> float:
    return treatment / control - 1.0 if control > 0 else NAN


def _log_ratio_interval(ratio: float, se_log: float, z: float) -> tuple[float, float]:
    if not (ratio > 0 and math.isfinite(se_log)):
        return NAN, NAN
    return ratio * math.exp(-z * se_log) - 1.0, ratio * math.exp(z * se_log) - 1.0


def two_proportion_test(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    metric: str = "ctr",
) -> Comparison:
    """Pooled two-sided z-test of ``p_treatment == p_control`` with Wald and Katz intervals.

    Counts are units (e.g. sessions with a click out of sessions). Raises ``ValueError`` when a
    count is negative, exceeds its ``n``, or an arm is empty.
    """
    alpha = _check_alpha(alpha)
    for name, x, n in (
        ("control", successes_control, n_control),
        ("treatment", successes_treatment, n_treatment),
    ):
        if n <= 0 or not 0 <= x <= n:
            raise ValueError(f"{name}: need 0 <= successes <= n and n > 0, got {x} of {n}")
    p1, p2 = successes_control / n_control, successes_treatment / n_treatment
    diff = p2 - p1
    pooled = (successes_control + successes_treatment) / (n_control + n_treatment)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_control + 1.0 / n_treatment))
    z_stat = diff / se0 if se0 > 0 else 0.0
    p_value = float(2.0 * stats.norm.sf(abs(z_stat)))
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    se = math.sqrt(p1 * (1.0 - p1) / n_control + p2 * (1.0 - p2) / n_treatment)
    ratio = p2 / p1 if p1 > 0 else NAN
    se_log = (
        math.sqrt((1.0 - p1) / successes_control + (1.0 - p2) / successes_treatment)
        if successes_control > 0 and successes_treatment > 0
        else NAN
    )
    lift_low, lift_high = _log_ratio_interval(ratio, se_log, z)
    return Comparison(
        metric=metric, test="z", n_control=int(n_control), n_treatment=int(n_treatment),
        control=p1, treatment=p2, diff=diff, ci_low=diff - z * se, ci_high=diff + z * se,
        lift=_lift(p1, p2), lift_ci_low=lift_low, lift_ci_high=lift_high,
        statistic=z_stat, p_value=p_value, alpha=alpha,
    )  # fmt: skip


@dataclass(frozen=True)
class SampleStats:
    """Size, mean and unbiased variance (``ddof=1``) of one arm's per-unit values."""

    n: int
    mean: float
    var: float

    @classmethod
    def of(cls, values: ArrayLike) -> SampleStats:
        """Summary of a 1-D array of finite per-unit values (at least 2)."""
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size < 2:
            raise ValueError(f"need a 1-D array of at least 2 values, got shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("values must be finite")
        return cls(int(array.size), float(array.mean()), float(array.var(ddof=1)))


def welch_test(
    control: SampleStats | ArrayLike,
    treatment: SampleStats | ArrayLike,
    *,
    alpha: float = 0.05,
    metric: str = "revenue",
) -> Comparison:
    """Welch's two-sided t-test of ``mean_treatment == mean_control`` with its interval.

    Either arm may be raw per-unit values (e.g. revenue per session) or a :class:`SampleStats`
    aggregate (for streaming counters). Two arms with zero variance give ``p = 1`` when their
    means are equal and ``p = 0`` otherwise.
    """
    alpha = _check_alpha(alpha)
    a = control if isinstance(control, SampleStats) else SampleStats.of(control)
    b = treatment if isinstance(treatment, SampleStats) else SampleStats.of(treatment)
    if a.n < 2 or b.n < 2 or a.var < 0 or b.var < 0:
        raise ValueError(f"each arm needs n >= 2 and var >= 0, got {a} and {b}")
    va, vb = a.var / a.n, b.var / b.n
    se = math.sqrt(va + vb)
    diff = b.mean - a.mean
    if se > 0:
        df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
        t_stat = diff / se
        p_value = float(2.0 * stats.t.sf(abs(t_stat), df))
        half = float(stats.t.ppf(1.0 - alpha / 2.0, df)) * se
    else:
        df, half = float(a.n + b.n - 2), 0.0
        t_stat = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p_value = 1.0 if diff == 0 else 0.0
    ratio = b.mean / a.mean if a.mean > 0 and b.mean > 0 else NAN
    se_log = math.sqrt(va / a.mean**2 + vb / b.mean**2) if not math.isnan(ratio) else NAN
    lift_low, lift_high = _log_ratio_interval(ratio, se_log, float(stats.norm.ppf(1.0 - alpha / 2.0)))
    return Comparison(
        metric=metric, test="welch", n_control=a.n, n_treatment=b.n,
        control=a.mean, treatment=b.mean, diff=diff, ci_low=diff - half, ci_high=diff + half,
        lift=_lift(a.mean, b.mean), lift_ci_low=lift_low, lift_ci_high=lift_high,
        statistic=t_stat, p_value=p_value, alpha=alpha, df=float(df),
    )  # fmt: skip


@dataclass(frozen=True)
class SrmCheck:
    """Sample-ratio-mismatch check: observed vs expected units per arm.

    Attributes:
        observed: units per arm.
        expected: expected units per arm under the configured split (same total).
        chi2, p_value: Pearson's goodness-of-fit statistic and p-value (``len(arms) − 1`` df).
        threshold: p-value below which :attr:`mismatch` is set.
    """

    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float
    p_value: float
    threshold: float

    @property
    def mismatch(self) -> bool:
        """True when the split is implausible under the configuration (``p < threshold``)."""
        return self.p_value < self.threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``mismatch``."""
        return {**asdict(self), "mismatch": self.mismatch}


def srm_check(
    observed: Mapping[str, int], expected_shares: Mapping[str, float], *, threshold: float = SRM_THRESHOLD
) -> SrmCheck:
    """χ² goodness of fit of ``observed`` counts to ``expected_shares`` (normalised to sum 1).

    Both mappings must name the same arms (at least two). Raises ``ValueError`` otherwise, or
    when no unit was observed.
    """
    if set(observed) != set(expected_shares):
        raise ValueError(
            f"observed arms {sorted(observed)} must equal expected arms {sorted(expected_shares)}"
        )
    if len(observed) < 2:
        raise ValueError(f"an SRM check needs at least 2 arms, got {sorted(observed)}")
    names = list(expected_shares)
    counts = np.array([observed[name] for name in names], dtype=np.float64)
    shares = np.array([expected_shares[name] for name in names], dtype=np.float64)
    if (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"observed counts must be >= 0 with a positive total, got {dict(observed)}")
    if not np.isfinite(shares).all() or (shares <= 0).any():
        raise ValueError(f"expected shares must be finite and > 0, got {dict(expected_shares)}")
    expected = counts.sum() * shares / shares.sum()
    chi2, p_value = stats.chisquare(counts, expected)
    return SrmCheck(
        observed={name: int(c) for name, c in zip(names, counts, strict=True)},
        expected={name: float(e) for name, e in zip(names, expected, strict=True)},
        chi2=float(chi2), p_value=float(p_value), threshold=threshold,
    )  # fmt: skip


@dataclass(frozen=True)
class SampleSize:
    """Units needed per arm (and in total) to detect the planned effect."""

    control: int
    treatment: int

    @property
    def total(self) -> int:
        """Units over both arms."""
        return self.control + self.treatment


def _check_rates(p_control: float, p_treatment: float, power: float, ratio: float) -> None:
    if not (0 < p_control < 1 and 0 < p_treatment < 1) or p_control == p_treatment:
        raise ValueError(f"rates must be in (0, 1) and differ, got {p_control} and {p_treatment}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    if not (math.isfinite(ratio) and ratio > 0):
        raise ValueError(f"ratio (n_treatment / n_control) must be > 0, got {ratio!r}")


def power_proportions(
    p_control: float, p_treatment: float, n_control: int, *, ratio: float = 1.0, alpha: float = 0.05
) -> float:
    """Power of the two-sided z-test with ``n_control`` and ``ratio · n_control`` units.

    Normal approximation, ignoring the (negligible) opposite tail; the exact inverse of
    :func:`sample_size_proportions`.
    """
    _check_rates(p_control, p_treatment, 0.5, ratio)
    z_a = float(stats.norm.ppf(1.0 - _check_alpha(alpha) / 2.0))
    n_t = ratio * n_control
    pooled = (p_control + ratio * p_treatment) / (1.0 + ratio)
    se0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_control + 1.0 / n_t))
    se1 = math.sqrt(p_control * (1 - p_control) / n_control + p_treatment * (1 - p_treatment) / n_t)
    return float(stats.norm.cdf((abs(p_treatment - p_control) - z_a * se0) / se1))


def sample_size_proportions(
    p_control: float, p_treatment: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> SampleSize:
    """Units per arm to detect ``p_control → p_treatment`` with a two-sided z-test.

    ``ratio`` is ``n_treatment / n_control`` (0.25 for an 80/20 split). For a relative minimum
    detectable effect ``m`` pass ``p_treatment = p_control · (1 + m)``. Example: 5 % → 6 %,
    alpha 0.05, power 0.8, 50/50 needs 8 158 sessions per arm.
    """
    _check_rates(p_control, p_treatment, power, ratio)
    z_a = float(stats.norm.ppf(1.0 - _check_alpha(alpha) / 2.0))
    z_b = float(stats.norm.ppf(power))
    pooled = (p_control + ratio * p_treatment) / (1.0 + ratio)
    spread0 = math.sqrt(pooled * (1.0 - pooled) * (1.0 + 1.0 / ratio))
    spread1 = math.sqrt(p_control * (1 - p_control) + p_treatment * (1 - p_treatment) / ratio)
    n_control = ((z_a * spread0 + z_b * spread1) / (p_treatment - p_control)) ** 2
    control = math.ceil(n_control - 1e-9)
    return SampleSize(control=control, treatment=math.ceil(ratio * control - 1e-9))
