"""The driver of `vitrina experiment ab | aa | interleave` against a real uvicorn server on the
served ci home.

The A/B is checked against the hidden truth rather than a hope: the expected session CTR of
the champion's lists and of the popularity list, from the simulator's click model and true
utility, gives the difference the experiment must measure — its interval must contain it, and
a significant result must have its sign. (At ci scale with a one-trial ranker the two lists are
close, and the popularity list can be the better one: the test does not presume a winner.)
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from support.ports import free_port

from vitrina.cli.experiment import load_population, run_experiment
from vitrina.config import Settings, get_settings
from vitrina.core.experiments.run_config import DriverConfig
from vitrina.serving.api_client import ApiClient
from vitrina.serving.app import create_app
from vitrina.simulator.online import OnlineMarketplace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "experiment-admin-key"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Settings:
    root = tmp_path_factory.mktemp("experiment") / "home"
    shutil.copytree(served_home, root)
    return get_settings(home=root, admin_api_key=KEY)


@pytest.fixture(scope="module")
def api_url(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn in a thread, on a free port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive(), "the API did not start"
        assert time.monotonic() < deadline, "the API did not start in time"
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def _truth_ctr_diff(settings: Settings, api_url: str) -> float:
    """Expected session CTR of the popularity list minus the champion's lists, over every active
    user (the population the experiment draws from)."""
    market = OnlineMarketplace.from_lake(settings, seed=0)
    users = load_population(settings).users
    with httpx.Client(base_url=api_url) as http:
        client = ApiClient(http, api_key=KEY)
        lists = {u: client.recs(u, k=20, request_id=f"truth-{i}").product_ids for i, u in enumerate(users)}
        popular = client.recs("nobody-knows-me", k=20, request_id="truth-popular").product_ids
    champion = np.mean([market.expected_ctr(u, lists[u]) for u in users])
    popularity = np.mean([market.expected_ctr(u, popular) for u in users])
    return float(popularity - champion)


def test_ab_on_recs_measures_the_truths_ctr_difference(settings: Settings, api_url: str) -> None:
    truth = _truth_ctr_diff(settings, api_url)
    config = DriverConfig(kind="ab", sessions=2000, seed=7, run_id="it-ab-recs")
    result, folder = run_experiment(settings, config, api_url)
    ctr = result.payload["ab"]["comparisons"]["ctr"]
    assert ctr["n_control"] + ctr["n_treatment"] == 2000
    assert ctr["ci_low"] <= truth <= ctr["ci_high"], (truth, result.headline)
    if ctr["significant"]:
        assert np.sign(ctr["diff"]) == np.sign(truth), (truth, result.headline)
    verdict = result.payload["ab"]["decision"]["verdict"]
    worse = [c for c in result.payload["ab"]["comparisons"].values() if c["direction"] == "worse"]
    assert (verdict == "rollback") == bool(worse) or verdict == "ship"
    stored = json.loads((Path(folder) / "metrics.json").read_text())
    assert stored["ab"]["decision"]["verdict"] == verdict
    assert (Path(folder) / "metrics.md").read_text().startswith("# Experiment it-ab-recs")
    with httpx.Client(base_url=api_url) as http:  # the experiment was switched off again
        assert ApiClient(http, api_key=KEY).get_experiment()["recs"]["enabled"] is False
        metrics = http.get("/metrics").text
    clicks = [line for line in metrics.splitlines() if line.startswith("vitrina_events_received_total")]
    assert any('event_type="click"' in line and 'page="recs"' in line for line in clicks)


def test_small_aa_reports_a_rate_per_metric(settings: Settings, api_url: str) -> None:
    config = DriverConfig(kind="aa", sessions=150, runs=3, seed=8, run_id="it-aa-recs", post_events=False)
    result, _ = run_experiment(settings, config, api_url)
    checks = result.payload["false_positives"]
    assert set(checks) == {"ctr", "conversion", "revenue"}
    for check in checks.values():
        assert check["runs"] == 3
        assert check["false_positives"] in range(4)
        assert 0.0 <= check["ci_low"] <= check["rate"] <= check["ci_high"] <= 1.0


def test_interleave_on_search_serves_team_labelled_lists(settings: Settings, api_url: str) -> None:
    config = DriverConfig(
        kind="interleave",
        surface="search",
        sessions=200,
        block=100,
        seed=9,
        run_id="it-il",
        post_events=False,
    )
    result, _ = run_experiment(settings, config, api_url)
    counts = result.payload["sessions_to_decision"]
    assert len(counts["ab"]) == len(counts["interleaving"]) == 1
    assert all(0 < r["sessions"] <= 200 for r in counts["ab"] + counts["interleaving"])
    assert result.payload["interleaving"]["queries"] > 0  # lists carried team labels
    assert sum(result.payload["ab"]["srm"]["observed"].values()) > 0
    with httpx.Client(base_url=api_url) as http:
        client = ApiClient(http, api_key=KEY)
        config_now = client.get_experiment()
        client.put_experiment(
            {**config_now, "search": {"enabled": True, "kind": "interleave", "challenger": "bm25",
                                      "champion_weight": 1e-6, "challenger_weight": 1e6, "salt": "t"}}
        )  # fmt: skip
        query = OnlineMarketplace.from_lake(settings, 0).truth.queries["query"].iloc[0]
        served = client.search(str(query), user_id="u0000001", k=10, request_id="replay-1")
        again = client.search(str(query), user_id="u0000001", k=10, request_id="replay-1")
        client.put_experiment(config_now)
    assert served.mode is not None
    assert served.mode.startswith("interleave:")
    assert set(served.teams) <= {"champion", "challenger"}
    assert len(served.teams) == len(served.product_ids) > 0
    assert again == served  # the draft is seeded by the request: replayable
