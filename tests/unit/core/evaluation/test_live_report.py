"""The live shop's report is assembled from what the scheduler counted, deterministically."""

from __future__ import annotations

import json

import pytest

from vitrina.core.evaluation.live_report import (
    DayRecord,
    DayTraffic,
    ModelChange,
    assemble,
    first_days,
    new_product_rows,
    render_markdown,
)
from vitrina.core.evaluation.live_report import (
    recovery as recovery_of,
)

pytestmark = pytest.mark.unit


def _day(day: int, clicked: int, utility: float, drifted: bool = False) -> DayRecord:
    traffic = DayTraffic(
        sessions=100, clicked_sessions=clicked, converted_sessions=clicked // 4, revenue=50.0 * clicked,
        recs_requests=60, search_requests=40, utility_sum=utility * 600, utility_n=600,
    )  # fmt: skip
    return DayRecord(day=day, date=f"2026-11-{day + 1:02d}", traffic=traffic, drifted=drifted)


def _report() -> dict:
    days = [_day(0, 40, 1.0), _day(1, 40, 1.2), _day(2, 20, 0.5, True), _day(3, 42, 1.1, True)]
    rows = new_product_rows(
        {"p9": 0, "p8": 1, "p7": 3},
        recommended={"p9": {1, 2}, "p8": {3}},
        found={"p9": {0}, "p7": {3}},
        reachable_recs={"p9": {1}, "p8": {2}},
        reachable_search={"p9": {1}, "p8": {3}, "p7": {2}},
    )
    return assemble(
        run_id="r1",
        config={"days": 4},
        days=days,
        failed_steps=[],
        promotions=[ModelChange("vitrina-recs", "v5", 3, "canary: promote")],
        rollbacks=[ModelChange("vitrina-recs", "v4", 1, "canary: rollback (ctr)")],
        new_products=rows,
        drift_day=2,
    )


def test_first_days_ignore_sightings_before_arrival_and_say_none_when_never_seen() -> None:
    assert first_days({"a": 2, "b": 0}, {"a": [1, 3, 4]}) == {"a": 3, "b": None}


def test_report_fields_rates_and_new_product_lags() -> None:
    report = _report()
    assert report["days"] == 4
    assert report["failed_steps"] == []
    assert report["promotions"] == [
        {"model": "vitrina-recs", "version": "v5", "day": 3, "reason": "canary: promote"}
    ]
    assert report["rollbacks"][0]["version"] == "v4"
    assert [
        (p["product_id"], p["day_added"], p["first_day_recommended"], p["first_day_found"])
        for p in report["new_products"]
    ] == [("p9", 0, 1, 0), ("p8", 1, 3, None), ("p7", 3, None, 3)]
    summary = report["new_products_summary"]["recommended"]
    assert (summary["reached"], summary["within_one_day"], summary["max_lag_days"]) == (2, 1, 2)
    assert summary["arrived_on_the_last_day"] == 1  # p7, day 3 of days 0-3: no later traffic
    day2 = report["per_day"][2]
    assert (day2["ctr"], day2["conversion"], day2["revenue_per_session"]) == (0.2, 0.05, 10.0)
    assert day2["truth_utility"] == 0.5


def test_recovery_compares_the_days_before_the_drift_with_the_last_ones() -> None:
    recovery = _report()["recovery"]
    assert recovery["before_days"] == [0, 1]
    assert recovery["after_days"] == [2, 3]
    assert abs(recovery["ctr"]["before"] - 0.4) < 1e-12
    assert abs(recovery["ctr"]["ratio"] - 0.31 / 0.4) < 1e-12
    assert abs(recovery["truth_utility"]["ratio"] - 0.8 / 1.1) < 1e-12


def test_report_is_deterministic_json_and_renders() -> None:
    assert json.dumps(_report(), sort_keys=True) == json.dumps(_report(), sort_keys=True)
    markdown = render_markdown(_report())
    assert "| rollback | vitrina-recs | v4 | 1 |" in markdown
    assert "| 2 * | 2026-11-03 | 100 | 0.2000 |" in markdown
    assert "new products recommended by the day's traffic: 2 of 3 (1 within one day" in markdown
    assert "1 arrived on the last day" in markdown
    assert "reachable within one cycle of arrival (probed after each cycle): recs 2/3, search 1/3" in markdown


def test_reachability_is_the_first_probe_on_or_after_arrival_and_one_cycle_is_a_lag_of_one() -> None:
    report = _report()
    reach = {
        p["product_id"]: (p["first_day_reachable_recs"], p["first_day_reachable_search"])
        for p in report["new_products"]
    }
    # p7 arrived on day 3: a probe of day 2 (before its arrival) does not count
    assert reach == {"p9": (1, 1), "p8": (2, 3), "p7": (None, None)}
    summary = report["new_products_summary"]
    assert (summary["reachable_recs"]["reached"], summary["reachable_recs"]["within_one_day"]) == (2, 2)
    assert (summary["reachable_search"]["reached"], summary["reachable_search"]["within_one_day"]) == (2, 1)
    assert summary["reachable_search"]["max_lag_days"] == 2


