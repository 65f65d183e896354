"""`train all` starts interleaving a search challenger by itself (docs/adr/0036, amended).

A served ci home, through the real loop (intake, validate, canary and interleave looks,
features, drift check) with the real MLflow registry and lake; the two trainings are stood in:
the search one registers a new version whose index is a copy of the served one, as a retrain
whose gate passed would. The loop's ``interleave start`` must put it before users (the
experiment, the state with its policy and index, the ledger record), and the next run must look
at it rather than start another.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from vitrina.adapters.experiment_file import read_experiment_file
from vitrina.adapters.interleave_state import RUNNING, load_interleave
from vitrina.adapters.models.champion_index import INDEX_FILE
from vitrina.adapters.models.index_versions import current_version, next_version, version_folder
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL, experiment_id, mlflow_client
from vitrina.adapters.registry.models import register_version
from vitrina.config import Settings, get_settings
from vitrina.pipelines import loop as loop_module
from vitrina.pipelines.drift.run import DriftConfig
from vitrina.pipelines.loop import LoopConfig, run_all
from vitrina.pipelines.recs.run import RecsRun
from vitrina.pipelines.search.interleave_start import START_STEP
from vitrina.pipelines.search.run_record import SearchRun

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the module


def _register(settings: Settings, index_version: str) -> int:
    """A ``vitrina-search`` version whose bundle names ``index_version`` (as the register step's)."""
    client = mlflow_client(settings)
    # an experiment of this copy (artifacts under its home, not under the shared served home)
    run = client.create_run(experiment_id(client, settings, "interleave-start-test"))
    bundle = settings.home / "bundle-src" / index_version / "bundle"
    bundle.mkdir(parents=True)
    (bundle / INDEX_FILE).write_text(json.dumps({"index_version": index_version}))
    client.log_artifacts(run.info.run_id, str(bundle), "bundle")
    client.set_terminated(run.info.run_id)
    info, _ = register_version(settings, SEARCH_MODEL, run.info.run_id)
    return info.version


@pytest.fixture
def home(tmp_path: Path, served_home: Path) -> Path:
    """A copy of the served home whose served index is the registered search champion (v1)."""
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home)
    served = current_version(settings)
    assert served is not None
    assert _register(settings, served) == 1
    return home


def test_the_loop_starts_the_interleaving_of_a_registered_challenger_and_then_judges_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings(home=home)
    registered: list[int] = []

    def retrain_search(settings: Settings, config: Any, console: Console, **_: Any) -> SearchRun:
        if not registered:  # the first run's retrain registers a challenger; later runs keep
            copy = next_version(settings)
            served = current_version(settings) or ""
            shutil.copytree(version_folder(settings, served), version_folder(settings, copy))
            registered.append(_register(settings, copy))
        return SearchRun(run_id="stand-in")

    monkeypatch.setattr(loop_module, "run_search", retrain_search)
    monkeypatch.setattr(loop_module, "run_recs", lambda *a, **k: RecsRun(run_id="stand-in"))
    config = LoopConfig(drift=DriftConfig(query_sample=0))

    first = run_all(settings, config, QUIET)

    assert registered == [2]
    started = [e for e in first.steps if e.step == START_STEP]
    assert [(e.pipeline, e.outcome) for e in started] == [("loop", "ran")], started
    assert "interleaving v2" in started[0].detail
    state = load_interleave(settings)
    assert state is not None
    assert (state["status"], state["champion"], state["challenger"]) == (RUNNING, "v1", "v2")
    assert state["challenger_index"] != current_version(settings)
    assert state["policy"]["max_looks"] > 0
    assert state["looks"] == []
    search = read_experiment_file(home)["search"]
    assert (search["enabled"], search["kind"], search["challenger"]) == (True, "interleave", "registered")

    second = run_all(settings, config, QUIET)

    outcomes = {e.step: (e.outcome, e.detail) for e in second.steps if e.pipeline == "loop"}
    assert outcomes["interleave"][0] == "ran"  # judged (no traffic yet: it goes on)
    assert outcomes[START_STEP] == ("skipped", "an interleaving of search versions is already running")
    after = load_interleave(settings)
    assert after is not None
    assert after["started_at"] == state["started_at"]
    assert [look["action"] for look in after["looks"]] == ["continue"]
