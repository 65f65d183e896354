"""The new search version against the served one on the same held-out live searches."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vitrina.core.evaluation.live_champion import compare, held_out_searches, score
from vitrina.core.promotion.gate import GateCheck, GateInput, GateThresholds, decide
from vitrina.pipelines.search.live_champion import live_gate_check

pytestmark = pytest.mark.unit

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


FILLERS = [f"filler{j}" for j in range(5)]


def _logs(n: int, clicked_at: int = 1) -> pd.DataFrame:
    """``n`` searches for product ``p{i}``, shown at 1-based position ``clicked_at`` among
    fillers and clicked; every third also bought; one more search nobody clicked."""
    rows = [
        {
            "search_id": f"s{i:03d}",
            "user_id": f"u{i % 5}",
            "query": f"query {i}",
            "ts": START + dt.timedelta(minutes=i),
            "results_shown": [*FILLERS[: clicked_at - 1], f"p{i}", *FILLERS[clicked_at - 1 :]],
            "results_clicked": [f"p{i}"],
            "results_purchased": [f"p{i}"] if i % 3 == 0 else [],
        }
        for i in range(n)
    ]
    rows.append({**rows[0], "search_id": "unclicked", "results_clicked": [], "results_purchased": []})
    return pd.DataFrame(rows)


def test_only_searches_a_shopper_acted_on_are_held_out_with_purchase_and_click_gains() -> None:
    searches = held_out_searches(_logs(6), max_searches=100, seed=0)
    assert searches.search_ids == [f"s{i:03d}" for i in range(6)]
    assert searches.relevant[0] == ["p0"]
    assert searches.gains[0].tolist() == [2.0]  # bought
    assert searches.gains[1].tolist() == [1.0]  # clicked only
    assert len(held_out_searches(_logs(3).iloc[:0], max_searches=10, seed=0)) == 0
    sampled = held_out_searches(_logs(50), max_searches=10, seed=3)
    assert len(sampled) == 10
    assert sampled.search_ids == sorted(sampled.search_ids)  # kept in time order
    assert sampled.search_ids == held_out_searches(_logs(50), max_searches=10, seed=3).search_ids


def test_scores_are_judged_by_product_id_so_a_product_missing_from_an_index_counts_against_it() -> None:
    searches = held_out_searches(_logs(2), max_searches=100, seed=0)
    first = score(searches, [["p0", "x"], ["y", "p1"]]).values
    assert first["mrr"].tolist() == [1.0, 0.5]
    assert first["ndcg@10"][0] == pytest.approx(1.0)
    assert first["ndcg@10"][1] == pytest.approx(1.0 / np.log2(3))
    # An index without p1 cannot show it: the search still counts, at zero.
    lacking = score(searches, [["p0"], ["y", "z"]]).values
    assert lacking["mrr"].tolist() == [1.0, 0.0]
    assert lacking["ndcg@10"][1] == 0.0
    assert lacking["ips_dcg@10"].tolist() == [2.0, 0.0]  # p0 was bought: gain 2 at rank 1
    with pytest.raises(ValueError, match="rankings for"):
        score(searches, [["p0"]])


def _rankings(n: int, found_at: list[int]) -> list[list[str]]:
    """One list per search, the clicked product at position ``found_at[i]`` (0: first)."""
    return [[*(f"filler{j}" for j in range(at)), f"p{i}"] for i, at in zip(range(n), found_at, strict=True)]


def test_a_version_the_served_one_beats_beyond_noise_fails_the_gate_check() -> None:
    n = 40
    searches = held_out_searches(_logs(n), max_searches=100, seed=0)
    good, bad = _rankings(n, [0] * n), _rankings(n, [i % 4 + 1 for i in range(n)])

    worse = compare(
        searches, champion="v1", champion_rankings=good, challenger="new", challenger_rankings=bad
    )
    assert worse.n_searches == n
    assert worse.champion_scores["ndcg@10"] == pytest.approx(1.0)
    assert worse.challenger_scores["ips_dcg@10"] < worse.champion_scores["ips_dcg@10"]
    assert worse.challenger_scores["mrr"] < worse.champion_scores["mrr"]
    assert worse.p_worse["ndcg@10"] < 0.05
    assert worse.verdict == "worse"
    check = live_gate_check({"live_champion": worse.to_dict()}, enforce=True)
    assert (check.name, check.status) == ("vs_champion_live", "fail")
    assert "v1" in check.detail
    # Not enforced (the default setting): the same numbers and verdict, recorded, not refused.
    reported = live_gate_check({"live_champion": worse.to_dict()}, enforce=False)
    assert reported.status == "skip"
    assert reported.value == check.value
    assert "worse" in reported.detail
    assert "not enforced" in reported.detail

    better = compare(
        searches, champion="v1", champion_rankings=bad, challenger="new", challenger_rankings=good
    )
    assert better.verdict == "better"
    assert better.p_better["ips_dcg@10"] < 0.05
    assert live_gate_check({"live_champion": better.to_dict()}, enforce=True).status == "pass"


def test_a_click_at_a_rarely_examined_position_stands_for_the_unexamined_relevant_products() -> None:
    """Shoppers mostly click the top of the page the served version showed: 30 searches clicked
    at position 1, 10 at position 5 (examined a fifth as often). The new version lifts the
    position-5 products to the top and moves the position-1 ones to second: the clicks favour
    the served version, the inverse-propensity weights tell what the shoppers would have
    clicked had they looked."""
    top, low = _logs(30, clicked_at=1), _logs(40, clicked_at=5).iloc[30:40]
    logs = pd.concat([top.iloc[:30], low], ignore_index=True)
    theta = np.array([1.0, 0.5, 1 / 3, 0.25, 0.2])
    searches = held_out_searches(
        logs, max_searches=100, seed=0, ips_weights=lambda at: 1.0 / theta[np.asarray(at) - 1]
    )
    assert len(searches) == 40
    served = [list(page) for page in searches.shown]
    lifted = [
        [page[4], *page[:4]] if i >= 30 else [page[1], page[0], *page[2:]] for i, page in enumerate(served)
    ]
    result = compare(
        searches, champion="v1", champion_rankings=served, challenger="new", challenger_rankings=lifted
    )
    assert result.challenger_scores["ndcg@10"] < result.champion_scores["ndcg@10"]  # the clicks' bias
    assert result.challenger_scores["ips_dcg@10"] > result.champion_scores["ips_dcg@10"]
    assert result.verdict != "worse"
    assert live_gate_check({"live_champion": result.to_dict()}, enforce=True).status == "pass"


def test_a_difference_within_noise_is_a_tie_and_passes() -> None:
    n = 40
    searches = held_out_searches(_logs(n), max_searches=100, seed=0)
    # The two versions trade places search by search: no mean difference.
    one = _rankings(n, [i % 2 for i in range(n)])
    other = _rankings(n, [(i + 1) % 2 for i in range(n)])
    tied = compare(
        searches, champion="v1", champion_rankings=one, challenger="new", challenger_rankings=other
    )
    assert tied.verdict == "tied"
    assert live_gate_check({"live_champion": tied.to_dict()}, enforce=True).status == "pass"


def test_nothing_compared_is_skipped_with_its_reason_and_a_failed_check_refuses_the_version() -> None:
    skipped = live_gate_check({"live_champion": {"skipped": "no held-out window"}}, enforce=True)
    assert (skipped.status, skipped.detail) == ("skip", "no held-out window")
    assert live_gate_check({}, enforce=True).status == "skip"
    thresholds = GateThresholds(ndcg_floor=0.1)
    failed = GateCheck("vs_champion_live", "fail", 0.001, 0.05, "worse")
    refused = decide(GateInput(0.5, extra_checks=(failed,)), thresholds)
    assert not refused.passed
    assert [c.name for c in refused.failures] == ["vs_champion_live", "behaviour"]
    assert decide(GateInput(0.5, extra_checks=(skipped,)), thresholds).checks[-2] == skipped
