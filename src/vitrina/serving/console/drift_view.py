"""Data of the Drift page: PSI per feature over the drift runs (a heatmap), the latest
decision with its reasons and signals, and whether the latest Evidently report exists.

Reads what ``vitrina drift`` wrote, through :mod:`vitrina.adapters.reports`:
``history.parquet`` for the grid and ``latest/metrics.json`` for the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from vitrina.adapters.reports import LATEST, read_drift_history, read_latest_metrics, report_folder
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.core.drift.records import Thresholds

MAX_RUNS = 12
MAX_FEATURES = 30


@dataclass(frozen=True)
class PsiGrid:
    """``values[i][j]``: PSI of ``features[i]`` in run ``runs[j]`` (None: not measured)."""

    features: list[str]
    runs: list[str]
    labels: list[str]
    """Per run: the last day of the window it measured and the time it ran (``11-17 (12:06)``)."""
    values: list[list[float | None]]
    hidden: int = 0
    """Features left out (the grid keeps the :data:`MAX_FEATURES` most drifted)."""


@dataclass(frozen=True)
class DriftView:
    grid: PsiGrid | None
    latest: dict[str, Any] | None
    evidently: bool
    warn: float
    critical: float
    signals: list[dict[str, Any]] = field(default_factory=list)
    top: list[dict[str, Any]] = field(default_factory=list)


def psi_grid(
    history: pd.DataFrame, max_runs: int = MAX_RUNS, max_features: int = MAX_FEATURES
) -> PsiGrid | None:
    """The grid of the newest ``max_runs`` runs (oldest first) and the ``max_features``
    features with the largest PSI in them (largest first); None without any PSI."""
    rows = history[(history["kind"] != "signal") & history["psi"].notna()]
    if rows.empty:
        return None
    # Runs in the order of the window they measured (a re-run of an old window sits there).
    ends = rows.groupby("run_id").agg(end=("current_end", "max"), at=("generated_at", "max"))
    runs = ends.sort_values(["end", "at"]).tail(max_runs)
    rows = rows[rows["run_id"].isin(runs.index)]
    table = rows.pivot_table(index="name", columns="run_id", values="psi", aggfunc="max")
    table = table.reindex(columns=list(runs.index))
    order = table.max(axis=1).sort_values(ascending=False, kind="stable")
    kept = table.loc[order.index[:max_features]]
    values = [[None if not math.isfinite(v) else float(v) for v in row] for row in kept.to_numpy(dtype=float)]
    day = pd.Timedelta(days=1)  # labels: the current window's last day (and when the run was)
    labels = [f"{pd.Timestamp(e) - day:%m-%d} ({pd.Timestamp(a):%H:%M})" for e, a in runs.to_numpy()]
    return PsiGrid(
        list(kept.index.astype(str)), list(runs.index.astype(str)), labels, values, len(order) - len(kept)
    )


def top_features(latest: dict[str, Any], n: int = 10) -> list[dict[str, Any]]:
    """The latest run's ``n`` features by PSI (name, status, psi, rule), largest first."""
    features = latest.get("features", {}) if isinstance(latest, dict) else {}
    rows = [
        {"name": name, "status": f.get("status"), "psi": f.get("psi"), "rule": f.get("rule", "")}
        for name, f in features.items()
        if isinstance(f, dict) and f.get("psi") is not None
    ]
    return sorted(rows, key=lambda r: -float(r["psi"]))[:n]


def drift_view(settings: Settings) -> DriftView:
    """Everything the page shows (each part None or empty when drift never ran)."""
    history = read_drift_history(settings).to_pandas()
    latest = read_latest_metrics(settings, "drift")
    fs, path = filesystem(f"{report_folder(settings, 'drift', LATEST)}/evidently.html")
    thresholds = latest.get("thresholds", {}) if isinstance(latest, dict) else {}
    default = Thresholds()
    signals = []
    if isinstance(latest, dict):
        signals = [
            {"name": name, **s} for name, s in latest.get("signals", {}).items() if isinstance(s, dict)
        ]
    return DriftView(
        grid=psi_grid(history),
        latest=latest if isinstance(latest, dict) else None,
        evidently=bool(fs.exists(path)),
        warn=float(thresholds.get("psi_warn", default.psi_warn)),
        critical=float(thresholds.get("psi_critical", default.psi_critical)),
        signals=signals,
        top=top_features(latest) if isinstance(latest, dict) else [],
    )


def evidently_html(settings: Settings) -> bytes | None:
    """The latest Evidently report (self-contained HTML, ≈ 4 MB), or None before the first one."""
    fs, path = filesystem(f"{report_folder(settings, 'drift', LATEST)}/evidently.html")
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as handle:
        data: bytes = handle.read()
    return data
