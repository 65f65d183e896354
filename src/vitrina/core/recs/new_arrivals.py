"""New arrivals: a bounded exploration slot for products too new to have a history (docs/adr/0025).

Every source a list is built from — popularity, co-occurrence, EASE, ALS, the two-tower's
retrieval and the ranker's features — scores a product by what people did with it. A product
added to the catalog yesterday has done nothing yet: it never reaches the top of a list, is
never shown, never gathers the events that would lift it. The shop's own validation windows
cannot tell whether showing it pays — a product unknown at a window's cutoff has no
positives *because* it was not shown — so how much of the list goes to it is a business rule
(:class:`ArrivalsRule`, the shop file's ``new_arrivals``), not a choice made on validation,
and its cost on the lists' accuracy is measured (``benchmarks/realdata_recs.py``).

* **Which products**: :func:`arrival_items` — servable products whose ``created_at`` lies in
  the last ``max_age_days`` before the lists' time (a product not created yet is not in the
  shop). Events do not end the arrival period: a product found by search on its first day is
  still new the next.
* **For whom**: :class:`ArrivalMatcher` matches them to each user by content, against the
  (up to ``max_touched``, most recent) distinct products the user chose (clicks, carts,
  purchases): ``affinity(u, i) = Σ_f w_f · share_u(f = f(i)) / Σ_f w_f`` over the features
  :data:`FEATURE_WEIGHTS` (category L3, L2, L1, brand, price band), where ``share_u`` is the
  share of the user's chosen products with that value. A user who never chose anything of the
  product's top-level category gets no slot for it: a slot is a guess about taste, not an ad.
* **Which one**: a user's slot goes to one of their *good* matches — an affinity of at least
  :data:`SPREAD` × their best one —, chosen by a fixed hash of (user, arrival) weighted towards
  the newer arrivals (weight ``1 / (1 + age in days)``, the age counted from the newest
  arrival) (docs/adr/0039).
  Each user's single best match would give one arrival every slot of the users who like its
  category and leave another one of the same category and brand (or merely a slightly lower
  match for everyone) in no list at all; rotating among near-equal matches spreads the
  slots over every arrival that fits someone, at almost no cost in affinity. Deterministic for
  the data (no random draw), so a batch published twice is the same.
* **Where**: :class:`NewArrivalSlots` wraps a served model and puts each user's ``slots``
  picks (never one the user bought) at ranks ``rank - slots + 1 … rank`` of the
  list — the last places of the first page — pushing the rest down; an arrival the model
  already ranks within the first ``rank`` places stays where it is and takes no slot. Each slot's
  reason is :data:`REASON_NEW`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.policy import ObjectArray, ServedModel
from vitrina.core.recs.user_items import UserItems

BoolArray = npt.NDArray[np.bool_]
DAY_US = 86_400_000_000
REASON_NEW = "nuevo en la tienda"
FEATURE_WEIGHTS = {
    "category_l3": 4.0,
    "category_l2": 2.0,
    "category_l1": 1.0,
    "brand": 2.0,
    "price_band": 1.0,
}
"""The most specific category counts most; brand as much as the middle level (a shopper loyal to
a brand follows it across categories); the price band least (it only orders within taste)."""
GATE = "category_l1"
"""The feature a user must share with a product to be matched to it at all."""
MAX_CELLS = 2_000_000
"""User × arrival affinities computed at a time (a few float matrices of 16 MB each)."""
PRICE_BANDS = 5
"""Quantile bands of the catalog's prices (a band is a fifth of the catalog, whatever the currency)."""
SPREAD = 0.8
"""An arrival whose affinity is at least this share of the user's best one is as good a match
(docs/adr/0039): the slot rotates among those, user by user."""


@dataclass(frozen=True)
class ArrivalsRule:
    """How much of every list goes to new arrivals (the shop file's ``new_arrivals``).

    Attributes:
        slots: places per list (0 turns the rule off).
        rank: the last of those places, 1-based (the first page's last place by default).
        max_age_days: how long after ``created_at`` a product counts as new.
        max_touched: most recent distinct products of a user that describe their taste.
    """

    slots: int = 1
    rank: int = 10
    max_age_days: float = 7.0
    max_touched: int = 20

    def __post_init__(self) -> None:
        if self.slots < 0 or self.rank < max(self.slots, 1) or self.max_age_days <= 0 or self.max_touched < 1:
            raise ValueError(f"new arrivals rule out of range: {self}")


