"""The drift report: run folder + latest, strict JSON, history, offline Evidently HTML."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.reports import drift_history_url, read_drift_history
from vitrina.config import Settings
from vitrina.core.drift.decision import DriftResult, MonitoredTable, Signal, Thresholds, compare_tables
from vitrina.core.drift.windows import DriftWindows
from vitrina.pipelines.drift.report import (
    evidently_html,
    render_markdown,
    report_url,
    write_drift_report,
)

pytestmark = pytest.mark.unit

TH = Thresholds()
WINDOWS = DriftWindows(
    dt.datetime(2025, 3, 11, tzinfo=dt.UTC),
    dt.datetime(2025, 3, 25, tzinfo=dt.UTC),
    dt.datetime(2025, 4, 1, tzinfo=dt.UTC),
    7,
)


def _tables(shift: float) -> list[MonitoredTable]:
    rng = np.random.default_rng(0)

    def frame(n: int, delta: float, trend: float) -> pd.DataFrame:
        cats = rng.choice(["a", "b", "c", "d"], n, p=[0.25 + trend, 0.25, 0.25, 0.25 - trend])
        return pd.DataFrame({"x": rng.normal(delta, 1, n), "cat": cats})

    return [
        MonitoredTable(
            "t",
            "a row",
            "recs",
            {"x": "numeric", "cat": "categorical"},
            frame(3000, 0, 0),
            frame(1500, shift, 0.1),
        ),
        MonitoredTable(
            "searchq",
            "a search",
            "search",
            {"qlen": "numeric"},
            pd.DataFrame({"qlen": rng.poisson(3, 800)}),
            pd.DataFrame({"qlen": rng.poisson(3, 10)}),
        ),
    ]


def _result(tables: list[MonitoredTable]) -> DriftResult:
    signals = [Signal("target.ctr", "recs", "ok", float("nan"), "no rate")]
    return compare_tables(tables, TH, signals)


def _strict_load(path: Path) -> dict[str, object]:
    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    payload: dict[str, object] = json.loads(path.read_text(), parse_constant=refuse)
    return payload


def test_report_files_shape_and_latest_copy(settings: Settings) -> None:
    tables = _tables(1.0)
    payload = write_drift_report(
        settings, _result(tables), WINDOWS, "run-1", thresholds=TH, tables=tables, html=False
    )
    run, latest = Path(report_url(settings, "run-1")), Path(report_url(settings, "latest"))
    assert (
        _strict_load(run / "metrics.json")
        == _strict_load(latest / "metrics.json")
        == json.loads(json.dumps(payload))
    )
    assert payload["decision"] == "retrain"
    assert set(payload["decisions"]) == {"recs", "search"}
    feature = payload["features"]["t.x"]
    assert {"psi", "ks_stat", "ks_p", "wasserstein", "chi2_p", "status"} <= set(feature)
    assert feature["status"] == "critical"
    assert {"psi", "chi2_p", "movers", "status"} <= set(payload["features"]["t.cat"])
    assert payload["features"]["searchq.qlen"]["status"] == "insufficient"
    assert payload["signals"]["target.ctr"]["value"] is None  # NaN written as null
    assert payload["reference"]["blocks"] == 2
    assert payload["current"]["days"] == 7
    assert payload["tables"]["t"] == {
        "unit": "a row",
        "domain": "recs",
        "n_reference": 3000,
        "n_current": 1500,
    }
    summary = (latest / "summary.md").read_text()
    assert "**retrain**" in summary
    assert "t.x" in summary
    assert not (latest / "evidently.html").exists()


def test_history_appends_runs_and_replaces_a_rerun(settings: Settings) -> None:
    assert read_drift_history(settings).num_rows == 0
    tables = _tables(0.0)
    result = _result(tables)
    write_drift_report(settings, result, WINDOWS, "a", thresholds=TH, tables=tables, html=False)
    write_drift_report(settings, result, WINDOWS, "b", thresholds=TH, tables=tables, html=False)
    write_drift_report(settings, result, WINDOWS, "b", thresholds=TH, tables=tables, html=False)
    history = read_drift_history(settings).to_pandas()
    per_run = len(result.features) + len(result.signals)
    assert len(history) == 2 * per_run
    assert sorted(history["run_id"].unique()) == ["a", "b"]
    x = history[history["name"] == "t.x"]
    assert x["psi"].notna().all()
    assert (x["kind"] == "numeric").all()
    assert (history.loc[history["kind"] == "signal", "name"] == "target.ctr").all()
    assert Path(drift_history_url(settings)).exists()


def test_run_ids_are_checked(settings: Settings) -> None:
    tables = _tables(0.0)
    with pytest.raises(ValueError, match="reserved"):
        write_drift_report(settings, _result(tables), WINDOWS, "latest", thresholds=TH)
    with pytest.raises(ValueError, match="no '/'"):
        report_url(settings, "../x")


def test_markdown_without_reasons_says_so() -> None:
    tables = _tables(0.0)
    from vitrina.pipelines.drift.report import drift_payload

    quiet = compare_tables(tables[:1], Thresholds(psi_warn=90, psi_critical=99, mover_term=9))
    text = render_markdown(drift_payload(quiet, WINDOWS, "r", dt.datetime.now(dt.UTC), TH, tables))
    assert "**none**" in text
    assert "nothing drifted" in text


@pytest.mark.slow
def test_evidently_html_is_self_contained(settings: Settings) -> None:
    tables = _tables(1.0)
    html = evidently_html(tables, _result(tables), TH, rows=500)
    assert "t.x" in html
    assert "t.cat" in html
    assert "searchq.qlen" not in html  # insufficient features are not sent to Evidently
    assert len(html) > 1_000_000  # the JavaScript bundle is inlined …
    assert not re.search(r"<script[^>]+src=", html)  # … and nothing is loaded from elsewhere
    assert not re.search(r"<link[^>]+href=\"?https?:", html)
    write_drift_report(settings, _result(tables), WINDOWS, "html", thresholds=TH, tables=tables)
    assert Path(report_url(settings, "latest"), "evidently.html").exists()
    write_drift_report(settings, _result(tables), WINDOWS, "plain", thresholds=TH, tables=tables, html=False)
    assert not Path(report_url(settings, "latest"), "evidently.html").exists()  # no stale page in latest


def test_markdown_marks_a_model_output_as_not_counted() -> None:
    from vitrina.pipelines.drift.report import drift_payload

    rng = np.random.default_rng(3)
    engine = MonitoredTable(
        "searches",
        "a search",
        "search",
        {"results": "numeric"},
        pd.DataFrame({"results": np.where(rng.random(900) < 0.3, 7, 20)}),
        pd.DataFrame({"results": np.full(400, 20)}),
        outputs=frozenset({"results"}),
    )
    result = compare_tables([engine], TH)
    payload = drift_payload(result, WINDOWS, "r", dt.datetime.now(dt.UTC), TH, [engine])
    assert payload["features"]["searches.results"]["role"] == "model_output"
    text = render_markdown(payload)
    assert "**none**" in text
    assert "| searches.results | critical (model output, not counted) |" in text
    assert "- model output, not counted (critical): searches.results" in text
