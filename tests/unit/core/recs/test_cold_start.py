"""Cold start: recent segment/city popularity with back-off, content similarity to what the
user touched, reasons, and only servable items."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.cold_start import REASON_GLOBAL, REASON_SEEN, REASON_SEGMENT, ColdStartRecommender
from vitrina.core.recs.dataset import RecsData, build_recs_data
from vitrina.core.recs.recommender import Recommender

pytestmark = pytest.mark.unit

END = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
# items 0-3 phones, 4-7 TVs, 8-11 milk; 5 is out of stock, 9 reported
CATEGORY = ["Celulares"] * 4 + ["Televisores"] * 4 + ["Leche"] * 4
CATALOG = pd.DataFrame(
    {
        "product_id": [f"p{i:02d}" for i in range(12)],
        "title": [f"{c} {i}" for i, c in enumerate(CATEGORY)],
        "category_l1": ["Electrónica"] * 8 + ["Supermercado"] * 4,
        "category_l2": CATEGORY,
        "stock": [3, 3, 3, 3, 3, 0, 3, 3, 3, 3, 3, 3],
        "is_reported": [False] * 9 + [True] + [False] * 2,
    }
)
# user: (segment, city); u00-u03 crowd of Lima/nuevo, u04-u06 crowd of Quito/vip
USERS = {
    "u00": ("nuevo", "Lima"),
    "u01": ("nuevo", "Lima"),
    "u02": ("nuevo", "Lima"),
    "u03": ("nuevo", "Lima"),
    "u04": ("vip", "Quito"),
    "u05": ("vip", "Quito"),
    "u06": ("vip", "Quito"),
    "new_lima": ("nuevo", "Lima"),  # no events at all
    "new_cusco": ("nuevo", "Cusco"),  # city with no events: back off to segment
    "new_other": ("ocasional", "Bogotá"),  # segment and city without events: global
    "clicker": ("nuevo", "Lima"),  # one click on phone 1
}


def build_data() -> RecsData:
    """Events as (user, product, type, days before END)."""
    rows: list[tuple[str, str, str, float]] = []
    for user in ("u00", "u01", "u02", "u03"):
        rows += [(user, "p08", "purchase", 2.0), (user, "p04", "click", 4.0)]
        rows += [(user, "p10", "click", 3.0)] * 2
        rows += [(user, "p00", "purchase", 30.0)] * 3  # popular long ago, outside the 14-day window
    for user in ("u04", "u05", "u06"):
        rows += [(user, "p06", "purchase", 1.0)] * 2
        rows += [(user, "p07", "purchase", 2.0), (user, "p04", "click", 2.0)]
    rows.append(("clicker", "p01", "click", 1.0))
    events = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "ts": [END - dt.timedelta(days=r[3]) for r in rows],
            "session_id": [f"s{i}" for i in range(len(rows))],
            "page": "home",
            "position": 0,
        }
    )
    users = pd.DataFrame(
        {
            "user_id": list(USERS),
            "segment": [s for s, _ in USERS.values()],
            "city": [c for _, c in USERS.values()],
        }
    )
    split = TemporalSplit(END + dt.timedelta(days=1), END + dt.timedelta(days=2), END + dt.timedelta(days=3))
    return build_recs_data(CATALOG, users, events, split)


def fitted(data: RecsData, content_weight: float = 0.6, prior_strength: float = 0.0) -> ColdStartRecommender:
    """A model on the toy data; no shrinkage by default, so each group ranks by its own events.
    The toy's eight users with recent events are its whole crowd: its window is never widened."""
    model = ColdStartRecommender(
        min_group_events=3,
        content_weight=content_weight,
        prior_strength=prior_strength,
        min_window_users=1,
    )
    return model.fit(data, data.interactions)


def recommend(
    model: ColdStartRecommender, data: RecsData, user: str, k: int = 12
) -> tuple[list[str], list[str]]:
    items, _, reasons = model.recommend_with_reasons(data.users.index([user]), k)
    real = items[0] != PAD
    return list(data.items.ids[items[0][real]]), list(reasons[0][real])


