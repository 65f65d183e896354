"""Item2Vec (Barkan & Koenigstein 2016): word2vec over the items of each session.

Items chosen in the same session (clicked, added to cart, bought) are "words" of one
"sentence"; skip-gram with negative sampling puts items that share contexts close together.
The vectors are a candidate generator on their own (user vector = recency-weighted mean of
the vectors of what the user chose; cosine to every item) and features for the ranker, MMR
and cold start (:attr:`Item2Vec.item_vectors`).

Defaults (:class:`Item2VecConfig`) follow Caselles-Dupré et al. 2018 ("Word2vec applied to
recommendation: hyperparameters matter"): a negative-sampling exponent below zero (it matters
most), more epochs than for text (sessions are short, so a pass yields few pairs), and
frequent-item down-sampling so best-sellers do not dominate every context. Training is
single-threaded with a fixed seed and a stable hash, which makes gensim's result reproducible.

Centred vectors (:attr:`Item2VecConfig.centre`): skip-gram vectors share a common direction,
and an item trained on few pairs keeps little else, so the cosine of a user's mean profile is
highest for the rarest items: on a real shop (online-retail, forward split) the median item
recommended had been chosen by one user and NDCG@10 was 0.009 (popularity: 0.068). Subtracting
the mean vector of the trained items ("all-but-the-top", Mu & Viswanath 2018) removes it
(0.047). As a list of its own it stays below co-occurrence (item-kNN 0.113 there; 0.021 against
0.066 on movielens, leave-last-5-out): its vectors serve as ranking features, cold-start content
and MMR similarity, and a shop's validation decides whether its list is worth publishing.

Only positives count (impressions are exposures, not choices); repeats of an item in a row
(click → cart → purchase) collapse to one token, and one-item sessions are dropped: they
yield no pair, so their items would keep their random initial vector. Items never trained
get a zero vector and ``known[i] = False``, and are never retrieved.

Compute budget (:attr:`Item2VecConfig.max_sessions`): training costs every epoch a pass over
every session, so a fit trains on at most ``max_sessions`` sessions, drawn with the config's
seed. The demo world's 56,294 sessions are trained whole; the large world's 326,988 are
sampled. A sample keeps the items chosen often (they appear in many sessions), and an item seen
only in sessions left out stays unknown, like an item never chosen together. What a fit took is kept in
:attr:`Item2Vec.budget` and recorded on the MLflow run.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from gensim.models import Word2Vec

from vitrina.core.artifacts.arrays import load_arrays, load_meta, save_arrays, save_meta
from vitrina.core.ranking.ann import AnnIndex, ItemSets
from vitrina.core.ranking.interactions import EVENT_WEIGHT, FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.budget import seeded_sample
from vitrina.core.recs.dataset import RecsData

Float32Array = npt.NDArray[np.float32]
DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class Item2VecConfig:
    dim: int = 64
    window: int = 5
    negative: int = 10
    # Negative exponent: rare items are drawn as negatives more than popular ones, which on
    # the demo marketplace lifts valid Recall@100 from 0.052 (text default 0.75) to 0.085.
    ns_exponent: float = -0.5
    sample: float = 1e-3  # down-sampling of very frequent items
    epochs: int = 10
    min_count: int = 1
    alpha: float = 0.025
    half_life_days: float = 3.0  # recency weight of a user's past choices, from their own last one
    centre: bool = True  # subtract the mean vector of the trained items (see the module docstring)
    exclude_seen: bool = True  # never recommend what the user already chose
    # Compute budget: the most sessions a fit trains on, a seeded sample when there are more
    # (see the module docstring); None trains on every session.
    max_sessions: int | None = 100_000
    seed: int = 0
    workers: int = 1  # >1 trades reproducibility for speed


def _stable_hash(text: str) -> int:
    """Process-independent hash (Python's ``hash`` of str is salted per process)."""
    return zlib.crc32(text.encode())


def session_sequences(positives: Interactions) -> list[list[str]]:
    """Per session, its chosen items in time order as word2vec tokens (``str(item)``).

    Consecutive repeats collapse; sessions with fewer than two distinct tokens are dropped.
    """
    order = np.lexsort((positives.ts_us, positives.session))
    session, item = positives.session[order], positives.item[order]
    keep = np.ones(len(item), dtype=bool)
    keep[1:] = (session[1:] != session[:-1]) | (item[1:] != item[:-1])
    session, item = session[keep], item[keep]
    bounds = np.flatnonzero(np.diff(session)) + 1
    tokens = item.astype(str)
    return [list(chunk) for chunk in np.split(tokens, bounds) if len(set(chunk)) > 1]


def normalise_rows(matrix: FloatArray | Float32Array) -> Float32Array:
    """Rows scaled to unit L2 norm; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0), np.float32)


def seen_items(history: Interactions, n_users: int) -> ItemSets:
    """Items each user chose (positives) in ``history``."""
    positives = history.positives()
    return ItemSets.from_pairs(positives.user, positives.item, n_users)


class Item2Vec:
    """Session-based item embeddings and the candidate generator built on them.

    After :meth:`fit`: ``item_vectors`` float32 ``(n_items, dim)`` (zero rows where
    ``known`` is False), ``user_vectors`` float32 ``(n_users, dim)`` L2-normalised (zero for
    users without a known item in their history). When no session of the history holds two
    distinct chosen items, nothing is learned: no item is known (:attr:`learned` is False).
    """

    name = "item2vec"

    def __init__(self, config: Item2VecConfig | None = None) -> None:
        self.config = config or Item2VecConfig()
        self.item_vectors: Float32Array = np.zeros((0, self.config.dim), np.float32)
        self.known: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.user_vectors: Float32Array = np.zeros((0, self.config.dim), np.float32)
        self.seen = ItemSets.empty(0)
        self._index: AnnIndex | None = None
        self.budget: dict[str, int] = {}

    def fit(self, data: RecsData, history: Interactions) -> Item2Vec:
        """Train on the sessions of ``history`` and build every user's profile from it."""
        cfg = self.config
        sentences = session_sequences(history.positives())
        kept = seeded_sample(np.arange(len(sentences)), cfg.max_sessions, cfg.seed)
        self.budget = {"sessions": len(sentences), "sessions_trained": int(kept.size)}
        if kept.size < len(sentences):
            sentences = [sentences[i] for i in kept]
        vectors = np.zeros((len(data.items), cfg.dim), dtype=np.float32)
        self.known = np.zeros(len(data.items), dtype=bool)
        if not sentences:
            # Nothing was chosen together (a shop of one-product orders): no item is known, so
            # every vector stays zero, nobody gets a profile and nothing is recommended.
            self.item_vectors = vectors
            self._index = AnnIndex.build(vectors)
            return self.update_history(history, n_users=len(data.users))
        model = Word2Vec(
            sentences=sentences,
            vector_size=cfg.dim,
            window=cfg.window,
            negative=cfg.negative,
            ns_exponent=cfg.ns_exponent,
            sample=cfg.sample,
            epochs=cfg.epochs,
            min_count=cfg.min_count,
            alpha=cfg.alpha,
            sg=1,
            hs=0,
            seed=cfg.seed,
            workers=cfg.workers,
            hashfxn=_stable_hash,
        )
        keys = np.asarray([int(key) for key in model.wv.index_to_key], dtype=np.int64)
        trained = np.asarray(model.wv.vectors, dtype=np.float32)
        if cfg.centre:
            trained = trained - trained.mean(axis=0, keepdims=True)
        vectors[keys] = trained
        self.item_vectors = vectors
        self.known[keys] = True
        self._index = AnnIndex.build(normalise_rows(vectors))
        return self.update_history(history, n_users=len(data.users))

    @property
    def learned(self) -> bool:
        """Whether :meth:`fit` found items chosen together, i.e. any item has a vector."""
        return bool(self.known.any())

    def update_history(self, history: Interactions, n_users: int | None = None) -> Item2Vec:
        """Rebuild user profiles and seen items from ``history`` without retraining vectors
        (e.g. before scoring the test week with everything up to it)."""
        n_users = len(self.user_vectors) if n_users is None else n_users
        self.user_vectors = self.profiles(history, n_users)
        self.seen = seen_items(history, n_users)
        return self

    def profiles(self, history: Interactions, n_users: int) -> Float32Array:
        """Recency- and strength-weighted mean of unit item vectors per user, L2-normalised.

        Weight of an event = ``EVENT_WEIGHT[event] * 0.5 ** (age / half_life)``, age measured
        from the user's own last choice: what they chose last is what they are into, however
        long ago that was (measured from the end of the history, the profile of a user away for
        a few years underflows to zero and they get no list at all).
        """
        events = history.positives()
        events = events.take(self.known[events.item])
        if len(events) == 0:
            return np.zeros((n_users, self.config.dim), np.float32)
        last = np.full(n_users, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, events.user, events.ts_us)
        age_days = (last[events.user] - events.ts_us) / DAY_US
        weight = EVENT_WEIGHT[events.event] * 0.5 ** (age_days / self.config.half_life_days)
        unit = normalise_rows(self.item_vectors[events.item])
        sums = np.zeros((n_users, self.config.dim), np.float64)
        np.add.at(sums, events.user, unit * weight[:, None])
        return normalise_rows(sums)

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        """Top ``k`` items by cosine to each user's profile; users without one get ``PAD``."""
        if self._index is None:
            raise RuntimeError("Item2Vec is not fitted")
        users = np.asarray(users, dtype=np.int64)
        blocked = ~self.known if exclude is None else (~self.known | exclude)
        queries = self.user_vectors[users]
        has_profile = np.linalg.norm(queries, axis=1) > 0
        items = np.full((len(users), k), PAD, dtype=np.int64)
        scores = np.full((len(users), k), -np.inf)
        rows = np.flatnonzero(has_profile)
        if rows.size:
            seen = self.seen.subset(users[rows]) if self.config.exclude_seen else None
            found, found_scores = self._index.search(queries[rows], k, exclude=blocked, seen=seen)
            items[rows], scores[rows] = found, found_scores
        return items, scores

    def similarity(self, a: IntArray, b: IntArray) -> FloatArray:
        """Cosine between items ``a`` and ``b`` (equal-shaped index arrays); 0 if either is unknown."""
        unit = normalise_rows(self.item_vectors)
        return np.asarray(np.einsum("...d,...d->...", unit[a], unit[b]), dtype=np.float64)

    def save(self, directory: str | Path) -> None:
        """``item2vec.safetensors`` (vectors, profiles, seen items), ``item2vec.json``, ``items.faiss``."""
        if self._index is None:
            raise RuntimeError("Item2Vec is not fitted")
        folder = Path(directory)
        save_arrays(
            folder / "item2vec.safetensors",
            {
                "item_vectors": self.item_vectors,
                "known": self.known.astype(np.uint8),
                "user_vectors": self.user_vectors,
                "seen_indptr": self.seen.indptr,
                "seen_items": self.seen.items,
            },
        )
        self._index.save(folder / "items.faiss")
        meta: dict[str, Any] = {"model": self.name, "config": asdict(self.config)}
        save_meta(folder / "item2vec.json", meta)

    @classmethod
    def load(cls, directory: str | Path) -> Item2Vec:
        folder = Path(directory)
        meta = load_meta(folder / "item2vec.json")
        if meta.get("model") != cls.name:
            raise ValueError(f"{folder} does not hold an item2vec model: {meta.get('model')!r}")
        arrays = load_arrays(folder / "item2vec.safetensors")
        model = cls(Item2VecConfig(**meta["config"]))
        model.item_vectors = arrays["item_vectors"]
        model.known = arrays["known"].astype(bool)
        model.user_vectors = arrays["user_vectors"]
        model.seen = ItemSets(arrays["seen_indptr"], arrays["seen_items"])
        model._index = AnnIndex.load(folder / "items.faiss")
        return model
