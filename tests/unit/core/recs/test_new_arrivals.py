"""New arrivals: which products are new, whom they fit by content, and where in the list they go."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from vitrina.core.ranking.interactions import EVENT_CODE, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.new_arrivals import (
    REASON_NEW,
    SPREAD,
    ArrivalMatcher,
    ArrivalsRule,
    LastPicks,
    NewArrivalSlots,
    arrival_items,
    insert_slots,
    pair_hash,
)
from vitrina.core.recs.user_items import UserItems

pytestmark = pytest.mark.unit

DAY_US = 86_400_000_000
NOW = 100 * DAY_US
ObjectArray = npt.NDArray[np.object_]


def catalog() -> pd.DataFrame:
    """p0–p3 old (day 10); p4 (shoes, brand A), p5 (shoes, brand B), p6 (books) new (day 98–99);
    p7 created in the future; p8 new but out of stock."""
    day = [10, 10, 10, 10, 98, 99, 99, 101, 99]
    kind = "ssbbssbss"  # shoes or books
    return pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(9)],
            "category_l1": [L1[c] for c in kind],
            "category_l2": [L2[c] for c in kind],
            "category_l3": [L3[c] for c in kind],
            "brand": ["A", "B", "C", "C", "A", "B", "C", "A", "A"],
            "price": [10.0, 20.0, 5.0, 6.0, 11.0, 21.0, 5.5, 12.0, 10.0],
            "created_at": pd.to_datetime([d * DAY_US for d in day], unit="us", utc=True),
        }
    )


L1 = {"s": "moda", "b": "libros"}
L2 = {"s": "zapatos", "b": "novela"}
L3 = {"s": "tenis", "b": "misterio"}
SERVABLE = np.array([True] * 8 + [False])


def history(pairs: list[tuple[int, int, str]]) -> Interactions:
    """(user, item, event) at increasing times."""
    n = len(pairs)
    return Interactions(
        user=np.array([p[0] for p in pairs], dtype=np.int64),
        item=np.array([p[1] for p in pairs], dtype=np.int64),
        event=np.array([EVENT_CODE[p[2]] for p in pairs], dtype=np.int64),
        ts_us=np.arange(n, dtype=np.int64) * 1000 + 50 * DAY_US,
        session=np.zeros(n, dtype=np.int64),
        position=np.zeros(n, dtype=np.int64),
        page=np.array(["recs"] * n),
    )


class Fixed:
    """A served model that answers the same list (items 0–3) for everyone."""

    name = "fixed"

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        n = len(users)
        items = np.tile(np.array([0, 1, 2, 3, PAD, PAD][:k]), (n, 1))
        scores = np.tile(np.array([4.0, 3.0, 2.0, 1.0, -np.inf, -np.inf][:k]), (n, 1))
        reasons = np.where(items != PAD, "elegido para ti", "").astype(object)
        return items, scores, reasons


def test_arrivals_are_servable_products_created_in_the_window_newest_first() -> None:
    found = arrival_items(catalog(), NOW, SERVABLE, max_age_days=7)
    assert found.tolist() == [5, 6, 4]  # p7 is not created yet, p8 out of stock, p0-p3 too old
    assert arrival_items(catalog(), NOW, SERVABLE, max_age_days=1.5).tolist() == [5, 6]
    no_date = catalog().assign(created_at=pd.NaT)
    assert arrival_items(no_date, NOW, SERVABLE, max_age_days=7).size == 0


def test_a_user_is_matched_by_category_first_then_brand_and_never_outside_their_top_category() -> None:
    # u0 chose shoes of brand A, u1 books, u2 nothing
    events = history([(0, 0, "click"), (0, 0, "purchase"), (1, 2, "click"), (1, 3, "add_to_cart")])
    arrivals = np.array([5, 6, 4])
    matcher = ArrivalMatcher(catalog(), events, 3, arrivals, max_touched=20)
    aff = matcher.affinity(np.array([0, 1, 2]))
    assert aff.shape == (3, 3)
    assert aff[0, 2] > aff[0, 0] > 0  # p4 (shoes, brand A, same band) over p5 (shoes, brand B)
    assert aff[0, 1] == 0  # books: u0 never chose anything in libros
    assert aff[1, 1] > 0
    assert aff[1, 0] == aff[1, 2] == 0
    assert (aff[2] == 0).all()  # no history, no guess
    assert 0 < aff.max() <= 1


def test_slots_end_at_the_rule_rank_and_push_the_rest_down() -> None:
    items = np.array([[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, PAD, PAD], [0, 1, 2, 3]])
    scores = np.array([[4.0, 3, 2, 1]] * 2 + [[4.0, 3, -np.inf, -np.inf]] + [[4.0, 3, 2, 1]])
    reasons = np.where(items != PAD, "r", "").astype(object)
    picks = np.array([[9], [PAD], [9], [2]])
    got, got_scores, got_reasons = insert_slots(items, scores, reasons, picks, rank=3)
    assert got[0].tolist() == [0, 1, 9, 2]  # rank 3, p3 pushed out
    assert got_scores[0].tolist() == [4.0, 3.0, 2.0, 2.0]
    assert got_reasons[0].tolist() == ["r", "r", REASON_NEW, "r"]
    assert got[1].tolist() == [0, 1, 2, 3]  # nothing to place
    assert got[2].tolist() == [0, 1, 9, PAD]  # a short list: right after its last item
    assert got[3].tolist() == [0, 1, 2, 3]
    assert got_reasons[3, 2] == "r"
    lower = insert_slots(items[:1], scores[:1], reasons[:1], np.array([[3]]), rank=2)[0]
    assert lower[0].tolist() == [0, 3, 1, 2]  # a lower one moves up, listed once


def test_the_wrapper_fills_its_slots_with_fitting_arrivals_never_a_bought_or_excluded_one() -> None:
    events = history([(0, 0, "click"), (1, 2, "click"), (2, 4, "purchase"), (2, 0, "click")])
    data_catalog = catalog()
    arrivals = arrival_items(data_catalog, NOW, SERVABLE, 7)
    matcher = ArrivalMatcher(data_catalog, events, 4, arrivals, max_touched=20)
    bought = UserItems.purchases(events, len(data_catalog))
    model = NewArrivalSlots(Fixed(), matcher, ArrivalsRule(slots=1, rank=2), bought)
    items, _, reasons = model.recommend_with_reasons(np.array([0, 1, 2, 3]), 4)
    assert items[:, 1].tolist() == [4, 6, 5, 1]  # u2 bought p4: the other shoe; u3 has no history
    assert reasons[0, 1] == REASON_NEW
    assert reasons[3, 1] == "elegido para ti"
    exclude = np.zeros(len(data_catalog), dtype=bool)
    exclude[4] = True
    assert model.recommend(np.array([0]), 4, exclude)[0][0, 1] == 5
    off = NewArrivalSlots(Fixed(), matcher, ArrivalsRule(slots=0, rank=2), bought)
    assert off.recommend(np.array([0]), 4)[0][0].tolist() == [0, 1, 2, 3]


def test_two_slots_take_the_two_good_matches() -> None:
    events = history([(0, 0, "click"), (0, 1, "click")])
    matcher = ArrivalMatcher(catalog(), events, 1, arrival_items(catalog(), NOW, SERVABLE, 7), max_touched=20)
    empty = UserItems(np.zeros(0, np.int64), 9)
    model = NewArrivalSlots(Fixed(), matcher, ArrivalsRule(slots=2, rank=4), empty)
    items = model.recommend(np.array([0]), 6)[0][0]
    assert sorted(items[2:4].tolist()) == [4, 5]  # both shoes fit (one of each brand); books do not
    assert items[[0, 1, 4, 5]].tolist() == [0, 1, 2, 3]


def twins() -> pd.DataFrame:
    """The catalog with p9: the same shoe as p4 (category, brand, price), a day newer."""
    base = catalog()
    twin = base.iloc[[4]].assign(
        product_id="p9", created_at=pd.to_datetime([99 * DAY_US], unit="us", utc=True)
    )
    return pd.concat([base, twin], ignore_index=True)


def test_equal_matches_share_the_slot_across_users_and_a_weaker_one_never_takes_it() -> None:
    # 40 users who all chose p0 (shoes, brand A, band of 10): p4 and p9 fit them equally, p5
    # (brand B, another price band) less; each user's best match alone would give every slot to p9
    n = 40
    events = history([(u, 0, "click") for u in range(n)])
    data_catalog = twins()
    servable = np.append(SERVABLE, True)
    arrivals = arrival_items(data_catalog, NOW, servable, 7)
    matcher = ArrivalMatcher(data_catalog, events, n, arrivals, max_touched=20)
    assert matcher.affinity(np.array([0]))[0][arrivals.tolist().index(5)] < SPREAD  # p5: a weaker match
    model = NewArrivalSlots(
        Fixed(), matcher, ArrivalsRule(slots=1, rank=2), UserItems(np.zeros(0, np.int64), 10)
    )
    picks = model.picks(np.arange(n))[:, 0]
    assert set(picks.tolist()) == {4, 9}
    assert min((picks == 4).sum(), (picks == 9).sum()) >= n // 5  # spread, not one product's
    assert model.picks(np.arange(n))[:, 0].tolist() == picks.tolist()  # a fixed order, not a draw


def test_among_equal_matches_the_newer_arrival_gets_more_users() -> None:
    # p9 is a day newer than its twin p4: weight 1 against 1/2, so about two users in three
    n = 600
    events = history([(u, 0, "click") for u in range(n)])
    data_catalog = twins()
    arrivals = arrival_items(data_catalog, NOW, np.append(SERVABLE, True), 7)
    matcher = ArrivalMatcher(data_catalog, events, n, arrivals, max_touched=20)
    assert dict(zip(arrivals.tolist(), matcher.age_days.tolist(), strict=True)) == {
        5: 0.0,
        6: 0.0,
        9: 0.0,
        4: 1.0,
    }
    model = NewArrivalSlots(
        Fixed(), matcher, ArrivalsRule(slots=1, rank=2), UserItems(np.zeros(0, np.int64), 10)
    )
    picks = model.picks(np.arange(n))[:, 0]
    newer, older = int((picks == 9).sum()), int((picks == 4).sum())
    assert newer + older == n
    assert 0.55 < newer / n < 0.78, (newer, older)


def test_the_pair_hash_is_fixed_uniform_and_differs_between_users() -> None:
    users, items = np.arange(200), np.arange(50)
    values = pair_hash(users, items)
    assert values.shape == (200, 50)
    assert ((values >= 0) & (values < 1)).all()
    assert np.array_equal(values, pair_hash(users, items))
    assert np.array_equal(values[5:7], pair_hash(users[5:7], items))
    assert abs(values.mean() - 0.5) < 0.02
    assert len({tuple(np.argsort(row)[:3]) for row in values}) > 150  # users rank items differently


@pytest.mark.parametrize(
    "bad", [{"slots": -1}, {"slots": 3, "rank": 2}, {"max_age_days": 0}, {"max_touched": 0}]
)
def test_a_rule_out_of_range_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="out of range"):
        ArrivalsRule(**bad)  # type: ignore[arg-type]


def test_users_in_small_blocks_get_the_same_picks(monkeypatch: pytest.MonkeyPatch) -> None:
    events = history([(0, 0, "click"), (1, 2, "click"), (2, 4, "purchase"), (2, 0, "click")])
    matcher = ArrivalMatcher(catalog(), events, 4, arrival_items(catalog(), NOW, SERVABLE, 7), max_touched=20)
    model = NewArrivalSlots(Fixed(), matcher, ArrivalsRule(slots=2, rank=3), UserItems.purchases(events, 9))
    users = np.array([0, 1, 2, 3])
    whole = model.picks(users)
    monkeypatch.setattr("vitrina.core.recs.new_arrivals.MAX_CELLS", 4)  # 1 user per block
    assert model.picks(users).tolist() == whole.tolist()
    assert whole[3].tolist() == [PAD, PAD]


def row_by_row(
    items: IntArray, scores: FloatArray, reasons: ObjectArray, picks: IntArray, rank: int
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """Reference for :func:`insert_slots`: the rule written out for one row at a time."""
    out_items, out_scores, out_reasons = items.copy(), scores.astype(np.float64), reasons.copy()
    k = items.shape[1]
    for row in range(items.shape[0]):
        listed = [int(i) for i in items[row] if i != PAD]
        new = [int(p) for p in picks[row] if p != PAD and int(p) not in listed[: min(rank, k)]]
        if not new:
            continue
        keep = [j for j, i in enumerate(items[row]) if i != PAD and int(i) not in new]
        at = min(max(min(rank, k) - len(new), 0), len(keep))
        order = [(int(items[row, j]), float(scores[row, j]), reasons[row, j]) for j in keep]
        fill = order[at][1] if at < len(keep) else (order[-1][1] if keep else 0.0)
        order[at:at] = [(p, fill, REASON_NEW) for p in new]
        out_items[row], out_scores[row], out_reasons[row] = PAD, -np.inf, ""
        for place, (item, score, reason) in enumerate(order[:k]):
            out_items[row, place], out_scores[row, place], out_reasons[row, place] = item, score, reason
    return out_items, out_scores, out_reasons


def test_slots_of_a_whole_batch_match_the_rule_row_by_row() -> None:
    rng = np.random.default_rng(11)
    for _ in range(500):
        n, k, slots = int(rng.integers(1, 8)), int(rng.integers(1, 12)), int(rng.integers(1, 4))
        items = np.stack([rng.permutation(15)[:k] for _ in range(n)]).astype(np.int64)
        for row in range(n):  # short lists, and padding inside a list
            if rng.random() < 0.5:
                items[row, k - int(rng.integers(0, k + 1)) :] = PAD
            elif rng.random() < 0.3:
                items[row, rng.integers(0, k)] = PAD
        scores = np.sort(rng.random((n, k)), axis=1)[:, ::-1].copy()
        scores[items == PAD] = -np.inf
        labels = np.array(["a", "b", "c"], dtype=object)[rng.integers(0, 3, (n, k))]
        reasons = np.where(items == PAD, "", labels).astype(object)
        picks = np.stack([rng.permutation(15)[:slots] for _ in range(n)]).astype(np.int64)
        picks[rng.random(picks.shape) < 0.3] = PAD
        rank = int(rng.integers(1, 14))
        got = insert_slots(items, scores, reasons, picks, rank)
        want = row_by_row(items, scores, reasons, picks, rank)
        for got_part, want_part in zip(got, want, strict=True):
            assert np.array_equal(got_part, want_part)


class RandomMatcher:
    """A matcher with seeded affinities in steps of 0.1 (many equal matches), 0 for a third."""

    def __init__(self, n_users: int, arrivals: IntArray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.arrivals = arrivals
        self.age_days = rng.integers(0, 7, arrivals.size).astype(np.float64)
        values = np.round(rng.random((n_users, arrivals.size)), 1)
        self._affinity = np.where(rng.random(values.shape) < 0.3, 0.0, values)

    def affinity(self, users: IntArray) -> FloatArray:
        return np.asarray(self._affinity[users], dtype=np.float64)


def test_picks_follow_the_hashed_order_of_every_pair() -> None:
    """Hashing the near matches only picks what hashing every (user, arrival) pair picks."""
    arrivals = np.arange(100, 160, dtype=np.int64)
    bought = UserItems.purchases(history([(u, 100 + u % 60, "purchase") for u in range(0, 50, 3)]), 200)
    exclude = np.zeros(200, dtype=bool)
    exclude[arrivals[::7]] = True
    for slots in (1, 3):
        matcher = RandomMatcher(50, arrivals, seed=slots)
        model = NewArrivalSlots(Fixed(), matcher, ArrivalsRule(slots=slots, rank=5), bought)  # type: ignore[arg-type]
        users = np.arange(50, dtype=np.int64)
        score = matcher.affinity(users)
        allowed = (score > 0) & ~exclude[arrivals][None, :]
        allowed &= ~bought.contains(users, np.broadcast_to(arrivals, score.shape))
        best = np.where(allowed, score, 0.0).max(axis=1, keepdims=True)
        near = allowed & (score >= SPREAD * best)
        draw = np.log(np.maximum(pair_hash(users, arrivals), 1e-300)) * (1.0 + matcher.age_days)[None, :]
        key = np.where(near, 2.0 + np.exp(draw), np.where(allowed, score, -1.0))
        order = np.argsort(-key, axis=1, kind="stable")[:, :slots]
        want = np.where(np.take_along_axis(allowed, order, axis=1), arrivals[order], PAD)
        assert np.array_equal(model.picks(users, exclude), want)


class CountingMatcher(RandomMatcher):
    """A :class:`RandomMatcher` that counts the blocks it is asked about."""

    asked = 0

    def affinity(self, users: IntArray) -> FloatArray:
        self.asked += 1
        return super().affinity(users)


def test_two_wrappers_sharing_the_last_picks_choose_a_block_once() -> None:
    arrivals = np.arange(100, 140, dtype=np.int64)
    bought = UserItems(np.zeros(0, np.int64), 200)
    rule = ArrivalsRule(slots=1, rank=2)
    matcher = CountingMatcher(30, arrivals, seed=4)
    alone = NewArrivalSlots(Fixed(), matcher, rule, bought)  # type: ignore[arg-type]
    users, exclude = np.arange(30, dtype=np.int64), np.zeros(200, dtype=bool)
    want = alone.recommend_with_reasons(users, 4, exclude)
    last = LastPicks()
    served = NewArrivalSlots(Fixed(), matcher, rule, bought, last)  # type: ignore[arg-type]
    other = NewArrivalSlots(Fixed(), matcher, rule, bought, last)  # type: ignore[arg-type]
    matcher.asked = 0
    for model in (served, other):
        got = model.recommend_with_reasons(users, 4, exclude)
        for got_part, want_part in zip(got, want, strict=True):
            assert np.array_equal(got_part, want_part)
    assert matcher.asked == 1
    other.recommend_with_reasons(users[:10], 4, exclude)  # another block
    other.recommend_with_reasons(users[:10], 4, exclude.copy())  # another mask
    assert matcher.asked == 3