def test_a_user_without_events_gets_servable_items_popular_in_their_city() -> None:
    data = build_data()
    model = fitted(data)
    items, reasons = recommend(model, data, "new_lima", k=5)
    assert len(items) == 5
    assert "p05" not in items  # out of stock
    assert "p09" not in items  # reported
    assert items[:3] == ["p08", "p10", "p04"]  # Lima's recent favourites, by event weight
    assert set(reasons) == {"popular en Lima"}
    everything, _ = recommend(model, data, "new_lima", k=20)
    assert everything.index("p00") > everything.index("p04")  # old popularity fell out of the window


def test_popularity_backs_off_to_segment_then_to_everyone() -> None:
    data = build_data()
    model = fitted(data)
    cusco, cusco_reasons = recommend(model, data, "new_cusco", k=3)
    assert cusco == ["p08", "p10", "p04"]  # the nuevo segment is Lima's crowd here
    assert set(cusco_reasons) == {REASON_SEGMENT}
    other, other_reasons = recommend(model, data, "new_other", k=1)
    assert other == ["p06"]  # Quito's favourite is everyone's favourite
    assert other_reasons == [REASON_GLOBAL]


def test_small_groups_are_shrunk_towards_the_level_above() -> None:
    data = build_data()
    own, _ = recommend(fitted(data), data, "new_lima")
    light, _ = recommend(fitted(data, prior_strength=10.0), data, "new_lima")
    strong, strong_reasons = recommend(fitted(data, prior_strength=1e6), data, "new_lima")
    everyone, _ = recommend(fitted(data), data, "new_other")
    assert "p06" not in own[:4]  # nobody in Lima touched Quito's favourite
    assert light[:3] == own[:3]  # a light prior keeps the group's own leaders...
    assert light.index("p06") <= own.index("p06")  # ...and lifts what everyone else likes
    assert strong[:4] == everyone[:4]  # a heavy prior: the global ranking
    assert set(strong_reasons) == {"popular en Lima"}  # still the group's row
    with pytest.raises(ValueError, match="prior_strength"):
        ColdStartRecommender(prior_strength=-1.0)


def test_touching_a_category_lifts_it_and_says_why() -> None:
    data = build_data()
    model = fitted(data)
    clicker, clicker_reasons = recommend(model, data, "clicker")
    stranger, _ = recommend(model, data, "new_lima")
    other_phones = ["p00", "p02", "p03"]
    assert max(clicker.index(p) for p in other_phones) < min(stranger.index(p) for p in other_phones)
    assert set(clicker[:4]) == {"p01", *other_phones}  # one-hot vectors, weight 0.6: the category leads
    assert clicker[0] == "p01"  # the phone they clicked is also a little popular in Lima
    assert clicker_reasons[0] == REASON_SEEN
    assert clicker_reasons[clicker.index("p02")] == f"porque viste {CATALOG.title[1]}"
    assert clicker_reasons[clicker.index("p08")] == "popular en Lima"
    pure_popularity = fitted(data, content_weight=0.0)
    assert recommend(pure_popularity, data, "clicker")[0][:3] == ["p08", "p10", "p04"]
    balanced = fitted(data, content_weight=0.4)  # a bestseller still beats an unpopular phone
    assert recommend(balanced, data, "clicker")[0][:2] == ["p08", "p01"]


def test_custom_item_vectors_drive_the_content_term() -> None:
    data = build_data()
    vectors = np.zeros((12, 2))
    vectors[:, 0] = 1.0
    vectors[11] = [0.0, 1.0]  # milk 11 looks like nothing but...
    vectors[1] = [0.0, 1.0]  # ...phone 1, which the clicker touched
    model = ColdStartRecommender(
        min_group_events=3, item_vectors=vectors, content_weight=0.8, prior_strength=0, min_window_users=1
    )
    model.fit(data, data.interactions)
    items, reasons = recommend(model, data, "clicker", k=2)
    assert items == ["p01", "p11"]
    assert reasons == [REASON_SEEN, f"porque viste {CATALOG.title[1]}"]


def test_exclude_and_coldness() -> None:
    data = build_data()
    model = fitted(data)
    exclude = np.zeros(12, dtype=bool)
    exclude[[8, 10]] = True
    items, scores = model.recommend(data.users.index(["new_lima", "u00"]), 12, exclude)
    shown = set(items[items != PAD].tolist())
    assert not shown & {5, 8, 9, 10}
    assert np.all(np.diff(scores[:, :5], axis=1) <= 0)
    assert np.all((scores[items != PAD] >= 0) & (scores[items != PAD] <= 1))
    cold = model.is_cold(data.users.index(["u00", "clicker", "new_lima"]))
    assert cold.tolist() == [False, True, True]  # u00 has 5 positive events


