"""A registered challenger served for real: its lists published beside the champion's, the
treatment share served them, shadow mode comparing them, and a canary on simulated traffic
rolling a bad challenger back (and walking a sound one up).

Two ``vitrina-recs`` versions are registered in a real MLflow store (champion, then
challenger); both batches go into the real SQLite serving store (the champion's as current,
the challenger's under its own version key beside it). Simulated shoppers (seeded) each like
three products: they click when a shown list holds one of them and sometimes buy. The
champion's lists hold those products; the bad challenger's lists are random products.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from vitrina.adapters.experiment_logs import SHADOW, read_log
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, mlflow_client
from vitrina.adapters.registry.models import get_version, list_versions
from vitrina.adapters.reports import read_latest_metrics
from vitrina.adapters.step_ledger import Ledger, StepEvent
from vitrina.bootstrap import open_store
from vitrina.cli.main import app as cli_app
from vitrina.config import Settings, get_settings
from vitrina.core.evaluation.behaviour import BehaviourCheck
from vitrina.core.experiments.assignment import Assignment
from vitrina.core.experiments.canary import CanaryPolicy
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION
from vitrina.pipelines.canary import CanaryError, canary_step, load_canary, start_canary, stored_policy
from vitrina.pipelines.canary_loop import step_canaries
from vitrina.pipelines.recs.batch import publish_recommendations
from vitrina.pipelines.registration import Candidate, gate_and_register
from vitrina.pipelines.shadow_report import write_shadow_report
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "canary-admin-key"
TOKEN = "canary-console-token"
USERS = [f"u{i:03d}" for i in range(300)]
PRODUCTS = [f"p{i:03d}" for i in range(200)]
K = 10
POLICY = CanaryPolicy(min_requests=40, min_sessions=40)


def liked(seed: int = 7) -> dict[str, list[str]]:
    """Three products each shopper likes (seeded)."""
    rng = np.random.default_rng(seed)
    return {u: [str(p) for p in rng.choice(PRODUCTS, 3, replace=False)] for u in USERS}


LIKED = liked()


def good_lists() -> np.ndarray:
    """Each user's liked products first, then others: what a sound model recommends."""
    rows = []
    for user in USERS:
        rest = [p for p in PRODUCTS if p not in LIKED[user]]
        rows.append(LIKED[user] + rest[: K - 3])
    return np.asarray(rows, dtype=object)


def random_lists(seed: int = 11) -> np.ndarray:
    """Random products, none of the user's liked ones: a broken model."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in USERS:
        pool = [p for p in PRODUCTS if p not in LIKED[user]]
        rows.append([str(p) for p in rng.choice(pool, K, replace=False)])
    return np.asarray(rows, dtype=object)


def publish(settings: Settings, items: np.ndarray, version: str, model: str, channel: str) -> None:
    n = len(USERS)
    scores = np.tile(np.linspace(1.0, 0.1, K), (n, 1))
    with open_store(settings) as store:
        publish_recommendations(
            store,
            user_ids=USERS,
            items=items,
            scores=scores,
            reasons=np.full((n, K), "porque sí", dtype=object),
            model_version=model,
            lake=LakePaths(settings.lake),
            run_id=version,
            servable=set(PRODUCTS),
            popular=np.asarray(PRODUCTS[:K], dtype=object),
            channel=channel,
        )


def register(settings: Settings, tmp_path: Path, marker: str) -> int:
    folder = tmp_path / f"bundle-{marker}"
    folder.mkdir()
    (folder / "marker.txt").write_text(marker)
    candidate = Candidate(
        model=RECS_MODEL,
        pipeline_run_id=f"run-{marker}",
        train_date=dt.date(2026, 11, 22),
        bundle_dir=str(folder),
        metrics={"models": {"full": {"ndcg@10": 0.06}, "popularity": {"ndcg@10": 0.02}}},
        behaviour=[BehaviourCheck("no_out_of_stock", True, 5, 0, "fine")],
    )
    registration = gate_and_register(settings, candidate)
    assert registration.version is not None, registration.render()
    return registration.version


def write_experiment(home: Path, recs: dict[str, object]) -> None:
    (home / "serving").mkdir(parents=True, exist_ok=True)
    (home / "serving" / "experiment.json").write_text(json.dumps({"recs": recs}))


def follow(api: TestClient, weight: float | None, enabled: bool) -> None:
    """Wait until the API applied the experiment file (its workers poll once per second)."""
    state = api.app.state.serving  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        recs = state.experiment.recs
        if recs.enabled == enabled and (weight is None or recs.challenger_weight == weight):
            return
        time.sleep(0.1)
    raise AssertionError(f"the API did not follow the experiment file: {state.experiment.recs}")


def shop(api: TestClient, rng: np.random.Generator, round_: int) -> None:
    """Every user asks for their list once; clicks and purchases (seeded) go to /events with
    the request id of the answer they came from."""
    events = []
    for user in USERS:
        answer = api.get(f"/recs/{user}", params={"k": K})
        assert answer.status_code == 200
        body = answer.json()
        shown = [item["product_id"] for item in body["items"]]
        session = f"s{round_}-{user}"
        base = {"user_id": user, "session_id": session, "device": "mobile", "page": "recs"}
        base["request_id"] = body["request_id"]
        events.append({**base, "event_id": f"{session}-v", "product_id": shown[0], "event_type": "view"})
        hits = [p for p in shown if p in LIKED[user]]
        if hits and rng.random() < 0.6:
            events.append({**base, "event_id": f"{session}-c", "product_id": hits[0], "event_type": "click"})
            if rng.random() < 0.3:
                events.append(
                    {**base, "event_id": f"{session}-b", "product_id": hits[0], "event_type": "purchase"}
                )
    for start in range(0, len(events), 1000):
        posted = api.post("/events", json={"events": events[start : start + 1000]})
        assert posted.status_code == 202, posted.text[:500]


@pytest.fixture
def home(mlflow_settings: Settings, tmp_path: Path) -> Path:
    """Champion v1 and challenger v2 registered; the champion's good lists current, the
    challenger's random lists published beside them."""
    settings = mlflow_settings
    assert register(settings, tmp_path, "champion") == 1
    assert register(settings, tmp_path, "challenger") == 2
    publish(settings, good_lists(), "champion-1", "recs-run-champion", "current")
    publish(settings, random_lists(), "challenger-1", "recs-run-challenger", CHALLENGER)
    return settings.home


