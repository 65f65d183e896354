"""The drift report of one run, under ``$lake/reports/drift/``:

* ``<run_id>/metrics.json`` — the decision and every number (shape below), copied to
  ``latest/metrics.json``;
* ``<run_id>/summary.md`` — the same for humans (copied to ``latest/``);
* ``<run_id>/evidently.html`` — Evidently's data-drift report (``DataDriftPreset``, PSI at
  0.10) over a sample of every monitored table, as an independent visual check. The file is
  self-contained: Evidently inlines its JavaScript bundle and font (≈ 4 MB), nothing is
  fetched from a CDN, so it opens offline;
* ``history.parquet`` — one row per (run, feature or signal): PSI and friends over time,
  for dashboards. A re-run with the same ``run_id`` replaces its rows.

``metrics.json``::

    {"run_id", "generated_at", "decision": "none|warn|retrain",
     "decisions": {"recs": …, "search": …}, "reasons": [str, …],
     "features": {name: {"status", "psi", "ks_stat", "ks_p", "wasserstein", … | "chi2_p", "movers"}},
     "signals": {name: {"status", "value", "message", …}},
     "reference": {"start", "end", "days", "blocks"}, "current": {"start", "end", "days"},
     "tables": {name: {"unit", "domain", "n_reference", "n_current"}}, "thresholds": {…}}

Non-finite numbers are written as ``null`` so the file is strict JSON.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vitrina.adapters.reports import (
    DRIFT_HISTORY_SCHEMA,
    LATEST,
    drift_history_url,
    read_drift_history,
    report_folder,
)
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem, write_bytes_atomic, write_json_atomic, write_text_atomic
from vitrina.core.drift.decision import DriftResult, MonitoredTable, Thresholds
from vitrina.core.drift.windows import DriftWindows

EVIDENTLY_SAMPLE_ROWS = 2_000


def report_url(settings: Settings, run_id: str) -> str:
    """Folder of one run's report (``run_id`` may be ``latest``)."""
    return report_folder(settings, "drift", run_id)


