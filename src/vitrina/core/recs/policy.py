"""What a shop serves: one recommender or a simple blend of them, named so it can be recorded
with a model version and rebuilt as of any instant.

A :class:`Policy` is data (``kind``, ``parts``, ``weight``): the training run chooses one on
validation (:mod:`vitrina.core.recs.selection`), the bundle stores it, and publishing rebuilds
it with :func:`build_policy` from sources fitted on the history up to the end of the data.
Two parts are trained models that come with the bundle (:data:`TRAINED`: the full model and
its two-tower retrieval alone); every other part is a :data:`SOURCES` factory, cheap to refit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.top_k import PAD
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.baselines import GlobalPopularity, SegmentPopularity
from vitrina.core.recs.blends import ScoreBlend, SequenceBlend, compact, first_occurrences
from vitrina.core.recs.buy_again import BuyAgain
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease import EASE
from vitrina.core.recs.item_knn import ItemKNN
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.source_ranker import RANKED_SOURCES, SOURCE_LTR, SOURCE_LTR_NEW, SourceRanker

ObjectArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]
Kind = Literal["single", "sequence", "score"]
FULL = "full"
TWO_TOWER = "two_tower"
FILL = "popularity_recent"
"""The source that completes short lists (and ends every sequence blend)."""
TRAINED = (FULL, TWO_TOWER)
"""Parts that are trained models of the run (in its bundle), not refitted sources."""

SOURCES: dict[str, Callable[..., Recommender]] = {
    "popularity_all_time": lambda **kw: GlobalPopularity(
        **{"half_life_days": None, "exclude_purchased": False, **kw}
    ),
    "popularity_recent": lambda **kw: GlobalPopularity(**{"exclude_purchased": False, **kw}),
    "als": lambda **kw: ALSRecommender(**kw),
    "buy_again": lambda **kw: BuyAgain(**kw),
    "item_knn": lambda **kw: ItemKNN(**kw),
    "ease": lambda **kw: EASE(**kw),
    SOURCE_LTR: lambda **kw: SourceRanker(**kw),
    SOURCE_LTR_NEW: lambda **kw: SourceRanker(**{"discovery": True, **kw}),
}
"""Candidate sources refitted on the history at hand, by name; keyword arguments override a
source's defaults (:data:`SourceSettings`). Popularity keeps what a user bought: whether showing
it again pays is what the evaluation's two views measure. The two source rankers
(:data:`RANKERS`) are refitted like any source, but each fit trains a model over the simple
sources (:mod:`~vitrina.core.recs.source_ranker`), so the selection fits them once, as trained
contenders, not in every validation window."""
RANKERS = (SOURCE_LTR, SOURCE_LTR_NEW)
"""Sources that learn to rank the other sources' candidates (docs/adr/0035)."""
SourceSettings = Mapping[str, Mapping[str, Any]]
"""Settings chosen on validation per source name (``{"ease": {"lambda_scale": 8.0}}``), stored
with the policy so that every refit of a source — the test evaluation, each publish — uses
what validation chose."""


def make_source(
    name: str,
    settings: SourceSettings | None = None,
    sources: Mapping[str, Callable[..., Recommender]] = SOURCES,
) -> Recommender:
    """An unfitted ``name`` source with its chosen ``settings`` (KeyError: no such source); a
    source ranker's own sources get theirs too."""
    kwargs = dict((settings or {}).get(name, {}))
    if name in RANKERS:
        kwargs.setdefault(
            "parts", {part: partial(make_source, part, settings, sources) for part in RANKED_SOURCES}
        )
    return sources[name](**kwargs)


def segment_popularity(settings: SourceSettings | None = None) -> SegmentPopularity:
    """An unfitted popularity within the user's segment at the recency chosen for recent
    popularity (``settings[FILL]``; the default without one): the gate's segment row is then
    the shop's popularity split by segment, not a second, unchosen recency (docs/adr/0026)."""
    recency = dict((settings or {}).get(FILL, {}))
    return SegmentPopularity(
        **{key: recency[key] for key in ("half_life_days", "window_days") if key in recency}
    )


REASONS = {
    "buy_again": "para volver a comprar",
    "repurchase": "para volver a comprar",
    "popularity_recent": "popular ahora",
    "popularity_all_time": "de lo más vendido",
}
"""Reason shown with an item, by the source that supplied it; other sources' items get the
history-based reasons of :func:`vitrina.core.recs.full.explain`."""


@dataclass(frozen=True)
class Policy:
    """One contender: a single source, a sequence of sources, or a score blend of two."""

    kind: Kind
    parts: tuple[str, ...]
    weight: float | None = None

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a policy needs at least one part")
        if self.kind == "single" and len(self.parts) != 1:
            raise ValueError(f"a single policy has one part, got {self.parts}")
        if self.kind == "score" and (len(self.parts) != 2 or self.weight is None):
            raise ValueError("a score blend has two parts and a weight")

    @property
    def name(self) -> str:
        if self.kind == "single":
            return self.parts[0]
        if self.kind == "sequence":
            return " > ".join(self.parts)
        weight = float(self.weight or 0.0)
        return f"{self.parts[0]}*{weight:.2f} + {self.parts[1]}*{1 - weight:.2f}"

    @property
    def uses_trained(self) -> bool:
        """Whether the policy needs the run's trained models (else only refitted sources)."""
        return any(part in TRAINED for part in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "parts": list(self.parts), "weight": self.weight, "name": self.name}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Policy:
        weight = raw.get("weight")
        parts = tuple(str(p) for p in raw["parts"])
        return cls(raw["kind"], parts, None if weight is None else float(weight))


