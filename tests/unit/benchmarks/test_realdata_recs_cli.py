"""``benchmarks/realdata_recs.py`` end to end on a tiny shop of its own files (orders in a CSV, a
mapping and a shop file): ``vitrina data import`` and ``validate`` through the CLI, both splits,
every baseline, and the JSON + Markdown it writes."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.paths import REPO

pytestmark = [pytest.mark.unit, pytest.mark.slow]

MAPPING = """\
name: tiny-shop
root: .
sources:
  lines: {path: orders.csv, format: csv, types: {order_id: VARCHAR, user_id: VARCHAR, product_id: VARCHAR}}
tables:
  transactions:
    from: lines
    columns:
      order_id: order_id
      user_id: user_id
      product_id: product_id
      quantity: {constant: 1}
      amount: price
      discount_pct: {constant: 0}
      payment_method: {constant: unknown}
      ts: {column: ts, format: "%Y-%m-%d %H:%M:%S"}
  events:
    from: transactions
    columns:
      event_id: "order_id || ':' || product_id"
      user_id: user_id
      product_id: product_id
      event_type: {constant: purchase}
      ts: ts
      device: {constant: unknown}
      page: {constant: cart}
    sessions: {gap_minutes: 30}
  users:
    from: lines
    group_by: [user_id]
    columns:
      user_id: user_id
      signup_date: {sql: "min(ts)", format: "%Y-%m-%d %H:%M:%S"}
      age_range: {constant: unknown}
      city: {constant: London}
      segment: {constant: unknown}
      lifetime_value: "round(sum(price), 2)"
  catalog:
    from: lines
    group_by: [product_id]
    columns:
      product_id: product_id
      title: "'GIFT ' || product_id"
      category_l1: {constant: gifts}
      category_l2: {constant: gifts}
      category_l3: {constant: gifts}
      price: "median(price)"
      stock: {constant: 1}
      seller_id: {constant: tiny}
      created_at: {sql: "min(ts)", format: "%Y-%m-%d %H:%M:%S"}
      updated_at: {sql: "max(ts)", format: "%Y-%m-%d %H:%M:%S"}
      is_sponsored: {constant: false}
      is_reported: {constant: false}
"""
SHOP_FILE = """\
name: tiny-shop
language: en
currency: GBP
contracts:
  event_types: [purchase]
  vocabularies:
    users.age_range: open
    users.segment: open
    events.device: open
    transactions.payment_method: open
  earliest_date: 2010-01-01
"""


def _tiny_shop(folder: Path) -> None:
    """80 customers of four tastes (ten products each), 1–6 orders of up to 3 lines over 120 days."""
    rng = np.random.default_rng(5)
    start = dt.datetime(2011, 1, 3)
    folder.mkdir()
    (folder / "mapping.yaml").write_text(MAPPING)
    (folder / "vitrina.yaml").write_text(SHOP_FILE)
    with (folder / "orders.csv").open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["order_id", "user_id", "product_id", "price", "ts"])
        order = 1000
        for user in range(80):
            for _ in range(int(rng.integers(1, 7))):
                ts = start + dt.timedelta(days=float(rng.uniform(0, 120)))
                order += 1
                for line in sorted({int(x) for x in rng.integers(0, 10, 3)}):
                    product = f"P{(user % 4) * 10 + line}"
                    rows.writerow([order, 500 + user, product, 1 + line / 2, f"{ts:%Y-%m-%d %H:%M:%S}"])


def test_the_benchmark_runs_on_a_shops_own_files_and_writes_its_report(tmp_path: Path) -> None:
    shop, out = tmp_path / "shop", tmp_path / "out"
    _tiny_shop(shop)
    command = [sys.executable, str(REPO / "benchmarks" / "realdata_recs.py"), "--dataset", "tiny-shop"]
    command += ["--example", str(shop), "--data", str(shop), "--splits", "forward,leave_last_out"]
    command += ["--no-served", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((out / "realdata_recs.json").read_text())
    entry = report["tiny-shop"]
    assert entry["events"] == sum(1 for _ in (shop / "orders.csv").open()) - 1  # every order line
    forward = entry["splits"]["forward"]
    assert forward["cut"] == "2011-04-05T00:00:00+00:00"  # the last order's day + 1 − 28 days
    assert set(forward["models"]) == {
        "popularity",
        "popularity_7d",
        "popularity_30d",
        "buy_again",
        "item_knn",
        "ease",
        "als",
    }
    # four planted tastes: co-purchase beats popularity on the customers it knows
    scores = {m: v["discovery"]["returning"]["ndcg@10"] for m, v in forward["models"].items()}
    assert scores["item_knn"] > scores["popularity"]
    assert entry["splits"]["leave_last_out"]["cut"] is None
    assert entry["bars"] == []  # nothing served, nothing to hold to a bar
    markdown = (out / "realdata_recs.md").read_text()
    assert "## tiny-shop" in markdown
    assert "| EASE (λ" in markdown


def test_the_benchmark_can_measure_the_shop_as_it_was_before_a_day(tmp_path: Path) -> None:
    shop, out = tmp_path / "shop", tmp_path / "out"
    _tiny_shop(shop)
    command = [sys.executable, str(REPO / "benchmarks" / "realdata_recs.py"), "--dataset", "tiny-shop"]
    command += ["--example", str(shop), "--data", str(shop), "--splits", "forward", "--until", "2011-04-01"]
    command += ["--no-served", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), HF_HUB_OFFLINE="1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    entry = json.loads((out / "realdata_recs.json").read_text())["tiny-shop"]
    with (shop / "orders.csv").open() as lines:
        before = sum(1 for row in csv.DictReader(lines) if row["ts"] < "2011-04-01")
    assert entry["events"] == before  # the order lines from that day on are held back
    assert entry["until"] == "2011-04-01"
    assert entry["last_event"] < "2011-04-01"
    assert entry["splits"]["forward"]["cut"] == "2011-03-04T00:00:00+00:00"  # 28 days before it
    assert "(the data from 2011-04-01 on held back)" in (out / "realdata_recs.md").read_text()