def arrival_items(catalog: pd.DataFrame, now_us: int, servable: BoolArray, max_age_days: float) -> IntArray:
    """Item indices (catalog rows) of the servable products created in the ``max_age_days``
    before ``now_us`` (a missing ``created_at`` is never new); sorted, newest first."""
    if "created_at" not in catalog.columns or len(catalog) == 0:
        return np.zeros(0, dtype=np.int64)
    created = pd.to_datetime(catalog["created_at"], utc=True)
    micros = np.asarray(created.dt.as_unit("us").astype("int64"), dtype=np.int64)
    known = created.notna().to_numpy(dtype=bool)
    recent = known & (micros <= now_us) & (micros > now_us - int(max_age_days * DAY_US))
    found = np.flatnonzero(recent & np.asarray(servable, dtype=bool))
    return found[np.lexsort((found, -micros[found]))].astype(np.int64)


def feature_codes(catalog: pd.DataFrame) -> dict[str, IntArray]:
    """Per feature of :data:`FEATURE_WEIGHTS` present in ``catalog``, each item's code (-1:
    unknown); the price band is the item's quantile band among the catalog's prices."""
    codes: dict[str, IntArray] = {}
    for name in FEATURE_WEIGHTS:
        if name == "price_band":
            if "price" not in catalog.columns:
                continue
            price = pd.to_numeric(catalog["price"], errors="coerce")
            ranks = price.rank(method="average", pct=True)
            band = np.floor(ranks.fillna(-1).to_numpy() * PRICE_BANDS).clip(-1, PRICE_BANDS - 1)
            codes[name] = np.where(price.notna().to_numpy(), band, -1).astype(np.int64)
        elif name in catalog.columns:
            values = catalog[name].astype(str).where(catalog[name].notna())
            codes[name] = np.asarray(pd.factorize(values)[0], dtype=np.int64)
    return codes


def recent_choices(history: Interactions, n_users: int, limit: int) -> tuple[IntArray, IntArray]:
    """``(user, item)`` pairs: each user's ``limit`` most recent distinct chosen items (clicks,
    carts, purchases), sorted by user."""
    chosen = history.positives()
    if len(chosen) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    frame = pd.DataFrame({"user": chosen.user, "item": chosen.item, "ts": chosen.ts_us})
    frame = frame.sort_values(["user", "ts"], ascending=[True, False], kind="stable")
    frame = frame.drop_duplicates(["user", "item"])
    frame = frame[frame.groupby("user").cumcount() < limit]
    frame = frame[frame["user"] < n_users]
    return frame["user"].to_numpy(np.int64), frame["item"].to_numpy(np.int64)


def arrival_ages(catalog: pd.DataFrame, arrivals: IntArray) -> FloatArray:
    """Days between each arrival's ``created_at`` and the newest arrival's (0 for the newest;
    0 for all without the column)."""
    if "created_at" not in catalog.columns or arrivals.size == 0:
        return np.zeros(arrivals.size)
    created = pd.to_datetime(catalog["created_at"].iloc[arrivals], utc=True)
    micros = np.asarray(created.dt.as_unit("us").astype("int64"), dtype=np.float64)
    return np.asarray((micros.max() - micros) / DAY_US, dtype=np.float64)


class ArrivalMatcher:
    """Each user's affinity to each arrival (see the module docstring)."""

    def __init__(
        self, catalog: pd.DataFrame, history: Interactions, n_users: int, arrivals: IntArray, max_touched: int
    ) -> None:
        self.arrivals = np.asarray(arrivals, dtype=np.int64)
        self.age_days = arrival_ages(catalog, self.arrivals)
        self.codes = feature_codes(catalog)
        self.total_weight = sum(FEATURE_WEIGHTS[f] for f in self.codes) or 1.0
        users, items = recent_choices(history, n_users, max_touched)
        self._users, self._items = users, items
        self._starts = np.searchsorted(users, np.arange(n_users + 1))

    def affinity(self, users: IntArray) -> FloatArray:
        """``(len(users), len(arrivals))`` affinities in [0, 1]; 0 where the gate fails."""
        users = np.asarray(users, dtype=np.int64)
        out = np.zeros((users.size, self.arrivals.size))
        if users.size == 0 or self.arrivals.size == 0:
            return out
        lo, hi = self._starts[users], self._starts[users + 1]
        sizes = hi - lo
        rows = np.repeat(np.arange(users.size), sizes)
        picks = self._items[np.repeat(lo - np.cumsum(sizes) + sizes, sizes) + np.arange(rows.size)]
        n = np.maximum(sizes, 1).astype(np.float64)[:, None]
        gate = np.ones_like(out, dtype=bool)
        for name, code in self.codes.items():
            # counted over the arrivals' own values only: a brand column may hold thousands
            target = code[self.arrivals]
            values = np.unique(target[target >= 0])
            if values.size == 0:
                continue
            own = code[picks]
            slot = np.minimum(np.searchsorted(values, own), values.size - 1)
            ok = values[slot] == own
            counts = np.zeros((users.size, values.size))
            np.add.at(counts, (rows[ok], slot[ok]), 1.0)
            column = np.minimum(np.searchsorted(values, target), values.size - 1)
            share = np.where(target >= 0, counts[:, column], 0.0) / n
            out += FEATURE_WEIGHTS[name] * share
            if name == GATE:
                gate = share > 0
        if GATE not in self.codes:
            gate = (sizes > 0)[:, None] & np.ones_like(gate)
        return np.where(gate, out / self.total_weight, 0.0)