FULL_POLICY = Policy("single", (FULL,))


class ServedModel(Protocol):
    """What batch inference and the behaviour tests call: lists plus a reason per slot
    (``""`` where the history-based reasons apply)."""

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]: ...


class PolicyModel:
    """A :class:`Policy` built over fitted parts: a recommender with reasons per source.

    ``fill`` (recent popularity) completes any list the policy leaves short — a user without
    history gets nothing from EASE or buy-again — so every served user has a full list; the
    full model has cold start of its own and is never filled."""

    def __init__(
        self, policy: Policy, parts: Mapping[str, Recommender], fill: Recommender | None = None
    ) -> None:
        self.policy = policy
        self.name = policy.name
        chosen = [parts[p] for p in policy.parts]
        if policy.kind == "single":
            self.model: Recommender = chosen[0]
        elif policy.kind == "sequence":
            self.model = SequenceBlend(chosen, policy.name)
        else:
            self.model = ScoreBlend(chosen[0], chosen[1], float(policy.weight or 0.0), policy.name)
        self.fill = None if policy == FULL_POLICY else fill
        self.popular = fill
        """Recent popularity as the policy's sources were chosen (its recency among them): the
        list batch inference publishes for customers without a list of their own."""
        self.content: npt.NDArray[np.float32] | None = None
        """The catalog's content embeddings (item × dim) for item-to-item lists, when the
        caller has them (the two-tower's item vectors): a policy without the two-tower still
        publishes "similar" lists from content."""
        self.settings: dict[str, dict[str, Any]] = {}
        """The sources' settings chosen on validation this policy was built with
        (:data:`SourceSettings`): the batch's ``buy_again`` list reads buy-again's timing here."""
        self.discover: ServedModel | None = None
        """The discover list's model (this run's second choice, without the user's purchases:
        :class:`vitrina.core.recs.discover.NewToUser`), when the caller built one; batch
        inference publishes it as the ``discover`` list beside this policy's lists."""

    def fit(self, data: RecsData, history: Interactions) -> PolicyModel:
        """The parts come fitted; refitting is :func:`build_policy`'s job."""
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray]:
        items, scores, _ = self.recommend_with_reasons(users, k, exclude)
        return items, scores

    def recommend_with_reasons(
        self, users: IntArray, k: int, exclude: BoolArray | None = None
    ) -> tuple[IntArray, FloatArray, ObjectArray]:
        users = np.asarray(users, dtype=np.int64)
        if self.policy.kind == "single":
            served = getattr(self.model, "recommend_with_reasons", None)
            if served is not None and self.fill is None:  # the full model: cold start's reasons
                items, scores, reasons = served(users, k, exclude)
                return items, scores, reasons
            items, scores = self.model.recommend(users, k, exclude)
            items = np.asarray(items, dtype=np.int64)
            sources = np.where(items != PAD, 0, -1)
        else:
            assert isinstance(self.model, SequenceBlend | ScoreBlend)
            items, scores, sources = self.model.recommend_with_sources(users, k, exclude)
        scores = np.asarray(scores, dtype=np.float64)
        if self.fill is not None:
            items, scores, sources = self._filled(users, k, exclude, items, scores, sources)
        fill_reason = [REASONS["popularity_recent"]]
        texts = np.array([REASONS.get(p, "") for p in self.policy.parts] + fill_reason + [""], dtype=object)
        return items, scores, texts[sources]

    def _filled(
        self,
        users: IntArray,
        k: int,
        exclude: BoolArray | None,
        items: IntArray,
        scores: FloatArray,
        sources: IntArray,
    ) -> tuple[IntArray, FloatArray, IntArray]:
        """Rows with padding completed from :attr:`fill` (its slots' source: ``len(parts)``)."""
        short = np.flatnonzero((items[:, :k] == PAD).any(axis=1))
        if short.size == 0 or self.fill is None:
            return items, scores, sources
        extra, _ = self.fill.recommend(users[short], 2 * k, exclude)
        extra = np.asarray(extra, dtype=np.int64)
        combined = np.hstack([items[short, :k], extra])
        origin = np.hstack([sources[short, :k], np.full(extra.shape, len(self.policy.parts))])
        items, scores, sources = items.copy(), scores.copy(), sources.copy()
        items[short], scores[short], sources[short] = compact(
            combined, first_occurrences(combined), origin, k
        )
        return items, scores, sources


def build_policy(
    policy: Policy,
    data: RecsData,
    history: Interactions,
    trained: Mapping[str, Recommender],
    sources: Mapping[str, Callable[..., Recommender]] = SOURCES,
    settings: SourceSettings | None = None,
) -> PolicyModel:
    """``policy`` over ``trained`` models (as the caller assembled them) and fresh sources fitted
    on ``history`` with their chosen ``settings``. KeyError names a part that is neither."""
    parts: dict[str, Recommender] = {}
    for name in policy.parts:
        if name in trained:
            parts[name] = trained[name]
        elif name in sources:
            parts[name] = make_source(name, settings, sources).fit(data, history)
        else:
            raise KeyError(f"policy {policy.name!r} uses {name!r}, which is no known source")
    fill = parts.get(FILL) or make_source(FILL, settings, sources).fit(data, history)
    model = PolicyModel(policy, parts, fill)
    model.settings = {name: dict(values) for name, values in (settings or {}).items()}
    return model
