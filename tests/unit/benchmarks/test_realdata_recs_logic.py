"""The yardstick of the real-data recommendations benchmark, on hand-made logs: the metrics,
the splits (forward cut from the data, per-user holdout, the two views) and the baselines."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from realdata_recs import _by_served_list, _finite, bars, evaluate_split, render  # noqa: E402
from recs_baselines import (  # noqa: E402
    EASE,
    BuyAgain,
    ItemKNN,
    Popularity,
    build_interactions,
    recommend,
)
from recs_metrics import hit_at, ndcg_at, paired_difference, recall_at, score_lists  # noqa: E402
from recs_served import served_policy  # noqa: E402
from recs_split import (  # noqa: E402
    ALL_POSITIVES,
    DISCOVERY,
    build_truth,
    forward_split,
    leave_last_out_split,
    validation_split,
)

DAY0 = pd.Timestamp("2011-03-01", tz="UTC")


def _events(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    """(user, product, day offset, event type) → an events frame."""
    frame = pd.DataFrame(rows, columns=["user_id", "product_id", "day", "event_type"])
    frame["ts"] = DAY0 + pd.to_timedelta(frame.pop("day"), unit="D")
    frame["event_id"] = [f"e{i:03d}" for i in range(len(frame))]
    return frame


def test_ndcg_recall_and_hit_on_a_hand_ranked_list() -> None:
    ranked = ["a", "b", "c", "d"]
    assert ndcg_at(ranked, frozenset({"b"}), 10) == pytest.approx(1 / math.log2(3))
    # two relevant, one found at rank 1: DCG 1, ideal 1 + 1/log2(3)
    assert ndcg_at(ranked, frozenset({"a", "z"}), 10) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at(ranked, frozenset({"d"}), 3) == 0.0
    assert recall_at(ranked, frozenset({"a", "d", "z", "y"}), 20) == 0.5
    assert hit_at(ranked, frozenset({"d"}), 3) == 0.0
    assert hit_at(ranked, frozenset({"d"}), 4) == 1.0
    scored = score_lists(
        {"u": ranked, "v": ["x"]}, {"u": frozenset({"a"}), "v": frozenset({"a"})}, ["u", "v"]
    )
    assert scored["ndcg@10"] == 0.5
    assert scored["users"] == 2


def test_the_forward_cut_comes_from_the_data_and_splits_the_views() -> None:
    events = _events(
        [
            ("u1", "a", 0, "purchase"),
            ("u1", "b", 10, "view"),
            ("u1", "a", 40.5, "purchase"),  # a repeat: all positives only
            ("u1", "b", 41, "purchase"),  # seen (viewed) before: not a discovery
            ("u1", "c", 42, "purchase"),  # new: both views
            ("u2", "c", 50.2, "purchase"),  # first seen in the test part: not returning
            ("u3", "a", 5, "purchase"),
            ("u3", "d", 45, "view"),  # not a positive: nothing to score
        ]
    )
    split = forward_split(events)
    last_day = pd.Timestamp("2011-04-20", tz="UTC")  # day 50
    assert split.cut == last_day + pd.Timedelta(days=1) - pd.Timedelta(days=28)
    assert list(split.is_train(events)) == [True, True, False, False, False, False, True, False]
    truth = build_truth(events, split, events["event_type"] == "purchase")
    assert truth.relevant[ALL_POSITIVES]["u1"] == {"a", "b", "c"}
    assert truth.relevant[DISCOVERY]["u1"] == {"c"}
    assert truth.users(ALL_POSITIVES, "returning") == ["u1"]
    assert truth.users(DISCOVERY, "all") == ["u1", "u2"]
    assert "u3" not in truth.relevant[ALL_POSITIVES]
    inner = validation_split(split, events[split.is_train(events)])
    assert inner.cut == split.cut - pd.Timedelta(days=28)


def test_leave_last_out_holds_each_users_last_events_and_ties_with_them() -> None:
    rows = [("u1", f"p{i}", float(i), "purchase") for i in range(14)]
    rows += [("u2", f"p{i}", float(i), "purchase") for i in range(10)]  # not more than 10: kept whole
    rows += [("u3", f"p{i}", float(min(i, 5)), "purchase") for i in range(12)]  # days 0..5, then 5 x7
    events = _events(rows)
    split = leave_last_out_split(events, n=10)
    train = split.is_train(events)
    assert int((~train[events["user_id"] == "u1"]).sum()) == 10
    assert bool(train[events["user_id"] == "u2"].all())
    # u3's 10th last event is at day 2 (events 2..11); nothing of u3 at or after day 2 trains
    u3 = events[events["user_id"] == "u3"]
    assert list(u3.loc[train[u3.index], "product_id"]) == ["p0", "p1"]
    assert split.cut is None
    assert split.as_of == DAY0 + pd.Timedelta(days=9, seconds=1)  # just after u2's last event


def _shop() -> pd.DataFrame:
    """Two tastes: {a, b, c} bought together, {x, y} bought together; x is the month's hit."""
    rows = []
    for u in range(6):
        rows += [(f"t{u}", "a", 1.0 + u, "purchase"), (f"t{u}", "b", 1.0 + u, "purchase")]
        if u < 5:
            rows.append((f"t{u}", "c", 2.0 + u, "purchase"))
    for u in range(8):
        rows += [(f"s{u}", "x", 50.0 + u, "purchase"), (f"s{u}", "y", 20.0, "purchase")]
    rows += [("r", "a", 1, "purchase"), ("r", "a", 3, "purchase"), ("r", "x", 30, "purchase")]
    return _events(rows)


