"""Choosing the served policy on validation: the best on all positives, discovery between ties,
the full model only when it beats the best other contender on users its ranker never saw."""

from __future__ import annotations

import math

import pytest

from vitrina.core.recs.policy import Policy
from vitrina.core.recs.selection import (
    ALL_POSITIVES,
    DISCOVERY,
    MIN_PAIRED_USERS,
    TIE,
    challenge,
    choose,
    choose_discover,
    contenders,
    discover_default,
    full_or,
    pooled_table,
)

pytestmark = pytest.mark.unit


def row(all_positives: float, discovery: float) -> dict[str, float]:
    return {ALL_POSITIVES: all_positives, DISCOVERY: discovery}


def test_the_best_on_all_positives_wins_even_when_it_finds_nothing_new() -> None:
    table = {
        "popularity_recent": row(0.10, 0.05),
        "ease": row(0.27, 0.10),
        "buy_again > popularity_recent": row(0.32, 0.04),
    }
    assert choose(table) == "buy_again > popularity_recent"
    assert choose(table, DISCOVERY) == "ease"


def test_within_a_tie_the_list_that_also_finds_new_items_wins() -> None:
    table = {"buy_again": row(0.300, 0.00), "buy_again > ease": row(0.300 - TIE / 2, 0.08)}
    assert choose(table) == "buy_again > ease"
    table["buy_again"] = row(0.300 + 2 * TIE, 0.00)  # past the tie: all positives decide
    assert choose(table) == "buy_again"


def test_an_exact_tie_keeps_the_simpler_policy_listed_first() -> None:
    table = {"popularity_recent": row(0.2, 0.1), "ease*0.50 + popularity_recent*0.50": row(0.2, 0.1)}
    assert choose(table) == "popularity_recent"


def test_unmeasured_contenders_are_skipped_and_nothing_measured_is_an_error() -> None:
    table = {"als": row(math.nan, 0.3), "popularity_recent": row(0.1, 0.05)}
    assert choose(table) == "popularity_recent"
    with pytest.raises(ValueError, match="nothing to choose"):
        choose({"als": row(math.nan, 0.3)})
    with pytest.raises(ValueError, match="view"):
        choose(table, "revenue")


def test_the_full_model_must_beat_the_best_other_on_the_same_users() -> None:
    paired = {"ease": row(0.20, 0.10), "full": row(0.25, 0.12)}
    assert full_or("ease", paired) == "full"
    paired["full"] = row(0.15, 0.20)
    assert full_or("ease", paired) == "ease"
    assert full_or("ease", {"ease": row(0.2, 0.1)}) == "ease"  # no ranker: nothing to pair
    paired["full"] = row(0.40, 0.30)
    assert full_or("ease", paired, users=MIN_PAIRED_USERS) == "full"
    assert full_or("ease", paired, users=MIN_PAIRED_USERS - 1) == "ease"  # a handful of users is noise


def test_contenders_blend_what_is_available_and_end_sequences_with_recent_popularity() -> None:
    names = [p.name for p in contenders(["popularity_recent", "buy_again", "ease", "als"])]
    assert names[:4] == ["popularity_recent", "buy_again", "ease", "als"]
    assert "buy_again > popularity_recent" in names
    assert "buy_again > ease > popularity_recent" in names
    assert "buy_again > als > popularity_recent" in names
    assert "ease*0.75 + popularity_recent*0.25" in names
    assert not any("item_knn" in n or "two_tower" in n for n in names)
    # without a filler no sequence or blend can be built
    assert [p.kind for p in contenders(["ease", "buy_again"])] == ["single", "single"]


def test_a_policy_round_trips_through_its_record() -> None:
    for policy in contenders(["popularity_recent", "buy_again", "item_knn", "full"]):
        assert Policy.from_dict(policy.to_dict()) == policy
    with pytest.raises(ValueError, match="weight"):
        Policy("score", ("ease", "popularity_recent"))


