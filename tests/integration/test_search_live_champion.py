"""A search version learnt from the API's own logged searches is compared with the serving
champion on the same held-out live searches, and the gate reads the comparison (ADR-0033).

A ci marketplace without search logs registers a first version (gated on the simulator's
qrels; no ranker). Shoppers then search through ``GET /search`` for three days, their clicks
and purchases posted back with the request id; the buffer is flushed, ``search_logs`` derived
and validated. The next ``train search`` learns its ranker from those searches before the last
day and ranks the last day's clicked searches beside the champion, both loaded as they serve:
both numbers, the number of searches and the paired test are in the run's metrics, its report,
its MLflow run and its gate decision (enforced here: ``gate_live_search``), and the
registration follows the verdict. The truth's NDCG@10 and the market's expected clicks of both
versions on the same searches are measured beside them: on this shop the clicks judge the new
version worse while the truth and the click model judge it better (docs/adr/0033), and the
test holds the new version to being better by both.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from support.fixed_calendar import WORLD_END_MIDNIGHT
from support.live_searches import Clock, expected_clicks, play_searches, truth_ndcg, without_search_logs

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.index_versions import read_version_meta
from vitrina.adapters.models.search_index import load_version
from vitrina.adapters.registry.mlflow_client import DB_FILE, SEARCH_MODEL, mlflow_client
from vitrina.bootstrap import open_event_buffer
from vitrina.config import Settings, get_settings
from vitrina.core.search.semantic.finetune import FinetuneConfig
from vitrina.pipelines.ingest_events import flush_events
from vitrina.pipelines.live_simulation.search_versions import (
    SearchVersion,
    judge_versions,
    registered_search_versions,
    version_cut,
)
from vitrina.pipelines.search.live_logs import build_live_search_logs, live_search_ids
from vitrina.pipelines.search.logs import log_windows, read_search_logs
from vitrina.pipelines.search.run import SearchConfig, run_search
from vitrina.pipelines.search.signals import compute_signals
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.search_judge import TruthSearchJudge

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module
CONFIG = SearchConfig(
    eval_days=1,
    ranker_days=1,
    n_trials=1,
    max_train_searches=2_000,
    # two steps, whatever the machine's speed: the time bound never cuts them (deterministic)
    finetune=FinetuneConfig(max_examples=64, max_seconds=600, batch_size=32, show_progress=False),
)
DAYS, SEARCHES_PER_DAY, K, SEED = 3, 300, 20, 11


@pytest.fixture(scope="module")
def live_home(
    tmp_path_factory: pytest.TempPathFactory, ci_settings: Settings, mlflow_template: Path
) -> Settings:
    home = tmp_path_factory.mktemp("live-champion") / "home"
    shutil.copytree(ci_settings.home, home)
    shutil.copy(mlflow_template, home / DB_FILE)
    settings = get_settings(home=home, gate_live_search=True)  # the comparison decides (ADR-0033)
    without_search_logs(settings)
    return settings


def test_a_version_learnt_from_live_searches_is_compared_with_the_champion_on_the_same_held_out_ones(
    live_home: Settings,
) -> None:
    settings = live_home
    first = run_search(settings, CONFIG, QUIET)
    assert first.registration is not None
    assert "as champion" in first.registration
    assert "skipped" in first.metrics["live_champion"]  # no logs: nothing held out

    played = play_searches(
        settings, Clock(WORLD_END_MIDNIGHT), days=DAYS, per_day=SEARCHES_PER_DAY, k=K, seed=SEED
    )
    with open_event_buffer(settings) as buffer:
        flush_events(settings, buffer)
    build_live_search_logs(settings)
    validate_lake(settings, max_invalid_share=0.0)

    second = run_search(settings, CONFIG, QUIET)
    assert second.search_logs["live"] == DAYS * SEARCHES_PER_DAY
    assert second.search_logs["live_learnt"] == (DAYS - 1) * SEARCHES_PER_DAY
    live = second.metrics["live_champion"]
    print("held-out live searches:", json.dumps(live, indent=1))

    # The same searches for both: the last day's live searches a shopper clicked.
    logs = read_search_logs(settings)
    windows = log_windows(logs, CONFIG.eval_days, CONFIG.ranker_days)
    assert windows is not None
    held = logs[(logs["ts"] >= windows.t_eval) & logs["search_id"].isin(live_search_ids(settings))]
    assert len(held) == SEARCHES_PER_DAY
    clicked = int(sum(len(c) > 0 for c in held["results_clicked"]))
    assert live["n_searches"] == clicked > 20
    assert live["champion_version"] == first.version
    assert live["challenger_version"] == f"search-{second.run_id}"
    for role in ("champion", "challenger"):
        assert 0.0 < live[role]["ndcg@10"] <= 1.0
        assert 0.0 < live[role]["mrr"] <= 1.0
        assert live[role]["ips_dcg@10"] > 0.0
    for p in (*live["p_better"].values(), *live["p_worse"].values()):
        assert 0.0 <= p <= 1.0
    gated = live["gated"]
    assert gated == "ips_dcg@10"
    assert not (live["p_better"][gated] < 0.05 and live["p_worse"][gated] < 0.05)
    expected = (
        "worse" if live["p_worse"][gated] < 0.05 else ("better" if live["p_better"][gated] < 0.05 else "tied")
    )
    assert live["verdict"] == expected

    # Recorded on the run's report and its MLflow run, and read by the gate.
    report = Path(LakePaths(settings.lake).layer("reports")) / "search" / "latest"
    assert json.loads((report / "metrics.json").read_text())["live_champion"] == live
    assert "held-out live searches" in (report / "metrics.md").read_text()
    assert any("held-out live searches" in note for note in second.notes)
    client = mlflow_client(settings)
    experiment = client.get_experiment_by_name(SEARCH_MODEL)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], f"attributes.run_name = '{second.run_id}'")
    assert len(runs) == 1
    recorded = runs[0].data
    for role in ("champion", "challenger"):
        assert math.isclose(recorded.metrics[f"live_champion/{role}/ndcg_at_10"], live[role]["ndcg@10"])
    assert recorded.metrics["live_champion/n_searches"] == live["n_searches"]
    assert recorded.tags["live_champion.verdict"] == live["verdict"]
    assert recorded.tags["gate.vs_champion_live"] == ("fail" if live["verdict"] == "worse" else "pass")
    trained = recorded.params["index_version"]  # run.version names the champion's re-index when refused
    assert trained not in {first.version, second.version} or live["verdict"] != "worse"

    # What the clicks cannot see: both versions as compared (signals as of the cut), graded by
    # the simulator's truth and the market's click model on every held-out live search. Printed:
    # the gate reads the clicks, a real shop has no truth.
    held_ids = set(held["search_id"])
    held_out = [s for s in played if s.request_id in held_ids]
    unbiased = {}
    for role, version in (("champion", first.version), ("challenger", trained)):
        loaded = load_version(settings, version)
        signals = compute_signals(
            settings, loaded.products, windows.t_eval, loaded.understanding.analyzer.normalise
        )
        engine = dataclasses.replace(loaded, signals=signals).engine()
        unbiased[role] = {
            "truth ndcg@10": truth_ndcg(settings, held_out, engine, K),
            "expected clicks": expected_clicks(settings, engine, held_out, K, SEED),
        }
        engine.close()
    print("held-out live searches, unbiased:", unbiased)
    # The ranker learnt from the shop's own logged searches serves them better than the version
    # that logged them, by the truth's grades and by the clicks the market's model expects.
    for measure in ("truth ndcg@10", "expected clicks"):
        assert unbiased["challenger"][measure] > unbiased["champion"][measure], measure

    # The live simulation's report judges the same way (pipelines/live_simulation/search_versions.py):
    # the new version against the first on the live searches from its cut on, a bounded sample.
    registered = registered_search_versions(settings, CONFIG.eval_days)
    assert registered[0].indexes[0] == first.version
    cut = version_cut(read_version_meta(settings, trained), CONFIG.eval_days)
    assert cut == windows.t_eval
    later = SearchVersion(registered[0].number + 1, f"search-{second.run_id}", (trained,), cut)
    section = judge_versions(
        settings,
        TruthSearchJudge.from_lake(settings, SEED),
        [registered[0], later],
        max_searches=200,
        seed=0,
    )
    print("search versions on held-out live searches:", json.dumps(section, indent=1))
    (pair,) = section["pairs"]
    assert (pair["version"], pair["against"], pair["relation"]) == (
        later.label,
        registered[0].label,
        "previous",
    )
    assert pair["index"] == trained
    assert pair["cut"] == cut.isoformat()
    assert (
        pair["after_cut"] == pair["with_intent"] == SEARCHES_PER_DAY
    )  # the last day only, all typed queries
    assert pair["n_searches"] == 200
    for metric in ("truth_ndcg@10", "expected_clicks"):
        m = pair["metrics"][metric]
        assert m["n"] == 200
        assert m["standard_error"] > 0
        assert math.isclose(m["difference"], m["mean_b"] - m["mean_a"], abs_tol=1e-12)
    assert pair["verdict"] == pair["metrics"]["truth_ndcg@10"]["verdict"]

    assert second.registration is not None
    if live["verdict"] == "worse":
        assert "not registered" in second.registration
        assert "vs_champion_live" in second.registration
    else:
        assert "vs_champion_live" not in second.registration or "registered version" in second.registration
