"""Folding a trained bundle into a shop whose products and customers changed: known ids keep
what was learnt, new ones go through the cold-start paths, removed ones are gone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.recs_handmade import changed_shop, handmade

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.fold_in import fold_in_item2vec, fold_in_two_tower, id_map
from vitrina.core.recs.item2vec import Item2Vec, Item2VecConfig, normalise_rows
from vitrina.core.recs.two_tower.config import TwoTowerConfig
from vitrina.core.recs.two_tower.model import TwoTower

pytestmark = pytest.mark.unit
EVENTS = [  # two products a day per customer: item2vec learns from the pairs
    (f"u{u}", f"p{(u + d + j) % 6}", "purchase", d + u / 10 + j / 100)
    for u in range(4)
    for d in range(14)
    for j in range(2)
]


def test_id_map_counts_kept_added_and_removed_ids() -> None:
    mapping = id_map(["a", "b", "c"], ["b", "c", "d", "e"])
    np.testing.assert_array_equal(mapping.old_of_new, [1, 2, -1, -1])
    assert (mapping.kept, mapping.added, mapping.removed) == (2, 2, 1)
    assert mapping.added_share == 0.5
    assert not mapping.identity
    assert id_map(["a", "b"], ["a", "b"]).identity
    with pytest.raises(ValueError, match="not unique"):
        id_map(["a", "a"], ["a"])


@pytest.fixture(scope="module")
def shops() -> tuple[RecsData, RecsData]:
    shop = handmade(EVENTS, n_items=8, n_users=4)
    return shop, changed_shop(shop, ["p3"], {"pn1": "p1", "pn7": "p7"}, ["un0", "un1"])


def test_two_tower_keeps_known_embeddings_and_embeds_new_ids_from_features(
    shops: tuple[RecsData, RecsData],
) -> None:
    before, after = shops
    model = TwoTower(TwoTowerConfig(epochs=2, id_dim=4, hidden=8, out_dim=4, eval_k=4)).fit(
        before, before.interactions
    )
    items, users = id_map(before.items.ids, after.items.ids), id_map(before.users.ids, after.users.ids)
    folded = fold_in_two_tower(model, items, users, after.catalog, after.user_table)

    kept = np.flatnonzero(items.old_of_new >= 0)
    np.testing.assert_allclose(
        folded.item_embeddings()[kept], model.item_embeddings()[items.old_of_new[kept]], atol=1e-6
    )
    net = model.net
    assert net is not None
    new = int(np.flatnonzero(after.items.ids == "pn1")[0])
    copied = int(np.flatnonzero(before.items.ids == "p1")[0])
    with torch.no_grad():  # a new product is its features through the unknown id row
        expected = net.encode_items(
            torch.tensor([net.unknown_item]), net.item_features[torch.tensor([copied])]
        ).numpy()
    np.testing.assert_allclose(folded.item_embeddings()[new], expected[0], atol=1e-6)
    assert not np.allclose(folded.item_embeddings()[new], model.item_embeddings()[copied])

    folded.update_history(after.interactions)
    gone = before.interactions.item == int(np.flatnonzero(before.items.ids == "p3")[0])
    model.update_history(before.interactions.take(~gone))  # the history the folded model sees
    old_users = np.flatnonzero(users.old_of_new >= 0)
    np.testing.assert_allclose(  # same customers, same history: the same vectors
        folded.user_embeddings(old_users), model.user_embeddings(users.old_of_new[old_users]), atol=1e-6
    )
    ranked, _ = folded.recommend(np.arange(len(after.users)), k=len(after.items))
    assert ranked.shape == (len(after.users), len(after.items))
    assert set(ranked.ravel().tolist()) == set(range(len(after.items)))  # every current product, none gone


def test_item2vec_gives_new_products_their_categorys_vector(shops: tuple[RecsData, RecsData]) -> None:
    before, after = shops
    model = Item2Vec(Item2VecConfig(epochs=2, dim=4)).fit(before, before.interactions)
    items = id_map(before.items.ids, after.items.ids)
    folded, with_vector = fold_in_item2vec(model, items, after.catalog, len(after.users))

    kept = np.flatnonzero(items.old_of_new >= 0)
    np.testing.assert_array_equal(folded.item_vectors[kept], model.item_vectors[items.old_of_new[kept]])
    np.testing.assert_array_equal(folded.known[kept], model.known[items.old_of_new[kept]])
    # handmade category_l3 is one value for all products: a new one gets the mean of every
    # known product's unit vector (the removed one's no longer counts)
    sources = items.old_of_new[kept]
    sources = sources[model.known[sources]]
    expected = normalise_rows(normalise_rows(model.item_vectors[sources]).sum(0, keepdims=True))[0]
    for product in ("pn1", "pn7"):
        row = int(np.flatnonzero(after.items.ids == product)[0])
        np.testing.assert_allclose(folded.item_vectors[row], expected, atol=1e-5)
        assert folded.known[row]
    assert with_vector == 2
    assert model.learned
    assert folded.user_vectors.shape == (len(after.users), model.item_vectors.shape[1])
    folded.update_history(after.interactions, len(after.users))
    newcomer = int(np.flatnonzero(after.users.ids == "un0")[0])
    found, _ = folded.recommend(np.array([newcomer]), k=3)
    assert (found >= 0).all()  # a new customer who bought a new product has a profile


def test_a_new_product_without_a_known_neighbour_keeps_no_vector(shops: tuple[RecsData, RecsData]) -> None:
    before, after = shops
    model = Item2Vec(Item2VecConfig(epochs=2, dim=4)).fit(before, before.interactions)
    catalog = after.catalog.copy()
    for level in ("category_l1", "category_l2", "category_l3"):
        catalog.loc[catalog["product_id"] == "pn7", level] = "nueva"
    folded, with_vector = fold_in_item2vec(
        model, id_map(before.items.ids, after.items.ids), catalog, len(after.users)
    )
    row = int(np.flatnonzero(after.items.ids == "pn7")[0])
    assert with_vector == 1
    assert not folded.known[row]
    assert not folded.item_vectors[row].any()
