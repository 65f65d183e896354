"""Reference recommenders for the real-data benchmark: small, textbook, and independent of
vitrina's own (``vitrina.core.recs`` is what is measured; nothing here imports it).

Every model scores items for users from the train positives only and leaves unscored what it
has no opinion on (NaN). A list takes the scored items best first, then pads with recent
popularity (last 30 days, then all time): the same padding for every model, so a model is
judged on what it knows and not on how short its lists are. Lists can leave out the items a
user already had (the discovery view) or keep them (all positives, where a re-purchase counts).

* popularity (all time, last 7 / last 30 days of the train side): positives per item;
* buy-again: the user's own items, most bought first, the latest bought first among equals,
  then the more popular in the last 30 days (items of one basket tie on count and time, and an
  order by product id would make the baseline weaker than a shop would run it);
* item-kNN: co-occurrence cosine over users, each item's 100 nearest neighbours;
* EASE (Steck 2019): ridge regression of each item on all the others, zero diagonal, closed
  form; λ chosen on a validation slice of the train side;
* ALS (``implicit``): 64 factors, regularisation 0.05, 15 iterations, confidence = count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

BATCH = 256
EASE_MAX_ITEMS = 5000
"""EASE inverts an items × items matrix: the most popular 5,000 items of the train side (the
rest are scored by the other models and padding only)."""
EASE_LAMBDAS = (5.0, 20.0, 100.0, 300.0, 1000.0, 3000.0)
EASE_DEFAULT_LAMBDA = 300.0
"""λ when the validation slice holds no user to choose with."""
KNN_NEIGHBOURS = 100


@dataclass(frozen=True)
class Interactions:
    """The train positives as a users × items count matrix, with the last time of each pair."""

    users: np.ndarray
    items: np.ndarray
    counts: sp.csr_matrix
    last_seen: sp.csr_matrix
    """Seconds from the first train positive to the pair's latest (+1, so no stored zero)."""
    window_counts: Mapping[int, np.ndarray]
    """Positives per item in the last 7 and 30 days before ``as_of``."""
    as_of: pd.Timestamp
    user_row: dict[str, int] = field(repr=False)

    @property
    def fallback_order(self) -> np.ndarray:
        """Item columns by last-30-days positives, then all-time positives, then column."""
        total = np.asarray(self.counts.sum(axis=0)).ravel()
        return np.lexsort((np.arange(self.items.size), -total, -self.window_counts[30]))

    def rows(self, users: Sequence[str]) -> np.ndarray:
        """Row of each user, -1 for a user without train positives."""
        return np.array([self.user_row.get(u, -1) for u in users], dtype=np.int64)


def build_interactions(positives: pd.DataFrame, as_of: pd.Timestamp) -> Interactions:
    """From train positives (``user_id``, ``product_id``, ``ts``), as of the end of the train side."""
    users, user_codes = np.unique(positives["user_id"].astype(str).to_numpy(), return_inverse=True)
    items, item_codes = np.unique(positives["product_id"].astype(str).to_numpy(), return_inverse=True)
    shape = (users.size, items.size)
    ones = np.ones(len(positives))
    counts = sp.csr_matrix((ones, (user_codes, item_codes)), shape=shape)
    counts.sum_duplicates()
    seconds = (positives["ts"] - positives["ts"].min()).dt.total_seconds().to_numpy() + 1.0
    latest = pd.DataFrame({"u": user_codes, "i": item_codes, "s": seconds}).groupby(["u", "i"])["s"].max()
    last_seen = sp.csr_matrix(
        (latest.to_numpy(), (latest.index.get_level_values(0), latest.index.get_level_values(1))),
        shape=shape,
    )
    windows = {}
    for days in (7, 30):
        recent = (positives["ts"] >= as_of - pd.Timedelta(days=days)).to_numpy()
        windows[days] = np.bincount(item_codes[recent], minlength=items.size).astype(float)
    return Interactions(
        users=users,
        items=items,
        counts=counts,
        last_seen=last_seen,
        window_counts=windows,
        as_of=as_of,
        user_row={str(u): i for i, u in enumerate(users)},
    )


class Scorer(Protocol):
    def scores(self, rows: np.ndarray) -> np.ndarray:
        """Scores of every item column for the users at ``rows`` (-1: no history); NaN = no opinion."""
        ...


def _unscored(rows: np.ndarray, n_items: int) -> np.ndarray:
    return np.full((rows.size, n_items), np.nan)


@dataclass
class Popularity:
    """Positives per item, all time (``days`` None) or in the last ``days`` days."""

    data: Interactions
    days: int | None = None

    def scores(self, rows: np.ndarray) -> np.ndarray:
        counts = (
            np.asarray(self.data.counts.sum(axis=0)).ravel()
            if self.days is None
            else self.data.window_counts[self.days]
        )
        row = np.where(counts > 0, counts, np.nan)
        return np.tile(row, (rows.size, 1))


