"""Per-feature drift rules, the decision, windows and the non-feature signals."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from vitrina.core.drift.decision import (
    FeatureDrift,
    MonitoredTable,
    Signal,
    Thresholds,
    compare_categorical,
    compare_numeric,
    compare_table,
    compare_tables,
    decide,
    group_shifts,
)
from vitrina.core.drift.model_checks import embedding_signal, prediction_drift, search_drift, target_drift
from vitrina.core.drift.windows import drift_windows

pytestmark = pytest.mark.unit

TH = Thresholds()
UTC = dt.UTC


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_numeric_same_distribution_is_ok() -> None:
    rng = _rng()
    result = compare_numeric("x", rng.normal(size=4000), rng.normal(size=2000), TH)
    assert result.status == "ok"
    assert result.psi is not None
    assert result.psi < TH.psi_warn
    assert result.ks_p is not None
    assert result.wasserstein is not None
    assert result.chi2_p is not None


def test_numeric_shift_is_warn_then_critical() -> None:
    rng = _rng(1)
    ref = rng.normal(size=4000)
    warn = compare_numeric("x", ref, rng.normal(0.35, 1, 2000), TH)  # PSI ≈ δ² for a normal shift
    critical = compare_numeric("x", ref, rng.normal(1.5, 1, 2000), TH)
    assert warn.status == "warn"
    assert warn.rule.startswith("PSI")
    assert critical.status == "critical"
    assert critical.psi is not None
    assert critical.psi >= TH.psi_critical


def test_numeric_point_mass_moving_is_caught_by_the_binned_test() -> None:
    # prices unchanged for 92 % of a few hundred orders, +26 % for the rest: KS barely moves
    ref = np.zeros(800)
    cur = np.r_[np.zeros(307), np.full(27, 0.26)]
    result = compare_numeric("price", ref, cur, TH)
    assert result.ks_p is not None
    assert result.ks_p > TH.alpha
    assert result.status == "critical"


def test_ks_alone_warns_only_above_its_floor() -> None:
    no_psi = Thresholds(psi_warn=50.0, psi_critical=100.0)
    rng = _rng(2)
    ref = rng.normal(size=20_000)
    tiny = compare_numeric("x", ref, rng.normal(0.05, 1, 20_000), no_psi)
    big = compare_numeric("x", ref, rng.normal(0.6, 1, 20_000), no_psi)
    assert tiny.ks_p is not None
    assert tiny.ks_p < TH.alpha
    assert tiny.status == "ok"  # … but below the effect-size floor
    assert big.status == "warn"
    assert big.rule.startswith("KS")


def test_too_few_rows_is_insufficient_never_flagged() -> None:
    result = compare_numeric("x", np.arange(10.0), np.arange(100.0) + 50, TH)
    assert result.status == "insufficient"
    assert result.psi is None


def test_categorical_noise_of_small_samples_is_not_flagged() -> None:
    # 40 categories, 60 rows a window: PSI is large from noise alone, chi² says so
    rng = _rng(3)
    cats = np.array([f"c{i}" for i in range(40)])
    result = compare_categorical("cat", rng.choice(cats, 60), rng.choice(cats, 60), TH)
    assert result.psi is not None
    assert result.psi > TH.psi_critical
    assert result.status == "ok"


def test_categorical_mover_warns_below_the_psi_level() -> None:
    cats = [f"c{i}" for i in range(30)]
    ref = np.repeat(cats, 100)  # 3000 rows, 3.3 % each
    cur = np.r_[np.repeat(cats, 60), np.repeat("c0", 200)]  # c0: 3.3 % → 13 %
    result = compare_categorical("cat", ref, cur, TH)
    assert result.status in ("warn", "critical")
    assert [m.category for m in result.movers] == ["c0"]
    assert "c0" in result.reason()


def test_categorical_new_category_is_critical() -> None:
    ref = np.repeat(["a", "b", "c"], 1000)
    cur = np.r_[np.repeat(["a", "b", "c"], 300), np.repeat(["new"], 100)]
    result = compare_categorical("city", ref, cur, TH)
    assert result.status == "critical"
    assert result.movers[0].category == "new"


def _table(ref: pd.DataFrame, cur: pd.DataFrame) -> MonitoredTable:
    return MonitoredTable(
        "orders", "an order", "recs", {"price": "numeric", "category": "categorical"}, ref, cur,
        group_by={"price": "category"}, descriptions={"price": "log price change"},
    )  # fmt: skip


def _orders(n: int, shift_b: float, seed: int) -> pd.DataFrame:
    rng = _rng(seed)
    category = rng.choice(["a", "b", "c"], n)
    price = np.where(category == "b", shift_b, 0.0)
    return pd.DataFrame({"price": price + rng.normal(0, 0.01, n), "category": category})


def test_compare_table_names_features_and_breaks_shifts_down_by_group() -> None:
    results = compare_table(_table(_orders(3000, 0.0, 0), _orders(1500, 0.3, 1)), TH)
    by_name = {r.name: r for r in results}
    assert set(by_name) == {"orders.price", "orders.category"}
    price = by_name["orders.price"]
    assert price.status == "critical"
    assert price.description == "log price change"
    assert price.groups[0].group == "b"
    assert price.groups[0].shift == pytest.approx(0.3, abs=0.01)
    assert by_name["orders.category"].status == "ok"


def test_group_shifts_need_rows_in_both_windows() -> None:
    ref = pd.DataFrame({"v": [1.0] * 20 + [5.0] * 3, "g": ["a"] * 20 + ["b"] * 3})
    cur = pd.DataFrame({"v": [2.0] * 20 + [9.0] * 20, "g": ["a"] * 20 + ["b"] * 20})
    assert [g.group for g in group_shifts(ref, cur, "v", "g", min_rows=10)] == ["a"]


def test_monitored_table_checks_its_columns() -> None:
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(ValueError, match="lacks columns"):
        MonitoredTable("t", "u", "recs", {"x": "numeric", "y": "numeric"}, frame, frame)
    with pytest.raises(ValueError, match="group_by"):
        MonitoredTable("t", "u", "recs", {"x": "numeric"}, frame, frame, group_by={"z": "x"})
    with pytest.raises(ValueError, match="outputs"):
        MonitoredTable("t", "u", "recs", {"x": "numeric"}, frame, frame, outputs=frozenset({"y"}))


def _feature(name: str, status: str, domain: str = "recs", psi: float = 0.0) -> FeatureDrift:
    return FeatureDrift(name, "t", "numeric", domain, 100, 100, status, rule="r", psi=psi)  # type: ignore[arg-type]


def test_decide_per_domain_and_reasons_most_severe_first() -> None:
    result = decide(
        [_feature("a", "warn", psi=0.2), _feature("b", "critical", psi=0.3), _feature("c", "ok")],
        [Signal("s", "search", "warn", 1.0, "zero results up")],
    )
    assert result.decision == "retrain"
    assert result.decisions == {"recs": "retrain", "search": "warn"}
    assert result.reasons[0].startswith("critical: b")
    assert any("zero results up" in r for r in result.reasons)
    assert [f.name for f in result.top_features(2)] == ["b", "a"]


def test_nothing_flagged_decides_none() -> None:
    result = decide([_feature("a", "ok"), _feature("b", "insufficient")])
    assert result.decision == "none"
    assert result.reasons == ()


def test_a_model_output_is_reported_but_never_decides() -> None:
    # the engine changed (a third of its lists were short, now it always fills 20): the
    # shoppers did not, so the search domain decides nothing
    rng = _rng(5)
    short = rng.random(3000) < 0.33
    reference = pd.DataFrame(
        {"results": np.where(short, rng.integers(3, 20, 3000), 20), "tokens": rng.poisson(2, 3000)}
    )
    current = pd.DataFrame({"results": np.full(1500, 20), "tokens": rng.poisson(2, 1500)})
    table = MonitoredTable(
        "searches", "a search", "search", {"results": "numeric", "tokens": "numeric"}, reference, current,
        outputs=frozenset({"results"}),
    )  # fmt: skip
    result = compare_tables([table], TH)
    by_name = {f.name: f for f in result.features}
    assert by_name["searches.results"].role == "model_output"
    assert by_name["searches.results"].status == "critical"  # measured and reported as it is
    assert by_name["searches.results"].to_dict()["role"] == "model_output"
    assert by_name["searches.tokens"].role == "data"
    assert result.decisions == {"recs": "none", "search": "none"}
    output = by_name["searches.results"]
    assert result.reasons == (f"model output, not counted (critical): {output.reason()}",)


def test_flagged_model_outputs_follow_the_counted_reasons() -> None:
    output = replace(_feature("searches.results", "critical", "search", psi=0.9), role="model_output")
    result = decide([output, _feature("searches.tokens", "warn", "search", psi=0.12)])
    assert result.decisions["search"] == "warn"
    assert result.reasons[0].startswith("warn: searches.tokens")
    assert result.reasons[1].startswith("model output, not counted (critical): searches.results")


def test_compare_tables_adds_measured_features() -> None:
    table = _table(_orders(2000, 0.0, 0), _orders(1000, 0.0, 1))
    result = compare_tables([table], TH, measured=[_feature("predictions.score", "warn")])
    assert "predictions.score" in {f.name for f in result.features}
    assert result.decision == "warn"


# ---------------------------------------------------------------- windows


def test_windows_on_three_weeks_of_data() -> None:
    w = drift_windows(
        dt.datetime(2025, 3, 11, 0, 34, tzinfo=UTC), dt.datetime(2025, 3, 31, 23, 50, tzinfo=UTC)
    )
    assert (w.reference_start, w.current_start, w.end) == (
        dt.datetime(2025, 3, 11, tzinfo=UTC),
        dt.datetime(2025, 3, 25, tzinfo=UTC),
        dt.datetime(2025, 4, 1, tzinfo=UTC),
    )
    assert w.blocks == 2
    assert w.reference_cutoffs == [dt.datetime(2025, 3, 25, tzinfo=UTC), dt.datetime(2025, 3, 18, tzinfo=UTC)]
    assert w.to_dict()["reference"]["days"] == 14


def test_windows_round_the_reference_to_whole_blocks_and_honour_end() -> None:
    first, last = dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 3, 31, 12, tzinfo=UTC)
    w = drift_windows(first, last, window_days=7, reference_days=20)
    assert w.blocks == 2
    early = drift_windows(first, last, end=dt.datetime(2025, 3, 1, 5, tzinfo=UTC))
    assert early.end == dt.datetime(2025, 3, 1, tzinfo=UTC)
    assert early.blocks == 4


def test_windows_need_history_and_aware_timestamps() -> None:
    with pytest.raises(ValueError, match="not enough history"):
        drift_windows(dt.datetime(2025, 3, 25, tzinfo=UTC), dt.datetime(2025, 3, 31, tzinfo=UTC))
    with pytest.raises(ValueError, match="time-zone aware"):
        drift_windows(dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31))
    with pytest.raises(ValueError, match="reference_days"):
        drift_windows(
            dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 3, 31, tzinfo=UTC), reference_days=3
        )


# ---------------------------------------------------------------- signals


def _daily(ctr: list[float], views: int = 10_000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "views": views,
            "clicks": [round(c * views) for c in ctr],
            "purchases": 200,
            "sessions": 1000,
        }
    )


def test_target_drift_flags_a_ctr_far_outside_the_daily_spread() -> None:
    history = [0.060, 0.062, 0.058, 0.061, 0.059, 0.060, 0.063]
    current = np.r_[np.zeros(7, bool), np.ones(3, bool)]
    stable = {s.name: s for s in target_drift(_daily([*history, 0.061, 0.060, 0.059]), current, TH)}
    fallen = {s.name: s for s in target_drift(_daily([*history, 0.040, 0.041, 0.039]), current, TH)}
    assert stable["target.ctr"].status == "ok"
    assert fallen["target.ctr"].status == "warn"
    assert fallen["target.ctr"].details["gap_sigmas"] < -TH.spc_sigmas
    assert fallen["target.conversion"].status == "ok"


def test_rate_signal_without_history_is_insufficient() -> None:
    (signal, _) = target_drift(_daily([0.06, 0.06]), np.array([False, True]), TH)
    assert signal.status == "insufficient"


def test_search_drift_zero_results_and_embeddings() -> None:
    daily = pd.DataFrame({"searches": [1000] * 10, "zero_results": [20, 22, 18, 21, 19, 20, 20, 80, 85, 90]})
    current = np.r_[np.zeros(7, bool), np.ones(3, bool)]
    rng = _rng(4)
    same = rng.normal(size=(200, 8)) + 3
    signals = search_drift(daily, current, TH, same[:100], same[100:])
    by_name = {s.name: s for s in signals}
    assert by_name["search.zero_result_rate"].status == "warn"
    assert by_name["search.embedding_centroid_shift"].status == "ok"
    assert search_drift(daily, current, TH)[-1].name == "search.zero_result_rate"


def test_a_falling_zero_result_rate_is_the_engine_and_is_not_flagged() -> None:
    # the served engine fills every list: no zero results on live days, 2 % before
    daily = pd.DataFrame({"searches": [1000] * 10, "zero_results": [20, 22, 18, 21, 19, 20, 20, 0, 0, 0]})
    current = np.r_[np.zeros(7, bool), np.ones(3, bool)]
    (signal,) = search_drift(daily, current, TH)
    assert signal.value == 0.0
    assert signal.details["gap_sigmas"] < -TH.spc_sigmas  # measured and reported …
    assert signal.status == "ok"  # … not flagged
    assert "warn beyond +2 σ" in signal.message


def test_embedding_signal_levels() -> None:
    a = np.tile([1.0, 0.0], (10, 1))
    assert embedding_signal(a, np.tile([1.0, 0.5], (10, 1)), TH).status == "warn"  # cos distance ≈ 0.106
    assert embedding_signal(a, np.tile([0.0, 1.0], (10, 1)), TH).status == "critical"


def test_prediction_drift_new_items_and_score_cap() -> None:
    rng = _rng(5)
    ref_lists = [[f"p{i}" for i in range(10)]] * 50
    cur_lists = [[f"p{i}" for i in range(5)] + [f"n{i}" for i in range(5)]] * 50
    scores, share = prediction_drift(rng.normal(size=500), rng.normal(3, 1, 500), ref_lists, cur_lists, TH)
    assert share.value == pytest.approx(0.5)
    assert share.status == "warn"
    assert scores.name == "predictions.score"
    assert scores.status == "warn"  # a critical PSI, capped: score scales differ between versions
    assert "capped" in scores.rule