def _strict(value: Any) -> Any:
    """``value`` with NaN / ±inf replaced by None, recursively (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def drift_payload(
    result: DriftResult,
    windows: DriftWindows,
    run_id: str,
    generated_at: dt.datetime,
    thresholds: Thresholds,
    tables: Sequence[MonitoredTable] = (),
) -> dict[str, Any]:
    """The ``metrics.json`` document (module docstring)."""
    payload: dict[str, Any] = {
        "run_id": run_id,
        "generated_at": generated_at.isoformat(),
        "decision": result.decision,
        "decisions": dict(result.decisions),
        "reasons": list(result.reasons),
        "features": {f.name: f.to_dict() for f in result.features},
        "signals": {s.name: s.to_dict() for s in result.signals},
        **windows.to_dict(),
        "tables": {
            t.name: {
                "unit": t.unit,
                "domain": t.domain,
                "n_reference": len(t.reference),
                "n_current": len(t.current),
            }
            for t in tables
        },
        "thresholds": thresholds.to_dict(),
    }
    return dict(_strict(payload))


def _number(value: Any, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def _status(feature: Mapping[str, Any]) -> str:
    """The status, marked when the column is a model output (reported, not counted)."""
    status = str(feature["status"])
    return f"{status} (model output, not counted)" if feature.get("role") == "model_output" else status


def render_markdown(payload: Mapping[str, Any], top: int = 15) -> str:
    """A human summary: decision, reasons, the most drifted features, every signal."""
    ref, cur = payload["reference"], payload["current"]
    lines = [
        f"# Drift `{payload['run_id']}`: **{payload['decision']}**",
        "",
        f"Reference {ref['start'][:10]} … {ref['end'][:10]} ({ref['days']} d, {ref['blocks']} blocks) · "
        f"current {cur['start'][:10]} … {cur['end'][:10]} ({cur['days']} d) · "
        + " · ".join(f"{domain}: {d}" for domain, d in payload["decisions"].items()),
        "",
        "## Reasons",
        "",
        *([f"- {reason}" for reason in payload["reasons"]] or ["- nothing drifted beyond the thresholds"]),
        "",
        f"## Features (top {top} by status, then PSI)",
        "",
        "| feature | status | PSI | chi² p | KS D | KS p | n ref | n cur |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    severity = {"critical": 2, "warn": 1}
    ranked = sorted(
        payload["features"].items(), key=lambda kv: (-severity.get(kv[1]["status"], 0), -(kv[1]["psi"] or 0))
    )
    for name, f in ranked[:top]:
        lines.append(
            f"| {name} | {_status(f)} | {_number(f['psi'])} | {_number(f.get('chi2_p'), '.1e')} | "
            f"{_number(f.get('ks_stat'))} | {_number(f.get('ks_p'), '.1e')} | "
            f"{f['n_reference']} | {f['n_current']} |"
        )
    lines += ["", "## Signals", "", "| signal | status | value | detail |", "|---|---|---:|---|"]
    for name, s in payload["signals"].items():
        lines.append(f"| {name} | {s['status']} | {_number(s['value'], '.4f')} | {s['message']} |")
    lines += [
        "",
        "Rules (`vitrina.core.drift.decision`): a PSI level counts when chi² (on PSI's bins for numeric "
        "features) has p < α; KS flags with p < α and D ≥ its floor; categories move when their PSI "
        "term passes its floor with a Bonferroni p < α. Evidently's view: `evidently.html`.",
        "",
    ]
    return "\n".join(lines)


def history_rows(payload: Mapping[str, Any]) -> pa.Table:
    """One history row per feature and per signal of ``payload``."""
    common = {
        "run_id": payload["run_id"],
        "generated_at": pd.Timestamp(payload["generated_at"]),
        "current_start": pd.Timestamp(payload["current"]["start"]),
        "current_end": pd.Timestamp(payload["current"]["end"]),
    }
    rows = [
        common
        | {
            "name": name,
            "kind": f["kind"],
            "domain": f["domain"],
            "status": f["status"],
            "psi": f["psi"],
            "ks_stat": f.get("ks_stat"),
            "ks_p": f.get("ks_p"),
            "wasserstein": f.get("wasserstein"),
            "chi2_p": f.get("chi2_p"),
            "value": None,
            "n_reference": f["n_reference"],
            "n_current": f["n_current"],
        }
        for name, f in payload["features"].items()
    ]
    rows += [
        common
        | {"name": name, "kind": "signal", "domain": s["domain"], "status": s["status"], "value": s["value"]}
        for name, s in payload["signals"].items()
    ]
    frame = pd.DataFrame(rows, columns=DRIFT_HISTORY_SCHEMA.names)
    return pa.Table.from_pandas(frame, schema=DRIFT_HISTORY_SCHEMA, preserve_index=False)


def append_history(settings: Settings, rows: pa.Table) -> str:
    """Add ``rows`` to ``history.parquet`` (replacing earlier rows of the same run ids)."""
    old = read_drift_history(settings).to_pandas()
    new = rows.to_pandas()
    merged = pd.concat([old[~old["run_id"].isin(set(new["run_id"]))], new], ignore_index=True)
    table = pa.Table.from_pandas(merged, schema=DRIFT_HISTORY_SCHEMA, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return write_bytes_atomic(sink.getvalue(), drift_history_url(settings))


def _stacked(
    tables: Sequence[MonitoredTable], window: str, columns: Sequence[str], rows: int
) -> pd.DataFrame:
    """Every table's sample side by side: columns ``<table>.<column>``, other tables' cells NaN."""
    parts = []
    for table in tables:
        frame = table.reference if window == "reference" else table.current
        sample = frame.sample(n=min(rows, len(frame)), random_state=0) if len(frame) else frame
        renamed = sample[list(table.columns)].rename(columns={c: f"{table.name}.{c}" for c in table.columns})
        parts.append(renamed[[c for c in renamed.columns if c in columns]])
    stacked = pd.concat(parts, ignore_index=True)
    return stacked.reindex(columns=list(columns))


def evidently_html(
    tables: Sequence[MonitoredTable],
    result: DriftResult,
    thresholds: Thresholds,
    rows: int = EVIDENTLY_SAMPLE_ROWS,
) -> str:
    """Evidently's DataDriftPreset (PSI, threshold ``psi_warn``) over a sample of ``rows``
    per table and window, for the features our comparison could measure."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    present = {f"{t.name}.{c}" for t in tables for c in t.columns}
    measured = {f.name: f.kind for f in result.features if f.status != "insufficient" and f.name in present}
    numeric = [n for n, k in measured.items() if k == "numeric"]
    categorical = [n for n, k in measured.items() if k == "categorical"]
    frames = {w: _stacked(tables, w, [*numeric, *categorical], rows) for w in ("reference", "current")}
    for frame in frames.values():
        frame[categorical] = frame[categorical].astype(object).where(frame[categorical].notna())
        frame[categorical] = frame[categorical].map(lambda v: v if v is None or pd.isna(v) else str(v))
        frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce").astype(float)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    report = Report([DataDriftPreset(method="psi", threshold=thresholds.psi_warn)])
    snapshot = report.run(
        Dataset.from_pandas(frames["current"], data_definition=definition),
        Dataset.from_pandas(frames["reference"], data_definition=definition),
    )
    html: str = snapshot.get_html_str(as_iframe=False)
    return html


def write_drift_report(
    settings: Settings,
    result: DriftResult,
    windows: DriftWindows,
    run_id: str,
    *,
    thresholds: Thresholds,
    tables: Sequence[MonitoredTable] = (),
    generated_at: dt.datetime | None = None,
    html: bool = True,
) -> dict[str, Any]:
    """Write the run's files, then ``latest/``, then the history; returns the payload.

    The run's folder is written first and ``latest`` last, each file atomically, so
    ``latest`` never shows numbers that are not also stored under their run id; a failure
    (e.g. in Evidently) leaves the previous ``latest`` in place.
    """
    if run_id == "latest":
        raise ValueError("run_id 'latest' is reserved for the copy of the newest report")
    when = generated_at or dt.datetime.now(dt.UTC)
    payload = drift_payload(result, windows, run_id, when, thresholds, tables)
    markdown = render_markdown(payload)
    page = evidently_html(tables, result, thresholds) if html and tables else None
    folder = report_url(settings, run_id)
    for target in (folder, report_url(settings, LATEST)):
        if page is not None:
            write_text_atomic(page, f"{target}/evidently.html")
        else:  # no stale page from an earlier run beside this run's numbers
            fs, path = filesystem(f"{target}/evidently.html")
            if fs.exists(path):
                fs.rm(path)
        write_text_atomic(markdown, f"{target}/summary.md")
        write_json_atomic(payload, f"{target}/metrics.json")
    append_history(settings, history_rows(payload))
    return payload
