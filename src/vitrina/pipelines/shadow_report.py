"""The shadow report: the API's shadow log aggregated into the lake, per surface and experiment.

Reads every line of ``$VITRINA_HOME/serving/experiments/shadow/`` (one per shadowed request:
:mod:`vitrina.adapters.experiment_logs`) at or after ``since``, groups them by (surface,
experiment, challenger, challenger model) and summarises each group
(:func:`vitrina.core.experiments.shadow.summarise`: overlap@k, Kendall τ, Spearman ρ, the
challenger's mean score, both sides' latency p50/p95). Written as
``$lake/reports/shadow/<run_id>/metrics.json`` (+ ``latest``), which the console's
Experimentos page shows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from vitrina.adapters.experiment_logs import SHADOW, read_log
from vitrina.config import Settings
from vitrina.core.experiments.shadow import summarise
from vitrina.pipelines.reports import write_report

GROUP = ("surface", "experiment", "challenger", "challenger_model")


def shadow_summary(settings: Settings, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One summary per (surface, experiment, challenger, challenger model), largest first."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in read_log(settings.home, SHADOW, since):
        groups[tuple(str(row.get(key)) for key in GROUP)].append(row)
    found = [{**dict(zip(GROUP, key, strict=True)), **summarise(rows)} for key, rows in groups.items()]
    return sorted(found, key=lambda g: -int(g["requests"]))


COLUMNS = (
    ("surface", "surface"),
    ("experiment", "experiment"),
    ("challenger", "challenger_model"),
    ("requests", "requests"),
    ("overlap@k", "overlap_at_k"),
    ("kendall τ", "kendall_tau"),
    ("spearman ρ", "spearman_rho"),
    ("challenger score", "challenger_score_mean"),
    ("champion p95 ms", "champion_ms_p95"),
    ("challenger p95 ms", "challenger_ms_p95"),
)
"""(header, group key) of the report's table, in order; the CLI prints the same columns."""


def _cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "—" if value is None else str(value)


def shadow_row(group: dict[str, Any]) -> list[str]:
    """One group's cells under :data:`COLUMNS`."""
    return [_cell(group.get(key)) for _, key in COLUMNS]


def write_shadow_report(
    settings: Settings, since: dt.datetime | None = None, run_id: str | None = None
) -> tuple[dict[str, Any], str]:
    """Aggregate the shadow log and write the report; returns it and its folder."""
    now = dt.datetime.now(dt.UTC)
    run_id = run_id or now.strftime("%Y%m%dT%H%M%SZ")
    groups = shadow_summary(settings, since)
    payload = {
        "kind": "shadow",
        "generated_at": now.isoformat(timespec="seconds"),
        "since": None if since is None else since.isoformat(),
        "groups": groups,
    }
    headers = [header for header, _ in COLUMNS]
    lines = [f"# Shadow report {run_id}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(shadow_row(g)) + " |" for g in groups]
    folder = write_report(settings, "shadow", run_id, payload, "\n".join(lines) + "\n")
    return payload, folder
