"""The discover list's choice: on a shop of habitual re-buyers the served list is chosen with
buy-again, the discover list on the discovery view among the contenders without it, and what it
serves never holds a product the user bought."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.recs_handmade import Event, handmade

from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.discover import NewToUser
from vitrina.core.recs.paired import RULE
from vitrina.core.recs.policy import FILL, Policy, PolicyModel, make_source
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import AGAIN, ALL_POSITIVES, DISCOVERY, discovery_contenders
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs.evaluation import history_before
from vitrina.pipelines.recs.selection import Selection, choose_lists, fitted_sources, policy_sources

pytestmark = pytest.mark.unit
STAPLE_DAYS = (1.0, 3.0, 5.0, 7.0, 9.0, 10.5)  # train days 0-9, validation days 10-11


def rebuyers_shop() -> list[Event]:
    """u0..u7 each re-buy a staple of their own (p0..p7) every other day, validation included.
    Pairs p8+p9 and p10+p11 are bought together by u0-u2 and u4-u6; u3 and u7 bought only the
    first of a pair and buy its partner in validation: the only new choices. u8..u15 make
    p12 and p13 the best sellers, so popularity alone ranks the partners low."""
    events: list[Event] = []
    for user in range(8):
        events += [(f"u{user}", f"p{user}", "purchase", day) for day in STAPLE_DAYS]
    for users, first, second in ((range(3), "p8", "p9"), (range(4, 7), "p10", "p11")):
        for user in users:
            events += [(f"u{user}", first, "purchase", 2.0), (f"u{user}", second, "purchase", 2.2)]
    events += [("u3", "p8", "purchase", 4.0), ("u3", "p9", "purchase", 10.6)]
    events += [("u7", "p10", "purchase", 4.0), ("u7", "p11", "purchase", 10.6)]
    for user in range(8, 16):
        events += [(f"u{user}", "p12", "purchase", 6.0 + user / 10), (f"u{user}", "p13", "purchase", 6.5)]
    return events


def chosen() -> tuple[Selection, dict[str, Recommender], object]:
    data = handmade(rebuyers_shop(), n_items=14, n_users=16)
    parts = fitted_sources(data, history_before(data, "valid"))
    del parts["als"]  # its 64 factors memorise a 16-user shop outright, as no real shop lets it
    selection, _ = choose_lists(data, parts)
    return selection, parts, data


def test_the_discover_list_is_chosen_on_discovery_without_buy_again() -> None:
    selection, _, _ = chosen()
    table = selection.table
    assert selection.policy.parts[0] in AGAIN  # the served list brings the staples back
    assert selection.discover is not None
    assert not set(selection.discover.parts) & set(AGAIN)
    assert selection.discover.name != selection.policy.name
    found = table[selection.discover.name][DISCOVERY]
    # the best on discovery among the contenders without buy-again, and better than popularity
    names = {name for name in table if not any(again in name for again in AGAIN)}
    assert found == max(table[name][DISCOVERY] for name in names if math.isfinite(table[name][DISCOVERY]))
    assert found > table[FILL][DISCOVERY]
    # and the served list's choice is the best on all positives, where the discover list trails
    assert table[selection.policy.name][ALL_POSITIVES] > table[selection.discover.name][ALL_POSITIVES]


def test_both_choices_are_recorded_with_their_validation_numbers() -> None:
    selection, _, _ = chosen()
    assert selection.discover is not None
    assert selection.record()["selection.discover"] == selection.discover.name
    assert selection.params() == {
        "selection.served": selection.policy.name,
        "selection.discover": selection.discover.name,
    }
    rows = selection.metrics()["validation_chosen"]
    assert rows["discover"]["ndcg@10 discovery"] == selection.table[selection.discover.name][DISCOVERY]
    assert rows["served"]["ndcg@10 all_positives"] == selection.table[selection.policy.name][ALL_POSITIVES]
    assert f"**{selection.discover.name}**" in selection.note()
    # the paired test each choice passed, under the rule that decided it (docs/adr/0029)
    record = selection.record()
    assert record["selection.rule"] == RULE
    for list_, name in (("served", selection.policy.name), ("discover", selection.discover.name)):
        assert name in record[f"selection.{list_}_test"]
        assert "p = " in record[f"selection.{list_}_test"]
        assert record[f"selection.{list_}_test"] in selection.note()
        assert 0.0 <= selection.metrics()["validation_chosen"][list_]["paired test p"] <= 1.0


def test_the_discover_list_never_holds_what_the_user_bought() -> None:
    selection, parts, data = chosen()
    assert selection.discover is not None
    bought = UserItems.purchases(history_before(data, "valid"), len(data.items))  # as the parts saw it
    served = NewToUser(PolicyModel(selection.discover, parts, parts[FILL]), bought)
    users = np.arange(16, dtype=np.int64)
    items, scores, reasons = served.recommend_with_reasons(users, 5, ~data.servable)
    assert items.shape == (16, 5)
    assert not bought.contains(users, items).any()
    assert (items != PAD).all()  # 14 products, at most 3 bought each: every list is full
    assert np.isfinite(scores).all()
    # the co-purchase is found: u3's first new product is p9, u7's p11
    first = dict(zip(data.users.ids[users], data.items.ids[items[:, 0]], strict=True))
    assert (first["u3"], first["u7"]) == ("p9", "p11")
    assert reasons.shape == items.shape


def test_discovery_contenders_leave_out_every_buy_again_part() -> None:
    from vitrina.core.recs.selection import contenders

    everything = contenders(["popularity_recent", "buy_again", "ease", "item_knn"])
    left = discovery_contenders(everything)
    assert [p.name for p in left] == [p.name for p in everything if "buy_again" not in p.parts]
    assert "ease*0.50 + popularity_recent*0.50" in [p.name for p in left]
    assert "item_knn*0.25 + popularity_recent*0.75" in [p.name for p in left]


def test_a_user_who_bought_most_of_the_catalog_still_gets_a_full_list_in_popularity_order() -> None:
    # u0 bought p0..p29 of 40 products; u1..u5 make p30..p39 popular in a known order
    events: list[Event] = [("u0", f"p{i}", "purchase", 1.0 + i / 100) for i in range(30)]
    for rank, item in enumerate(range(39, 29, -1)):  # p39 most bought, p30 least
        events += [(f"u{1 + j}", f"p{item}", "purchase", 8.0) for j in range(5 - rank // 2)]
    data = handmade(events, n_items=40, n_users=6)
    history = history_before(data, "valid")
    parts = fitted_sources(data, history)
    bought = UserItems.purchases(history, len(data.items))
    popular = PolicyModel(Policy("single", (FILL,)), parts, parts[FILL])
    users = data.users.index(np.array(["u0", "u1"]))
    items, _, reasons = NewToUser(popular, bought).recommend_with_reasons(users, 8, ~data.servable)
    assert not bought.contains(users, items).any()
    ranked, _ = popular.recommend(users, 40, ~data.servable)
    for row in range(2):  # the popularity list with the user's purchases taken out, in order
        expected = [
            i
            for i in ranked[row]
            if i != PAD and not bought.contains(users[row : row + 1], np.array([[i]]))[0, 0]
        ]
        assert items[row].tolist() == expected[:8]
    assert set(data.items.ids[items[0]]) <= {f"p{i}" for i in range(30, 40)}
    assert (reasons[items != PAD] == "popular ahora").all()


def test_the_served_and_discover_lists_share_one_fit_of_each_source() -> None:
    data = handmade(rebuyers_shop(), n_items=14, n_users=16)
    served = Policy("sequence", ("buy_again", "ease", FILL))
    discover = Policy("score", ("ease", FILL), 0.5)
    settings = {"ease": {"lambda_scale": 8.0}}
    fitted = policy_sources((served, discover, None), data, data.valid_end_us, settings)
    assert list(fitted) == ["buy_again", "ease", FILL]  # each once, trained parts and None left out
    assert fitted["ease"].lambda_scale == 8.0
    alone = make_source("ease", settings).fit(data, history_before(data, "test"))
    users = np.arange(16)
    np.testing.assert_array_equal(fitted["ease"].recommend(users, 5)[0], alone.recommend(users, 5)[0])