def test_buy_again_ranks_own_items_by_count_then_recency_then_pads_with_recent_popularity() -> None:
    events = _shop()
    data = build_interactions(events, as_of=DAY0 + pd.Timedelta(days=60))
    lists = recommend(BuyAgain(data), data, ["r", "t0", "new"], 4)
    assert lists["r"][:2] == ["a", "x"]  # a twice, x once
    assert lists["t0"][:3] == ["c", "a", "b"]  # once each: c the latest; a and b bought together
    # the padding: popularity of the last 30 days (x only), then all time (a and y 8, then b 6)
    assert lists["new"] == ["x", "a", "y", "b"]
    others = recommend(BuyAgain(data), data, ["r"], 3, exclude={"r": frozenset({"a", "x"})})
    assert others["r"] == ["y", "b", "c"]


def test_buy_again_breaks_a_basket_tie_by_recent_popularity_not_by_product_id() -> None:
    basket = _events([("q", "b", 40.0, "purchase"), ("q", "x", 40.0, "purchase")])
    events = pd.concat([_shop(), basket], ignore_index=True)
    data = build_interactions(events, as_of=DAY0 + pd.Timedelta(days=60))
    # b and x once each, in one basket: x is bought in the last 30 days, b is not
    assert recommend(BuyAgain(data), data, ["q"], 2)["q"] == ["x", "b"]


def test_popularity_windows_count_only_their_days() -> None:
    events = _shop()
    as_of = DAY0 + pd.Timedelta(days=22)
    data = build_interactions(events[events["ts"] < as_of], as_of=as_of)
    assert recommend(Popularity(data), data, ["r"], 3)["r"] == ["a", "y", "b"]  # 8, 8 and 6 positives
    # the last 7 days hold y only (day 20); the rest is the padding (the last 30 days: all here)
    assert recommend(Popularity(data, 7), data, ["r"], 3)["r"] == ["y", "a", "b"]


@pytest.mark.parametrize("make", [lambda d: ItemKNN(d), lambda d: EASE(d, lam=1.0)], ids=["knn", "ease"])
def test_co_purchase_models_recommend_what_is_bought_together(make) -> None:  # type: ignore[no-untyped-def]
    data = build_interactions(_shop(), as_of=DAY0 + pd.Timedelta(days=60))
    model = make(data)
    seen = {"t5": frozenset({"a", "b"}), "s0": frozenset({"x"})}
    lists = recommend(model, data, ["t5", "s0"], 1, exclude=seen)
    assert lists == {"t5": ["c"], "s0": ["y"]}


