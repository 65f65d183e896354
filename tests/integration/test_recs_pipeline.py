"""`vitrina train recs` end to end: on simulated ci data, and on a hand-made shop that never
saw the simulator (bring your own data)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from rich.console import Console
from support.fixed_calendar import WORLD_END_MIDNIGHT
from typer.testing import CliRunner

from vitrina.adapters.lake.io import read_table, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import open_store
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import read_json
from vitrina.core.tables import CATALOG, EVENTS, TRANSACTIONS, USERS
from vitrina.pipelines.recs.run import RecsConfig, run_recs
from vitrina.pipelines.validate import validate_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.quality]

METRIC_KEYS = {
    "ndcg@10",
    "ndcg@20",
    "hitrate@10",
    "map@10",
    "mrr",
    "recall@100",
    "coverage",
    "diversity",
    "novelty",
}
MODELS = {
    "popularity",
    "segment_popularity",
    "als",
    "item2vec",
    "two_tower",
    "two_tower_ranker",
    "full",
    "served",
    "discover",  # the discover list's policy, scored in the discovery view it was chosen on
}
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module


def _own_copy(settings: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(settings.home, home)
    return get_settings(home=home)


def test_pipeline_on_simulated_data(ci_settings: Settings, tmp_path: Path) -> None:
    settings = _own_copy(ci_settings, tmp_path)
    run = run_recs(settings, RecsConfig(n_trials=1), QUIET)

    lake = LakePaths(settings.lake)
    latest = read_json(f"{lake.layer('reports')}/recs/latest/metrics.json")
    assert latest == read_json(f"{lake.layer('reports')}/recs/{run.run_id}/metrics.json")
    assert set(latest["models"]) == MODELS
    assert set(latest["truth"]) == MODELS  # the simulator's truth was found and used
    assert all(set(m) == METRIC_KEYS for m in latest["models"].values())

    catalog = read_table(lake, "validated", "catalog").to_pandas().set_index("product_id")
    not_servable = set(catalog.index[(catalog["stock"] <= 0) | catalog["is_reported"].fillna(False)])
    audit = read_table(lake, "predictions", "recs").to_pandas()
    assert run.batch is not None
    assert audit["user_id"].nunique() == run.batch.users_written > 0
    assert not set(audit["product_id"]) & not_servable
    assert (audit.groupby("user_id")["product_id"].count() == 20).all()

    with open_store(settings) as store:
        assert store.current_version() == run.run_id
        some_user = str(audit["user_id"].iloc[0])
        record = store.get(some_user)
        assert record is not None
        assert record.model_version == f"recs-{run.run_id}"
        assert all(item.reason for item in record.items)

    shown = CliRunner().invoke(app, ["query", "recs", some_user, "--home", str(settings.home)])
    assert shown.exit_code == 0, shown.output
    assert record.items[0].reason in shown.output
    missing = CliRunner().invoke(app, ["query", "recs", "nobody", "--home", str(settings.home)])
    assert missing.exit_code == 1


def _handmade_shop(settings: Settings, seed: int = 3) -> None:
    """A tiny shop with planted taste: 5 categories, users who mostly click one of them."""
    rng = np.random.default_rng(seed)
    end = WORLD_END_MIDNIGHT
    start = end - dt.timedelta(days=28)
    n_items, n_users, n_cats = 150, 240, 5
    category = np.arange(n_items) % n_cats
    catalog = pa.table(
        {
            "product_id": [f"sku-{i}" for i in range(n_items)],
            "title": [f"Artículo {i} de la línea {c}" for i, c in enumerate(category)],
            "description": [None] * n_items,
            "category_l1": [f"Rubro {c % 2}" for c in category],
            "category_l2": [f"Familia {c}" for c in category],
            "category_l3": [f"Familia {c} / {i % 3}" for i, c in enumerate(category)],
            "brand": [None if i % 7 == 0 else f"Marca {i % 11}" for i in range(n_items)],
            "price": rng.uniform(5, 200, n_items).round(2),
            "cost": [None] * n_items,
            "stock": np.where(np.arange(n_items) % 13 == 0, 0, 10),
            "seller_id": [f"tienda-{i % 4}" for i in range(n_items)],
            "created_at": [start - dt.timedelta(days=60)] * n_items,
            "updated_at": [start - dt.timedelta(days=30)] * n_items,
            "is_sponsored": [False] * n_items,
            "is_reported": np.arange(n_items) % 17 == 0,
        },
        schema=CATALOG.schema,
    )
    users = pa.table(
        {
            "user_id": [f"cliente-{u}" for u in range(n_users)],
            "signup_date": [start.date() - dt.timedelta(days=90)] * n_users,
            "age_range": ["25-34"] * n_users,
            "city": ["Lima" if u % 2 else "Bogotá" for u in range(n_users)],
            "segment": ["frecuente" if u % 3 else "ocasional" for u in range(n_users)],
            "lifetime_value": [100.0] * n_users,
        },
        schema=USERS.schema,
    )
    taste = rng.integers(0, n_cats, n_users)
    rows: dict[str, list[object]] = {name: [] for name in EVENTS.schema.names}
    orders: dict[str, list[object]] = {name: [] for name in TRANSACTIONS.schema.names}
    for day in range(28):
        for user in rng.choice(n_users, 60, replace=False):
            ts = start + dt.timedelta(days=day, hours=int(rng.integers(8, 22)))
            session = f"s-{day}-{user}"
            shown = rng.choice(n_items, 10, replace=False)
            for position, item in enumerate(shown, start=1):
                liked = category[item] == taste[user]
                kinds = ["view"] + (["click"] if rng.random() < (0.6 if liked else 0.05) else [])
                if len(kinds) == 2 and liked and rng.random() < 0.3:
                    kinds.append("purchase")
                for offset, kind in enumerate(kinds):
                    rows["event_id"].append(f"e-{len(rows['event_id'])}")
                    rows["user_id"].append(f"cliente-{user}")
                    rows["product_id"].append(f"sku-{item}")
                    rows["event_type"].append(kind)
                    rows["ts"].append(ts + dt.timedelta(seconds=10 * position + offset))
                    rows["session_id"].append(session)
                    rows["device"].append("mobile")
                    rows["page"].append("home")
                    rows["position"].append(position)
                    rows["request_id"].append(session)
                    if kind == "purchase":
                        orders["order_id"].append(f"o-{len(orders['order_id'])}")
                        orders["user_id"].append(f"cliente-{user}")
                        orders["product_id"].append(f"sku-{item}")
                        orders["quantity"].append(1)
                        orders["amount"].append(float(catalog["price"][int(item)].as_py()))
                        orders["discount_pct"].append(0.0)
                        orders["payment_method"].append("efectivo")
                        orders["ts"].append(ts + dt.timedelta(seconds=10 * position + offset))
    lake = LakePaths(settings.lake)
    write_table(lake, "raw", "catalog", catalog, None, snapshot_day=end.date())
    write_table(lake, "raw", "users", users, None, snapshot_day=end.date())
    write_table(lake, "raw", "events", pa.table(rows, schema=EVENTS.schema), "ts")
    write_table(lake, "raw", "transactions", pa.table(orders, schema=TRANSACTIONS.schema), "ts")


def test_pipeline_on_bring_your_own_data(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "shop")
    _handmade_shop(settings)
    validate_lake(settings, max_invalid_share=0.0)
    run = run_recs(settings, RecsConfig(n_trials=1), QUIET)
    assert set(run.metrics["models"]) >= {"popularity", "als", "full"}
    assert run.metrics["truth"] == {}  # no simulator truth: held-out metrics only
    # planted taste is learnable: the full model beats global popularity on held-out clicks
    assert run.metrics["models"]["full"]["ndcg@10"] > run.metrics["models"]["popularity"]["ndcg@10"]
    assert run.batch is not None
    assert run.batch.users_written > 0
