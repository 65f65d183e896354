"""`vitrina train all` on a shop whose products and customers changed since the champion was
trained (docs/pipelines.md, "Open world"): a ci-scale marketplace is trained once, then the
shop sends a new catalog snapshot (new products, some dropped), new customers and their
events, as raw files. The next `train all` keeps the champion (no retrain is forced), folds the
new ids into it and re-publishes: new products are in lists and in the search index, dropped
ones are nowhere, new customers get lists.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL, mlflow_client
from vitrina.adapters.registry.models import get_version
from vitrina.adapters.stores.base import LIST_KINDS
from vitrina.bootstrap import open_store
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.promotion.alias_plans import CHAMPION
from vitrina.pipelines.retrain_policy import new_share, training_decision
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUNNER = CliRunner()
SEED = "7"
NEW_PRODUCTS = 12
NEW_USERS = 30
QUIET_USERS = 2  # new customers who have not done anything yet
REMOVED = 4


def cli(home: Path, *args: str) -> str:
    result = RUNNER.invoke(app, [*args, "--home", str(home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def run_all(home: Path) -> str:
    return cli(home, "train", "all", "--quick", "--trials", "1", "--seed", SEED)


def record(settings: Settings, pipeline: str, step: str) -> dict[str, object]:
    url = f"{LakePaths(settings.lake).layer('state')}/steps/{pipeline}/{step}.json"
    payload: dict[str, object] = json.loads(Path(url).read_text())
    return payload


def raw(settings: Settings, table: str) -> pd.DataFrame:
    files = sorted(Path(LakePaths(settings.lake).layer("raw"), table).glob("*/*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def every_list(settings: Settings, users: list[str], products: list[str]) -> dict[str, list[str]]:
    """Every list the store serves: per user, the popularity fallback and each keyed list."""
    lists: dict[str, list[str]] = {}
    with open_store(settings) as store:
        popular = store.popular()
        assert popular is not None
        lists["popular"] = [i.product_id for i in popular.items]
        for user in users:
            if (found := store.get(user)) is not None:
                lists[f"user {user}"] = [i.product_id for i in found.items]
        for kind in LIST_KINDS:
            for key in products + users:
                if (found := store.get_list(kind, key)) is not None:
                    lists[f"{kind} {key}"] = [i.product_id for i in found.items]
    return lists


def _removed_products(settings: Settings, catalog: pd.DataFrame) -> list[str]:
    """Products the champion serves now, each with few enough events, orders and search results
    that dropping it leaves the quarantine far below the validation threshold."""
    events, orders = raw(settings, "events"), raw(settings, "transactions")
    small = set(catalog["product_id"])
    for frame in (events, orders):
        share = frame["product_id"].value_counts(normalize=True)
        small -= set(share[share > 0.004].index)
    searches = raw(settings, "search_logs")
    shown = searches["results_shown"].map(lambda ids: list(dict.fromkeys(ids))).explode()
    in_searches = shown.value_counts() / max(len(searches), 1)  # share of searches showing it
    small -= set(in_searches[in_searches > 0.004].index)
    served = every_list(settings, sorted(events["user_id"].unique())[:200], [])
    seen = [p for items in served.values() for p in items]
    return sorted({p for p in seen if p in small})[:REMOVED]


def _shop_sends_changes(settings: Settings) -> dict[str, list[str]]:
    """A new catalog snapshot (new products copied from existing ones under new ids and
    titles, ``REMOVED`` served products dropped), new customers, and a few hours of their
    events and others' on the new products, written as raw files of the last day."""
    root = Path(LakePaths(settings.lake).layer("raw"))
    catalog = raw(settings, "catalog")
    removed = _removed_products(settings, catalog)
    assert len(removed) == REMOVED
    templates = catalog[~catalog["product_id"].isin(removed)].iloc[:NEW_PRODUCTS].copy()
    new_products = [f"pnew{i:04d}" for i in range(NEW_PRODUCTS)]
    templates["product_id"] = new_products
    templates["title"] = [f"Zorblax{i} {title}" for i, title in enumerate(templates["title"])]
    templates["stock"] = 50
    templates["is_reported"] = False
    kept = catalog[~catalog["product_id"].isin(removed)]
    snapshot = pd.concat([kept, templates], ignore_index=True)
    olds = sorted(root.glob("catalog/*/*.parquet"))
    for old in olds:
        old.unlink()
    snapshot.to_parquet(olds[-1].parent / "part-shop.parquet", index=False)

    users = raw(settings, "users")
    customers = users.iloc[: NEW_USERS + QUIET_USERS].copy()
    new_users = [f"unew{i:04d}" for i in range(NEW_USERS)]
    quiet = [f"uquiet{i:04d}" for i in range(QUIET_USERS)]
    customers["user_id"] = new_users + quiet
    events = raw(settings, "events")
    last = events["ts"].max()
    day = last.strftime("%Y-%m-%d")
    (root / f"users/dt={day}").mkdir(parents=True, exist_ok=True)
    customers.to_parquet(root / f"users/dt={day}/part-shop.parquet", index=False)

    template = events[events["page"] == "home"].iloc[0]
    regulars = sorted(events["user_id"].unique())[:40]
    rows = []
    for n, user in enumerate(new_users + regulars):
        session = f"ses-shop-{n:04d}"
        for j in range(3):
            product = new_products[(n + j) % NEW_PRODUCTS] if j < 2 else kept["product_id"].iloc[n % 50]
            for step, kind in enumerate(("view", "click", "add_to_cart", "purchase")[: 2 + (n + j) % 3]):
                rows.append(
                    {
                        **template.to_dict(),
                        "event_id": f"evt-shop-{n:04d}-{j}-{step}",
                        "user_id": user,
                        "product_id": product,
                        "event_type": kind,
                        "ts": last - pd.Timedelta(hours=3) + pd.Timedelta(seconds=60 * n + 10 * j + step),
                        "session_id": session,
                        "page": "home" if kind == "view" else "pdp",
                        "position": float(j + 1),
                        "request_id": f"req-shop-{n:04d}",
                    }
                )
    (root / f"events/dt={day}").mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows).astype(events.dtypes.to_dict())
    frame.to_parquet(root / f"events/dt={day}/part-shop.parquet", index=False)
    return {
        "new_products": new_products,
        "new_titles": templates["title"].tolist(),
        "removed": removed,
        "removed_titles": catalog.set_index("product_id").loc[removed, "title"].tolist(),
        "new_users": new_users,
        "quiet_users": quiet,
        "products": snapshot["product_id"].tolist(),
    }


