"""Per-feature drift between a reference and a current window, and the decision (SPEC §5.4).

Input: :class:`MonitoredTable` s — one DataFrame per window with the same columns, one row
per *unit* (an event, a session, an active user, a product's features as of a cutoff …).
Output: a :class:`FeatureDrift` per column and a :class:`DriftResult` with the decision
``none`` / ``warn`` / ``retrain``, per domain (``recs``, ``search``) and overall.

The rule (thresholds in :class:`Thresholds`, defaults from SPEC §5.4):

* **numeric** features get PSI (reference deciles), KS and Wasserstein. PSI ≥ 0.25 is
  *critical*, ≥ 0.10 *warn* — but only when Pearson's chi-squared on PSI's own bins
  confirms the difference (p < 0.01); otherwise the PSI is within the noise of the sample
  sizes (its expected value without drift is ≈ (bins − 1)·(1/n_ref + 1/n_cur)). The binned
  test, not KS, confirms PSI because it sees what PSI sees: a point mass that moves (prices
  unchanged for 92 % of orders and +30 % for the rest) barely moves KS at a few hundred
  rows but is a large, significant PSI. KS alone raises a *warn* when
  p < 0.01 **and** the statistic D ≥ 0.15: with tens of thousands of rows KS rejects for
  differences nobody cares about, so its p-value needs an effect-size floor (D is the
  largest gap between the two CDFs: 0.15 means fifteen points of probability somewhere;
  on no-drift simulated weeks D reached 0.095 on order lines, whose rows are clustered by
  order and user, so their p-values are optimistic).
* **categorical** features get PSI (one bin per category) and Pearson's chi-squared; PSI
  levels as above, confirmed by chi² p < 0.01. A *warn* is also raised by **share movers**:
  single categories whose own PSI term ``(c − r)·ln(c / r)`` is ≥ 0.03 with a
  Bonferroni-corrected two-proportion p < 0.01 — a new trending category or a new city
  shows there long before it moves PSI over a whole taxonomy. Why 0.03: the simulator's
  categories have natural waves (an L2 may halve or grow ×1.8 over two weeks with no drift;
  the largest such term seen on no-drift data was 0.015), while a craze tripling a
  category's share or a new city carry terms of 0.04–0.3.
* fewer than ``min_samples`` rows in either window: status ``insufficient``, never flagged.

Decision: any *critical* feature or signal → ``retrain``; else any *warn* → ``warn``; else
``none``. Reasons name each flagged feature with its numbers and, where they exist, the
categories that moved or the groups whose values shifted.

Tests assume independent rows. Rows of one session or one user are not, so the monitored
tables use the session, the active user or the order line as their unit where the quantity
allows it (see :mod:`vitrina.monitoring.drift_inputs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.monitoring.drift_stats import (
    Mover,
    binned_counts,
    category_counts,
    chi2_test,
    ks_test,
    psi_categorical,
    psi_from_counts,
    share_movers,
    wasserstein,
)

Kind = Literal["numeric", "categorical"]
Domain = Literal["recs", "search"]
Status = Literal["ok", "warn", "critical", "insufficient"]
Decision = Literal["none", "warn", "retrain"]
DOMAINS: tuple[Domain, ...] = ("recs", "search")
SEVERITY: dict[str, int] = {"insufficient": 0, "ok": 0, "warn": 1, "critical": 2}
DECISIONS: tuple[Decision, ...] = ("none", "warn", "retrain")


@dataclass(frozen=True)
class Thresholds:
    """Every threshold of the decision (defaults: SPEC §5.4 and the seeds' §11)."""

    psi_warn: float = 0.10
    psi_critical: float = 0.25
    alpha: float = 0.01
    ks_floor: float = 0.15
    mover_term: float = 0.03
    min_samples: int = 50
    spc_sigmas: float = 2.0
    new_items_warn: float = 0.20
    centroid_warn: float = 0.10
    centroid_critical: float = 0.20
    group_min_rows: int = 10

    def to_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class MonitoredTable:
    """One unit of observation in both windows.

    ``columns`` maps each monitored column to its kind; ``group_by`` maps a numeric column
    to a column whose groups the reasons break its shift down by (e.g. price by category);
    ``descriptions`` says what each column means (for the report).
    """

    name: str
    unit: str
    domain: Domain
    columns: Mapping[str, Kind]
    reference: pd.DataFrame
    current: pd.DataFrame
    group_by: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        needed = set(self.columns) | set(self.group_by.values())
        for window, frame in (("reference", self.reference), ("current", self.current)):
            missing = sorted(needed - set(frame.columns))
            if missing:
                raise ValueError(f"table {self.name!r}: the {window} frame lacks columns {missing}")
        unknown = sorted(set(self.group_by) - set(self.columns))
        if unknown:
            raise ValueError(f"table {self.name!r}: group_by names unmonitored columns {unknown}")


@dataclass(frozen=True)
class GroupShift:
    """How a numeric feature's median moved inside one group (e.g. one category)."""

    group: str
    n_current: int
    median_reference: float
    median_current: float

    @property
    def shift(self) -> float:
        return self.median_current - self.median_reference


@dataclass(frozen=True)
class FeatureDrift:
    """The drift of one feature; statistics that do not apply to its kind are None."""

    name: str
    table: str
    kind: Kind
    domain: Domain
    n_reference: int
    n_current: int
    status: Status
    rule: str = ""
    psi: float | None = None
    ks_stat: float | None = None
    ks_p: float | None = None
    wasserstein: float | None = None
    wasserstein_norm: float | None = None
    chi2: float | None = None
    chi2_p: float | None = None
    movers: tuple[Mover, ...] = ()
    groups: tuple[GroupShift, ...] = ()
    description: str = ""

    def reason(self) -> str:
        """One line naming the feature, the rule that flagged it and what moved."""
        text = f"{self.name}: {self.rule}"
        if self.movers:
            text += "; " + ", ".join(m.describe() for m in self.movers[:5])
        if self.groups:
            text += "; largest median shifts: " + ", ".join(
                f"{g.group!r} {g.shift:+.3g} (n={g.n_current})" for g in self.groups[:5]
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; only the statistics of the feature's kind."""
        payload: dict[str, Any] = {
            "table": self.table,
            "kind": self.kind,
            "domain": self.domain,
            "status": self.status,
            "rule": self.rule,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "psi": self.psi,
            "description": self.description,
        }
        if self.kind == "numeric":
            payload |= {
                "ks_stat": self.ks_stat,
                "ks_p": self.ks_p,
                "wasserstein": self.wasserstein,
                "wasserstein_norm": self.wasserstein_norm,
            }
            if self.groups:
                payload["groups"] = [g.__dict__ | {"shift": g.shift} for g in self.groups]
            payload["chi2_p"] = self.chi2_p
        else:
            payload |= {"chi2": self.chi2, "chi2_p": self.chi2_p}
            payload["movers"] = [m.__dict__ for m in self.movers]
        return payload


@dataclass(frozen=True)
class Signal:
    """A drift check that is not a feature distribution (target, prediction, search trends)."""

    name: str
    domain: Domain
    status: Status
    value: float | None
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "status": self.status,
            "value": self.value,
            "message": self.message,
            **self.details,
        }


@dataclass(frozen=True)
class DriftResult:
    """The decision, per domain and overall, with its reasons and every measurement."""

    decision: Decision
    decisions: dict[Domain, Decision]
    reasons: tuple[str, ...]
    features: tuple[FeatureDrift, ...]
    signals: tuple[Signal, ...]

    def top_features(self, n: int = 5) -> list[FeatureDrift]:
        """The ``n`` features with the highest PSI, flagged ones first."""
        ranked = sorted(self.features, key=lambda f: (-SEVERITY[f.status], -(f.psi or 0.0)))
        return ranked[:n]


def _psi_level(psi: float, th: Thresholds) -> Status:
    if psi >= th.psi_critical:
        return "critical"
    return "warn" if psi >= th.psi_warn else "ok"


def _limit(level: Status, th: Thresholds) -> float:
    return th.psi_critical if level == "critical" else th.psi_warn


def _finite(values: pd.Series | npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    array = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").to_numpy(dtype=np.float64)
    finite: npt.NDArray[np.float64] = array[np.isfinite(array)]
    return finite


def _insufficient(
    name: str,
    kind: Kind,
    n_ref: int,
    n_cur: int,
    th: Thresholds,
    table: str,
    domain: Domain,
    description: str,
) -> FeatureDrift:
    return FeatureDrift(
        name, table, kind, domain, n_ref, n_cur, "insufficient",
        rule=f"fewer than {th.min_samples} rows in a window", description=description,
    )  # fmt: skip


def compare_numeric(
    name: str,
    reference: pd.Series | npt.NDArray[Any],
    current: pd.Series | npt.NDArray[Any],
    th: Thresholds,
    *,
    table: str = "",
    domain: Domain = "recs",
    description: str = "",
) -> FeatureDrift:
    """PSI + KS + Wasserstein of one numeric feature and its status (module docstring)."""
    ref, cur = _finite(reference), _finite(current)
    base = _insufficient(name, "numeric", ref.size, cur.size, th, table, domain, description)
    if min(ref.size, cur.size) < th.min_samples:
        return base
    ref_bins, cur_bins = binned_counts(ref, cur)
    psi = psi_from_counts(ref_bins, cur_bins)
    chi2, chi2_p = chi2_test(ref_bins, cur_bins)
    ks_stat, ks_p = ks_test(ref, cur)
    distance, normed = wasserstein(ref, cur)
    level = _psi_level(psi, th)
    status: Status = "ok"
    rule = ""
    if level != "ok" and chi2_p < th.alpha:
        status = level
        rule = f"PSI {psi:.3f} ≥ {_limit(level, th)} (binned chi² p {chi2_p:.1e}; KS D {ks_stat:.3f})"
    elif ks_p < th.alpha and ks_stat >= th.ks_floor:
        status, rule = "warn", f"KS D {ks_stat:.3f} ≥ {th.ks_floor} (p {ks_p:.1e}; PSI {psi:.3f})"
    return replace(
        base, status=status, rule=rule, psi=psi, ks_stat=ks_stat, ks_p=ks_p, wasserstein=distance,
        wasserstein_norm=normed, chi2=chi2, chi2_p=chi2_p,
    )  # fmt: skip


def compare_categorical(
    name: str,
    reference: pd.Series | npt.NDArray[Any],
    current: pd.Series | npt.NDArray[Any],
    th: Thresholds,
    *,
    table: str = "",
    domain: Domain = "recs",
    description: str = "",
) -> FeatureDrift:
    """PSI + chi² + share movers of one categorical feature and its status (module docstring)."""
    counts = category_counts(reference, current)
    n_ref, n_cur = counts.n_reference, counts.n_current
    base = _insufficient(name, "categorical", n_ref, n_cur, th, table, domain, description)
    if min(n_ref, n_cur) < th.min_samples:
        return base
    psi = psi_categorical(counts)
    chi2, chi2_p = chi2_test(counts.reference, counts.current)
    movers = tuple(share_movers(counts, alpha=th.alpha, min_term=th.mover_term))
    level = _psi_level(psi, th)
    status: Status = "ok"
    rule = ""
    if level != "ok" and chi2_p < th.alpha:
        status, rule = level, f"PSI {psi:.3f} ≥ {_limit(level, th)} (chi² p {chi2_p:.1e})"
    elif movers:
        status, rule = "warn", f"category shares moved (PSI {psi:.3f}, chi² p {chi2_p:.1e})"
    return replace(base, status=status, rule=rule, psi=psi, chi2=chi2, chi2_p=chi2_p, movers=movers)


def group_shifts(
    reference: pd.DataFrame, current: pd.DataFrame, column: str, by: str, min_rows: int = 10
) -> tuple[GroupShift, ...]:
    """Median of ``column`` per ``by`` group in both windows, for groups with at least
    ``min_rows`` finite rows in each; sorted by the absolute shift, largest first, zero shifts
    left out."""

    def medians(frame: pd.DataFrame) -> pd.DataFrame:
        values = frame[[by, column]].copy()
        values[column] = pd.to_numeric(values[column], errors="coerce")
        values = values[np.isfinite(values[column])].dropna(subset=[by])
        stats: pd.DataFrame = values.groupby(by)[column].agg(["median", "size"])
        return stats

    ref, cur = medians(reference), medians(current)
    joined = ref.join(cur, lsuffix="_ref", rsuffix="_cur", how="inner")
    joined = joined[(joined["size_ref"] >= min_rows) & (joined["size_cur"] >= min_rows)]
    shifts = [
        GroupShift(str(group), int(row.size_cur), float(row.median_ref), float(row.median_cur))
        for group, row in joined.iterrows()
        if row.median_cur != row.median_ref
    ]
    return tuple(sorted(shifts, key=lambda g: -abs(g.shift)))


def compare_table(table: MonitoredTable, th: Thresholds) -> list[FeatureDrift]:
    """Every monitored column of ``table``, named ``<table>.<column>``."""
    results = []
    for column, kind in table.columns.items():
        name = f"{table.name}.{column}"
        ref, cur = table.reference[column], table.current[column]
        compare = compare_numeric if kind == "numeric" else compare_categorical
        result = compare(
            name,
            ref,
            cur,
            th,
            table=table.name,
            domain=table.domain,
            description=table.descriptions.get(column, ""),
        )
        by = table.group_by.get(column)
        if by is not None and result.status in ("warn", "critical"):
            shifts = group_shifts(table.reference, table.current, column, by, th.group_min_rows)
            result = replace(result, groups=shifts)
        results.append(result)
    return results


def _decision(statuses: Iterable[Status]) -> Decision:
    worst = max((SEVERITY[s] for s in statuses), default=0)
    return DECISIONS[worst]


def decide(features: Sequence[FeatureDrift], signals: Sequence[Signal] = ()) -> DriftResult:
    """The none / warn / retrain decision per domain and overall, with one reason per flag
    (most severe first, then by PSI)."""
    statuses = [(f.domain, f.status) for f in features] + [(s.domain, s.status) for s in signals]
    decisions = {domain: _decision(status for d, status in statuses if d == domain) for domain in DOMAINS}
    overall = DECISIONS[max(DECISIONS.index(d) for d in decisions.values())]
    flagged: list[tuple[int, float, str]] = [
        (SEVERITY[f.status], f.psi or 0.0, f"{f.status}: {f.reason()}")
        for f in features
        if SEVERITY[f.status] > 0
    ]
    flagged += [
        (SEVERITY[s.status], 0.0, f"{s.status}: {s.name}: {s.message}") for s in signals if SEVERITY[s.status]
    ]
    reasons = tuple(text for _, _, text in sorted(flagged, key=lambda x: (-x[0], -x[1], x[2])))
    return DriftResult(overall, decisions, reasons, tuple(features), tuple(signals))


def compare_tables(
    tables: Iterable[MonitoredTable],
    th: Thresholds,
    signals: Sequence[Signal] = (),
    measured: Sequence[FeatureDrift] = (),
) -> DriftResult:
    """:func:`compare_table` over every table, plus features ``measured`` elsewhere (e.g.
    prediction scores), then :func:`decide`."""
    features = [result for table in tables for result in compare_table(table, th)]
    return decide([*features, *measured], signals)
