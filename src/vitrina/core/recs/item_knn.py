"""Item-to-item co-occurrence: items chosen by the same users, as a sparse neighbour table.

``sim(i, j) = c_ij / (sqrt(n_i · n_j) + shrink)`` — cosine of the items' binary user columns
(``c_ij`` users chose both, ``n_i`` users chose ``i``), shrunk so that two items sharing one of
their three buyers do not outrank two sharing hundreds (``shrink`` is in users, so it means the
same in any shop). Only each item's ``m`` best neighbours are kept, as a CSR matrix: 200k items ×
50 neighbours is 10M entries, where the full item × item table would be 40 billion.

Scaling: ``XᵀX`` is computed a block of items at a time, each block sized so that its product
holds at most ``block_entries`` values before pruning (a bound computed from the degrees), and a
user's contribution is quadratic in their item count, so only each user's ``max_user_items``
most recent items count (bulk buyers and crawlers would otherwise dominate both cost and
neighbourhoods). Measured (``benchmarks/item_knn_scale.py``, ``docs/benchmarks/item_knn_scale.md``):
a synthetic 200k items × 500k users log (9.3M user-item pairs, Zipf popularity) takes 41 CPU
seconds (scipy's sparse product is single-threaded) and 2.3 GB peak for the whole process.

:class:`ItemKNN` scores for a user the neighbours of their recent choices, each weighted by its
event strength and a half-life on its age, and by default never returns what the user already
chose (buy-again is a source of its own). :meth:`ItemKNN.neighbours` answers "similar items" and
"bought together" for item pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD, top_k_pairs
from vitrina.core.recs.artifact_files import load_artifact, save_artifact
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.user_items import UserItems

BoolArray = npt.NDArray[np.bool_]
DAY_US = 86_400_000_000
_USER_CHUNK = 10_000  # users per sparse scoring step: ≤ 10k × profile_items × n_neighbours scores


def user_item_matrix(
    positives: Interactions, n_users: int, n_items: int, max_user_items: int
) -> sp.csr_matrix:
    """Binary users × items of ``positives``, each user's ``max_user_items`` latest items only."""
    # latest choice per (user, item), then newest first within each user
    order = np.lexsort((-positives.ts_us, positives.item, positives.user))
    user, item, ts = positives.user[order], positives.item[order], positives.ts_us[order]
    first = np.ones(user.size, dtype=bool)
    first[1:] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    user, item, ts = user[first], item[first], ts[first]
    order = np.lexsort((-ts, user))
    user, item = user[order], item[order]
    rank = np.arange(user.size) - np.searchsorted(user, user, side="left")
    keep = rank < max_user_items
    data = np.ones(int(keep.sum()), dtype=np.float32)
    return sp.csr_matrix((data, (user[keep], item[keep])), shape=(n_users, n_items))


def cosine_neighbours(
    matrix: sp.csr_matrix, m: int, *, shrink: float = 10.0, block_entries: int = 20_000_000
) -> sp.csr_matrix:
    """Items × items CSR of each item's ``m`` most similar other items (module docstring)."""
    n_items = matrix.shape[1]
    by_item = matrix.T.tocsr()  # items × users
    counts = np.asarray(by_item.sum(axis=1)).ravel().astype(np.float64)
    user_sizes = np.asarray(matrix.sum(axis=1)).ravel().astype(np.float64)
    bound = by_item @ user_sizes  # per item: an upper bound of its co-occurrence row's entries
    norms = np.sqrt(counts)
    rows_out: list[IntArray] = []
    cols_out: list[IntArray] = []
    vals_out: list[FloatArray] = []
    reach = np.cumsum(bound)
    start = 0
    while start < n_items:
        before = reach[start - 1] if start else 0.0
        stop = min(max(start + 1, int(np.searchsorted(reach, before + block_entries, side="right"))), n_items)
        block = (by_item[start:stop] @ matrix).tocoo()  # (stop - start) × items co-occurrence
        row, col = block.row.astype(np.int64) + start, block.col.astype(np.int64)
        sim = block.data / (norms[row] * norms[col] + shrink)
        sim = np.where(row == col, -np.inf, sim)
        top_cols, top_vals = top_k_pairs(row - start, col, sim, stop - start, m)
        real = top_cols != PAD
        rows_out.append(np.nonzero(real)[0].astype(np.int64) + start)
        cols_out.append(top_cols[real])
        vals_out.append(top_vals[real])
        start = stop
    rows = np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64)
    cols = np.concatenate(cols_out) if cols_out else np.zeros(0, np.int64)
    vals = np.concatenate(vals_out) if vals_out else np.zeros(0, np.float64)
    return sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(n_items, n_items))


