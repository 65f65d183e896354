"""Whether the discover list hides what the user only looked at: read from the shop's own history
(docs/adr/0046) — a ratings log, where a low rating is final, hides it; a marketplace, where
purchases follow views, keeps it; a shop logging purchases only has nothing more to hide."""

from __future__ import annotations

import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.recs.seen_items import MAX_COMEBACK_SHARE, SeenRule, hides_seen, seen_rule

pytestmark = pytest.mark.unit


def rule(events: list[Event], n_items: int = 8, n_users: int = 4) -> SeenRule:
    return seen_rule(handmade(events, n_items=n_items, n_users=n_users).interactions)


def test_a_ratings_log_hides_what_was_looked_at() -> None:
    # one event per (user, film): a purchase is a rating of 4+, a view a lower one
    events: list[Event] = [
        ("u0", "p0", "purchase", 1.0),
        ("u0", "p1", "view", 1.1),
        ("u1", "p1", "purchase", 2.0),
        ("u1", "p2", "view", 2.5),
        ("u2", "p3", "purchase", 3.0),
    ]
    found = rule(events)
    assert (found.chosen, found.after_look, found.looked) == (3, 0, 2)
    assert found.share == 0.0
    assert found.hide_seen
    assert found.settings() == {"discover": {"hide_seen": True}}
    assert found.record() == {
        "selection.discover_hides_seen": "true",
        "selection.discover_comeback_share": "0.0000",
    }
    assert "every item the user had an event on" in found.note()


def test_a_marketplace_where_purchases_follow_views_keeps_them() -> None:
    events: list[Event] = [
        ("u0", "p0", "view", 1.0),
        ("u0", "p0", "purchase", 1.2),  # chosen after a look
        ("u1", "p1", "click", 2.0),
        ("u1", "p1", "purchase", 2.1),  # the click is the look here: the purchase came after it
        ("u2", "p2", "purchase", 3.0),
        ("u2", "p2", "purchase", 5.0),  # buying again after buying is no look
        ("u3", "p3", "view", 4.0),
    ]
    found = rule(events)
    assert (found.chosen, found.after_look, found.looked) == (3, 2, 1)
    assert found.share == pytest.approx(2 / 3)
    assert not found.hide_seen
    assert found.settings() == {"discover": {"hide_seen": False}}
    assert "only what the user bought" in found.note()


def test_a_shop_logging_purchases_only_has_nothing_more_to_hide() -> None:
    found = rule([("u0", "p0", "purchase", 1.0), ("u1", "p1", "purchase", 2.0)])
    assert (found.chosen, found.after_look, found.looked) == (2, 0, 0)
    assert not found.hide_seen
    assert "the shop logs nothing else" in found.note()
    assert not seen_rule(handmade([], n_items=2, n_users=1).interactions).hide_seen


@pytest.mark.parametrize(("after_look", "hidden"), [(1, True), (2, False)])
def test_the_share_bound_is_one_choice_in_a_hundred(after_look: int, hidden: bool) -> None:
    # 100 chosen (user, item) pairs, ``after_look`` of them after a view, and one pair only viewed
    events: list[Event] = []
    for pair in range(100):
        user, item = f"u{pair // 10}", f"p{pair % 10}"
        if pair < after_look:
            events.append((user, item, "view", 1.0))
        events.append((user, item, "purchase", 2.0))
    events.append(("u0", "p10", "view", 3.0))
    found = rule(events, n_items=11, n_users=10)
    assert found.chosen == 100
    assert found.share == pytest.approx(after_look / 100)
    assert MAX_COMEBACK_SHARE == 0.01
    assert found.hide_seen is hidden


def test_recorded_settings_are_read_back_and_older_ones_hide_nothing() -> None:
    assert hides_seen({"discover": {"hide_seen": True}, "ease": {"lambda_scale": 8.0}})
    assert not hides_seen({"discover": {"hide_seen": False}})
    assert not hides_seen({"ease": {"lambda_scale": 8.0}})  # a bundle from before the rule
    assert not hides_seen(None)
