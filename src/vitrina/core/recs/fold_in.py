"""Fold a trained bundle into a shop whose product or customer lists changed since training.

A bundle's trained parts index items and users by position in the vocabularies of the data
they were trained on. A shop adds products and customers every day and drops some; the
champion must keep publishing until the next full retrain (the age policy of
:mod:`vitrina.pipelines.retrain_policy` decides when that is due). Folding in maps the
bundle's id spaces onto the current ones:

* :func:`id_map` — for every current id, its row in the bundle (``-1``: new since training);
  ids of the bundle missing from the data are simply not mapped (dropped everywhere).
* :func:`fold_in_two_tower` — known users and items keep their id embeddings; new ones go
  through the *unknown* id row the network was trained with (id dropout), so a new product is
  embedded from its category, brand and price, and a new customer from their features and
  the bag of products they chose (refreshed from the history when the model is assembled).
  Feature codes are re-encoded from the current catalog and customer table with the model's
  own feature maps (a category the model never saw gets the unknown code).
* :func:`fold_in_item2vec` — known items keep their vectors; a new item gets the mean unit
  vector of the known items of its most specific category that has any (L3, then L2, then
  L1): the content signal cold start and the ranker's cosines read. An item with no known
  neighbour in any of its categories stays without a vector, as if never chosen together.

The sources that are refitted at every publish (popularity, ALS, item-kNN, EASE, buy again,
cold start's popularity) need no folding: they are fitted on the current history, so a new
customer with events gets factors and neighbours, and a customer without events the
popularity and session lists. The ranker reads features, not ids, and is kept as is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from vitrina.core.ranking.ann import AnnIndex, ItemSets
from vitrina.core.ranking.interactions import IntArray
from vitrina.core.recs.item2vec import Item2Vec, normalise_rows
from vitrina.core.recs.two_tower.inputs import encode
from vitrina.core.recs.two_tower.model import TwoTower
from vitrina.core.recs.two_tower.network import ITEM_FEATURES, USER_FEATURES, TwoTowerNet

CATEGORY_LEVELS = ("category_l3", "category_l2", "category_l1")
"""Where a new product's vector comes from, most specific first."""


@dataclass(frozen=True)
class IdMap:
    """``old_of_new[i]``: the bundle's row of current id ``i`` (``-1`` when it is new)."""

    old_of_new: IntArray
    n_old: int

    @property
    def kept(self) -> int:
        return int((self.old_of_new >= 0).sum())

    @property
    def added(self) -> int:
        return int((self.old_of_new < 0).sum())

    @property
    def removed(self) -> int:
        return self.n_old - self.kept

    @property
    def identity(self) -> bool:
        """The current ids are the bundle's, in the same order (nothing to fold in)."""
        return len(self.old_of_new) == self.n_old and bool(
            np.array_equal(self.old_of_new, np.arange(self.n_old))
        )

    @property
    def added_share(self) -> float:
        """Share of the current ids the bundle never saw (0 for an empty list)."""
        return self.added / len(self.old_of_new) if len(self.old_of_new) else 0.0


def id_map(old_ids: npt.ArrayLike, new_ids: npt.ArrayLike) -> IdMap:
    """Map current ids ``new_ids`` onto the bundle's ``old_ids`` (both unique string ids)."""
    old = pd.Index(np.asarray(old_ids, dtype=str))
    if not old.is_unique:
        raise ValueError("the bundle's ids are not unique: not a vocabulary")
    rows = old.get_indexer(pd.Index(np.asarray(new_ids, dtype=str)))
    return IdMap(np.asarray(rows, dtype=np.int64), len(old))


@dataclass(frozen=True)
class FoldIn:
    """What folding a bundle into the current data did, for the run and the version's record."""

    items: IdMap
    users: IdMap
    category_vectors: int = 0  # new items given their category's item2vec vector

    def counts(self) -> dict[str, int]:
        return {
            "items_added": self.items.added,
            "items_removed": self.items.removed,
            "users_added": self.users.added,
            "users_removed": self.users.removed,
            "items_with_category_vector": self.category_vectors,
        }

    def summary(self) -> str:
        c = self.counts()
        return (
            f"champion folded into the current data: {c['items_added']:,} new products "
            f"({c['items_with_category_vector']:,} with their category's vector), "
            f"{c['items_removed']:,} removed; {c['users_added']:,} new customers, "
            f"{c['users_removed']:,} removed"
        )