def test_bars_compare_served_with_the_best_baseline_or_recent_popularity() -> None:
    def models(served: float) -> dict[str, object]:
        values = {"popularity": 0.1, "popularity_7d": 0.1, "popularity_30d": 0.12, "buy_again": 0.1}
        values |= {"item_knn": 0.2, "ease": 0.25, "als": 0.2, "served": served}
        return {
            m: {
                view: {p: {"ndcg@10": v} for p in ("returning", "all")} for view in (DISCOVERY, ALL_POSITIVES)
            }
            for m, v in values.items()
        }

    shop = bars("online-retail", {"forward": {"models": models(0.27)}})
    assert [b["passed"] for b in shop] == [False, False]  # 0.27 < 1.1 x 0.25
    assert shop[0]["target"] == pytest.approx(0.275)
    assert "ease" in shop[0]["bar"]
    assert all(b["passed"] for b in bars("online-retail", {"forward": {"models": models(0.28)}}))
    cold = bars("olist", {"forward": {"models": models(0.12)}})
    assert all(b["passed"] and b["population"] == "all" for b in cold)
    nothing = {
        m: {v: {p: {"ndcg@10": 0.0} for p in ("returning", "all")} for v in (DISCOVERY, ALL_POSITIVES)}
        for m in models(0.0)
    }
    assert [b["passed"] for b in bars("online-retail", {"forward": {"models": nothing}})] == [None, None]
    unserved = {k: v for k, v in models(0.1).items() if k != "served"}
    assert bars("olist", {"forward": {"models": unserved}}) == []
    assert np.isclose(cold[0]["ratio_to_reference"], 1.0)


def test_the_report_shows_the_served_coverage_the_pipelines_own_numbers_and_the_bars() -> None:
    metrics = {"ndcg@10": 0.1, "recall@20": 0.2, "hr@10": 0.3, "users": 5}
    views = {view: {"returning": metrics, "all": metrics} for view in (DISCOVERY, ALL_POSITIVES)}
    models = dict.fromkeys(("popularity", "popularity_7d", "popularity_30d", "buy_again"), views)
    models |= dict.fromkeys(("item_knn", "ease", "als", "served"), views)
    split = {
        "description": "train before 2011-08-04 (UTC)",
        "train_events": 10,
        "train_positives": 10,
        "train_users": 3,
        "train_items": 4,
        "test_positives": 6,
        "test_users": {f"{v}/{p}": 5 for v in (DISCOVERY, ALL_POSITIVES) for p in ("returning", "all")},
        "ease": {
            "lambda": {DISCOVERY: 300.0, ALL_POSITIVES: 100.0},
            "validation_ndcg@10": {},
            "validation": "x",
        },
        "models": models,
        "served": {
            "coverage": {
                "returning": {"users": 4, "personal": 1, "share": 0.25},
                "all": {"users": 5, "personal": 1, "share": 0.2},
            },
            "fallback_reasons": {"unknown_user": 4},
            "timings_s": {"train_s": 200.0},
            "train_home_rows": {"events": 10},
            "command": "vitrina train all",
            "pipeline_ndcg@10": {"full": 0.09, "popularity": 0.07},
            "policy": {
                "name": "single:ease",
                "discover": "single:ease",
                "sources": {"ease": {"lambda_scale": 0.5, "recency_decay": None}, "discover": {}},
            },
        },
    }
    entry = {
        "command": "python benchmarks/realdata_recs.py --dataset online-retail",
        "measured": "2026-12-05T11:00:00+00:00",
        "seconds": 300.0,
        "machine": {"cpu": "cpu", "vector_extensions": [], "cores": 2, "python": "3.11", "load_1m": 1.0},
        "example": "examples/online-retail",
        "events": 16,
        "positives": 16,
        "users": 4,
        "items": 5,
        "first_event": "2011-01-01",
        "last_event": "2011-08-31",
        "splits": {"forward": split},
        "bars": bars("online-retail", {"forward": split}),
    }
    row = {"users": 3.0, **dict.fromkeys(models, 0.1), "served": 0.05, "ease": 0.2}
    split["by_served_list"] = {"personal": {DISCOVERY: row, ALL_POSITIVES: row}}
    page = render({"online-retail": entry})
    stored = json.loads(json.dumps(_finite(entry)))  # NaN is stored as null
    stored["bars"][0]["ratio_to_reference"] = None
    assert "served / reference = –" in render({"online-retail": stored})
    assert "personal lists for 1 of 4 returning users (25%)" in page
    assert "unknown_user 4" in page
    assert "full 0.0900" in page
    assert "chose to serve **single:ease** (discover list: single:ease)" in page
    assert "says which): ease: lambda_scale 0.5." in page  # a source without settings: left out
    assert "EASE (λ 300 / 100)" in page
    assert "a personal list: discovery (3 users): served 0.0500, best baseline ease 0.2000" in page
    assert page.count("**miss**") == 2  # served equals the best baseline: below 1.1 x


