"""A shop of habitual re-buyers: the run chooses buy-again on its validation window, records the
choice and every contender's numbers on the MLflow run and in the model card, and publishes
lists that start with what each customer buys again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from support.orders_only_shop import write_orders_only_shop

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.recs_bundle import POLICY_FILE
from vitrina.adapters.registry.mlflow_client import mlflow_client
from vitrina.config import get_settings
from vitrina.pipelines.recs.run import RecsConfig, run_recs
from vitrina.pipelines.validate import validate_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow]
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module


def test_a_shop_of_habitual_rebuyers_publishes_buy_again_lists(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "shop")
    write_orders_only_shop(settings, habit_share=0.8)
    validate_lake(settings, max_invalid_share=0.0)
    run = run_recs(settings, RecsConfig(n_trials=1), QUIET)

    assert run.registration is not None
    assert run.registration.version == 1
    tags = mlflow_client(settings).get_run(run.registration.mlflow_run_id).data
    chosen = tags.tags["selection.chosen"]
    assert chosen.startswith("buy_again"), chosen
    assert tags.tags["selection.view"] == "all_positives"
    assert "selection.fallback" not in tags.tags
    validation = {
        key.split("/")[1]: value
        for key, value in tags.metrics.items()
        if key.startswith("validation/") and key.endswith("ndcg_at_10 all_positives")
    }
    assert {"popularity_recent", "buy_again", "item_knn", "two_tower"} <= set(validation)
    best = max(validation.values())
    assert validation[chosen.replace(">", "_").replace("*", "_")] == best
    assert best > validation["popularity_recent"]
    # the gate read the served policy on the test window, beside popularity
    served = run.metrics["all_positives"]["served"]["ndcg@10"]
    assert tags.metrics["ndcg_at_10"] == served >= run.metrics["all_positives"]["popularity"]["ndcg@10"]

    policy = json.loads((Path(run.trained["bundle_dir"]) / POLICY_FILE).read_text())
    assert policy["name"] == chosen
    card = (settings.home / "docs" / "model_cards" / "vitrina-recs-v1.md").read_text()
    assert "| **served** |" in card
    assert "validation window, every contender" in card
    assert f"| {chosen} |" in card

    lake = LakePaths(settings.lake)
    audit = read_table(lake, "predictions", "recs").to_pandas()
    bought = read_table(lake, "validated", "transactions").to_pandas()
    owned = set(zip(bought["user_id"], bought["product_id"], strict=True))
    first = audit[audit["rank"] == 1]
    again = [(u, p) in owned for u, p in zip(first["user_id"], first["product_id"], strict=True)]
    assert sum(again) == len(first) > 0  # every published list starts with the customer's own item
    assert set(first["reason"]) == {"para volver a comprar"}
