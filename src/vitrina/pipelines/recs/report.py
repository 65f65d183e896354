"""The recommendation evaluation report: ``$lake/reports/recs/<run_id>/metrics.json`` + ``metrics.md``.

``metrics.json`` is exactly the shape :func:`vitrina.pipelines.recs.evaluation.evaluate_all` returns,
``{"models": {name: {metric: value}}, "truth": {name: {metric: value}}}``, with ``NaN`` (a
metric nobody could be evaluated on) written as ``null`` so the file is strict JSON.
``metrics.md`` holds two Markdown tables (rows = models, columns = metrics): against held-out
events and against true utility. Both are copied to ``reports/recs/latest/``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from vitrina.adapters.reports import report_folder
from vitrina.config import Settings
from vitrina.pipelines.reports import write_report

ACCURACY_METRICS = ("ndcg@10", "ndcg@20", "hitrate@10", "map@10", "mrr", "recall@100")
METRICS = (*ACCURACY_METRICS, "coverage", "diversity", "novelty")
"""Every model's metrics, in this order (the issue's report shape)."""
Metrics = Mapping[str, Mapping[str, Mapping[str, float]]]
OPTIONAL = ("all_positives",)
"""Sections written only when the run measured them."""
SECTIONS = (
    ("models", "Held-out events (items new to the user)"),
    ("all_positives", "Held-out events, all positives (buying again counts)"),
    ("truth", "True utility (simulator)"),
)


def report_url(settings: Settings, run_id: str) -> str:
    """Folder of one run's report (``run_id`` may be ``latest``)."""
    return report_folder(settings, "recs", run_id)


def _strict(metrics: Metrics) -> dict[str, dict[str, dict[str, float | None]]]:
    """The report's JSON payload: both sections, every metric, NaN → None; bad shape → ValueError."""
    unknown = set(metrics) - {name for name, _ in SECTIONS}
    if unknown or "models" not in metrics:
        raise ValueError(f"metrics must have 'models' (and optionally 'truth'), got {sorted(metrics)}")
    payload: dict[str, dict[str, dict[str, float | None]]] = {}
    for section, _ in SECTIONS:
        if section in OPTIONAL and section not in metrics:
            continue
        payload[section] = {}
        for model, values in metrics.get(section, {}).items():
            missing = [m for m in METRICS if m not in values]
            if missing:
                raise ValueError(f"{section}.{model} lacks metrics {missing}")
            payload[section][model] = {
                m: None if math.isnan(float(values[m])) else float(values[m]) for m in METRICS
            }
    return payload


def render_markdown(metrics: Metrics, run_id: str, notes: str | None = None) -> str:
    """Markdown tables of the metrics: one per section with data (rows models, columns metrics)."""
    payload = _strict(metrics)
    lines = [f"# Recommendations: offline evaluation `{run_id}`", ""]
    for section, title in SECTIONS:
        rows = payload.get(section, {})
        if not rows:
            continue
        lines += [f"## {title}", "", "| model | " + " | ".join(METRICS) + " |"]
        lines.append("|---|" + "---:|" * len(METRICS))
        for model, values in rows.items():
            cells = ["—" if values[m] is None else f"{values[m]:.4f}" for m in METRICS]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        lines.append("")
    if not payload["truth"]:
        lines += ["No simulator truth: only held-out metrics.", ""]
    if notes:
        lines += [notes.strip(), ""]
    return "\n".join(lines)


def write_recs_report(settings: Settings, metrics: Metrics, run_id: str, *, notes: str | None = None) -> str:
    """Write ``metrics.json`` and ``metrics.md`` for ``run_id`` and copy both to ``latest``.

    Every file is written atomically (temporary file, rename), the run's folder first, so
    ``latest`` never points at numbers that are not also stored under their run id.
    Returns the run's report folder URL.
    """
    if run_id == "latest":
        raise ValueError("run_id 'latest' is reserved for the copy of the newest report")
    return write_report(settings, "recs", run_id, _strict(metrics), render_markdown(metrics, run_id, notes))
