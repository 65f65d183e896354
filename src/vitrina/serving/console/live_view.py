"""Data of the Live shop page: the reports ``vitrina simulate live`` writes under
``$lake/reports/live/<run_id>/metrics.json`` (and ``latest/``).

The page answers what a person checks after an unattended run: did any step fail, were the
new products recommended and found within a day, which versions were promoted or rolled
back and why, how the shop's own traffic (CTR, conversion) moved day by day, and whether each
search version the loop trained beat the one before it on the live searches it never learnt
from (:func:`search_version_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.reports import LATEST, LIVE_REPORTS, report_folder
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem, read_json
from vitrina.core.evaluation.version_pairs import NDCG

MAX_RUNS = 20


@dataclass(frozen=True)
class LiveView:
    """``report``: the shown run's ``metrics.json`` (None before the first run); ``runs``:
    the run ids, newest first; ``selected``: the run shown (None: the latest)."""

    report: Mapping[str, Any] | None
    runs: list[str]
    selected: str | None


def list_runs(settings: Settings, limit: int = MAX_RUNS) -> list[str]:
    """Run ids (UTC timestamps, so the newest sorts last by name) newest first."""
    fs, path = filesystem(f"{LakePaths(settings.lake).layer('reports')}/{LIVE_REPORTS}")
    if not fs.exists(path):
        return []
    names = [str(entry).rstrip("/").rpartition("/")[2] for entry in fs.ls(path, detail=False)]
    runs = sorted((n for n in names if n != LATEST and fs.exists(f"{path}/{n}/metrics.json")), reverse=True)
    return runs[:limit]


def live_view(settings: Settings, run_id: str | None = None) -> LiveView:
    """The report of ``run_id`` (a listed run; anything else raises ``KeyError``), or the latest."""
    runs = list_runs(settings)
    if run_id is not None and run_id not in runs:
        raise KeyError(run_id)
    report = read_json(f"{report_folder(settings, LIVE_REPORTS, run_id or LATEST)}/metrics.json")
    return LiveView(report=report, runs=runs, selected=run_id)


def day_bars(report: Mapping[str, Any], metric: str) -> list[tuple[str, float | None]]:
    """``(label, value)`` per day for a bar chart; a day with the drift on is starred."""
    days: Sequence[Mapping[str, Any]] = report.get("per_day", [])
    return [
        (f"{d['day']}{' *' if d.get('drifted') else ''} · {d.get('date', '')}", _number(d.get(metric)))
        for d in days
    ]


def changes(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Promotions and rollbacks in day order, each with its ``kind``."""
    rows = [{"kind": kind, **c} for kind in ("promotions", "rollbacks") for c in report.get(kind, [])]
    return sorted(rows, key=lambda r: (r.get("day", 0), r["kind"]))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def search_version_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's ``search_versions`` pairs as table rows: the later version against the
    earlier one on the same held-out live searches, the truth's NDCG@10 of both, the paired
    difference with its standard error and one-sided p-value, and the verdict; a pair that was
    not judged carries ``skipped`` (why) instead. Empty for a run without the section."""
    section = report.get("search_versions") or {}
    rows = []
    for pair in section.get("pairs", []):
        row: dict[str, Any] = {
            "version": pair.get("version"),
            "against": pair.get("against"),
            "relation": pair.get("relation"),
            "cut": str(pair.get("cut") or "")[:10],
            "skipped": pair.get("skipped"),
        }
        ndcg = (pair.get("metrics") or {}).get(NDCG)
        if ndcg and not row["skipped"]:
            row |= {
                "searches": ndcg.get("n"),
                "later": _number(ndcg.get("mean_b")),
                "earlier": _number(ndcg.get("mean_a")),
                "difference": _number(ndcg.get("difference")),
                "standard_error": _number(ndcg.get("standard_error")),
                "p_better": _number(ndcg.get("p_better")),
                "verdict": pair.get("verdict") or ndcg.get("verdict"),
            }
        rows.append(row)
    return rows
