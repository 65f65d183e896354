"""The recommendations model bundle: every trained part of one run, saved and loaded together
(ADR-0004: a registered version is the whole bundle, so serving never mixes parts).

Layout under the bundle folder: ``item2vec/``, ``two_tower/``, ``ranker/`` (each part's own
safe format; no ``ranker/`` when the run had too few labelled users to train one, and the
model then orders candidates by their retrieval score), ``policy.json`` — what the run chose to
serve (:mod:`vitrina.core.recs.policy`; a bundle without one serves the full model), with the
discover list's policy under its ``discover`` key (absent in bundles from before that list) and
the settings its sources were chosen with under ``sources`` (EASE's λ; absent in older bundles,
whose sources refit with their defaults) — and
``vocabulary.json`` — the product
and user ids the parts' rows are indexed by, with their hash. The models index items and
users by position in the vocabularies of the data they were trained on: on data with other
ids, :func:`load_bundle` folds the trained parts into the current vocabularies
(:mod:`vitrina.core.recs.fold_in`; what it did is :attr:`RecsBundle.fold_in`). A bundle whose
vocabulary lists no ids (written before they were saved) cannot be mapped and is refused on
other ids with a clear error instead of silently recommending the wrong products.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.fold_in import FoldIn, fold_in_item2vec, fold_in_two_tower, id_map
from vitrina.core.recs.item2vec import Item2Vec
from vitrina.core.recs.policy import FULL_POLICY, Policy, SourceSettings
from vitrina.core.recs.two_tower.model import TwoTower

VOCABULARY_FILE = "vocabulary.json"
POLICY_FILE = "policy.json"
RANKER_FOLDER = "ranker"


class IncompatibleBundleError(ValueError):
    """The bundle was trained on other product or user ids than the data at hand."""


@dataclass(frozen=True)
class RecsBundle:
    """The trained parts of one recommendations run."""

    item2vec: Item2Vec
    two_tower: TwoTower
    ranker: LambdaRanker | None
    policy: Policy = FULL_POLICY
    discover: Policy | None = None
    """The discover list's policy (chosen on discovery, without buy-again); None: not recorded."""
    sources: SourceSettings = field(default_factory=dict)
    """Settings of the policies' sources chosen on validation (EASE's λ scale); empty: defaults."""
    fold_in: FoldIn | None = None  # set when loaded on data with other product or user ids


def vocabulary_hash(ids: npt.NDArray[np.str_]) -> str:
    """SHA-256 of the ids in order (the order *is* the index)."""
    return hashlib.sha256("\n".join(ids.tolist()).encode()).hexdigest()


def save_bundle(folder: str, bundle: RecsBundle, data: RecsData) -> str:
    """Write every part under ``folder``, then the vocabulary, then the bundle's manifest
    (:mod:`vitrina.core.artifacts.manifest`): only a sealed bundle whose files match it is loaded."""
    root = folder.rstrip("/")
    manifest.discard(root)
    bundle.item2vec.save(f"{root}/item2vec")
    bundle.two_tower.save(f"{root}/two_tower")
    if bundle.ranker is not None:
        bundle.ranker.save(f"{root}/{RANKER_FOLDER}")
    discover = {} if bundle.discover is None else {"discover": bundle.discover.to_dict()}
    sources = {"sources": {name: dict(values) for name, values in bundle.sources.items()}}
    write_json_atomic({**bundle.policy.to_dict(), **discover, **sources}, f"{root}/{POLICY_FILE}")
    write_json_atomic(
        {
            name: {"count": len(vocab), "sha256": vocabulary_hash(vocab.ids), "ids": vocab.ids.tolist()}
            for name, vocab in (("items", data.items), ("users", data.users))
        },
        f"{root}/{VOCABULARY_FILE}",
    )
    manifest.seal(root)
    return root


