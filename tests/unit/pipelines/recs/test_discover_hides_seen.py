"""On a shop whose looks never turn into choices (a ratings log, docs/adr/0046) the discover list
and the discovery view the choice reads both leave out every item the user had an event on: a
film the user already rated low takes no slot of their list, and the choice is scored on what
the list will serve."""

from __future__ import annotations

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.discover import NewToUser
from vitrina.core.recs.policy import FILL, Policy, PolicyModel
from vitrina.core.recs.seen_items import seen_rule
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs.evaluation import build_evaluation_set, heldout_ndcg, history_before, rank_users
from vitrina.pipelines.recs.selection import choose_lists, fitted_sources

pytestmark = pytest.mark.unit


def ratings_log() -> list[Event]:
    """One event per (user, film). u4..u9 rate p0 high (the most liked film), u4..u7 p1 too;
    u0..u3 rated p0 low (a view) and each rate p1 high in the validation window: with p0 in
    their list, p1 comes second."""
    events: list[Event] = []
    for user in range(4, 10):
        events.append((f"u{user}", "p0", "purchase", 1.0 + user / 10))
    for user in range(4, 8):
        events.append((f"u{user}", "p1", "purchase", 2.0 + user / 10))
    for user in range(4):
        events += [(f"u{user}", "p0", "view", 3.0), (f"u{user}", f"p{2 + user}", "purchase", 4.0)]
        events.append((f"u{user}", "p1", "purchase", 10.5))
    return events


def test_the_shop_is_read_as_one_whose_looks_never_turn_into_choices() -> None:
    data = handmade(ratings_log(), n_items=6, n_users=10)
    assert seen_rule(history_before(data, "test")).hide_seen


def test_the_discovery_view_hides_what_was_rated_and_keeps_all_positives_as_they_were() -> None:
    data = handmade(ratings_log(), n_items=6, n_users=10)
    parts = fitted_sources(data, history_before(data, "valid"))
    popular = PolicyModel(Policy("single", (FILL,)), parts, parts[FILL])
    narrow = build_evaluation_set(data, part="valid")
    wide = build_evaluation_set(data, part="valid", hide_seen=True)
    assert list(data.users.ids[wide.users]) == ["u0", "u1", "u2", "u3"]
    ranked = rank_users(popular, wide)
    assert set(data.items.ids[ranked[:, 0]]) == {"p1"}  # p0, rated low, takes no slot
    assert heldout_ndcg(ranked, wide) == pytest.approx(1.0)
    assert heldout_ndcg(rank_users(popular, narrow), narrow) == pytest.approx(1 / np.log2(3))
    repeats = build_evaluation_set(data, part="valid", repeats=True, hide_seen=True)
    assert repeats.bought.keys.size == 0  # all positives removes nothing, whatever the shop


def test_the_choice_is_scored_on_the_list_it_will_serve() -> None:
    data = handmade(ratings_log(), n_items=6, n_users=10)
    parts = fitted_sources(data, history_before(data, "valid"))
    del parts["als"]  # its factors memorise a 10-user shop outright
    narrow, _ = choose_lists(data, parts)
    wide, _ = choose_lists(data, parts, hide_seen=True)
    assert wide.table[FILL][DISCOVERY] == pytest.approx(1.0)
    assert narrow.table[FILL][DISCOVERY] == pytest.approx(1 / np.log2(3))
    assert wide.table[FILL][ALL_POSITIVES] == narrow.table[FILL][ALL_POSITIVES]


def test_the_discover_list_leaves_out_what_the_user_rated_only_when_told() -> None:
    data = handmade(ratings_log(), n_items=6, n_users=10)
    history = history_before(data, "test")
    parts = fitted_sources(data, history)
    popular = PolicyModel(Policy("single", (FILL,)), parts, parts[FILL])
    users = data.users.index(np.array(["u0", "u1"]))
    hidden = UserItems.hidden(history, len(data.items), hide_seen=True)
    items, _, _ = NewToUser(popular, hidden).recommend_with_reasons(users, 3, ~data.servable)
    assert "p0" not in set(data.items.ids[items.ravel()])
    assert not hidden.contains(users, items).any()
    bought = UserItems.hidden(history, len(data.items), hide_seen=False)
    np.testing.assert_array_equal(bought.keys, UserItems.purchases(history, len(data.items)).keys)
    items, _, _ = NewToUser(popular, bought).recommend_with_reasons(users, 3, ~data.servable)
    assert (data.items.ids[items[:, 0]] == "p0").all()  # the narrow filter keeps the rated film


def test_the_rule_is_a_setting_of_the_run_and_recorded() -> None:
    data = handmade(ratings_log(), n_items=6, n_users=10)
    parts = fitted_sources(data, history_before(data, "valid"))
    del parts["als"]
    selection, _ = choose_lists(data, parts, hide_seen=True)
    selection.seen = seen_rule(history_before(data, "test"))
    assert selection.settings() == {"discover": {"hide_seen": True}}
    assert selection.record()["selection.discover_hides_seen"] == "true"
    assert selection.record()["selection.discover_comeback_share"] == "0.0000"
    assert selection.params()["selection.discover_hides_seen"] == "true"
    assert selection.seen.note() in selection.note()
