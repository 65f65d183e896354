"""The registration gate of docs/spec.md §5.2, as a pure decision over numbers and check results.

A challenger is registered only if every check passes:

* ``ndcg_floor`` — NDCG@10 ≥ the model's absolute floor (per model; the caller picks it). An
  unmeasured NDCG@10 fails it — except for a model's **first** version when the caller says
  why nothing could be measured (``unmeasured_reason``: a new shop with no judgments, no
  simulator truth and no logs): the check is skipped with that reason, so a shop is never left
  without a first version. Once a champion exists, an unmeasured challenger fails as before.
  A first version measured below the floor but not below its baseline on the same data (a
  shop whose data is hard for every model: one-time buyers) is not held to the floor either:
  ``vs_baseline`` judges it;
* ``vs_champion`` — NDCG@10 ≥ champion's − ``max_drop`` (skipped while there is no champion,
  when the champion's NDCG@10 was not measured, or when the caller says the two numbers are
  not comparable: measured on different relevance sources);
* ``vs_baseline`` — NDCG@10 ≥ ``min_baseline_ratio`` × the baseline's (recs: popularity, search:
  BM25) on the same
  test data (a scale-free sanity check; skipped when no baseline is given or the ratio is 0);
* ``max_psi`` — the largest feature PSI < ``max_psi`` (skipped, and said so, when no drift
  measurement is available or the caller gives a reason not to apply it: a retrain that the
  drift itself triggered, docs/adr/0011);
* every check the caller measured itself (``extra_checks``: search's ``vs_champion_live``, the
  new version against the serving one on the same held-out live searches, docs/adr/0033) did
  not fail;
* every behaviour check (:mod:`vitrina.core.evaluation.behaviour`) passed.

:meth:`GateDecision.to_dict` is what is written to ``gate.json`` and the run's tags.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from vitrina.core.evaluation.behaviour import BehaviourCheck

Status = Literal["pass", "fail", "skip"]


@dataclass(frozen=True)
class GateThresholds:
    """The numbers a challenger is held to; NDCG values are NDCG@10 in [0, 1].

    The caller builds them (from its settings, for the model it registers), so the decision
    stays a function of numbers only.
    """

    ndcg_floor: float
    max_drop: float = 0.02
    max_psi: float = 0.25
    min_baseline_ratio: float = 1.0


@dataclass(frozen=True)
class GateCheck:
    """One line of the decision: the measured ``value`` against its ``threshold``."""

    name: str
    status: Status
    value: float | None
    threshold: float | None
    detail: str


@dataclass(frozen=True)
class GateInput:
    """What the gate judges: the challenger's NDCG@10 and what it is compared with."""

    ndcg: float
    champion_ndcg: float | None = None
    baseline_ndcg: float | None = None
    baseline_name: str = "baseline"
    max_psi: float | None = None
    behaviour: Sequence[BehaviourCheck] = field(default_factory=tuple)
    psi_skip_reason: str | None = None  # set: the PSI check is skipped and this is recorded
    # why NDCG@10 could not be measured; with no champion (champion_ndcg None) the floor is skipped
    unmeasured_reason: str | None = None
    champion_skip_reason: str | None = None  # set: vs_champion is skipped and this is recorded
    extra_checks: Sequence[GateCheck] = field(default_factory=tuple)  # decided by the caller, recorded as is


@dataclass(frozen=True)
class GateDecision:
    """``passed`` iff no check failed; ``checks`` in the order they were evaluated."""

    passed: bool
    checks: tuple[GateCheck, ...]
    thresholds: GateThresholds

    @property
    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if c.status == "fail"]

    def summary(self) -> str:
        """One line: pass, or which checks failed and why."""
        if self.passed:
            skipped = [c.name for c in self.checks if c.status == "skip"]
            return "pass" + (f" (not measured: {', '.join(skipped)})" if skipped else "")
        return "fail: " + "; ".join(f"{c.name} ({c.detail})" for c in self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary(),
            "thresholds": asdict(self.thresholds),
            "checks": [asdict(c) for c in self.checks],
        }