@pytest.fixture
def api(home: Path) -> Iterator[TestClient]:
    settings = get_settings(home=home, admin_api_key=KEY, console_token=TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/console", params={"token": TOKEN}).status_code == 200  # the cookie from now on
        yield client


def flush_shadows(api: TestClient) -> None:
    state = api.app.state.serving  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while state.recs._shadows and time.monotonic() < deadline:
        time.sleep(0.05)
    state.recs.shadow_log.flush()
    state.request_log.flush()


def test_both_versions_are_published_side_by_side(home: Path) -> None:
    lake = LakePaths(get_settings(home=home).lake)
    assert len(list_parquet_files(lake, "predictions", "recs")) == 1, "the champion's audit alone"
    assert len(list_parquet_files(lake, "predictions", "recs_challenger")) == 1
    with open_store(get_settings(home=home)) as store:
        assert (store.current_version(), store.challenger_version()) == ("champion-1", "challenger-1")
        assert [i.product_id for i in store.get(USERS[0]).items[:3]] == LIKED[USERS[0]]  # type: ignore[union-attr]
        hidden = store.get(USERS[0], CHALLENGER)
        assert hidden is not None
        assert hidden.model_version == "recs-run-challenger"
        assert not set(LIKED[USERS[0]]) & {i.product_id for i in hidden.items}


def test_ab_serves_the_registered_challenger_to_the_treatment_share(home: Path, api: TestClient) -> None:
    write_experiment(
        home,
        {
            "enabled": True,
            "name": "ab-v2",
            "salt": "ab-v2",
            "champion_weight": 70,
            "challenger_weight": 30,
            "challenger": "registered",
        },
    )
    api.post("/admin/reload", headers={"X-API-Key": KEY})
    follow(api, 30.0, True)
    split = Assignment.from_weights("ab-v2", {"champion": 70, "challenger": 30})
    served = {}
    for user in USERS:
        body = api.get(f"/recs/{user}", params={"k": K}).json()
        served[user] = body["arm"]
        expected = split.assign(user)
        assert body["arm"] == expected
        assert body["fallback"] is False
        if expected == "challenger":
            assert (body["batch_version"], body["model_version"]) == ("challenger-1", "recs-run-challenger")
        else:
            assert body["batch_version"] == "champion-1"
            assert [i["product_id"] for i in body["items"][:3]] == LIKED[user]
    share = sum(arm == "challenger" for arm in served.values()) / len(USERS)
    assert 0.22 < share < 0.38
    flush_shadows(api)
    logged = list(read_log(home, "requests"))
    assert len(logged) == len(USERS)
    assert {row["user_id"]: row["arm"] for row in logged} == served, "the log names the arm that answered"
    assert {row["status"] for row in logged} == {200}
    assert not any(row["degraded"] for row in logged)


def test_shadow_mode_shows_the_champion_and_reports_overlap_and_correlation(
    home: Path, api: TestClient
) -> None:
    write_experiment(
        home,
        {
            "enabled": True,
            "name": "shadow-v2",
            "salt": "shadow-v2",
            "champion_weight": 50,
            "challenger_weight": 50,
            "shadow": True,
            "challenger": "registered",
        },
    )
    api.post("/admin/reload", headers={"X-API-Key": KEY})
    follow(api, 50.0, True)
    arms = {api.get(f"/recs/{user}", params={"k": K}).json()["arm"] for user in USERS}
    assert arms == {"champion"}, "shadow mode never shows the challenger"
    flush_shadows(api)
    rows = list(read_log(home, SHADOW))
    split = Assignment.from_weights("shadow-v2", {"champion": 50, "challenger": 50})
    assert sorted(r["user_id"] for r in rows) == sorted(u for u in USERS if split.assign(u) == "challenger")
    assert all(r["challenger_model"] == "recs-run-challenger" for r in rows)
    assert all(r["overlap"] < 0.5 for r in rows), "random lists share little with the champion's"
    payload, _ = write_shadow_report(get_settings(home=home), run_id="shadow-test")
    [group] = payload["groups"]
    assert group["requests"] == len(rows)
    assert group["overlap_at_k"] == pytest.approx(np.mean([r["overlap"] for r in rows]))
    assert group["kendall_tau"] is not None
    assert group["spearman_rho"] is not None
    assert group["challenger_score_mean"] == pytest.approx(np.mean(np.linspace(1.0, 0.1, K)))
    assert group["challenger_ms_p95"] is not None
    latest = read_latest_metrics(get_settings(home=home), "shadow")
    assert latest is not None
    assert latest["groups"][0]["requests"] == len(rows)
    page = api.get("/console/experiments", params={"lang": "en"})
    assert page.status_code == 200
    assert "Shadow comparisons" in page.text
    assert f">{len(rows)}<" in page.text
    assert f"{group['overlap_at_k']:.3f}" in page.text


def test_the_canary_rolls_a_bad_challenger_back_on_simulated_traffic(home: Path, api: TestClient) -> None:
    settings = get_settings(home=home)
    state = start_canary(settings, "recs", POLICY)
    assert (state.share, state.challenger) == (5.0, "v2")
    follow(api, 5.0, True)
    rng = np.random.default_rng(3)
    decisions = []
    for round_ in range(6):
        shop(api, rng, round_)
        flush_shadows(api)
        state, decision = canary_step(settings, "recs")  # by the policy stored at the start
        decisions.append(decision)
        if state.status != "running":
            break
    assert decisions[-1].action == "rollback", [d.summary() for d in decisions]
    rollback = decisions[-1]
    assert rollback.numbers["ctr_challenger"] < rollback.numbers["ctr_champion"]
    assert rollback.numbers["ctr_upper"] < 0
    assert any(reason.startswith("ctr") for reason in rollback.reasons)
    follow(api, None, False)  # the champion serves everyone again
    assert {api.get(f"/recs/{u}").json()["arm"] for u in USERS[:50]} == {"champion"}
    with open_store(settings) as store:
        assert (store.current_version(), store.challenger_version()) == ("champion-1", None)
    assert get_version(settings, RECS_MODEL, CHALLENGER) is None, "the challenger alias is removed"
    assert get_version(settings, RECS_MODEL, CHAMPION).version == 1  # type: ignore[union-attr]
    tags = next(v for v in list_versions(settings, RECS_MODEL) if v.version == 2).tags
    assert tags["canary.status"] == "rolled_back"
    assert json.loads(tags[f"canary.decision.{len(decisions):03d}"])["action"] == "rollback"
    run = next(v for v in list_versions(settings, RECS_MODEL) if v.version == 2).run_id
    history = mlflow_client(settings).get_metric_history(run, "canary/ctr_diff")
    assert [m.step for m in history] == list(range(1, len(decisions) + 1))
    assert history[-1].value == pytest.approx(rollback.numbers["ctr_diff"])
    stored = load_canary(settings, "recs")
    assert stored is not None
    assert [d.action for d in stored.decisions] == ["start", *(d.action for d in decisions)]
    report = read_latest_metrics(settings, "canary")
    assert report is not None
    assert (report["status"], report["share"]) == ("rolled_back", 0.0)
    status = CliRunner().invoke(cli_app, ["experiment", "canary", "status", "--home", str(home)])
    assert status.exit_code == 0, status.output
    assert "rolled_back, challenger at 0 %" in status.output
    again = CliRunner().invoke(cli_app, ["experiment", "canary", "step", "--home", str(home)])
    assert again.exit_code == 1
    assert "no canary is running on recs" in again.output
    page = api.get("/console/experiments", params={"lang": "en"})
    assert page.status_code == 200
    assert "vitrina-recs v2 on recs: rolled_back, challenger at 0 %" in page.text
    assert 'class="canary-rollback"' in page.text
    assert f"ctr_diff {rollback.numbers['ctr_diff']:.4g}" in page.text


def test_the_canary_walks_a_sound_challenger_to_promotion(home: Path, api: TestClient) -> None:
    settings = get_settings(home=home)
    publish(settings, good_lists(), "challenger-2", "recs-run-challenger", CHALLENGER)
    start_canary(settings, "recs", POLICY)
    rng = np.random.default_rng(5)
    actions = []
    for round_ in range(12):
        state = load_canary(settings, "recs")
        assert state is not None
        follow(api, state.share, True)
        shop(api, rng, round_)
        flush_shadows(api)
        state, decision = canary_step(settings, "recs", POLICY)
        actions.append((decision.action, decision.share_after))
        if state.status != "running":
            break
    assert [a for a in actions if a[0] != "hold"] == [
        ("advance", 25.0),
        ("advance", 50.0),
        ("promote", 100.0),
    ]
    assert get_version(settings, RECS_MODEL, CHAMPION).version == 2  # type: ignore[union-attr]
    with open_store(settings) as store:
        assert (store.current_version(), store.challenger_version()) == ("challenger-2", None)


def test_a_canary_needs_a_registered_and_published_challenger(
    mlflow_settings: Settings, tmp_path: Path
) -> None:
    settings = mlflow_settings
    with pytest.raises(CanaryError, match="has no challenger"):
        start_canary(settings, "recs", POLICY)
    register(settings, tmp_path, "champion")
    register(settings, tmp_path, "challenger")
    with pytest.raises(CanaryError, match="nothing is published for the vitrina-recs challenger"):
        start_canary(settings, "recs", POLICY)
    with pytest.raises(CanaryError, match="vitrina-search has no challenger"):
        start_canary(settings, "search", POLICY)
    publish(settings, random_lists(), "challenger-1", "recs-run-challenger", CHALLENGER)
    state = start_canary(settings, "recs", POLICY)
    with pytest.raises(CanaryError, match="already running"):
        start_canary(settings, "recs", POLICY)
    stored = json.loads((settings.home / "serving" / "experiment.json").read_text())["recs"]
    assert (stored["enabled"], stored["challenger"], stored["challenger_weight"]) == (True, "registered", 5.0)
    assert stored["salt"] == stored["name"] == "canary-recs-v2"
    assert state.decisions[0].action == "start"
    assert stored_policy(settings, "recs") == POLICY, "every step judges by the policy it started with"


def test_the_loop_looks_at_a_running_canary_and_goes_on_after_a_rollback(home: Path, api: TestClient) -> None:
    settings = get_settings(home=home)
    events: list[StepEvent] = []
    ledger = Ledger(settings, "loop", "look-0", Console(quiet=True), False, events)
    assert step_canaries(settings, ledger) == {}
    assert (events[-1].step, events[-1].outcome) == ("canary", "skipped")

    start_canary(settings, "recs", POLICY)
    follow(api, 5.0, True)
    rng = np.random.default_rng(3)
    looks = []
    for round_ in range(6):
        shop(api, rng, round_)
        ledger = Ledger(settings, "loop", f"look-{round_ + 1}", Console(quiet=True), False, events)
        looks.append(step_canaries(settings, ledger)["recs"])  # a rollback does not raise
        assert events[-1].outcome == "ran", "every run of the loop takes a fresh look"
        if looks[-1]["action"] != "hold":
            break
    assert looks[-1]["action"] == "rollback", looks
    assert looks[-1]["challenger"] == "v2"
    assert "recs: v2 rollback (5 % → 0 %)" in events[-1].detail
    stored = load_canary(settings, "recs")
    assert stored is not None
    assert stored.status == "rolled_back"
    ledger = Ledger(settings, "loop", "look-after", Console(quiet=True), False, events)
    assert step_canaries(settings, ledger) == {}, "a finished canary is not looked at again"
