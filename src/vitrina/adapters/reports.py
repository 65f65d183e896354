"""Where evaluation and drift reports live under ``$lake/reports/``, and how they are read.

``reports/<kind>/<run_id>/`` holds one run's files (``metrics.json``, ``metrics.md``, …);
``reports/<kind>/latest/`` a copy of the newest; ``reports/drift/history.parquet`` one row per
(drift run, feature or signal). Pipelines write them (:mod:`vitrina.pipelines.reports`,
:mod:`vitrina.pipelines.drift.report`); the console, the retrain policy and the gate read them
here, so reading a report never imports the pipeline that wrote it.
"""

from __future__ import annotations

import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem, read_json

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LATEST = "latest"
LIVE_REPORTS = "live"
"""The kind of the reports `vitrina simulate live` writes (the console's Live shop page reads them)."""
DRIFT_HISTORY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("generated_at", pa.timestamp("us", tz="UTC")),
        ("current_start", pa.timestamp("us", tz="UTC")),
        ("current_end", pa.timestamp("us", tz="UTC")),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("domain", pa.string()),
        ("status", pa.string()),
        ("psi", pa.float64()),
        ("ks_stat", pa.float64()),
        ("ks_p", pa.float64()),
        ("wasserstein", pa.float64()),
        ("chi2_p", pa.float64()),
        ("value", pa.float64()),
        ("n_reference", pa.int64()),
        ("n_current", pa.int64()),
    ]
)


def report_folder(settings: Settings, kind: str, run_id: str) -> str:
    """Folder of one run's report of ``kind`` (``recs``, ``search``, ``drift``);
    ``run_id`` may be ``latest``."""
    for label, value in (("kind", kind), ("run_id", run_id)):
        if not _RUN_ID.match(value):
            raise ValueError(f"{label} must be letters, digits, '.', '_' or '-' (no '/'), got {value!r}")
    return f"{LakePaths(settings.lake).layer('reports')}/{kind}/{run_id}"


def read_latest_metrics(settings: Settings, kind: str) -> Any | None:
    """``metrics.json`` of the newest report of ``kind``; None before the first run."""
    return read_json(f"{report_folder(settings, kind, LATEST)}/metrics.json")


def drift_history_url(settings: Settings) -> str:
    """``$lake/reports/drift/history.parquet``."""
    return f"{LakePaths(settings.lake).layer('reports')}/drift/history.parquet"


def read_drift_history(settings: Settings) -> pa.Table:
    """Every drift run's rows so far (empty, with :data:`DRIFT_HISTORY_SCHEMA`, before the first run)."""
    fs, path = filesystem(drift_history_url(settings))
    if not fs.exists(path):
        return DRIFT_HISTORY_SCHEMA.empty_table()
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle, schema=DRIFT_HISTORY_SCHEMA)
