"""Per-feature drift between a reference and a current window, and the decision (docs/spec.md §5.4).

Input: :class:`MonitoredTable` s — one DataFrame per window with the same columns, one row
per *unit* (an event, a session, an active user, a product's features as of a cutoff …).
Output: a :class:`FeatureDrift` per column and a :class:`DriftResult` with the decision
``none`` / ``warn`` / ``retrain``, per domain (``recs``, ``search``) and overall.

The rule (thresholds in :class:`Thresholds`, defaults from docs/spec.md §5.4):

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

Only *data* features decide. A column the served model decides (role ``model_output``, e.g.
how many results the search engine returned) keeps its statistics and status in the report,
and a flagged one is listed after the counted reasons as "model output, not counted": it
moves when the engine is replaced — a fuller result list from a new engine is not a change
in the shoppers — so retraining on it would answer the model's own change (ADR-0031).

Tests assume independent rows. Rows of one session or one user are not, so the monitored
tables use the session, the active user or the order line as their unit where the quantity
allows it (see :mod:`vitrina.pipelines.drift.monitored_tables`).

The records (:class:`Thresholds`, :class:`MonitoredTable`, :class:`FeatureDrift`, …) live in
:mod:`vitrina.core.drift.records` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.drift.records import (
    DECISIONS,
    DOMAINS,
    SEVERITY,
    Decision,
    Domain,
    DriftResult,
    FeatureDrift,
    GroupShift,
    Kind,
    MonitoredTable,
    Signal,
    Status,
    Thresholds,
)
from vitrina.core.drift.statistics import (
    binned_counts,
    category_counts,
    chi2_test,
    ks_test,
    psi_categorical,
    psi_from_counts,
    share_movers,
    wasserstein,
)

__all__ = [
    "DECISIONS", "DOMAINS", "SEVERITY", "Decision", "Domain", "DriftResult", "FeatureDrift", "GroupShift",
    "Kind", "MonitoredTable", "Signal", "Status", "Thresholds", "compare_categorical", "compare_numeric",
    "compare_table", "compare_tables", "decide", "group_shifts",
]  # fmt: skip


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
    reference: pd.DataFrame, current: pd.DataFrame, column: str, by: str, min_rows: int = 5
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
        result = replace(result, role=table.role(column))
        by = table.group_by.get(column)
        if by is not None and result.status in ("warn", "critical"):
            shifts = group_shifts(table.reference, table.current, column, by, th.group_min_rows)
            result = replace(result, groups=shifts)
        results.append(result)
    return results


def _decision(statuses: Iterable[Status]) -> Decision:
    worst = max((SEVERITY[s] for s in statuses), default=0)
    return DECISIONS[worst]


def _worst_first(flag: tuple[int, float, str]) -> tuple[int, float, str]:
    return -flag[0], -flag[1], flag[2]


def decide(features: Sequence[FeatureDrift], signals: Sequence[Signal] = ()) -> DriftResult:
    """The none / warn / retrain decision per domain and overall, with one reason per flag
    (most severe first, then by PSI); flagged model outputs follow, marked as not counted."""
    counted = [f for f in features if f.decides]
    statuses = [(f.domain, f.status) for f in counted] + [(s.domain, s.status) for s in signals]
    decisions = {domain: _decision(status for d, status in statuses if d == domain) for domain in DOMAINS}
    overall = DECISIONS[max(DECISIONS.index(d) for d in decisions.values())]
    flagged: list[tuple[int, float, str]] = [
        (SEVERITY[f.status], f.psi or 0.0, f"{f.status}: {f.reason()}")
        for f in counted
        if SEVERITY[f.status] > 0
    ]
    flagged += [
        (SEVERITY[s.status], 0.0, f"{s.status}: {s.name}: {s.message}") for s in signals if SEVERITY[s.status]
    ]
    outputs = [
        (SEVERITY[f.status], f.psi or 0.0, f"model output, not counted ({f.status}): {f.reason()}")
        for f in features
        if not f.decides and SEVERITY[f.status] > 0
    ]
    ordered = [*sorted(flagged, key=_worst_first), *sorted(outputs, key=_worst_first)]
    reasons = tuple(text for _, _, text in ordered)
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
