"""Offline evaluation protocol of recommenders (docs/spec.md §3.8), against held-out events and the truth.

Protocol for a part ``P`` (``valid`` or ``test``) starting at instant ``t0``:

* **Models** must be fitted on interactions before ``t0`` only (the caller fits them;
  ``history_before(data, part)`` gives exactly that history).
* **Candidate items** at ``t0``: servable (in stock, not reported) and already created
  (``catalog.created_at < t0``). A model's ``recommend`` is called with ``exclude`` = every
  other item; returning one is a contract violation and raises ``ValueError``.
* **Previously purchased items** (purchases before ``t0``) are removed from every ranked
  list and from the truth, whatever the model returns. This is the business filter the
  served lists apply (docs/spec.md §3.5, "nothing already bought"), so the evaluation scores what
  users would actually see. Earlier clicks and carts stay eligible: coming back to a product
  one compared is real interest (on the demo data 8 % of held-out user-item pairs repeat an
  earlier click or cart, 2.4 % an earlier purchase), and removing them would stop rewarding the
  models that bring such products back — except on a shop whose looks never turn into choices
  (a ratings log: ``hide_seen``, :mod:`vitrina.core.recs.seen_items`), whose discover list
  leaves out every item the user had an event on, and so does its discovery view. The model
  is asked for ``k_max + (that user batch's largest purchase count)`` items, so no list runs
  short because of the filter.
* **Evaluated users**: users of the user table with at least one held-out positive (click,
  cart or purchase in ``P``) on a candidate item they had not bought before.
* **Held-out relevance** of (user, item): the best ``EVENT_GAIN`` of the user's events on the
  item in ``P`` (click 1, cart 1, purchase 2).
* **Truth relevance** (when the simulator's truth is given): each evaluated user's candidate
  items, minus previous purchases, sorted by true utility at ``t0``; gains 3 / 2 / 1 for
  ranks 1–10 / 11–20 / 21–100 (:data:`TRUTH_TIERS`). The tiers line up with the reported
  cut-offs, so a list of the true top items scores exactly 1.0 on every accuracy metric
  (NDCG@10/@20, MAP@10, HitRate@10, MRR, Recall@100), while the grades still reward putting
  the best items first; 100 items is under 1 % of the demo catalog, so the graded set
  is specific to each user, yet large enough that near-misses earn credit.

Metrics (:data:`METRICS`): NDCG@10, NDCG@20 (exponential gain), HitRate@10, MAP@10, MRR
(whole list), Recall@100, averaged over evaluated users; coverage = share of the candidate
items that appear in at least one top-20; diversity = mean category (L2) intra-list
diversity of the top 10; novelty = mean self-information (bits) of the top 10, with item
popularity = positive interactions per item before ``t0``. Beyond-accuracy numbers depend only on
the lists, so they are the same in both blocks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vitrina.adapters.lake.truth import Truth as SimulatorTruth
from vitrina.core.metrics import (
    PAD,
    Truth,
    catalog_coverage,
    category_diversity,
    judge,
    mean_over_queries,
    novelty,
    ranking_report,
)
from vitrina.core.ranking.interactions import EVENT_GAIN, FloatArray, IntArray, Interactions
from vitrina.core.recs.budget import seeded_sample
from vitrina.core.recs.dataset import RecsData, to_micros
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.user_items import UserItems, drop_members
from vitrina.pipelines.recs.report import ACCURACY_METRICS, METRICS, write_recs_report
from vitrina.pipelines.recs.truth_grades import TRUTH_TIERS, grade_by_utility

__all__ = [
    "METRICS",
    "TRUTH_TIERS",
    "EvaluationSet",
    "build_evaluation_set",
    "evaluate_all",
    "evaluate_recommender",
    "grade_by_utility",
    "heldout_ndcg",
    "history_before",
    "rank_models",
    "rank_users",
    "score_lists",
    "write_recs_report",
]
log = logging.getLogger(__name__)
BoolArray = npt.NDArray[np.bool_]
Accuracy = Callable[[IntArray, Truth, Sequence[str]], dict[str, float]]
"""(ranked lists, truth, metric names) → mean accuracy metrics (an engine's evaluation join)."""

RECOMMEND_BATCH = 2048  # users per recommend() call
SAMPLE_SEED = 0
"""Seed of the user sample of an evaluation capped by ``max_users``: the same data gives the
same users, in every view and for every model scored on it."""


@dataclass(frozen=True)
class EvaluationSet:
    """Everything fixed about one evaluation, shared by all models (built once per part).

    Row ``r`` of ``heldout`` / ``graded`` judges user ``users[r]``.
    """

    part: str
    start_us: int
    users: IntArray
    candidates: BoolArray  # (n_items,) items a model may show at start_us
    bought: UserItems  # purchases before start_us, removed from every list
    heldout: Truth
    graded: Truth | None  # true-utility grades, None without a simulator truth
    item_counts: FloatArray  # (n_items,) positive interactions before start_us, for novelty
    item_category: IntArray
    sampled_from: int | None = None  # users with a held-out choice when ``users`` is a sample of them

    @property
    def n_items(self) -> int:
        return int(self.candidates.size)


def part_start_us(data: RecsData, part: str) -> int:
    """First instant of ``part`` (``valid`` or ``test``), epoch microseconds."""
    if part == "valid":
        return data.train_end_us
    if part == "test":
        return data.valid_end_us
    raise ValueError(f"evaluation part must be 'valid' or 'test', got {part!r}")


def history_before(data: RecsData, part: str) -> Interactions:
    """The interactions a model evaluated on ``part`` may be fitted on (all before its start)."""
    return data.interactions.before(part_start_us(data, part))


def build_evaluation_set(
    data: RecsData,
    *,
    part: str = "test",
    truth: SimulatorTruth | None = None,
    repeats: bool = False,
    users: IntArray | None = None,
    max_users: int | None = None,
    hide_seen: bool = False,
) -> EvaluationSet:
    """Apply the protocol of the module docstring to ``data`` (and grade by ``truth`` if given).

    ``repeats`` scores the **all positives** view instead: earlier purchases stay in the lists
    and in the held-out truth, so buying again counts (the simulator's graded truth is left
    out there: it ranks new items only). ``users`` keeps only those users' held-out choices.
    ``max_users``: score at most that many of the users with a held-out choice, a sample drawn
    with :data:`SAMPLE_SEED` (:mod:`vitrina.core.recs.budget`); ``sampled_from`` then says
    how many there were. ``hide_seen`` (the discovery view only): every item the user had any
    event on before the part is removed, as the discover list of a shop whose looks never turn
    into choices removes them (:mod:`vitrina.core.recs.seen_items`)."""
    start = part_start_us(data, part)
    n_items = len(data.items)
    created = to_micros(data.catalog["created_at"]) < start
    candidates = data.servable & created
    history = data.interactions.before(start).positives()
    bought = UserItems.hidden(data.interactions.before(start), n_items, hide_seen)
    if repeats:
        bought, truth = UserItems(np.zeros(0, np.int64), n_items), None
    held = data.part(part).positives()
    keep = candidates[held.item] & ~bought.contains(held.user, held.item[:, None])[:, 0]
    if users is not None:
        keep &= np.isin(held.user, users)
    held = held.take(keep & (held.user >= 0) & (held.user < len(data.users)))
    users = np.unique(held.user)
    population = users.size
    users = seeded_sample(users, max_users, SAMPLE_SEED)
    if users.size < population:
        held = held.take(np.isin(held.user, users))
    heldout = Truth.from_pairs(
        np.searchsorted(users, held.user),
        held.item,
        EVENT_GAIN[held.event],
        n_queries=users.size,
        duplicates="max",
    )
    graded = None if truth is None else grade_by_utility(truth, data, users, candidates, bought, start)
    return EvaluationSet(
        part=part,
        start_us=start,
        users=users,
        candidates=candidates,
        bought=bought,
        heldout=heldout,
        graded=graded,
        item_counts=np.bincount(history.item, minlength=n_items).astype(np.float64),
        item_category=data.item_category,
        sampled_from=population if users.size < population else None,
    )


def rank_users(model: Recommender, evaluation: EvaluationSet, k_max: int = 100) -> IntArray:
    """``int64 (n_users, k_max)`` lists of ``model`` for the evaluated users, under the protocol."""
    return rank_models([model], evaluation, k_max)[0]


def rank_models(models: Sequence[Recommender], evaluation: EvaluationSet, k_max: int = 100) -> list[IntArray]:
    """:func:`rank_users` of each model, batch by batch: a memoised part they share scores a batch once."""
    exclude = ~evaluation.candidates
    out = [np.full((evaluation.users.size, k_max), PAD, dtype=np.int64) for _ in models]
    for start in range(0, evaluation.users.size, RECOMMEND_BATCH):
        users = evaluation.users[start : start + RECOMMEND_BATCH]
        fetch = k_max + int(evaluation.bought.count(users).max(initial=0))
        for model, ranked in zip(models, out, strict=True):
            got, scores = model.recommend(users, fetch, exclude)
            items = _checked(model, np.asarray(got), users.size, fetch, exclude)
            same = np.shape(scores) == items.shape
            scored = np.asarray(scores, np.float64) if same else np.zeros(items.shape)
            rows = slice(start, start + users.size)
            ranked[rows], _ = drop_members(items, scored, users, evaluation.bought, k_max)
    return out


def _checked(model: Recommender, items: IntArray, n: int, k: int, exclude: BoolArray) -> IntArray:
    """``items`` as a valid (n, k) matrix, or ``ValueError`` naming what the model got wrong."""
    name = getattr(model, "name", type(model).__name__)
    if items.ndim != 2 or items.shape[0] != n or items.shape[1] > k:
        raise ValueError(f"model {name!r} returned shape {items.shape}, expected ({n}, {k})")
    if items.size and not np.issubdtype(items.dtype, np.integer):
        raise ValueError(f"model {name!r} returned {items.dtype} items, expected integer indices")
    items = items.astype(np.int64, copy=False)
    if items.size and (items.min() < PAD or items.max() >= exclude.size):
        raise ValueError(f"model {name!r} returned item indices outside [0, {exclude.size})")
    shown = items[items != PAD]
    if exclude[shown].any():
        bad = int(exclude[shown].sum())
        raise ValueError(
            f"model {name!r} recommended {bad} excluded items (out of stock, reported or not yet created)"
        )
    if items.shape[1] < k:
        items = np.pad(items, ((0, 0), (0, k - items.shape[1])), constant_values=PAD)
    return items


def score_lists(
    ranked: IntArray, evaluation: EvaluationSet, accuracy: Accuracy | None = None
) -> dict[str, dict[str, float]]:
    """Metrics of ranked lists (rows = ``evaluation.users``): ``{"heldout": …, "truth": …}``.

    ``truth`` is empty without graded truth. Values are ``NaN`` when no user can be evaluated.
    ``accuracy``: the join of lists with truth into accuracy metrics (the engine's, from
    :func:`~vitrina.pipelines.recs.engine.accuracy_join`); None joins in process.
    """
    if ranked.shape[1] < 100:
        raise ValueError(f"recall@100 needs lists of at least 100 items, got {ranked.shape[1]}")
    beyond = {
        "coverage": catalog_coverage(ranked, 20, evaluation.n_items)
        * evaluation.n_items
        / max(1, int(evaluation.candidates.sum())),
        "diversity": mean_over_queries(category_diversity(ranked, 10, evaluation.item_category)),
        "novelty": mean_over_queries(novelty(ranked, 10, evaluation.item_counts)),
    }
    if ranked.shape[0] == 0:  # nobody to evaluate: say so with NaN, never a flattering 0
        beyond = dict.fromkeys(beyond, float("nan"))
    blocks = {"heldout": evaluation.heldout, "truth": evaluation.graded}
    join = accuracy or _accuracy_in_process
    return {
        name: join(ranked, truth, ACCURACY_METRICS) | beyond
        for name, truth in blocks.items()
        if truth is not None
    }


def heldout_ndcg(ranked: IntArray, evaluation: EvaluationSet) -> float:
    """:func:`score_lists`' held-out NDCG@10 (what validation choices read) from the top 10 alone."""
    return float(ranking_report(judge(ranked[:, :10], evaluation.heldout), ("ndcg@10",))["ndcg@10"])


def _accuracy_in_process(ranked: IntArray, truth: Truth, names: Sequence[str]) -> dict[str, float]:
    return ranking_report(judge(ranked, truth), names)


def evaluate_recommender(
    model: Recommender,
    data: RecsData,
    *,
    part: str = "test",
    k_max: int = 100,
    truth: SimulatorTruth | None = None,
    evaluation: EvaluationSet | None = None,
    accuracy: Accuracy | None = None,
) -> dict[str, Any]:
    """Evaluate one fitted model on ``part`` (``accuracy``: see :func:`score_lists`).

    Returns ``{"heldout": {metric: value}, "truth": {metric: value} or {}, "n_users": int}``
    with the keys of :data:`METRICS`. Pass a prebuilt ``evaluation`` to share it across models.
    """
    if k_max < 100:
        raise ValueError(f"k_max must be >= 100 (Recall@100), got {k_max}")
    if evaluation is None:
        evaluation = build_evaluation_set(data, part=part, truth=truth)
    started = time.perf_counter()
    scores = score_lists(rank_users(model, evaluation, k_max), evaluation, accuracy)
    log.info(
        "evaluated %s on %d users of %s in %.1f s",
        getattr(model, "name", type(model).__name__),
        evaluation.users.size,
        evaluation.part,
        time.perf_counter() - started,
    )
    return {
        "heldout": scores["heldout"],
        "truth": scores.get("truth", {}),
        "n_users": int(evaluation.users.size),
    }


def evaluate_all(
    models: Mapping[str, Recommender],
    data: RecsData,
    truth: SimulatorTruth | None = None,
    *,
    part: str = "test",
    k_max: int = 100,
    evaluation: EvaluationSet | None = None,
    accuracy: Accuracy | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Every fitted model on one shared :class:`EvaluationSet`, in the report's shape:
    ``{"models": {name: metrics}, "truth": {name: metrics}}`` (``truth`` empty without truth).
    Pass ``evaluation`` when it was built already (``part`` and ``truth`` are then its own);
    ``accuracy``: see :func:`score_lists`.
    """
    if evaluation is None:
        evaluation = build_evaluation_set(data, part=part, truth=truth)
    report: dict[str, dict[str, dict[str, float]]] = {"models": {}, "truth": {}}
    for name, model in models.items():
        result = evaluate_recommender(model, data, k_max=k_max, evaluation=evaluation, accuracy=accuracy)
        report["models"][name] = result["heldout"]
        if result["truth"]:
            report["truth"][name] = result["truth"]
    return report
