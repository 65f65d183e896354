"""Drift scenarios change what they claim, only from their start, and nothing before it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.truth import load_truth
from vitrina.config import Settings, get_settings
from vitrina.simulator.generate import generate_marketplace

pytestmark = [pytest.mark.unit, pytest.mark.slow]

END = dt.date(2025, 3, 31)
START = pd.Timestamp("2025-03-25", tz="UTC")  # ci: 21 days, the last 7 drift


def _generate(home: Path, drift: str | None) -> Settings:
    settings = get_settings(home=home)
    generate_marketplace(settings, scale="ci", seed=11, drift=drift, end_date=END, catalog_to=None)
    return settings


def _frame(settings: Settings, name: str) -> pd.DataFrame:
    return read_table(LakePaths(settings.lake), "raw", name).to_pandas()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _generate(tmp_path_factory.mktemp("base") / "home", None)


def _before(settings: Settings, name: str, column: str = "ts") -> pa.Table:
    frame = _frame(settings, name)
    return pa.Table.from_pandas(frame[frame[column] < START].reset_index(drop=True), preserve_index=False)


def _assert_pre_drift_identical(base: Settings, drifted: Settings) -> None:
    for name in ("events", "transactions", "search_logs"):
        assert _before(drifted, name).equals(_before(base, name)), name


def _share(events: pd.DataFrame, catalog: pd.DataFrame, column: str, values: list[str]) -> float:
    merged = events.merge(catalog[["product_id", column]], on="product_id")
    return float(merged[column].isin(values).mean())


def test_price_inflation(base: Settings, tmp_path: Path) -> None:
    drifted = _generate(tmp_path / "home", "price_inflation")
    _assert_pre_drift_identical(base, drifted)
    plan = load_truth(drifted).drift
    assert plan is not None
    assert plan["scenario"] == "price_inflation"
    assert plan["start_date"] == "2025-03-25"
    affected = plan["affected_l2"]
    old, new = _frame(base, "catalog"), _frame(drifted, "catalog")
    hit = new["category_l2"].isin(affected)
    ratio = new["price"] / old["price"]
    assert ratio[hit].between(1.24, 1.36).all()
    assert (ratio[~hit] == 1.0).all()
    assert (new.loc[hit, "updated_at"] >= START).all()
    assert new.loc[~hit, "updated_at"].equals(old.loc[~hit, "updated_at"])
    tx = _frame(drifted, "transactions").merge(old[["product_id", "price", "category_l2"]], on="product_id")
    unit = tx["amount"] / tx["quantity"] / (1 - tx["discount_pct"] / 100) / tx["price"]
    after = tx["ts"] >= START
    inflated = tx["category_l2"].isin(affected)
    assert unit[after & inflated].between(1.23, 1.37).all()
    assert unit[~after | ~inflated].between(0.99, 1.01).all()


def test_new_trend(base: Settings, tmp_path: Path) -> None:
    drifted = _generate(tmp_path / "home", "new_trend")
    _assert_pre_drift_identical(base, drifted)
    plan = load_truth(drifted).drift
    assert plan is not None
    assert len(plan["affected_l2"]) == 1
    catalog = _frame(base, "catalog")
    clicks = {k: _frame(s, "events").query("event_type == 'click' and ts >= @START") for k, s in
              (("base", base), ("drift", drifted))}  # fmt: skip
    before = _share(clicks["base"], catalog, "category_l2", plan["affected_l2"])
    after = _share(clicks["drift"], catalog, "category_l2", plan["affected_l2"])
    assert after > 2 * before


def test_new_city(base: Settings, tmp_path: Path) -> None:
    drifted = _generate(tmp_path / "home", "new_city")
    _assert_pre_drift_identical(base, drifted)
    plan = load_truth(drifted).drift
    assert plan is not None
    assert plan["city"] == "Montevideo"
    users = _frame(drifted, "users")
    newcomers = users[users["city"] == "Montevideo"]
    assert len(newcomers) == plan["n_new_users"]
    assert not _frame(base, "users")["city"].eq("Montevideo").any()
    assert (pd.to_datetime(newcomers["signup_date"]) >= START.tz_localize(None)).all()
    assert _frame(base, "users").equals(users.head(len(users) - len(newcomers)))
    events = _frame(drifted, "events")
    theirs = events[events["user_id"].isin(newcomers["user_id"])]
    assert len(theirs) > 0
    assert (theirs["ts"] >= START).all()


def test_seasonal(base: Settings, tmp_path: Path) -> None:
    drifted = _generate(tmp_path / "home", "seasonal")
    _assert_pre_drift_identical(base, drifted)
    plan = load_truth(drifted).drift
    assert plan is not None
    assert len(plan["affected_l1"]) == 2
    catalog = _frame(base, "catalog")
    views = {k: _frame(s, "events").query("event_type == 'view' and page != 'search' and ts >= @START")
             for k, s in (("base", base), ("drift", drifted))}  # fmt: skip
    before = _share(views["base"], catalog, "category_l1", plan["affected_l1"])
    after = _share(views["drift"], catalog, "category_l1", plan["affected_l1"])
    assert after > 1.25 * before
    assert _frame(drifted, "catalog").equals(catalog)