@dataclass
class BuyAgain:
    """The user's own items: purchase count, ties broken by the latest purchase, then by the
    popularity of the last 30 days, then all time (the padding order)."""

    data: Interactions

    def scores(self, rows: np.ndarray) -> np.ndarray:
        out = _unscored(rows, self.data.items.size)
        known = np.flatnonzero(rows >= 0)
        counts = self.data.counts[rows[known]].toarray()
        last = self.data.last_seen[rows[known]].toarray()
        padding_rank = np.empty(self.data.items.size, dtype=np.int64)
        padding_rank[self.data.fallback_order] = np.arange(self.data.items.size)
        for j, row in enumerate(known):
            owned = np.flatnonzero(counts[j] > 0)
            # best first: more purchases, later purchase, earlier in the padding order
            order = owned[np.lexsort((padding_rank[owned], -last[j, owned], -counts[j, owned]))]
            out[row, order] = np.arange(order.size, 0, -1, dtype=float)
        return out


@dataclass
class ItemKNN:
    """Sum of the cosine similarities of a user's items to each item (top neighbours kept)."""

    data: Interactions
    neighbours: int = KNN_NEIGHBOURS
    similarity: sp.csr_matrix = field(init=False, repr=False)

    def __post_init__(self) -> None:
        binary = (self.data.counts > 0).astype(np.float64).tocsc()
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
        n = binary.shape[1]
        blocks = []
        for start in range(0, n, 512):
            stop = min(start + 512, n)
            block = (binary[:, start:stop].T @ binary).toarray()
            block /= np.outer(norms[start:stop], norms) + 1e-12
            block[np.arange(stop - start), np.arange(start, stop)] = 0.0
            if n > self.neighbours:
                cut = np.argpartition(-block, self.neighbours, axis=1)[:, self.neighbours :]
                np.put_along_axis(block, cut, 0.0, axis=1)
            blocks.append(sp.csr_matrix(block))
        self.similarity = sp.vstack(blocks).tocsr()

    def scores(self, rows: np.ndarray) -> np.ndarray:
        out = _unscored(rows, self.data.items.size)
        known = rows >= 0
        binary = (self.data.counts[rows[known]] > 0).astype(np.float64)
        raw = (binary @ self.similarity).toarray()
        out[known] = np.where(raw > 0, raw, np.nan)
        return out


@dataclass
class EASE:
    """Embarrassingly shallow autoencoder over the most popular items (binary inputs)."""

    data: Interactions
    lam: float
    columns: np.ndarray = field(init=False, repr=False)
    weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.columns, gram = ease_gram(self.data)
        self.weights = ease_weights(gram, self.lam)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return ease_scores(self.data, self.columns, self.weights, rows)


def ease_gram(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """The item columns EASE keeps and their Gram matrix XᵀX (binary X)."""
    binary = (data.counts > 0).astype(np.float64).tocsc()
    users_per_item = np.asarray(binary.sum(axis=0)).ravel()
    columns = np.sort(np.argsort(-users_per_item, kind="stable")[:EASE_MAX_ITEMS])
    kept = binary[:, columns]
    return columns, (kept.T @ kept).toarray()


def ease_weights(gram: np.ndarray, lam: float) -> np.ndarray:
    """B = I − P·diag(1/diag(P)) with P = (G + λI)⁻¹ (zero diagonal)."""
    inverse = np.linalg.inv(gram + lam * np.eye(gram.shape[0]))
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights


def ease_scores(data: Interactions, columns: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = _unscored(rows, data.items.size)
    known = rows >= 0
    x = (data.counts[rows[known]][:, columns] > 0).astype(np.float64).toarray()
    scored = np.full((int(known.sum()), data.items.size), np.nan)
    scored[:, columns] = x @ weights
    empty = x.sum(axis=1) == 0  # a user whose items are all outside EASE's columns
    scored[empty] = np.nan
    out[known] = scored
    return out


@dataclass
class ALS:
    """Implicit-feedback matrix factorisation (``implicit``'s CPU ALS), fixed settings."""

    data: Interactions
    seed: int = 42
    factors: int = 64
    user_factors: np.ndarray = field(init=False, repr=False)
    item_factors: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=0.05,
            iterations=15,
            random_state=self.seed,
            calculate_training_loss=False,
        )
        model.fit(self.data.counts.astype(np.float32).tocsr(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        out = _unscored(rows, self.data.items.size)
        known = rows >= 0
        out[known] = self.user_factors[rows[known]] @ self.item_factors.T
        return out


def recommend(
    model: Scorer,
    data: Interactions,
    users: Sequence[str],
    k: int,
    exclude: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, list[str]]:
    """Each user's top ``k`` product ids: scored items best first, then the padding order;
    ``exclude`` (user → product ids) leaves those items out of the user's list."""
    column = {str(p): i for i, p in enumerate(data.items)}
    padding = data.fallback_order
    lists: dict[str, list[str]] = {}
    for start in range(0, len(users), BATCH):
        chunk = list(users[start : start + BATCH])
        scores = model.scores(data.rows(chunk))
        for j, user in enumerate(chunk):
            row = scores[j]
            banned = np.zeros(data.items.size, dtype=bool)
            if exclude is not None:
                banned[[column[p] for p in exclude.get(user, ()) if p in column]] = True
            scored = np.flatnonzero(~np.isnan(row) & ~banned)
            top = scored[np.lexsort((scored, -row[scored]))][:k]
            chosen = list(top)
            if len(chosen) < k:
                taken = set(chosen)
                rest = (c for c in padding if not banned[c] and c not in taken)
                chosen += list(islice(rest, k - len(chosen)))
            lists[user] = [str(data.items[c]) for c in chosen]
    return lists
