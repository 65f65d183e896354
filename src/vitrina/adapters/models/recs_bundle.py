"""The recommendations model bundle: every trained part of one run, saved and loaded together
(ADR-0004: a registered version is the whole bundle, so serving never mixes parts).

Layout under the bundle folder: ``item2vec/``, ``two_tower/``, ``ranker/`` (each part's own
safe format; no ``ranker/`` when the run had too few labelled users to train one, and the
model then orders candidates by their retrieval score), ``policy.json`` — what the run chose to
serve (:mod:`vitrina.core.recs.policy`; a bundle without one serves the full model), with the
discover list's policy under its ``discover`` key (absent in bundles from before that list) — and
``vocabulary.json`` — the product
and user ids the parts' rows are indexed by, with their hash. The models index items and
users by position in the vocabularies of the data they were trained on, so a bundle may only
be re-assembled on data with the very same vocabularies; :func:`load_bundle` refuses anything
else with a clear error instead of silently recommending the wrong products.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vitrina.core.artifacts import manifest
from vitrina.core.artifacts.files import filesystem, read_json, write_json_atomic
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.item2vec import Item2Vec
from vitrina.core.recs.policy import FULL_POLICY, Policy
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
    write_json_atomic({**bundle.policy.to_dict(), **discover}, f"{root}/{POLICY_FILE}")
    write_json_atomic(
        {
            "items": {"count": len(data.items), "sha256": vocabulary_hash(data.items.ids)},
            "users": {"count": len(data.users), "sha256": vocabulary_hash(data.users.ids)},
        },
        f"{root}/{VOCABULARY_FILE}",
    )
    manifest.seal(root)
    return root


def check_compatible(folder: str | Path, data: RecsData) -> None:
    """IncompatibleBundleError unless ``data`` has the bundle's product and user ids, in order."""
    saved = read_json(f"{str(folder).rstrip('/')}/{VOCABULARY_FILE}")
    if saved is None:
        raise IncompatibleBundleError(f"no {VOCABULARY_FILE} under {folder}: not a complete recs bundle")
    for name, vocab in (("items", data.items), ("users", data.users)):
        if saved[name]["sha256"] != vocabulary_hash(vocab.ids):
            raise IncompatibleBundleError(
                f"the bundle under {folder} was trained on {saved[name]['count']:,} {name}, the data has "
                f"{len(vocab):,} (or other ids): retrain, or promote a version trained on this data"
            )


def load_bundle(folder: str | Path, data: RecsData) -> RecsBundle:
    """Read a bundle written by :func:`save_bundle`, after verifying its manifest (before
    LightGBM, FAISS or safetensors open a file:
    :class:`~vitrina.core.artifacts.manifest.ArtifactRejectedError`
    names a damaged one) and checking it fits ``data``."""
    manifest.verify(str(folder))
    check_compatible(folder, data)
    root = str(folder).rstrip("/")
    fs, local = filesystem(f"{root}/{RANKER_FOLDER}")
    # the manifest was verified above: a ranker folder it lists cannot have gone missing
    ranker = LambdaRanker.load(f"{root}/{RANKER_FOLDER}", num_threads=1) if fs.isdir(local) else None
    policy = read_json(f"{root}/{POLICY_FILE}")
    return RecsBundle(
        item2vec=Item2Vec.load(f"{root}/item2vec"),
        two_tower=TwoTower.load(f"{root}/two_tower"),
        ranker=ranker,
        policy=FULL_POLICY if policy is None else Policy.from_dict(policy),
        discover=Policy.from_dict(policy["discover"]) if policy and "discover" in policy else None,
    )