def decide(inputs: GateInput, thresholds: GateThresholds) -> GateDecision:
    """Evaluate every check of the module docstring; nothing is short-circuited, so the
    record always shows all the numbers."""
    ndcg = inputs.ndcg
    measured = math.isfinite(ndcg)
    champion = inputs.champion_ndcg
    checks = [_floor(inputs, thresholds)]
    if inputs.champion_skip_reason and champion is not None:
        checks.append(GateCheck("vs_champion", "skip", None, None, inputs.champion_skip_reason))
    elif champion is not None and math.isfinite(champion):
        bar = champion - thresholds.max_drop
        checks.append(
            GateCheck(
                "vs_champion",
                "pass" if measured and ndcg >= bar else "fail",
                ndcg if measured else None,
                bar,
                f"NDCG@10 {ndcg:.4f} vs champion {champion:.4f} − {thresholds.max_drop:.4f}",
            )
        )
    elif champion is not None:
        checks.append(GateCheck("vs_champion", "skip", None, None, "the champion's NDCG@10 was not measured"))
    else:
        checks.append(GateCheck("vs_champion", "skip", None, None, "no champion to compare with"))
    baseline = inputs.baseline_ndcg
    if baseline is not None and math.isfinite(baseline) and thresholds.min_baseline_ratio > 0:
        bar = thresholds.min_baseline_ratio * baseline
        checks.append(
            GateCheck(
                "vs_baseline",
                "pass" if measured and ndcg >= bar else "fail",
                ndcg if measured else None,
                bar,
                f"NDCG@10 {ndcg:.4f} vs {thresholds.min_baseline_ratio:g} × "
                f"{inputs.baseline_name} {baseline:.4f}",
            )
        )
    else:
        checks.append(GateCheck("vs_baseline", "skip", None, None, "no baseline to compare with"))
    psi = inputs.max_psi
    if inputs.psi_skip_reason:
        checks.append(GateCheck("max_psi", "skip", psi, thresholds.max_psi, inputs.psi_skip_reason))
    elif psi is not None and math.isfinite(psi):
        checks.append(
            GateCheck(
                "max_psi",
                "pass" if psi < thresholds.max_psi else "fail",
                psi,
                thresholds.max_psi,
                f"max feature PSI {psi:.3f} vs {thresholds.max_psi:.2f}",
            )
        )
    else:
        checks.append(GateCheck("max_psi", "skip", None, thresholds.max_psi, "no drift measurement"))
    checks += inputs.extra_checks
    if not inputs.behaviour:
        checks.append(GateCheck("behaviour", "fail", None, None, "no behaviour test was run"))
    for check in inputs.behaviour:
        checks.append(
            GateCheck(f"behaviour.{check.name}", "pass" if check.passed else "fail", None, None, check.detail)
        )
    passed = all(c.status != "fail" for c in checks)
    return GateDecision(passed=passed, checks=tuple(checks), thresholds=thresholds)


def _floor(inputs: GateInput, thresholds: GateThresholds) -> GateCheck:
    """``ndcg_floor``, with the first-version exception of the module docstring."""
    ndcg, floor = inputs.ndcg, thresholds.ndcg_floor
    if math.isfinite(ndcg):
        status: Status = "pass" if ndcg >= floor else "fail"
        detail = f"NDCG@10 {ndcg:.4f} vs floor {floor:.4f}"
        if status == "fail" and inputs.champion_ndcg is None and _holds_its_baseline(inputs, thresholds):
            status = "skip"
            detail += (
                f"; no champion yet and not below {inputs.baseline_name} on the same data: the first "
                "version serves (a fixed floor cannot know how hard a new shop's data is)"
            )
        return GateCheck("ndcg_floor", status, ndcg, floor, detail)
    if inputs.unmeasured_reason is None:
        return GateCheck("ndcg_floor", "fail", None, floor, "NDCG@10 was not measured")
    if inputs.champion_ndcg is None:
        detail = (
            f"NDCG@10 was not measured ({inputs.unmeasured_reason}); no champion yet: "
            "the first version serves, so the shop is never left without one"
        )
        return GateCheck("ndcg_floor", "skip", None, floor, detail)
    detail = f"NDCG@10 was not measured ({inputs.unmeasured_reason}); a champion already serves"
    return GateCheck("ndcg_floor", "fail", None, floor, detail)


def _holds_its_baseline(inputs: GateInput, thresholds: GateThresholds) -> bool:
    """A measured baseline on the same data, and NDCG@10 at least the ratio of it."""
    baseline = inputs.baseline_ndcg
    if baseline is None or not math.isfinite(baseline) or thresholds.min_baseline_ratio <= 0:
        return False
    return inputs.ndcg >= thresholds.min_baseline_ratio * baseline