class LastPicks:
    """The arrivals picked for the last block of users, shared by wrappers over the same matcher,
    rule and purchases: batch inference asks for a block's served lists, then for the same
    block's discover lists, and choosing among thousands of arrivals per user is most of a
    block's work after the scores (38 % of it at the large scale when each list chose its own)."""

    def __init__(self) -> None:
        self.users: bytes | None = None
        self.exclude: BoolArray | None = None
        self.picks: IntArray | None = None


class NewArrivalSlots:
    """``model``'s lists with new arrivals in the rule's slots (a :class:`ServedModel`).

    ``bought``: what each user purchased (never offered as an arrival). ``last``: the picks of
    the block asked last, shared with another wrapper built on the same matcher, rule and
    ``bought`` (:func:`vitrina.pipelines.recs.publish.with_new_arrivals`)."""

    def __init__(
        self,
        model: ServedModel,
        matcher: ArrivalMatcher,
        rule: ArrivalsRule,
        bought: UserItems,
        last: LastPicks | None = None,
    ):
        self.model = model
        self.matcher = matcher
        self.rule = rule
        self.bought = bought
        self.last = last
        self.name = getattr(model, "name", "served")

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        items, scores, reasons = self.model.recommend_with_reasons(users, k, exclude)
        if self.rule.slots == 0 or self.matcher.arrivals.size == 0 or len(users) == 0:
            return items, scores, reasons
        users = np.asarray(users, dtype=np.int64)
        return insert_slots(items, scores, reasons, self._block_picks(users, exclude), self.rule.rank)

    def _block_picks(self, users: IntArray, exclude: BoolArray | None) -> IntArray:
        """:meth:`picks`, taken from :attr:`last` when it holds these very users and mask."""
        last = self.last
        if last is None:
            return self.picks(users, exclude)
        key = users.tobytes()
        if last.picks is None or last.users != key or last.exclude is not exclude:
            last.users, last.exclude, last.picks = key, exclude, self.picks(users, exclude)
        return last.picks

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        items, scores, _ = self.recommend_with_reasons(users, k, exclude)
        return items, scores

    def picks(self, users: IntArray, exclude: BoolArray | None = None) -> IntArray:
        """``(len(users), slots)`` arrivals per user — the good matches (module docstring) in
        their hashed order, then the others by affinity —, PAD where none fits (users in
        blocks of at most :data:`MAX_CELLS` user × arrival affinities)."""
        users = np.asarray(users, dtype=np.int64)
        step = max(1, MAX_CELLS // max(self.matcher.arrivals.size, 1))
        parts = [self._picks(users[s : s + step], exclude) for s in range(0, users.size, step)]
        return np.vstack(parts) if parts else np.zeros((0, self.rule.slots), dtype=np.int64)

    def _picks(self, users: IntArray, exclude: BoolArray | None) -> IntArray:
        arrivals = self.matcher.arrivals
        score = self.matcher.affinity(users)
        allowed = score > 0
        if exclude is not None:
            allowed &= ~np.asarray(exclude, dtype=bool)[arrivals][None, :]
        allowed &= ~self.bought.contains(users, np.broadcast_to(arrivals, score.shape))
        # the arrivals within SPREAD of the user's best match first, in a fixed weighted order:
        # u ** (1 + age) for a hashed u in (0, 1) (weighted sampling without replacement, weight
        # 1 / (1 + age in days): a newer arrival, which has had fewer cycles to be shown, comes
        # first more often); then the others by affinity (arrivals are newest first: a stable
        # sort keeps that order among their ties). The hash is drawn for the near matches only
        # (a few per user of the thousands of arrivals at the large scale).
        best = np.where(allowed, score, 0.0).max(axis=1, keepdims=True)
        near = allowed & (score >= SPREAD * best)
        key = np.where(allowed, score, -1.0)
        row, col = np.nonzero(near)
        draw = np.log(np.maximum(pair_hash_cells(users[row], arrivals[col]), 1e-300))
        key[row, col] = 2.0 + np.exp(draw * (1.0 + self.matcher.age_days[col]))
        if self.rule.slots == 1:  # the first best: what the stable sort puts first
            order = np.argmax(key, axis=1)[:, None]
        else:
            order = np.argsort(-key, axis=1, kind="stable")[:, : self.rule.slots]
        chosen = np.take_along_axis(allowed, order, axis=1)
        return np.where(chosen, arrivals[order], PAD).astype(np.int64)


def pair_hash(users: IntArray, items: IntArray) -> FloatArray:
    """``(len(users), len(items))`` numbers in [0, 1), uniform over pairs and fixed for a pair
    (the splitmix64 finaliser of ``user << 32 ^ item``): an order that differs from user to user
    without a random generator."""
    users = np.asarray(users, np.int64)
    items = np.asarray(items, np.int64)
    return pair_hash_cells(users[:, None], items[None, :])


def pair_hash_cells(users: IntArray, items: IntArray) -> FloatArray:
    """:func:`pair_hash` of each ``(users[i], items[i])`` (broadcast shapes), not of every pair."""
    x = (np.asarray(users, np.int64).astype(np.uint64) << np.uint64(32)) ^ np.asarray(items, np.int64).astype(
        np.uint64
    )
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return np.asarray((x >> np.uint64(11)).astype(np.float64) / float(1 << 53))


def insert_slots(
    items: IntArray, scores: FloatArray, reasons: ObjectArray, picks: IntArray, rank: int
) -> tuple[IntArray, FloatArray, ObjectArray]:
    """Each row's ``picks`` (PAD: none) placed to end at ``rank`` (1-based), the rest pushed
    down and the overflow dropped; a pick already within the first ``rank`` places stays and
    takes no slot, one lower in the list moves up (never listed twice). Inserted items take the score
    of the item they push down (lists stay ordered by score) and :data:`REASON_NEW`.

    Whole-matrix array work, not a loop over rows: batch inference calls it for every user twice
    (the lists and the discover list), 500,000 users at the large scale."""
    items = np.asarray(items, dtype=np.int64)
    picks = np.asarray(picks, dtype=np.int64)
    out_items, out_scores = items.copy(), np.asarray(scores, dtype=np.float64).copy()
    out_reasons = np.asarray(reasons, dtype=object).copy()
    n, k = items.shape
    if n == 0 or picks.size == 0:
        return out_items, out_scores, out_reasons
    head = min(rank, k)
    real = items != PAD
    place = np.cumsum(real, axis=1) - 1  # each real item's place among the row's real items
    # (row, slot, column): is the pick listed there, and there within the first ``head`` places
    listed = (items[:, None, :] == picks[:, :, None]) & real[:, None, :] & (picks[:, :, None] != PAD)
    new = (picks != PAD) & ~(listed & (place[:, None, :] < head)).any(axis=2)
    rows = np.flatnonzero(new.any(axis=1))
    if rows.size == 0:
        return out_items, out_scores, out_reasons
    new, listed = new[rows], listed[rows]
    keep = real[rows] & ~(listed & new[:, :, None]).any(axis=1)  # a new pick listed lower moves up
    n_keep, n_new = keep.sum(axis=1), new.sum(axis=1)
    at = np.clip(head - n_new, 0, n_keep)
    kept_place = np.cumsum(keep, axis=1) - 1
    # kept items in order, compacted: the score an insertion takes is the one it pushes down
    compact = np.full((rows.size, k), np.nan)
    r, c = np.nonzero(keep)
    compact[r, kept_place[r, c]] = out_scores[rows[r], c]
    last = compact[np.arange(rows.size), np.maximum(n_keep - 1, 0)]
    pushed = compact[np.arange(rows.size), np.minimum(at, k - 1)]
    fill = np.where(at < n_keep, pushed, np.where(n_keep > 0, last, 0.0))
    target = np.where(kept_place < at[:, None], kept_place, kept_place + n_new[:, None])
    shown = keep & (target < k)
    r, c = np.nonzero(shown)
    moved = (rows[r], target[r, c])
    source = (rows[r], c)
    new_items, new_scores, new_reasons = items[source], out_scores[source], out_reasons[source]
    out_items[rows], out_scores[rows], out_reasons[rows] = PAD, -np.inf, ""
    out_items[moved], out_scores[moved], out_reasons[moved] = new_items, new_scores, new_reasons
    slot = at[:, None] + np.cumsum(new, axis=1) - 1
    r, c = np.nonzero(new & (slot < k))
    inserted = (rows[r], slot[r, c])
    out_items[inserted], out_scores[inserted], out_reasons[inserted] = picks[rows[r], c], fill[r], REASON_NEW
    return out_items, out_scores, out_reasons