class ItemKNN:
    """Neighbours of the user's recent choices (module docstring)."""

    name = "item_knn"

    def __init__(
        self,
        *,
        n_neighbours: int = 50,
        shrink: float = 10.0,
        max_user_items: int = 200,
        profile_items: int = 20,
        half_life_days: float | None = 30.0,
        exclude_seen: bool = True,
        block_entries: int = 20_000_000,
    ) -> None:
        if n_neighbours <= 0 or max_user_items <= 0 or profile_items <= 0 or shrink < 0:
            raise ValueError("n_neighbours, max_user_items, profile_items must be > 0, shrink >= 0")
        self.n_neighbours = n_neighbours
        self.shrink = shrink
        self.max_user_items = max_user_items
        self.profile_items = profile_items
        self.half_life_days = half_life_days
        self.exclude_seen = exclude_seen
        self.block_entries = block_entries
        self.similar: sp.csr_matrix | None = None  # items × items, ≤ n_neighbours per row
        self.profiles: sp.csr_matrix | None = None  # users × items, recency-weighted recent choices
        self.seen: UserItems | None = None  # every positive of every user

    def fit(self, data: RecsData, history: Interactions) -> ItemKNN:
        positives = history.positives()
        n_users, n_items = len(data.users), len(data.items)
        matrix = user_item_matrix(positives, n_users, n_items, self.max_user_items)
        self.similar = cosine_neighbours(
            matrix, self.n_neighbours, shrink=self.shrink, block_entries=self.block_entries
        )
        return self.update_history(positives, n_users, n_items)

    def update_history(self, history: Interactions, n_users: int, n_items: int) -> ItemKNN:
        """Rebuild user profiles (and what they saw) from ``history`` without refitting neighbours."""
        positives = history.positives()
        weights = EVENT_WEIGHT[positives.event].astype(np.float64)
        if self.half_life_days is not None and len(positives):
            age = (positives.ts_us.max() - positives.ts_us) / DAY_US
            weights = weights * np.exp2(-age / self.half_life_days)
        profile = sp.csr_matrix((weights, (positives.user, positives.item)), shape=(n_users, n_items))
        profile.sum_duplicates()
        self.seen = UserItems.of(positives.user, positives.item, n_items)
        self.profiles = _keep_top_per_row(profile, self.profile_items)
        return self

    def _fitted(self) -> tuple[sp.csr_matrix, sp.csr_matrix, UserItems]:
        if self.similar is None or self.profiles is None or self.seen is None:
            raise RuntimeError("item_knn: call fit() before recommend()")
        return self.similar, self.profiles, self.seen

    def neighbours(self, item_ids: IntArray, m: int) -> tuple[IntArray, FloatArray]:
        """The ``m`` most similar items of each item (``PAD`` / ``-inf`` beyond its neighbours)."""
        similar, _, _ = self._fitted()
        items = np.asarray(item_ids, dtype=np.int64)
        block = similar[items].tocoo()
        return top_k_pairs(block.row.astype(np.int64), block.col.astype(np.int64), block.data, items.size, m)

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Top ``k`` of ``profile · similar`` per user; users without history get ``PAD``."""
        similar, profiles, seen = self._fitted()
        users = np.asarray(users, dtype=np.int64)
        out_items = np.full((users.size, k), PAD, dtype=np.int64)
        out_scores = np.full((users.size, k), -np.inf)
        for start in range(0, users.size, _USER_CHUNK):  # bounds the sparse product's size
            chunk = users[start : start + _USER_CHUNK]
            scores = (profiles[chunk] @ similar).tocoo()
            row, col = scores.row.astype(np.int64), scores.col.astype(np.int64)
            value = scores.data.astype(np.float64)
            drop = np.zeros(value.size, dtype=bool)
            if exclude is not None:
                drop |= exclude[col]
            if self.exclude_seen:
                drop |= seen.contains(chunk[row], col[:, None])[:, 0]
            value[drop] = -np.inf
            stop = start + chunk.size
            out_items[start:stop], out_scores[start:stop] = top_k_pairs(row, col, value, chunk.size, k)
        return out_items, out_scores

    def save(self, folder: str | Path) -> None:
        """Neighbour table, profiles and seen items as safetensors, parameters as JSON."""
        similar, profiles, seen = self._fitted()
        arrays: dict[str, npt.NDArray[Any]] = {"seen_keys": seen.keys}
        for name, matrix in (("similar", similar), ("profiles", profiles)):
            arrays |= {f"{name}_indptr": matrix.indptr, f"{name}_indices": matrix.indices}
            arrays[f"{name}_data"] = matrix.data
        params = {
            "kind": type(self).__name__,
            "name": self.name,
            "n_items": similar.shape[0],
            "n_users": profiles.shape[0],
            "n_neighbours": self.n_neighbours,
            "shrink": self.shrink,
            "max_user_items": self.max_user_items,
            "profile_items": self.profile_items,
            "half_life_days": self.half_life_days,
            "exclude_seen": self.exclude_seen,
            "block_entries": self.block_entries,
        }
        save_artifact(folder, arrays, params)

    @classmethod
    def load(cls, folder: str | Path) -> ItemKNN:
        arrays, params = load_artifact(folder, cls.__name__)
        names = (
            "n_neighbours",
            "shrink",
            "max_user_items",
            "profile_items",
            "half_life_days",
            "exclude_seen",
        )
        model = cls(**{n: params[n] for n in names}, block_entries=params["block_entries"])
        shapes = {
            "similar": (params["n_items"], params["n_items"]),
            "profiles": (params["n_users"], params["n_items"]),
        }
        model.seen = UserItems(arrays["seen_keys"], int(params["n_items"]))
        for name, shape in shapes.items():
            matrix = sp.csr_matrix(
                (arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]), shape=shape
            )
            setattr(model, name, matrix)
        return model


def _keep_top_per_row(matrix: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """Each row's ``m`` largest entries (the user's strongest, most recent choices)."""
    coo = matrix.tocoo()
    cols, vals = top_k_pairs(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, matrix.shape[0], m)
    real = cols != PAD
    return sp.csr_matrix((vals[real], (np.nonzero(real)[0], cols[real])), shape=matrix.shape)