def test_rows_without_probes_say_none_for_reachability() -> None:
    rows = new_product_rows({"a": 0}, recommended={"a": {1}}, found={})
    assert rows == [
        {
            "product_id": "a",
            "day_added": 0,
            "first_day_recommended": 1,
            "first_day_found": None,
            "first_day_reachable_recs": None,
            "first_day_reachable_search": None,
            "servable": True,
        }
    ]


def test_a_day_without_sessions_has_zero_rates_and_no_utility() -> None:
    empty = DayTraffic()
    assert (empty.ctr, empty.conversion, empty.revenue_per_session, empty.truth_utility) == (
        0.0,
        0.0,
        0.0,
        None,
    )


def test_the_attained_utility_is_the_recovery_bar_a_scenario_cannot_raise_alone() -> None:
    before = DayTraffic(sessions=10, utility_sum=8.0, utility_n=8, best_utility_sum=10.0)
    # the scenario lifts every utility by half: served and best alike, the share stays
    lifted = DayTraffic(sessions=10, utility_sum=12.0, utility_n=8, best_utility_sum=15.0)
    stale = DayTraffic(sessions=10, utility_sum=9.0, utility_n=8, best_utility_sum=15.0)
    assert before.attained_utility == pytest.approx(0.8)
    assert lifted.attained_utility == pytest.approx(0.8)
    assert stale.truth_utility is not None
    assert before.truth_utility is not None
    assert stale.truth_utility > before.truth_utility  # the mean rose ...
    assert stale.attained_utility == pytest.approx(0.6)  # ... but the models fell behind
    assert DayTraffic().attained_utility is None
    days = [
        {"day": 0, "ctr": 0.5, "truth_utility": 1.0, "attained_utility": 0.8},
        {"day": 1, "ctr": 0.6, "truth_utility": 1.2, "attained_utility": 0.6},
    ]
    recovery = recovery_of(days, 1)
    assert recovery["attained_utility"]["ratio"] == pytest.approx(0.75)


def test_reachability_counts_only_the_servable_new_products() -> None:
    rows = new_product_rows(
        {"a": 0, "b": 0, "r": 0},
        recommended={},
        found={},
        reachable_recs={"a": {1}},
        reachable_search={"a": {1}, "b": {1}},
        unservable={"r"},
    )
    assert [row["servable"] for row in rows] == [True, True, False]
    report = assemble(
        run_id="r2",
        config={},
        days=[_day(0, 40, 1.0), _day(1, 40, 1.0)],
        failed_steps=[],
        promotions=[],
        rollbacks=[],
        new_products=rows,
        drift_day=None,
    )
    summary = report["new_products_summary"]
    assert (summary["reachable_recs"]["products"], summary["reachable_recs"]["within_one_day"]) == (2, 1)
    assert summary["reachable_search"]["within_one_day"] == 2
    assert summary["not_servable"] == 1
    assert summary["recommended"]["products"] == 3  # the traffic's count keeps every arrival
    assert "recs 1/2, search 2/2" in render_markdown(report)
    assert "not counted: 1 reported" in render_markdown(report)


def test_the_search_interleavings_verdicts_and_withdrawals_are_listed_with_their_day() -> None:
    look = {"look": 2, "users": 90, "wins_b": 20, "wins_a": 40, "ties": 30, "p_value": 0.012,
            "always_valid_p": 0.031, "action": "withdraw", "reason": "users prefer v1"}  # fmt: skip
    report = {
        **_report(),
        **assemble(
            run_id="r1",
            config={"days": 4},
            days=[_day(0, 40, 1.0)],
            failed_steps=[],
            promotions=[],
            rollbacks=[],
            new_products=[],
            drift_day=None,
            withdrawals=[ModelChange("vitrina-search", "v2", 3, "interleaving: withdraw")],
            interleavings=[{"day": 3, "challenger": "v2", "champion": "v1", **look}],
        ),
    }
    assert report["interleavings"][0]["action"] == "withdraw"
    markdown = render_markdown(report)
    assert "| withdrawal | vitrina-search | v2 | 3 | interleaving: withdraw |" in markdown
    assert "| 3 | v2 | v1 | 2 | 90 | 20 | 40 | 30 | 0.012 | 0.031 | withdraw |" in markdown
    assert "## Search interleaving" not in render_markdown(_report())
