"""The searches table of the drift monitor: what the engine decides is a model output, what the
shopper does is data (ADR-0031)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.core.drift.decision import Thresholds, compare_tables
from vitrina.core.drift.windows import DriftWindows
from vitrina.pipelines.drift.monitored_tables import SEARCH_OUTPUTS, lake_tables

pytestmark = pytest.mark.unit

WINDOWS = DriftWindows(
    dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 15, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
    7,
)
CATEGORIES = ("Hogar", "Moda", "Computación", "Deportes")


def _searches(start: dt.datetime, days: int, n: int, *, short_share: float, seed: int) -> pd.DataFrame:
    """``n`` searches over ``days`` days by the same shoppers (query lengths, click rate and
    clicked categories drawn alike), from an engine that returns fewer than 20 results for
    ``short_share`` of them and puts a random product first."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        shown_n = int(rng.integers(2, 20)) if rng.random() < short_share else 20
        shown = [f"p{int(j)}" for j in rng.choice(400, shown_n, replace=False)]
        clicked = [shown[int(rng.integers(shown_n))]] if rng.random() < 0.4 else []
        rows.append(
            {
                "query": " ".join(["q"] * int(rng.integers(1, 4))),
                "ts": start + dt.timedelta(minutes=int(rng.integers(days * 1440))),
                "results_shown": shown,
                "results_clicked": clicked,
                "i": i,
            }
        )
    return pd.DataFrame(rows)


def test_a_new_engine_filling_every_list_moves_model_outputs_only(tmp_path: Path) -> None:
    reference = _searches(WINDOWS.reference_start, 14, 3000, short_share=0.35, seed=1)
    current = _searches(WINDOWS.current_start, 7, 1500, short_share=0.0, seed=2)
    logs = pd.concat([reference, current], ignore_index=True)
    products = pd.DataFrame(
        {
            "product_id": [f"p{j}" for j in range(400)],
            "category_l1": [CATEGORIES[j % 4] for j in range(400)],
            "category_l2": [f"{CATEGORIES[j % 4]} {j % 3}" for j in range(400)],
            "price": 10.0,
        }
    )
    with Warehouse(str(tmp_path / "lake")) as warehouse:
        for name, frame in (("search_logs", logs), ("catalog", products)):
            warehouse.connection.register(f"{name}_rows", frame)
            warehouse.connection.execute(f"CREATE TABLE {name}_table AS SELECT * FROM {name}_rows")
            warehouse.connection.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_table")
        tables = {t.name: t for t in lake_tables(warehouse, WINDOWS)}
    searches = tables["searches"]
    assert searches.outputs == SEARCH_OUTPUTS == {"results", "top_result_l1"}
    assert searches.current["clicked_l1"].notna().sum() > 0
    result = compare_tables([searches], Thresholds())
    by_name = {f.name: f for f in result.features}
    assert by_name["searches.results"].status == "critical"
    assert by_name["searches.results"].role == "model_output"
    assert {name for name, f in by_name.items() if f.role == "data"} == {
        "searches.query_tokens",
        "searches.query_chars",
        "searches.clicked",
        "searches.clicked_l1",
    }
    assert result.decisions["search"] == "none", result.reasons
    assert result.reasons[0].startswith("model output, not counted (critical): searches.results")


def test_an_established_user_still_labelled_new_has_no_segment() -> None:
    from vitrina.pipelines.drift.monitored_tables import established_segment

    users = pd.DataFrame(
        {
            "user_id": ["fresh", "stale", "regular"],
            "block": [0, 0, 0],
            "segment": ["nuevo", "nuevo", "frecuente"],
            "signup_date": [dt.date(2026, 11, 10), dt.date(2026, 9, 1), dt.date(2026, 9, 1)],
        }
    )
    segment = established_segment(users, WINDOWS, current=True)
    # signed up 12 days before the window's end: new, left out; labelled new 82 days after
    # signing up: a label nobody refreshed, left out; the established regular keeps theirs
    assert segment.tolist() == [None, None, "frecuente"]
