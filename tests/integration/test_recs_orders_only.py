"""`vitrina train recs` on shops that log orders only (no views, clicks or search logs, dates in
2011), end to end to what the API answers: a shop of repeat buyers publishes a champion; a shop
where nobody comes back trains without a ranker or item vectors, says so, and still publishes
the policy it chose on validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from support.orders_only_shop import write_orders_only_shop

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.recs_bundle import RANKER_FOLDER
from vitrina.bootstrap import open_store
from vitrina.config import Settings, get_settings
from vitrina.pipelines.recs.run import NOTHING_CHOSEN_TOGETHER, RecsConfig, run_recs
from vitrina.pipelines.validate import validate_lake
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module


def _shop(tmp_path: Path, **shape: float) -> Settings:
    settings = get_settings(home=tmp_path / "shop")
    write_orders_only_shop(settings, **shape)  # type: ignore[arg-type]
    report = validate_lake(settings, max_invalid_share=0.0)
    assert set(report.missing) >= {"search_logs"}
    assert report.tables["events"].quarantined_rows == 0  # 2011 and purchases only are valid
    return settings


def test_a_shop_of_repeat_buyers_publishes_and_serves_its_lists(tmp_path: Path) -> None:
    settings = _shop(tmp_path)
    run = run_recs(settings, RecsConfig(n_trials=1), QUIET)

    # about 70 buyers a week: both held-out windows widened to two weeks to hold 100 users
    assert "windows of 14 days each" in run.notes[0]
    metrics = run.metrics["models"]
    assert run.registration is not None
    assert run.registration.decision.passed, run.registration.decision.summary()
    assert metrics["full"]["ndcg@10"] >= metrics["popularity"]["ndcg@10"]
    assert "two_tower_ranker" in metrics  # repeat buyers leave something for a ranker to learn
    assert run.batch is not None
    assert run.batch.users_written > 0

    audit = read_table(LakePaths(settings.lake), "predictions", "recs").to_pandas()
    user = str(audit["user_id"].iloc[0])
    with open_store(settings) as store:
        assert store.current_version() == run.run_id
    with TestClient(create_app(settings)) as api:
        mine = api.get(f"/recs/{user}", params={"k": 5}).json()
        assert mine["fallback"] is False
        assert mine["model_version"] == f"recs-{run.run_id}"
        assert [i["product_id"] for i in mine["items"]] == list(
            audit[audit["user_id"] == user].sort_values("rank")["product_id"][:5]
        )
        stranger = api.get("/recs/99999").json()
        assert stranger["fallback"] is True
        assert stranger["fallback_reason"] == "unknown_user"
        assert len(stranger["items"]) == 20


def test_a_shop_where_nobody_comes_back_says_what_it_could_not_learn(tmp_path: Path) -> None:
    settings = _shop(tmp_path, n_users=3000, one_time_share=1.0, max_lines=1)
    run = run_recs(settings, RecsConfig(n_trials=1), QUIET)

    assert NOTHING_CHOSEN_TOGETHER in run.notes  # one product per order: no item vectors
    skipped = [note for note in run.notes if note.startswith("no ranker")]
    assert skipped
    assert "0 users with history" in skipped[0]
    metrics = run.metrics["models"]
    assert "two_tower_ranker" not in metrics  # no ranker: no "+ ranker" stage to report
    assert metrics["item2vec"]["ndcg@10"] == 0.0
    bundle = Path(run.trained["bundle_dir"])
    assert bundle.is_dir()
    assert not (bundle / RANKER_FOLDER).exists()

    # what is served was chosen on validation among popularity and the sources, so even a shop
    # where the full model learnt nothing gets a first version, no worse than popularity on test
    assert run.registration is not None
    assert run.registration.decision.passed, run.registration.decision.summary()
    repeats = run.metrics["all_positives"]
    assert repeats["served"]["ndcg@10"] >= repeats["popularity"]["ndcg@10"]
    assert run.batch is not None
    assert run.batch.users_written > 0
    with TestClient(create_app(settings)) as api:
        answer = api.get("/recs/12000").json()
        assert len(answer["items"]) == 20
