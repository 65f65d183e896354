"""The console's pure parts: message catalogue, links, and each page's data shaping."""

from __future__ import annotations

import datetime as dt
import re
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.events.base import EventRecord
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.stores import Recommendation, RecsRecord
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.experiments.decision import SessionOutcomes, analyze_ab
from vitrina.core.experiments.interleaving import interleaving_test
from vitrina.serving.console.drift_view import psi_grid, top_features
from vitrina.serving.console.experiments_view import live_experiments, load_reports, parse_report
from vitrina.serving.console.i18n import LANGS, MESSAGES, Translator, pick_lang
from vitrina.serving.console.models_view import ablation, card_asset, render_card
from vitrina.serving.console.pipelines_view import group_runs, read_records
from vitrina.serving.console.render import url_for
from vitrina.serving.console.search_view import contributions
from vitrina.serving.console.user_view import COLD_START_MIN, classify
from vitrina.serving.experiment_config import ExperimentConfig, RecsExperiment

pytestmark = pytest.mark.unit
TEMPLATES = files("vitrina.serving.console") / "templates"


def test_every_language_has_every_message() -> None:
    keys = {lang: set(MESSAGES[lang]) for lang in LANGS}
    assert keys["es"] == keys["en"]


def test_every_message_the_templates_use_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.iterdir():
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.]+)["']""", template.read_text()))
    assert used, "no t(...) call found: the pattern no longer matches the templates"
    keys = set(MESSAGES["es"])
    static = {k for k in used if not k.endswith(".")}
    prefixes = used - static  # t("nav." ~ name): some key must start with it
    assert sorted(static - keys) == []
    assert [p for p in prefixes if not any(k.startswith(p) for k in keys)] == []


def test_translator_formats_falls_back_to_spanish_and_fails_on_typos() -> None:
    assert pick_lang("en") == "en"
    assert pick_lang("fr") == "es"
    assert pick_lang(None) == "es"
    assert Translator("en")("user.events_n", n=3) == "3 interactions"
    assert Translator("de")("nav.search") == "Búsqueda"
    with pytest.raises(KeyError):
        Translator("es")("no.such.key")


def test_links_keep_the_language_and_drop_empty_parameters() -> None:
    assert url_for("search", "es", q="celuar samsng", user_id=None) == "/console/search?q=celuar+samsng"
    assert url_for("user", "en", user_id="u1") == "/console/user?user_id=u1&lang=en"
    assert url_for("drift", "es") == "/console/drift"


def test_contribution_bars_are_relative_to_the_strongest() -> None:
    rows = contributions({"bm25": -0.8, "price": 0.4, "zero": 0.0})
    assert [(c.feature, c.width) for c in rows] == [("bm25", 100.0), ("price", 50.0), ("zero", 0.0)]
    assert contributions({}) == ()


def _record(items: int) -> RecsRecord:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    recs = tuple(Recommendation(f"p{i}", 1.0, "r") for i in range(items))
    return RecsRecord("u1", recs, "v1", "m1", now, now)


def test_classify_tells_cold_start_from_personal_lists_and_the_fallback() -> None:
    assert classify(_record(3), COLD_START_MIN, None) == "personal"
    assert classify(_record(3), COLD_START_MIN - 1, None) == "cold_start"
    assert classify(None, 50, None) == "fallback"
    assert classify(None, 50, "redis down") == "store_down"


