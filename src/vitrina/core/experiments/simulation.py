"""Checks of the experiment machinery against outcome generators with a known answer.

Pure: the caller supplies the generators — synthetic ones in tests, or the experiment driver
that runs the simulator's online mode against the API.

* :func:`aa_false_positive_rates` — run N A/A analyses (both arms served by the same system)
  and report, per metric, how often the test fired, with an exact binomial interval: a sound
  pipeline fires in about ``alpha`` of the runs.
* :func:`sessions_to_decision` — for A/B and for interleaving, add sessions in blocks until the
  test is significant and report how many sessions it took. The test is looked at after every
  block, so significance is judged by an always-valid p-value (mSPRT,
  :mod:`vitrina.core.experiments.sequential`): a naive fixed-horizon p-value would stop early on luck
  and make the counts mostly noise. Both methods get the same block schedule and mixture
  scale; the first crossing is still a random time, so compare medians over a few repeats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from vitrina.core.experiments.decision import METRICS, Metric, SessionOutcomes, compare
from vitrina.core.experiments.interleaving import interleaving_test
from vitrina.core.experiments.sequential import DEFAULT_SCALE, AlwaysValidP, two_arm_n_eff

ArmPair = tuple[SessionOutcomes, SessionOutcomes]
"""(control, treatment) outcomes of some sessions."""

Winner = Literal["control", "treatment"]


@dataclass(frozen=True)
class FalsePositiveCheck:
    """How often an A/A test was significant, with an exact (Clopper–Pearson) interval.

    Attributes:
        metric: the metric tested.
        runs, false_positives: A/A analyses and how many had ``p < alpha``.
        rate, ci_low, ci_high: ``false_positives / runs`` and its interval at ``confidence``.
        alpha: the nominal false-positive rate.
        p_values: the p-value of every run (uniform on [0, 1] for a sound test).
    """

    metric: str
    runs: int
    false_positives: int
    rate: float
    ci_low: float
    ci_high: float
    alpha: float
    confidence: float
    p_values: tuple[float, ...]

    @property
    def consistent(self) -> bool:
        """The interval contains the nominal ``alpha``."""
        return self.ci_low <= self.alpha <= self.ci_high

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``consistent``."""
        return {**asdict(self), "p_values": list(self.p_values), "consistent": self.consistent}


def aa_false_positive_rates(
    run: Callable[[int], ArmPair],
    *,
    runs: int = 40,
    alpha: float = 0.05,
    confidence: float = 0.95,
    metrics: Sequence[Metric] = METRICS,
) -> dict[str, FalsePositiveCheck]:
    """Call ``run(i)`` for ``i in range(runs)`` (two arms of one system) and test each metric.

    ``run`` must give independent runs (e.g. a fresh seed per ``i``). Each run's arms need at
    least 2 sessions.
    """
    if runs <= 0:
        raise ValueError(f"runs must be > 0, got {runs}")
    p_values: dict[str, list[float]] = {m: [] for m in metrics}
    for i in range(runs):
        control, treatment = run(i)
        for metric in metrics:
            p_values[metric].append(compare(metric, control, treatment, alpha=alpha).p_value)
    checks: dict[str, FalsePositiveCheck] = {}
    for name, values in p_values.items():
        hits = int(sum(p < alpha for p in values))
        ci = stats.binomtest(hits, runs).proportion_ci(confidence_level=confidence, method="exact")
        checks[name] = FalsePositiveCheck(
            name, runs, hits, hits / runs, float(ci.low), float(ci.high), alpha, confidence, tuple(values)
        )
    return checks


@dataclass(frozen=True)
class SequentialResult:
    """Sessions an experiment method consumed before its test became significant.

    Attributes:
        method: ``ab`` or ``interleaving``.
        sessions: sessions used (``max_sessions`` when undecided).
        decided: the test reached ``p < alpha`` within ``max_sessions``.
        winner: ``control`` (A) or ``treatment`` (B) when decided.
        p_value: the always-valid p-value at the last look.
        looks: how many times the test was run.
    """

    method: Literal["ab", "interleaving"]
    sessions: int
    decided: bool
    winner: Winner | None
    p_value: float
    looks: int


