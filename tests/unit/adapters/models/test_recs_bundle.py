"""A recs bundle is re-assembled on the ids it was trained on, or folded into new ones when it
lists them; a bundle that does not list its ids is refused on other ids."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from vitrina.adapters.models.recs_bundle import (
    VOCABULARY_FILE,
    IncompatibleBundleError,
    check_compatible,
    vocabulary_hash,
)
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.ranking.interactions import Vocabulary

pytestmark = pytest.mark.unit


def data(items: list[str], users: list[str]) -> SimpleNamespace:
    return SimpleNamespace(items=Vocabulary.of(items), users=Vocabulary.of(users))


def saved(folder: Path, items: list[str], users: list[str]) -> Path:
    vocab = data(items, users)
    write_json_atomic(
        {
            "items": {"count": len(items), "sha256": vocabulary_hash(vocab.items.ids)},
            "users": {"count": len(users), "sha256": vocabulary_hash(vocab.users.ids)},
        },
        str(folder / VOCABULARY_FILE),
    )
    return folder


def test_same_ids_are_compatible(tmp_path: Path) -> None:
    check_compatible(saved(tmp_path, ["p1", "p2"], ["u1"]), data(["p2", "p1"], ["u1"]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("items", "users", "what"), [(["p1", "p2", "p3"], ["u1"], "items"), (["p1", "p2"], ["u1", "u0"], "users")]
)
def test_a_bundle_without_its_ids_refuses_new_ids_with_the_reason(
    tmp_path: Path, items: list[str], users: list[str], what: str
) -> None:
    folder = saved(tmp_path, ["p1", "p2"], ["u1"])
    with pytest.raises(IncompatibleBundleError, match=f"trained on .* {what}, the data has"):
        check_compatible(folder, data(items, users))  # type: ignore[arg-type]


def test_a_folder_without_vocabulary_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(IncompatibleBundleError, match="not a complete recs bundle"):
        check_compatible(tmp_path, data(["p1"], ["u1"]))  # type: ignore[arg-type]


def test_vocabulary_hash_depends_on_order() -> None:
    assert vocabulary_hash(np.array(["a", "b"])) != vocabulary_hash(np.array(["b", "a"]))


def test_a_bundle_without_ranker_saves_and_loads_as_one(tmp_path: Path) -> None:
    """A run with nobody to learn a ranker from saves item2vec and the two towers only; the
    sealed bundle loads back with no ranker, and a ranker folder removed later is refused."""
    from support.recs_handmade import handmade

    from vitrina.adapters.models.recs_bundle import RANKER_FOLDER, RecsBundle, load_bundle, save_bundle
    from vitrina.core.artifacts.manifest import ArtifactRejectedError
    from vitrina.core.recs.item2vec import Item2Vec, Item2VecConfig
    from vitrina.core.recs.policy import Policy
    from vitrina.core.recs.two_tower.config import TwoTowerConfig
    from vitrina.core.recs.two_tower.model import TwoTower

    events = [(f"u{u}", f"p{(u + d) % 8}", "purchase", d + u / 10) for u in range(4) for d in range(14)]
    shop = handmade(events)
    train = shop.part("train")
    item2vec = Item2Vec(Item2VecConfig(epochs=1, dim=4)).fit(shop, train)
    towers = TwoTower(TwoTowerConfig(epochs=1, id_dim=4, hidden=8, out_dim=4, eval_k=4)).fit(shop, train)
    folder = save_bundle(str(tmp_path / "bundle"), RecsBundle(item2vec, towers, None), shop)
    assert not (tmp_path / "bundle" / RANKER_FOLDER).exists()
    loaded = load_bundle(folder, shop)
    assert loaded.ranker is None
    assert loaded.discover is None  # a bundle that recorded no discover list
    served = Policy("sequence", ("buy_again", "ease", "popularity_recent"))
    discover = Policy("score", ("item_knn", "popularity_recent"), 0.75)
    assert loaded.sources == {}  # a bundle that recorded no source settings: defaults
    chosen = {"ease": {"lambda_scale": 8.0}}
    bundle = RecsBundle(item2vec, towers, None, served, discover, chosen)
    again = load_bundle(save_bundle(str(tmp_path / "both"), bundle, shop), shop)
    assert (again.policy, again.discover, again.sources) == (served, discover, chosen)
    np.testing.assert_allclose(loaded.item2vec.item_vectors, item2vec.item_vectors)
    (tmp_path / "bundle" / RANKER_FOLDER).mkdir()
    (tmp_path / "bundle" / RANKER_FOLDER / "model.txt").write_text("tree\n")
    with pytest.raises(ArtifactRejectedError, match="not listed"):
        load_bundle(folder, shop)


def test_a_bundle_loaded_on_a_changed_shop_is_folded_in(tmp_path: Path) -> None:
    """Saved with its ids, a bundle loads on data with new and removed products and customers:
    the trained parts cover the current ids, and what was folded in is recorded."""
    from support.recs_handmade import changed_shop, handmade

    from vitrina.adapters.models.recs_bundle import RecsBundle, load_bundle, save_bundle
    from vitrina.core.recs.item2vec import Item2Vec, Item2VecConfig
    from vitrina.core.recs.two_tower.config import TwoTowerConfig
    from vitrina.core.recs.two_tower.model import TwoTower

    events = [(f"u{u}", f"p{(u + d) % 8}", "purchase", d + u / 10) for u in range(4) for d in range(14)]
    config = TwoTowerConfig(epochs=1, id_dim=4, hidden=8, out_dim=4, eval_k=4)
    trained_on = handmade(events, n_items=8, n_users=4)
    train = trained_on.part("train")
    item2vec = Item2Vec(Item2VecConfig(epochs=1, dim=4)).fit(trained_on, train)
    towers = TwoTower(config).fit(trained_on, train)
    folder = save_bundle(str(tmp_path / "bundle"), RecsBundle(item2vec, towers, None), trained_on)
    assert load_bundle(folder, trained_on).fold_in is None

    shop = changed_shop(trained_on, ["p7"], {"pn1": "p1", "pn2": "p2"}, ["un0", "un1"])
    loaded = load_bundle(folder, shop)

    assert loaded.fold_in is not None
    assert loaded.fold_in.counts() == {
        "items_added": 2,
        "items_removed": 1,
        "users_added": 2,
        "users_removed": 0,
        "items_with_category_vector": loaded.fold_in.category_vectors,
    }
    assert loaded.item2vec.item_vectors.shape[0] == len(shop.items) == 9
    assert loaded.two_tower.item_embeddings().shape[0] == 9
    assert loaded.two_tower.user_embeddings(np.arange(6)).shape == (6, 4)
    assert len(shop.users) == 6