@pytest.fixture(scope="module")
def shop(
    tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path
) -> tuple[Path, dict[str, list[str]]]:
    """A ci-scale marketplace trained once, then changed by the shop and run through the loop."""
    home = tmp_path_factory.mktemp("open-world") / "home"
    home.mkdir()
    shutil.copy(mlflow_template, home / mlflow_template.name)
    cli(home, "data", "generate", "--scale", "ci", "--seed", SEED)
    run_all(home)
    settings = get_settings(home=home)
    assert get_version(settings, RECS_MODEL, CHAMPION) is not None
    changes = _shop_sends_changes(settings)
    changes["trained_in"] = [str(record(settings, "recs", "train")["run_id"])]
    run_all(home)
    return home, changes


@pytest.fixture(scope="module")
def api(shop: tuple[Path, dict[str, list[str]]]) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(home=shop[0]))) as client:
        yield client


def test_the_champion_is_kept_and_republished_with_the_changes_folded_in(
    shop: tuple[Path, dict[str, list[str]]],
) -> None:
    home, changes = shop
    settings = get_settings(home=home)
    train = record(settings, "recs", "train")
    assert [train["run_id"]] == changes["trained_in"]  # nothing forced a retrain: the champion was kept
    versions = mlflow_client(settings).search_model_versions(f"name='{RECS_MODEL}'")
    assert [int(v.version) for v in versions] == [1]
    assert get_version(settings, RECS_MODEL, CHAMPION).version == 1  # type: ignore[union-attr]
    publish = record(settings, "recs", "publish")
    assert publish["status"] == "done", publish
    outputs = publish["outputs"]
    assert isinstance(outputs, dict)
    assert outputs["champion"] == 1
    folded = outputs["fold_in"]
    assert folded["items_added"] == NEW_PRODUCTS
    assert folded["items_removed"] == REMOVED
    assert folded["users_added"] == NEW_USERS + QUIET_USERS
    assert folded["users_removed"] == 0
    assert 0 < folded["items_with_category_vector"] <= NEW_PRODUCTS
    # the retrain rule measures the same shift: the larger share is the customers'
    customers = raw(settings, "users")["user_id"].nunique()
    assert new_share(settings, RECS_MODEL) == pytest.approx((NEW_USERS + QUIET_USERS) / customers)
    assert training_decision(settings, RECS_MODEL, "recs", "auto").trigger == "keep"
    stricter = settings.model_copy(update={"retrain_max_new_share": 0.01})
    decision = training_decision(stricter, RECS_MODEL, "recs", "auto")
    assert (decision.retrain, decision.trigger) == (True, "open_world")


def test_new_products_and_customers_are_served_and_removed_products_are_nowhere(
    shop: tuple[Path, dict[str, list[str]]],
) -> None:
    home, changes = shop
    settings = get_settings(home=home)
    users = sorted(raw(settings, "users")["user_id"].unique())
    lists = every_list(settings, users, changes["products"])
    for user in changes["new_users"]:  # each chose new products: a personal list of their own
        assert f"user {user}" in lists
        assert len(lists[f"user {user}"]) > 0
    in_user_lists = {p for key, items in lists.items() if key.startswith("user ") for p in items}
    assert in_user_lists & set(changes["new_products"])
    served = {p for items in lists.values() for p in items}
    assert not served & set(changes["removed"])


def test_the_api_finds_new_products_serves_new_customers_and_never_removed_products(
    shop: tuple[Path, dict[str, list[str]]], api: TestClient
) -> None:
    home, changes = shop
    settings = get_settings(home=home)
    assert get_version(settings, SEARCH_MODEL, CHAMPION) is not None
    for product, title in zip(changes["new_products"][:3], changes["new_titles"][:3], strict=True):
        answer = api.get("/search", params={"q": title, "k": 10})
        assert answer.status_code == 200, answer.text
        assert product in [item["product_id"] for item in answer.json()["items"]]
    for product, title in zip(changes["removed"], changes["removed_titles"], strict=True):
        answer = api.get("/search", params={"q": title, "k": 50})
        assert product not in [item["product_id"] for item in answer.json()["items"]]
    recs = api.get(f"/recs/{changes['new_users'][0]}", params={"k": 10})
    assert recs.status_code == 200
    assert recs.json()["items"]
    assert recs.json()["fallback"] is False
    for user in changes["quiet_users"]:  # no event yet: the popularity list, flagged as such
        recs = api.get(f"/recs/{user}", params={"k": 10})
        assert recs.status_code == 200
        assert len(recs.json()["items"]) == 10
        assert recs.json()["fallback"] is True
        assert not {i["product_id"] for i in recs.json()["items"]} & set(changes["removed"])
