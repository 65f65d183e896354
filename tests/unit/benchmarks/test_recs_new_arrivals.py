"""The real-data benchmark's new-arrivals view: lists without the slot, hit rate on new products."""

from __future__ import annotations

import datetime as dt
import sys

import pandas as pd
import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from recs_new_arrivals import arrival_products, new_arrival_hits, without_slots  # noqa: E402
from recs_split import ALL_POSITIVES, DISCOVERY, Truth  # noqa: E402


def test_taking_the_slot_out_gives_back_the_list_it_pushed_down() -> None:
    lists = {"a": ["p1", "new", "p2"], "b": ["p1", "p2"]}
    assert without_slots(lists, {"a": ["new"]}) == {"a": ["p1", "p2"], "b": ["p1", "p2"]}


def test_arrivals_are_the_products_created_in_the_week_before_the_cut() -> None:
    cut = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    catalog = pd.DataFrame(
        {
            "product_id": ["old", "new", "later"],
            "created_at": pd.to_datetime(["2026-01-01", "2026-03-08", "2026-03-11"], utc=True),
        }
    )
    assert arrival_products(catalog, cut) == ["new"]
    assert arrival_products(None, cut) == []


def test_the_hit_rate_counts_only_the_users_with_a_positive_on_an_arrival() -> None:
    relevant = {"a": frozenset({"new", "p1"}), "b": frozenset({"p1"}), "c": frozenset({"new"})}
    truth = Truth({ALL_POSITIVES: relevant, DISCOVERY: relevant}, frozenset(relevant), {})
    served = {"a": ["p1", "new"], "b": ["p1"], "c": ["p1"]}
    lists = {
        view: {"served": served, "other": {u: ["p1"] for u in served}} for view in (ALL_POSITIVES, DISCOVERY)
    }
    slots = {ALL_POSITIVES: {"a": ["new"], "b": [], "c": []}}
    got = new_arrival_hits(lists, truth, ["new"], slots, ("served", "other"))
    assert got["arrivals"] == 1
    assert got[ALL_POSITIVES]["users"] == 2  # a and c
    assert got[ALL_POSITIVES]["served"]["hr@10"] == pytest.approx(0.5)
    assert got[ALL_POSITIVES]["other"]["hr@10"] == 0
    assert got[ALL_POSITIVES]["lists_with_slot"] == 1
