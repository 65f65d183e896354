"""From per-session outcomes to a ship / rollback / keep-running decision (docs/spec.md §5.6).

The unit of analysis is the **session**: ``ctr`` is the share of sessions with at least one
click on the list, ``conversion`` the share with a purchase, ``revenue`` the revenue per
session (Welch). Users are the randomisation unit, so sessions of one user are correlated;
the drivers keep one session per user per experiment (or few), which keeps the tests honest.
Revenue per session is heavy-tailed and mostly zero: Welch's test is liberal until each arm
has a few dozen buying sessions (A/A at 12 buyers in the small arm fires ≈ 8 % at alpha 5 %;
at 40, ≈ 5.5 %), so size revenue-driven experiments on conversions, not on sessions.

The rule (:func:`decide`), in order:

1. a sample-ratio mismatch → ``invalid_srm`` (the data cannot be trusted, fix assignment or
   logging first);
2. any guardrail metric significantly worse, or the primary metric significantly worse →
   ``rollback``;
3. the primary metric significantly better with a relative lift ≥ ``min_lift`` → ``ship``;
   significantly better but below ``min_lift`` → ``rollback`` (not worth the change, as the
   rule of docs/spec.md §5.6, "KPI lift > threshold and p < 0.05");
4. no significant difference: ``rollback`` once both arms reached the planned sample size
   (the champion stays), else ``keep_running``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vitrina.core.experiments.ab import Comparison, SrmCheck, srm_check, two_proportion_test, welch_test

Verdict = Literal["ship", "rollback", "keep_running", "invalid_srm"]
Metric = Literal["ctr", "conversion", "revenue"]
METRICS: tuple[Metric, ...] = ("ctr", "conversion", "revenue")


@dataclass(frozen=True)
class Decision:
    """The verdict and the human-readable reasons behind it (most decisive first)."""

    verdict: Verdict
    reasons: tuple[str, ...]


def describe(comparison: Comparison) -> str:
    """One line: metric, arms, relative lift with its interval, p-value."""
    c = comparison
    level = round(100 * (1 - c.alpha))
    return (
        f"{c.metric}: {c.control:.4g} → {c.treatment:.4g} ({c.lift:+.1%}, {level} % CI "
        f"{c.lift_ci_low:+.1%} … {c.lift_ci_high:+.1%}; diff {c.diff:+.4g}), p = {c.p_value:.3g}, "
        f"n = {c.n_control} / {c.n_treatment}"
    )


def decide(
    primary: Comparison,
    *,
    guardrails: Sequence[Comparison] = (),
    srm: SrmCheck | None = None,
    required_per_arm: int | None = None,
    min_lift: float = 0.0,
) -> Decision:
    """Apply the module's rule; ``required_per_arm`` is the planned size (see ``sample_size_proportions``)."""
    if srm is not None and srm.mismatch:
        observed = " / ".join(f"{arm} {n}" for arm, n in srm.observed.items())
        expected = " / ".join(f"{e:.0f}" for e in srm.expected.values())
        return Decision(
            "invalid_srm",
            (
                f"sample-ratio mismatch: observed {observed} vs expected {expected} "
                f"(χ² = {srm.chi2:.1f}, p = {srm.p_value:.2g} < {srm.threshold}); "
                "fix assignment or logging before reading any metric",
            ),
        )
    worse = [g for g in guardrails if g.direction == "worse"]
    if primary.direction == "worse" or worse:
        hurt = ([primary] if primary.direction == "worse" else []) + worse
        return Decision("rollback", tuple(f"significantly worse — {describe(c)}" for c in hurt))
    context = tuple(f"guardrail ok — {describe(g)}" for g in guardrails)
    if primary.direction == "better":
        if primary.lift >= min_lift:
            return Decision("ship", (f"significantly better — {describe(primary)}", *context))
        reason = f"significant but lift {primary.lift:+.1%} < required {min_lift:+.1%} — {describe(primary)}"
        return Decision("rollback", (reason, *context))
    smallest = min(primary.n_control, primary.n_treatment)
    if required_per_arm is not None and smallest >= required_per_arm:
        reason = f"no significant difference at the planned {required_per_arm} per arm — {describe(primary)}"
        return Decision("rollback", (reason, *context))
    progress = f" ({smallest} of {required_per_arm} per arm)" if required_per_arm is not None else ""
    return Decision("keep_running", (f"not significant yet{progress} — {describe(primary)}", *context))


BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class SessionOutcomes:
    """Per-session outcomes of one arm, aligned arrays of length ``n_sessions``.

    Attributes:
        clicked: ``bool`` — the session clicked at least one shown item.
        converted: ``bool`` — the session bought something.
        revenue: ``float64`` — revenue of the session (currency units, ``>= 0``).
    """

    clicked: BoolArray
    converted: BoolArray
    revenue: FloatArray

    def __post_init__(self) -> None:
        clicked = np.asarray(self.clicked, dtype=bool)
        converted = np.asarray(self.converted, dtype=bool)
        revenue = np.asarray(self.revenue, dtype=np.float64)
        if not clicked.ndim == converted.ndim == revenue.ndim == 1:
            raise ValueError("session outcomes must be 1-D arrays")
        if not clicked.size == converted.size == revenue.size:
            raise ValueError(f"lengths differ: {clicked.size}, {converted.size}, {revenue.size}")
        if not np.isfinite(revenue).all() or (revenue < 0).any():
            raise ValueError("revenue must be finite and >= 0")
        object.__setattr__(self, "clicked", clicked)
        object.__setattr__(self, "converted", converted)
        object.__setattr__(self, "revenue", revenue)

    @classmethod
    def of(cls, clicked: ArrayLike, converted: ArrayLike, revenue: ArrayLike) -> SessionOutcomes:
        """Build from any array-likes (validated and converted)."""
        return cls(np.asarray(clicked, bool), np.asarray(converted, bool), np.asarray(revenue, np.float64))

    def __len__(self) -> int:
        return int(self.clicked.size)

    @classmethod
    def from_events(
        cls, sessions: Iterable[Iterable[Mapping[str, Any]]], prices: Mapping[str, float]
    ) -> SessionOutcomes:
        """One outcome per session from its events (``events`` rows as dicts, e.g. the online
        simulator's ``respond``): clicked = any ``click``, converted = any ``purchase``,
        revenue = sum of ``prices[product_id]`` over purchases. Raises ``KeyError`` naming a
        purchased product without a price."""
        clicked, converted, revenue = [], [], []
        for events in sessions:
            kinds = [(str(e["event_type"]), str(e["product_id"])) for e in events]
            bought = [product for kind, product in kinds if kind == "purchase"]
            missing = [p for p in bought if p not in prices]
            if missing:
                raise KeyError(f"no price for purchased product(s) {missing[:3]}")
            clicked.append(any(kind == "click" for kind, _ in kinds))
            converted.append(bool(bought))
            revenue.append(float(sum(prices[p] for p in bought)))
        return cls.of(clicked, converted, revenue)

    @classmethod
    def concat(cls, parts: Sequence[SessionOutcomes]) -> SessionOutcomes:
        """All sessions of ``parts``, in order."""
        if not parts:
            return cls.of([], [], [])
        return cls(
            np.concatenate([p.clicked for p in parts]),
            np.concatenate([p.converted for p in parts]),
            np.concatenate([p.revenue for p in parts]),
        )


def compare(
    metric: Metric, control: SessionOutcomes, treatment: SessionOutcomes, *, alpha: float
) -> Comparison:
    """The right test for ``metric``: z-test for ``ctr``/``conversion``, Welch for ``revenue``."""
    if metric == "revenue":
        return welch_test(control.revenue, treatment.revenue, alpha=alpha, metric=metric)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    flag = "clicked" if metric == "ctr" else "converted"
    a, b = getattr(control, flag), getattr(treatment, flag)
    return two_proportion_test(int(a.sum()), a.size, int(b.sum()), b.size, alpha=alpha, metric=metric)


@dataclass(frozen=True)
class AbReport:
    """Every metric's comparison, the SRM check and the decision of one A/B analysis."""

    primary: Metric
    comparisons: dict[str, Comparison]
    srm: SrmCheck
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "primary": self.primary,
            "comparisons": {name: c.to_dict() for name, c in self.comparisons.items()},
            "srm": self.srm.to_dict(),
            "decision": {"verdict": self.decision.verdict, "reasons": list(self.decision.reasons)},
        }


def analyze_ab(
    control: SessionOutcomes,
    treatment: SessionOutcomes,
    *,
    expected_shares: tuple[float, float] = (0.8, 0.2),
    primary: Metric = "ctr",
    alpha: float = 0.05,
    required_per_arm: int | None = None,
    min_lift: float = 0.0,
) -> AbReport:
    """Compare every metric, check the split against ``expected_shares`` and :func:`decide`.

    The metrics other than ``primary`` are guardrails. Each arm needs at least 2 sessions.
    """
    if primary not in METRICS:
        raise ValueError(f"primary must be one of {', '.join(METRICS)}, got {primary!r}")
    comparisons: dict[str, Comparison] = {m: compare(m, control, treatment, alpha=alpha) for m in METRICS}
    srm = srm_check(
        {"control": len(control), "treatment": len(treatment)},
        {"control": expected_shares[0], "treatment": expected_shares[1]},
    )
    guardrails = [c for m, c in comparisons.items() if m != primary]
    decision = decide(
        comparisons[primary],
        guardrails=guardrails,
        srm=srm,
        required_per_arm=required_per_arm,
        min_lift=min_lift,
    )
    return AbReport(primary=primary, comparisons=comparisons, srm=srm, decision=decision)