def test_a_version_without_a_recorded_discover_list_serves_its_policy_without_buy_again() -> None:
    assert discover_default(Policy("sequence", ("buy_again", "ease", "popularity_recent"))) == Policy(
        "sequence", ("ease", "popularity_recent")
    )
    assert discover_default(Policy("sequence", ("buy_again", "popularity_recent"))) == Policy(
        "single", ("popularity_recent",)
    )
    assert discover_default(Policy("single", ("buy_again",))) == Policy("single", ("popularity_recent",))
    blend = Policy("score", ("ease", "popularity_recent"), 0.5)
    assert discover_default(blend) == blend
    assert discover_default(Policy("single", ("full",))) == Policy("single", ("full",))


def test_the_discover_choice_breaks_ties_by_simplicity_not_by_repeats() -> None:
    # within a tie on discovery, repeats say nothing about a list that never shows a purchase
    table = {"ease": row(0.10, 0.0865), "full": row(0.22, 0.0911)}
    assert choose(table, DISCOVERY) == "full"  # the served list's rule: the other view decides
    assert choose_discover(table) == "ease"
    assert full_or("ease", table, DISCOVERY, users=50, by_other=False) == "ease"
    table["full"] = row(0.22, 0.0865 + 2 * TIE)  # past the tie: discovery decides
    assert choose_discover(table) == "full"
    assert full_or("ease", table, DISCOVERY, users=50, by_other=False) == "full"


def test_pooled_table_weighs_each_window_by_its_users_per_view() -> None:
    latest = ({ALL_POSITIVES: 300, DISCOVERY: 100}, {"a": {ALL_POSITIVES: 0.4, DISCOVERY: 0.1}})
    earlier = ({ALL_POSITIVES: 100, DISCOVERY: 300}, {"a": {ALL_POSITIVES: 0.0, DISCOVERY: 0.5}})
    table = pooled_table([latest, earlier])
    assert table["a"][ALL_POSITIVES] == pytest.approx(0.3)
    assert table["a"][DISCOVERY] == pytest.approx(0.4)


def test_pooled_table_leaves_out_empty_windows_and_nan_and_keeps_the_first_order() -> None:
    first = ({ALL_POSITIVES: 10, DISCOVERY: 0}, {"b": {ALL_POSITIVES: 0.2, DISCOVERY: 0.9}, "a": {}})
    second = ({ALL_POSITIVES: 10, DISCOVERY: 10}, {"a": {ALL_POSITIVES: math.nan, DISCOVERY: 0.3}})
    table = pooled_table([first, second])
    assert list(table) == ["b", "a"]
    assert table["b"] == {ALL_POSITIVES: 0.2, DISCOVERY: pytest.approx(math.nan, nan_ok=True)}
    assert math.isnan(table["a"][ALL_POSITIVES])
    assert table["a"][DISCOVERY] == pytest.approx(0.3)


def test_a_rival_replaces_the_incumbent_only_beyond_the_tie() -> None:
    table = {
        "pooled": {ALL_POSITIVES: 0.30, DISCOVERY: 0.10},
        "close": {ALL_POSITIVES: 0.30 + TIE / 2, DISCOVERY: 0.05},
        "better": {ALL_POSITIVES: 0.30 + 2 * TIE, DISCOVERY: 0.05},
        "tie_better_other": {ALL_POSITIVES: 0.30, DISCOVERY: 0.20},
        "unmeasured": {ALL_POSITIVES: math.nan, DISCOVERY: math.nan},
    }
    assert challenge("pooled", "close", table) == "pooled"
    assert challenge("pooled", "better", table) == "better"
    assert challenge("pooled", "tie_better_other", table) == "tie_better_other"  # the other view decides
    assert challenge("pooled", "tie_better_other", table, by_other=False) == "pooled"
    assert challenge("pooled", "unmeasured", table) == "pooled"
    assert challenge("pooled", "missing", table) == "pooled"