def _take_rows(
    old: npt.NDArray[np.float32], mapping: IdMap, fill: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Rows of ``old`` in the current order; new ids get ``fill`` (one row, broadcast)."""
    rows = np.repeat(fill.reshape(1, -1), len(mapping.old_of_new), axis=0).astype(old.dtype)
    kept = mapping.old_of_new >= 0
    rows[kept] = old[mapping.old_of_new[kept]]
    return rows


def category_vectors(
    vectors: npt.NDArray[np.float32], known: npt.NDArray[np.bool_], catalog: pd.DataFrame, targets: IntArray
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """``vectors`` and ``known`` with each item of ``targets`` given the mean unit vector of the
    known items of its most specific category that has one (see the module docstring)."""
    vectors, known = vectors.copy(), known.copy()
    unit = normalise_rows(vectors)
    pending = np.asarray(targets, dtype=np.int64)
    for level in CATEGORY_LEVELS:
        if pending.size == 0 or level not in catalog.columns:
            continue
        codes, _ = pd.factorize(catalog[level].astype(str).where(catalog[level].notna()))
        codes = np.asarray(codes, dtype=np.int64)  # -1: no category at this level
        sources = np.flatnonzero(known & (codes >= 0))
        if sources.size == 0:
            continue
        n_codes = int(codes.max()) + 1
        sums = np.zeros((n_codes, vectors.shape[1]), np.float64)
        np.add.at(sums, codes[sources], unit[sources])
        counts = np.bincount(codes[sources], minlength=n_codes)
        target_codes = codes[pending]
        found = (target_codes >= 0) & (counts[np.maximum(target_codes, 0)] > 0)
        chosen = pending[found]
        vectors[chosen] = normalise_rows(sums[target_codes[found]]).astype(np.float32)
        known[chosen] = np.linalg.norm(vectors[chosen], axis=1) > 0
        pending = pending[~found]
    return vectors, known


def fold_in_item2vec(
    model: Item2Vec, items: IdMap, catalog: pd.DataFrame, n_users: int
) -> tuple[Item2Vec, int]:
    """``model`` over the current items (``catalog`` row ``i`` is item ``i``) and ``n_users``
    users; returns it and how many new items got a category vector. User profiles and seen
    items start empty: the caller refreshes them from the current history."""
    dim = model.item_vectors.shape[1]
    vectors = _take_rows(model.item_vectors, items, np.zeros(dim, np.float32))
    known = np.zeros(len(items.old_of_new), dtype=bool)
    kept = items.old_of_new >= 0
    known[kept] = model.known[items.old_of_new[kept]]
    new = np.flatnonzero(~kept)
    vectors, known = category_vectors(vectors, known, catalog, new)
    folded = Item2Vec(model.config)
    folded.item_vectors = vectors
    folded.known = known
    folded.user_vectors = np.zeros((n_users, dim), np.float32)
    folded.seen = ItemSets.from_pairs([], [], n_users)
    folded._index = AnnIndex.build(normalise_rows(vectors))
    return folded, int(known[new].sum())


def fold_in_two_tower(
    model: TwoTower, items: IdMap, users: IdMap, catalog: pd.DataFrame, user_table: pd.DataFrame
) -> TwoTower:
    """``model`` over the current items and users (see the module docstring). Bags and seen
    items start empty: the caller refreshes them from the current history."""
    old = model._net()
    shape = replace(old.shape, n_users=len(users.old_of_new), n_items=len(items.old_of_new))
    net = TwoTowerNet(shape)
    state = {name: tensor.clone() for name, tensor in old.state_dict().items()}
    with torch.no_grad():
        item_w = state["item_id.weight"].numpy()
        user_w = state["user_id.weight"].numpy()
        unknown_item, unknown_user = item_w[old.unknown_item], user_w[old.unknown_user]
        # New ids read the unknown row, also inside a customer's bag of chosen products.
        item_rows = _take_rows(item_w[: old.shape.n_items], items, unknown_item)
        user_rows = _take_rows(user_w[: old.shape.n_users], users, unknown_user)
        pad = np.zeros((1, item_w.shape[1]), item_w.dtype)
        state["item_id.weight"] = torch.from_numpy(np.vstack([item_rows, unknown_item[None], pad]))
        state["user_id.weight"] = torch.from_numpy(np.vstack([user_rows, unknown_user[None]]))
        state["item_trained"] = torch.from_numpy(_trained(old.item_trained.numpy(), items))
        state["user_trained"] = torch.from_numpy(_trained(old.user_trained.numpy(), users))
        state["item_features"] = torch.from_numpy(
            encode(catalog, model.feature_maps, ITEM_FEATURES, model.price_edges)
        )
        state["user_features"] = torch.from_numpy(encode(user_table, model.feature_maps, USER_FEATURES, []))
        state["user_bags"] = torch.full((shape.n_users, shape.bag_len), net.bag_pad, dtype=torch.long)
        net.load_state_dict(state)
    folded = TwoTower(model.config)
    folded.feature_maps, folded.price_edges, folded.history = (
        model.feature_maps,
        model.price_edges,
        model.history,
    )
    folded.net = net
    folded.seen = ItemSets.from_pairs([], [], shape.n_users)
    folded._build_index()
    return folded


def _trained(flags: npt.NDArray[np.bool_], mapping: IdMap) -> npt.NDArray[np.bool_]:
    """Trained-id flags in the current order; new ids were never trained on."""
    out = np.zeros(len(mapping.old_of_new), dtype=bool)
    kept = mapping.old_of_new >= 0
    out[kept] = flags[mapping.old_of_new[kept]]
    return out