def test_model_cards_escape_raw_html_shift_headings_and_point_images_at_the_console() -> None:
    html = render_card("# Card\n\n<script>x()</script>\n\n![SHAP](vitrina-recs-v1/shap_importance.png)\n")
    assert "<script>" not in html
    assert "<h3>Card</h3>" in html
    assert 'src="/console/models/cards/vitrina-recs-v1/shap_importance.png"' in html
    table = render_card("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert '<div class="scroll"><table>' in table


def test_card_assets_refuse_paths_outside_the_cards(settings: Settings) -> None:
    folder = Path(settings.home) / "docs" / "model_cards" / "vitrina-recs-v1"
    folder.mkdir(parents=True)
    (folder / "shap_importance.png").write_bytes(b"png")
    assert card_asset(settings, "vitrina-recs-v1", "shap_importance.png") is not None
    assert card_asset(settings, "..", "shap_importance.png") is None
    assert card_asset(settings, "vitrina-recs-v1", "../../../mlflow.db") is None
    assert card_asset(settings, "vitrina-recs-v1", "data_dictionary.md") is None


def test_ablation_orders_known_models_first_and_reads_search_logs_without_truth() -> None:
    recs = {
        "models": {"full": {"ndcg@10": 0.07}, "extra": {"ndcg@10": 0.01}, "popularity": {"ndcg@10": 0.03}}
    }
    chart = ablation(recs, "recs")
    assert chart is not None
    assert chart.bars == [("popularity", 0.03), ("full", 0.07), ("extra", 0.01)]
    search = ablation({"models": {}, "logs": {"bm25": {"ndcg@10": 0.4, "by_query_type": {}}}}, "search")
    assert search is not None
    assert search.bars == [("bm25", 0.4)]
    assert ablation({"models": {}}, "recs") is None
    assert ablation(None, "recs") is None


def _history() -> pd.DataFrame:
    day = pd.Timestamp("2026-01-08", tz="UTC")
    rows = []
    # run "b" measured an older window but ran later: it must come first
    for run, end, at in (("a", day + pd.Timedelta(days=7), day), ("b", day, day + pd.Timedelta(days=9))):
        for name, psi in (("price", 0.3 if run == "a" else 0.05), ("ctr", 0.02), ("device", None)):
            rows.append(
                {
                    "run_id": run,
                    "generated_at": at,
                    "current_end": end,
                    "name": name,
                    "kind": "numeric",
                    "psi": psi,
                }
            )
        rows.append(
            {"run_id": run, "generated_at": at, "current_end": end, "name": "s", "kind": "signal", "psi": 9.0}
        )
    return pd.DataFrame(rows)


def test_psi_grid_orders_runs_by_window_and_features_by_drift() -> None:
    grid = psi_grid(_history())
    assert grid is not None
    assert grid.runs == ["b", "a"]
    assert grid.features == ["price", "ctr"]  # signals and never-measured features are left out
    assert grid.values == [[0.05, 0.3], [0.02, 0.02]]
    assert grid.labels[0].startswith("01-07")
    small = psi_grid(_history(), max_features=1)
    assert small is not None
    assert small.features == ["price"]
    assert small.hidden == 1
    assert psi_grid(_history().iloc[0:0]) is None


def test_top_features_sorts_by_psi_and_skips_unmeasured() -> None:
    latest = {
        "features": {
            "a": {"psi": 0.1, "status": "warn"},
            "b": {"psi": None},
            "c": {"psi": 0.4, "status": "crit"},
        }
    }
    assert [f["name"] for f in top_features(latest)] == ["c", "a"]


def _step(settings: Settings, pipeline: str, step: str, run: str, start: str, **extra: object) -> None:
    record = {
        "pipeline": pipeline, "step": step, "status": "done", "inputs_hash": "h", "inputs": {}, "outputs": {},
        "run_id": run, "started_at": start, "finished_at": start, "seconds": 1.5, "message": "",
    } | extra  # fmt: skip
    write_json_atomic(record, f"{LakePaths(settings.lake).layer('state')}/steps/{pipeline}/{step}.json")


def test_pipeline_runs_group_steps_newest_first_with_failures(settings: Settings) -> None:
    _step(settings, "recs", "train", "r1", "2026-01-01T00:00:00+00:00")
    _step(settings, "recs", "publish", "r1", "2026-01-01T00:05:00+00:00")
    _step(
        settings,
        "drift",
        "check",
        "r2",
        "2026-01-02T00:00:00+00:00",
        status="failed",
        message="ValueError: boom",
    )
    bad = Path(LakePaths(settings.lake).layer("state")) / "steps" / "drift" / "broken.json"
    bad.write_text("{not json")
    runs = group_runs(read_records(settings))
    assert [r.run_id for r in runs] == ["r2", "r1"]
    assert runs[0].status == "failed"
    assert runs[0].failed[0].message == "ValueError: boom"
    assert [s.step for s in runs[1].steps] == ["train", "publish"]
    assert runs[1].seconds == 3.0
    assert runs[1].status == "done"


def _ab_report() -> dict[str, object]:
    rng = np.random.default_rng(0)
    control = SessionOutcomes.of(rng.random(4000) < 0.10, rng.random(4000) < 0.02, np.zeros(4000))
    treatment = SessionOutcomes.of(rng.random(1000) < 0.16, rng.random(1000) < 0.02, np.zeros(1000))
    return analyze_ab(control, treatment).to_dict()


def test_reports_in_the_ab_shape_are_read_and_other_json_ignored(settings: Settings) -> None:
    root = f"{LakePaths(settings.lake).layer('reports')}/experiments"
    write_json_atomic({"name": "recs-v2", "surface": "recs", **_ab_report()}, f"{root}/recs-v2/report.json")
    inter = interleaving_test(np.array([1, 1, 1, -1, 0] * 20)).to_dict()
    write_json_atomic({"interleaving": inter}, f"{root}/search-il/report.json")
    write_json_atomic({"something": "else"}, f"{root}/other.json")
    found = {x.name: x for x in load_reports(settings)}
    assert set(found) == {"recs-v2", "search-il"}
    ab = found["recs-v2"]
    assert ab.verdict == "ship"
    assert ab.primary == "ctr"
    assert ab.surface == "recs"
    ctr = next(m for m in ab.metrics if m.metric == "ctr")
    assert ctr.significant
    assert ctr.low < ctr.lift < ctr.high
    assert ab.srm is not None
    assert ab.srm["mismatch"] is False
    assert found["search-il"].interleaving is not None
    assert found["search-il"].metrics == []
    assert parse_report([1, 2], "x") is None


def _events(users: range, click_every: int) -> list[EventRecord]:
    ts = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out = []
    for i in users:
        user = f"u{i:05d}"
        out.append(EventRecord(f"v{i}", user, "p1", "view", ts, session_id=f"s{i}", page="recs"))
        if i % click_every == 0:
            out.append(EventRecord(f"c{i}", user, "p1", "click", ts, session_id=f"s{i}", page="recs"))
        out.append(EventRecord(f"o{i}", user, "p2", "view", ts, session_id=f"o{i}", page="search"))
    return out


def test_live_experiments_analyse_buffered_sessions_by_sticky_arm() -> None:
    config = ExperimentConfig(recs=RecsExperiment(enabled=True, name="live"))
    events = _events(range(600), click_every=3)
    [found] = live_experiments(config, events, {"p1": 10.0})
    assert found.source == "live"
    assert found.surface == "recs"
    assert found.status == "running"
    assert found.srm is not None
    observed = found.srm["observed"]
    assert observed["control"] + observed["treatment"] == 600  # one session per user, search page excluded
    expected_share = sum(config.recs.arm(f"u{i:05d}") == "champion" for i in range(600)) / 600
    assert observed["control"] / 600 == pytest.approx(expected_share)
    ctr = next(m for m in found.metrics if m.metric == "ctr")
    assert ctr.control == pytest.approx(1 / 3, abs=0.05)
    assert live_experiments(ExperimentConfig(), events, {}) == []  # nothing enabled


def test_live_experiment_without_enough_sessions_says_so() -> None:
    config = ExperimentConfig(recs=RecsExperiment(enabled=True, name="tiny"))
    [found] = live_experiments(config, _events(range(1), click_every=1), {})
    assert found.metrics == []
    assert found.note is not None


def test_reports_folder_may_be_missing(settings: Settings) -> None:
    assert load_reports(settings) == []


def test_refreshing_cache_serves_stale_values_while_it_recomputes() -> None:
    import threading

    from vitrina.serving.console.cache import Refreshing

    now = [0.0]
    calls: list[int] = []
    release = threading.Event()

    def compute(key: object) -> int:
        calls.append(1)
        if len(calls) > 1:
            release.wait(5)
        return len(calls)

    cache: Refreshing[int] = Refreshing(compute, ttl=10, clock=lambda: now[0])
    assert cache.get("k") == 1
    now[0] = 5.0
    assert cache.get("k") == 1  # fresh
    now[0] = 20.0
    assert cache.get("k") == 1  # stale: returned at once, a refresh starts
    assert cache.get("k") == 1  # one refresh at a time
    release.set()
    for _ in range(100):
        if cache.get("k") == 2:
            break
        threading.Event().wait(0.02)
    assert cache.get("k") == 2
    assert len(calls) == 2


def test_refreshing_cache_joins_a_warm_up_under_way() -> None:
    import threading

    from vitrina.serving.console.cache import Refreshing

    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute(key: object) -> str:
        calls.append(1)
        started.set()
        release.wait(5)
        return "value"

    cache: Refreshing[str] = Refreshing(compute)
    cache.warm("k")
    assert started.wait(5)
    threading.Timer(0.1, release.set).start()
    assert cache.get("k") == "value"
    assert len(calls) == 1