def test_no_history_at_all_still_gives_a_list() -> None:
    data = build_data()
    empty = data.interactions.take(np.zeros(len(data.interactions), dtype=bool))
    model: Recommender = ColdStartRecommender().fit(data, empty)
    items, _ = model.recommend(data.users.index(["new_lima"]), 4)
    assert (items != PAD).all()
    assert data.servable[items].all()


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="content_weight"):
        ColdStartRecommender(content_weight=1.5)
    data = build_data()
    with pytest.raises(ValueError, match="item_vectors"):
        ColdStartRecommender(item_vectors=np.ones((3, 2))).fit(data, data.interactions)


def test_chunking_and_the_no_history_shortcut_do_not_change_the_lists() -> None:
    data = build_data()
    users = np.arange(len(data.users))
    whole = fitted(data).recommend_with_reasons(users, 6)
    one_by_one = ColdStartRecommender(min_group_events=3, chunk_size=1, prior_strength=0, min_window_users=1)
    one_by_one.fit(data, data.interactions)
    singles = [one_by_one.recommend_with_reasons(users[[u]], 6) for u in users]
    for part, together in enumerate(whole):
        assert np.array_equal(np.vstack([single[part] for single in singles]), together)


def _shop(rows: list[tuple[str, str, str, float]], users: dict[str, tuple[str, str]]) -> RecsData:
    """A shop of ``rows`` (user, product, type, days before END) and ``users`` (segment, city)."""
    events = pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "ts": [END - dt.timedelta(days=r[3]) for r in rows],
            "session_id": [f"s{i}" for i in range(len(rows))],
            "page": "pdp",
            "position": 0,
        }
    )
    table = pd.DataFrame(
        {
            "user_id": list(users),
            "segment": [s for s, _ in users.values()],
            "city": [c for _, c in users.values()],
        }
    )
    split = TemporalSplit(END + dt.timedelta(days=1), END + dt.timedelta(days=2), END + dt.timedelta(days=3))
    return build_recs_data(CATALOG, table, events, split)


def test_a_window_that_few_users_chose_in_is_widened_until_enough_did() -> None:
    # a slow shop: one user's burst in the last two weeks, the crowd's favourite a month before
    crowd = [f"c{i}" for i in range(6)]
    rows = [("burst", product, "purchase", 1.0) for product in ("p02", "p03")]
    rows += [(user, "p07", "purchase", 40.0 + i) for i, user in enumerate(crowd)]
    users = dict.fromkeys([*crowd, "burst", "newcomer"], ("ocasional", "Lima"))
    data = _shop(rows, users)
    one_user = ColdStartRecommender(min_window_users=1, prior_strength=0).fit(data, data.interactions)
    enough = ColdStartRecommender(min_window_users=5, prior_strength=0).fit(data, data.interactions)
    assert set(recommend(one_user, data, "newcomer", k=3)[0][:2]) == {"p02", "p03"}  # one user's taste
    assert recommend(enough, data, "newcomer", k=1)[0] == ["p07"]  # what the crowd chose
    everyone = ColdStartRecommender(min_window_users=50, prior_strength=0).fit(data, data.interactions)
    assert recommend(everyone, data, "newcomer", k=1)[0] == ["p07"]  # never more than all history


def test_a_segment_and_city_everyone_shares_are_no_group() -> None:
    # a shop that records neither segments nor cities: the import fills one value for all
    rows = [(f"u{i}", f"p{i % 4:02d}", "purchase", 1.0 + i % 3) for i in range(12)]
    users = {f"u{i}": ("ocasional", "unknown") for i in range(12)} | {"newcomer": ("ocasional", "unknown")}
    data = _shop(rows, users)
    model = ColdStartRecommender(min_group_events=3, min_window_users=1).fit(data, data.interactions)
    items, reasons = recommend(model, data, "newcomer", k=4)
    assert set(reasons) == {REASON_GLOBAL}  # not "popular en unknown", not "clientes como tú"
    glob = ColdStartRecommender(min_group_events=10**6, min_window_users=1).fit(data, data.interactions)
    assert items == recommend(glob, data, "newcomer", k=4)[0]  # the same list as everyone's