def _until_significant(
    method: Literal["ab", "interleaving"],
    step: Callable[[int], tuple[float, float, float]],
    block: int,
    max_sessions: int,
    alpha: float,
    scale: float,
) -> SequentialResult:
    """Call ``step(n)`` → ``(estimate, z, n_eff)`` of everything so far, until ``p < alpha``."""
    if block <= 0 or max_sessions < block:
        raise ValueError(f"need block > 0 and max_sessions >= block, got {block} and {max_sessions}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    monitor = AlwaysValidP(scale)
    sessions = 0
    while sessions < max_sessions:
        n = min(block, max_sessions - sessions)
        estimate, z, n_eff = step(n)
        sessions += n
        if monitor.update(z, n_eff) < alpha and estimate != 0:
            winner: Winner = "treatment" if estimate > 0 else "control"
            return SequentialResult(method, sessions, True, winner, monitor.p_value, monitor.looks)
    return SequentialResult(method, sessions, False, None, monitor.p_value, monitor.looks)


def ab_sessions_to_decision(
    draw: Callable[[int], ArmPair],
    *,
    block: int = 500,
    max_sessions: int = 200_000,
    metric: Metric = "ctr",
    alpha: float = 0.05,
    scale: float = DEFAULT_SCALE,
) -> SequentialResult:
    """A/B: ``draw(n)`` gives the outcomes of ``n`` new sessions split between the two arms."""
    parts: list[ArmPair] = []

    def step(n: int) -> tuple[float, float, float]:
        parts.append(draw(n))
        control = SessionOutcomes.concat([p[0] for p in parts])
        treatment = SessionOutcomes.concat([p[1] for p in parts])
        if min(len(control), len(treatment)) < 2:
            return 0.0, 0.0, 0.0
        result = compare(metric, control, treatment, alpha=alpha)
        return result.diff, result.statistic, two_arm_n_eff(len(control), len(treatment))

    return _until_significant("ab", step, block, max_sessions, alpha, scale)


def interleaving_sessions_to_decision(
    draw: Callable[[int], ArrayLike],
    *,
    block: int = 500,
    max_sessions: int = 200_000,
    alpha: float = 0.05,
    scale: float = DEFAULT_SCALE,
) -> SequentialResult:
    """Interleaving: ``draw(n)`` gives ``n`` new per-query outcomes (``-1``/``0``/``+1``, B = treatment)."""
    outcomes: list[np.ndarray] = []

    def step(n: int) -> tuple[float, float, float]:
        outcomes.append(np.asarray(draw(n)))
        result = interleaving_test(np.concatenate(outcomes), alpha=alpha)
        decided = result.wins_a + result.wins_b
        if decided == 0:
            return 0.0, 0.0, 0.0
        z = (result.wins_b - decided / 2.0) / math.sqrt(decided / 4.0)
        return result.share_b - 0.5, z, float(decided)

    return _until_significant("interleaving", step, block, max_sessions, alpha, scale)


@dataclass(frozen=True)
class SensitivityComparison:
    """Sessions to a decision for A/B and for interleaving, ``repeats`` independent times each.

    The first significant look is a noisy stopping time (a lucky early crossing is common);
    compare the medians over a few repeats, and check the winners.
    """

    ab: tuple[SequentialResult, ...]
    interleaving: tuple[SequentialResult, ...]

    @property
    def median_ab(self) -> float:
        """Median sessions A/B needed (undecided repeats count as ``max_sessions``)."""
        return float(np.median([r.sessions for r in self.ab]))

    @property
    def median_interleaving(self) -> float:
        """Median sessions interleaving needed (undecided repeats count as ``max_sessions``)."""
        return float(np.median([r.sessions for r in self.interleaving]))

    @property
    def ratio(self) -> float:
        """How many times more sessions A/B needed, median over median."""
        return self.median_ab / self.median_interleaving

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every repeat, the medians and the ratio."""
        return {
            "ab": [asdict(r) for r in self.ab],
            "interleaving": [asdict(r) for r in self.interleaving],
            "median_ab": self.median_ab,
            "median_interleaving": self.median_interleaving,
            "ratio": self.ratio,
        }


def sessions_to_decision(
    ab_draw: Callable[[int], ArmPair],
    interleaving_draw: Callable[[int], ArrayLike],
    *,
    repeats: int = 1,
    block: int = 500,
    max_sessions: int = 200_000,
    metric: Metric = "ctr",
    alpha: float = 0.05,
    scale: float = DEFAULT_SCALE,
) -> SensitivityComparison:
    """Run both sequential procedures ``repeats`` times with the same block schedule.

    Each repeat starts from zero sessions and keeps drawing from the generators, so the
    generators must yield fresh, independent sessions on every call.
    """
    if repeats <= 0:
        raise ValueError(f"repeats must be > 0, got {repeats}")
    ab = tuple(
        ab_sessions_to_decision(
            ab_draw, block=block, max_sessions=max_sessions, metric=metric, alpha=alpha, scale=scale
        )
        for _ in range(repeats)
    )
    interleaving = tuple(
        interleaving_sessions_to_decision(
            interleaving_draw, block=block, max_sessions=max_sessions, alpha=alpha, scale=scale
        )
        for _ in range(repeats)
    )
    return SensitivityComparison(ab=ab, interleaving=interleaving)