def test_served_users_are_scored_apart_by_personal_list_and_fallback() -> None:
    events = _events(
        [
            ("u1", "a", 0, "purchase"),
            ("u1", "b", 40, "purchase"),
            ("u2", "a", 1, "purchase"),
            ("u2", "c", 41, "purchase"),
        ]
    )
    truth = build_truth(events, forward_split(events), events["event_type"] == "purchase")
    served = {"fallback": {"u1": None, "u2": "unknown_user"}}
    lists = {
        view: {"served": {"u1": ["b"], "u2": ["b"]}, "popularity_30d": {"u1": ["c"], "u2": ["c"]}}
        for view in (DISCOVERY, ALL_POSITIVES)
    }
    split = _by_served_list(served, truth, lists)
    assert split["personal"][DISCOVERY] == {"users": 1.0, "served": 1.0, "popularity_30d": 0.0}
    assert split["fallback"][ALL_POSITIVES] == {"users": 1.0, "served": 0.0, "popularity_30d": 1.0}


def test_a_split_is_scored_with_served_lists_coverage_and_intervals() -> None:
    events = _shop()
    events = pd.concat([events, _events([("t0", "c", 58, "purchase"), ("new", "a", 59, "purchase")])])
    split = forward_split(events, days=14)  # days 46..59: the x buyers, t0's c and a newcomer
    served = {
        "lists": {u: ["y", "x", "a"] for u in ("t0", "new", *(f"s{i}" for i in range(8)))},
        "fallback": {u: None if u.startswith("s") else "unknown_user" for u in ("t0", "new", "s0")},
        "model_versions": {"recs-1": 10},
        "timings_s": {},
        "rows": {},
        "command": "vitrina train all",
        "pipeline_ndcg@10": {},
    }
    served["fallback"] |= {f"s{i}": None for i in range(8)}
    result, lists = evaluate_split(events, split, served, seed=42)
    assert result["test_users"]["all_positives/returning"] == 9  # t0 and s0..s7
    assert result["served"]["coverage"]["returning"] == {"users": 9, "personal": 8, "share": 8 / 9}
    assert result["served"]["fallback_reasons"] == {"unknown_user": 2}
    # discovery drops what each user had before: the x buyers had y, so their served list is [x, a]
    assert lists[DISCOVERY]["served"]["s0"] == ["x", "a"]
    served_scores = result["models"]["served"]
    assert served_scores[DISCOVERY]["returning"]["ndcg@10"] == 1.0  # t0 has nothing new: not scored
    expected = 8 * (1 / math.log2(3)) / 9  # x second for s0..s7, t0's c missing
    assert served_scores[ALL_POSITIVES]["returning"]["ndcg@10"] == pytest.approx(expected)
    mean, low, high = result["served_minus"][ALL_POSITIVES]["returning"]["buy_again"]
    assert low <= mean <= high
    assert result["by_served_list"]["personal"][DISCOVERY]["users"] == 8.0


def test_the_paired_interval_brackets_the_mean_difference() -> None:
    a, b = np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 1.0, 0.0])
    mean, low, high = paired_difference(a, b)
    assert mean == 0.5
    assert 0.0 <= low <= mean <= high <= 1.0
    assert all(math.isnan(v) for v in paired_difference(np.array([]), np.array([])))


def test_the_served_policy_is_read_from_the_newest_model(tmp_path: Path) -> None:
    assert served_policy(tmp_path) == {}  # no model trained
    for run, name in (("20261207T090000", "single:popularity_recent"), ("20261207T100000", "single:ease")):
        folder = tmp_path / "lake" / "models" / "recs" / run
        folder.mkdir(parents=True)
        sources = {"ease": {"lambda_scale": 2.0}}
        policy = {"name": name, "discover": {"name": "single:item_knn"}, "sources": sources}
        (folder / "policy.json").write_text(json.dumps(policy))
    assert served_policy(tmp_path) == {
        "name": "single:ease",
        "discover": "single:item_knn",
        "sources": {"ease": {"lambda_scale": 2.0}},
    }