def saved_vocabulary(folder: str | Path) -> dict[str, Any]:
    """The bundle's ``vocabulary.json`` (IncompatibleBundleError when there is none)."""
    saved = read_json(f"{str(folder).rstrip('/')}/{VOCABULARY_FILE}")
    if saved is None:
        raise IncompatibleBundleError(f"no {VOCABULARY_FILE} under {folder}: not a complete recs bundle")
    return dict(saved)


def same_vocabulary(saved: dict[str, Any], data: RecsData) -> bool:
    """Whether ``data`` has the bundle's product and user ids, in order."""
    return all(
        saved[name]["sha256"] == vocabulary_hash(vocab.ids)
        for name, vocab in (("items", data.items), ("users", data.users))
    )


def check_compatible(folder: str | Path, data: RecsData) -> None:
    """IncompatibleBundleError unless ``data`` has the bundle's product and user ids, in order,
    or the bundle lists its ids so that :func:`load_bundle` can fold it into ``data``'s."""
    _check(saved_vocabulary(folder), folder, data)


def _check(saved: dict[str, Any], folder: str | Path, data: RecsData) -> None:
    if all("ids" in saved[name] for name in ("items", "users")):
        return
    for name, vocab in (("items", data.items), ("users", data.users)):
        if saved[name]["sha256"] != vocabulary_hash(vocab.ids):
            raise IncompatibleBundleError(
                f"the bundle under {folder} was trained on {saved[name]['count']:,} {name}, the data has "
                f"{len(vocab):,} (or other ids): retrain, or promote a version trained on this data"
            )


def chosen_sources(folder: str | Path) -> SourceSettings:
    """The source settings the bundle's run chose on validation (``policy.json`` ``sources``:
    EASE's λ, recent popularity's recency), without loading any model; empty for a bundle from
    before they were recorded (its sources use their defaults)."""
    policy = read_json(f"{str(folder).rstrip('/')}/{POLICY_FILE}")
    return dict((policy or {}).get("sources", {}))


def load_bundle(folder: str | Path, data: RecsData) -> RecsBundle:
    """Read a bundle written by :func:`save_bundle`, after verifying its manifest (before
    LightGBM, FAISS or safetensors open a file:
    :class:`~vitrina.core.artifacts.manifest.ArtifactRejectedError`
    names a damaged one) and checking it fits ``data``."""
    manifest.verify(str(folder))
    saved = saved_vocabulary(folder)
    _check(saved, folder, data)
    root = str(folder).rstrip("/")
    fs, local = filesystem(f"{root}/{RANKER_FOLDER}")
    # the manifest was verified above: a ranker folder it lists cannot have gone missing
    ranker = LambdaRanker.load(f"{root}/{RANKER_FOLDER}", num_threads=1) if fs.isdir(local) else None
    policy = read_json(f"{root}/{POLICY_FILE}")
    bundle = RecsBundle(
        item2vec=Item2Vec.load(f"{root}/item2vec"),
        two_tower=TwoTower.load(f"{root}/two_tower"),
        ranker=ranker,
        policy=FULL_POLICY if policy is None else Policy.from_dict(policy),
        discover=Policy.from_dict(policy["discover"]) if policy and "discover" in policy else None,
        sources=dict((policy or {}).get("sources", {})),
    )
    return bundle if same_vocabulary(saved, data) else fold_in(bundle, saved, data)


def fold_in(bundle: RecsBundle, saved: dict[str, Any], data: RecsData) -> RecsBundle:
    """``bundle`` (trained on the ids of ``saved``) mapped onto ``data``'s products and users."""
    items = id_map(saved["items"]["ids"], data.items.ids)
    users = id_map(saved["users"]["ids"], data.users.ids)
    item2vec, with_vector = fold_in_item2vec(bundle.item2vec, items, data.catalog, len(data.users))
    two_tower = fold_in_two_tower(bundle.two_tower, items, users, data.catalog, data.user_table)
    return RecsBundle(
        item2vec,
        two_tower,
        bundle.ranker,
        bundle.policy,
        bundle.discover,
        bundle.sources,
        FoldIn(items, users, with_vector),
    )
