"""The selection step: score every contender on the validation window, choose the policy the
shop serves (:mod:`vitrina.core.recs.selection`), and rebuild it at later cutoffs.

Who is scored on what, so that no number has seen its own answers:

* every source is fitted on ``train`` and scored on the ``valid`` window, in both views
  (all positives; discovery), on every user with a held-out choice;
* the full model's ranker learnt from ``valid``: it is scored only on the validation users it
  did not fit on (its early-stopping share), side by side with the best other contender on
  those same users, and replaces it only if it beats it there. Without a ranker the full
  model is two-tower retrieval with MMR and cold start, trained on ``train`` only, and it
  competes like any source.

On a small shop (a validation window of fewer than 1,000 users) the contenders built only on
refittable sources are chosen over up to three windows pooled, and the best contender built on a
trained model challenges that choice on ``valid`` alone
(:mod:`~vitrina.pipelines.recs.selection_windows`, docs/adr/0026). Recent popularity's recency,
EASE's λ and buy-again's timing are chosen before any contender is scored, on the same windows.

When the shop opts in (``VITRINA_RECS_SOURCE_RANKERS``), the source rankers (LambdaRank over
the simple sources' candidates, trained on forward windows of the history before ``valid``) then
challenge each list's choice on the same users — every pooled window's on a small shop
(:mod:`~vitrina.pipelines.recs.source_ranker`, docs/adr/0035) — before the full model does.

The chosen policy is then refitted on ``train`` + ``valid`` and scored on ``test``
(:func:`served_model`), which is what the gate reads.

The discover list's policy is chosen the same way from the same table, on the discovery view,
among the contenders without buy-again-like parts
(:func:`~vitrina.core.recs.selection.discovery_contenders`); the full model replaces it under
the same paired rule. :func:`discover_model` serves it without each user's purchases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.recs.als import ALSRecommender
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.discover import NewToUser
from vitrina.core.recs.full import FullRecommender
from vitrina.core.recs.paired import pooled_scores
from vitrina.core.recs.policy import (
    FILL,
    FULL,
    RANKERS,
    SOURCES,
    TWO_TOWER,
    Policy,
    PolicyModel,
    SourceSettings,
    build_policy,
    make_source,
)
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.seen_items import hides_seen, seen_rule
from vitrina.core.recs.selection import (
    ALL_POSITIVES,
    DISCOVERY,
    VIEWS,
    challenge,
    choose,
    choose_discover,
    contenders,
    discovery_contenders,
    full_or,
    pooled_table,
)
from vitrina.core.recs.source_ranker import WindowCache, fit_rankers
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs.buy_again_timing import choose_buy_again_timing
from vitrina.pipelines.recs.ease_lambda import choose_ease_lambda
from vitrina.pipelines.recs.evaluation import (
    EvaluationSet,
    build_evaluation_set,
    history_before,
)
from vitrina.pipelines.recs.popularity_recency import choose_popularity_recency
from vitrina.pipelines.recs.selection_record import Selection
from vitrina.pipelines.recs.selection_windows import earlier_windows, means, per_user, score_policies
from vitrina.pipelines.recs.source_ranker import challenge_with_source_rankers, made_rankers

GATE_SECTIONS = {ALL_POSITIVES: "all_positives", DISCOVERY: "models"}
"""The test-metrics section of each view (``models`` is the evaluation's default protocol)."""


class _Memo:
    """A fitted part's lists, computed once per batch of users at a generous depth and cut to
    each request: every contender built on a part asks it for the same users, and a top-``k``
    list is the prefix of a deeper one (true of every source; the full model, whose MMR head
    depends on ``k``, is not memoised). The contenders are ranked together, batch by batch
    (:func:`~vitrina.pipelines.recs.selection_windows.score_policies`), so one batch is asked for by
    all of them before the next: the memo need not hold a whole window (which, at thousands of
    users, it could not: each batch would be gone before the next contender asked for it)."""

    DEPTH = 300
    BATCHES = 6  # user batches kept (the contenders ask for one at a time)

    def __init__(self, model: Recommender) -> None:
        self.model = model
        self.name = model.name
        self._lists: dict[tuple[bytes, bytes], tuple[IntArray, FloatArray]] = {}

    def fit(self, data: RecsData, history: Interactions) -> _Memo:
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        key = (np.asarray(users).tobytes(), b"" if exclude is None else np.packbits(exclude).tobytes())
        if key not in self._lists or self._lists[key][0].shape[1] < k:
            if len(self._lists) >= self.BATCHES:
                self._lists.pop(next(iter(self._lists)))
            items, scores = self.model.recommend(users, max(k, self.DEPTH), exclude)
            self._lists[key] = (np.asarray(items), np.asarray(scores, dtype=np.float64))
        items, scores = self._lists[key]
        return items[:, :k], scores[:, :k]


def _two_tower_alone(full: FullRecommender) -> FullRecommender:
    """The full model's retrieval stage alone (no ALS, ranker, MMR or cold start)."""
    return replace(full, ranker=None, als=None, cold_start=None, mmr_lambda=None, name=TWO_TOWER)


def trained_parts(full: FullRecommender) -> dict[str, Recommender]:
    """The run's trained models as policy parts, at the cutoff ``full`` was assembled at."""
    return {FULL: full, TWO_TOWER: _two_tower_alone(full)}


def fitted_sources(
    data: RecsData,
    history: Interactions,
    settings: SourceSettings | None = None,
    reuse: Recommender | None = None,
) -> dict[str, Recommender]:
    """Every refittable source of :data:`~vitrina.core.recs.policy.SOURCES` fitted on ``history``
    with its chosen ``settings``; ``reuse``: one already fitted so (on that very history), by
    its name."""
    kept = {reuse.name: reuse} if reuse is not None else {}
    return kept | {
        name: make_source(name, settings).fit(data, history)
        for name in SOURCES
        if name not in kept and name not in RANKERS
    }


def _views(
    data: RecsData, users: IntArray | None, max_users: int | None = None, hide_seen: bool = False
) -> dict[str, EvaluationSet]:
    """The ``valid`` evaluation in both views (``users``: only those users; ``max_users``: at
    most that many of them, a seeded sample; ``hide_seen``: the discovery view hides what the
    discover list hides, :mod:`vitrina.core.recs.seen_items`)."""
    return {
        view: build_evaluation_set(
            data,
            part="valid",
            repeats=view == ALL_POSITIVES,
            users=users,
            max_users=max_users,
            hide_seen=hide_seen and view == DISCOVERY,
        )
        for view in VIEWS
    }


def choose_lists(
    data: RecsData,
    parts: Mapping[str, Recommender],
    view: str = ALL_POSITIVES,
    fit_parts: Callable[[RecsData], Mapping[str, Recommender]] | None = None,
    max_users: int | None = None,
    hide_seen: bool = False,
) -> tuple[Selection, dict[str, Policy]]:
    """Every contender over ``parts`` (fitted on the history before ``valid``) scored on
    ``valid`` in both views; the served list's choice on ``view`` and the discover list's on
    discovery among the contenders without buy-again. Also the contenders by name.

    ``fit_parts`` (the refittable sources fitted before any window's start) lets a small shop's
    choice pool earlier windows (:mod:`~vitrina.pipelines.recs.selection_windows`): the
    contenders without a trained part are then chosen on every window's users, and the best
    contender with one replaces that choice only if it beats it on the latest window.
    ``max_users``: each window and view scores at most that many users (a seeded sample);
    ``hide_seen``: the discovery view hides every item the user had an event on (docs/adr/0046)."""
    everyone = _views(data, None, max_users, hide_seen)
    by_name = {policy.name: policy for policy in contenders(parts)}
    scores = score_policies(list(by_name.values()), parts, everyone)
    table = {name: means(values) for name, values in scores.items()}
    users = {view_: int(evaluation.users.size) for view_, evaluation in everyone.items()}
    refittable = [policy for policy in by_name.values() if not policy.uses_trained]
    earlier = (
        earlier_windows(
            data, refittable, fit_parts, users[ALL_POSITIVES], max_users=max_users, hide_seen=hide_seen
        )
        if fit_parts is not None
        else []
    )
    selection = Selection(by_name[FILL], view, table, users[ALL_POSITIVES])
    selection.scores = scores
    selection.day = data.split.train_end.date().isoformat()
    if not earlier:  # one window decides (a busy shop, or no history before it)
        new = {policy.name: table[policy.name] for policy in discovery_contenders(by_name.values())}
        selection.policy = by_name[choose(table, view, scores=scores)]
        # no validation user chose anything new (only repeats): recent popularity, the filler
        selection.discover = by_name[choose_discover(new, scores=scores)] if _measured(new) else by_name[FILL]
        selection.validated = selection.policy.name
        return selection, by_name
    mine = {policy.name: table[policy.name] for policy in refittable}
    selection.earlier = earlier
    selection.pooled = pooled_table([(users, mine), *(window.pooling() for window in earlier)])
    pooled = pooled_scores([{name: scores[name] for name in mine}, *(window.scores for window in earlier)])
    selection.pooled_scores = pooled
    trained = {name: row for name, row in table.items() if name not in selection.pooled}
    served = choose(selection.pooled, view, scores=pooled)
    if trained:
        served = challenge(served, choose(trained, view, scores=scores), table, view, scores=scores)
    selection.policy = by_name[served]
    selection.validated = served
    new_pooled = {p.name: selection.pooled[p.name] for p in discovery_contenders(refittable)}
    new_trained = {name: trained[name] for name in discovery_contenders_names(by_name, trained)}
    if _measured(new_pooled):
        discover = choose_discover(new_pooled, scores=pooled)
        if _measured(new_trained):
            rival = choose_discover(new_trained, scores=scores)
            discover = challenge(discover, rival, table, DISCOVERY, by_other=False, scores=scores)
    else:  # no user of any window chose anything new: the trained ones alone, else the filler
        discover = choose_discover(new_trained, scores=scores) if _measured(new_trained) else FILL
    selection.discover = by_name[discover]
    return selection, by_name


def _measured(rows: Mapping[str, Mapping[str, float]]) -> bool:
    return any(math.isfinite(row[DISCOVERY]) for row in rows.values())


def discovery_contenders_names(by_name: Mapping[str, Policy], rows: Mapping[str, object]) -> list[str]:
    """The names among ``rows`` of the discover list's contenders (no buy-again-like part)."""
    return [policy.name for policy in discovery_contenders(by_name[name] for name in rows)]


def select_policy(
    data: RecsData,
    at_train_end: FullRecommender,
    ranker: LambdaRanker | None,
    heldout_users: IntArray,
    view: str = ALL_POSITIVES,
    *,
    source_rankers: bool = False,
    max_users: int | None = None,
    windows: WindowCache | None = None,
) -> Selection:
    """Score the contenders on ``valid`` and choose (see the module docstring); the source
    rankers challenge the choice only when ``source_rankers`` (``VITRINA_RECS_SOURCE_RANKERS``).
    ``at_train_end`` is the full model assembled at ``train_end`` without a ranker;
    ``heldout_users`` are the validation users the ranker did not fit on. EASE's λ is chosen
    first (:func:`~vitrina.pipelines.recs.ease_lambda.choose_ease_lambda`), so its contenders
    are scored as they would be served. ``max_users``: every window and view scores at most that
    many users (a seeded sample, :class:`~vitrina.pipelines.recs.options.RecsConfig`).
    ``windows``: the run's source-ranker training windows, kept for its later refits."""
    ease = choose_ease_lambda(data, max_users=max_users)
    popularity = choose_popularity_recency(data, view, max_users=max_users)
    timing = choose_buy_again_timing(data, max_users=max_users)
    seen = seen_rule(history_before(data, "test"))
    settings = {**ease.settings(), **popularity.settings(), **timing.settings(), **seen.settings()}
    sources = fitted_sources(data, history_before(data, "valid"), settings, reuse=ease.model)
    ease.model = None  # in the sources now; the selection, kept to the end of the run, need not hold it
    fitted = {
        **sources,
        TWO_TOWER: _two_tower_alone(at_train_end),
    }
    parts: dict[str, Recommender] = {name: _Memo(model) for name, model in fitted.items()}
    if ranker is None:  # nothing learnt from valid: the full model competes like a source
        parts[FULL] = at_train_end

    def earlier_parts(shifted: RecsData) -> dict[str, Recommender]:
        history = history_before(shifted, "valid")
        return {name: _Memo(model) for name, model in fitted_sources(shifted, history, settings).items()}

    selection, by_name = choose_lists(data, parts, view, earlier_parts, max_users, seen.hide_seen)
    selection.ease, selection.popularity, selection.buy_again = ease, popularity, timing
    selection.seen = seen
    if source_rankers:
        challenge_with_source_rankers(data, selection, by_name, parts, settings, sources, windows)
    assert selection.discover is not None  # choose_lists always makes both choices
    best, discover = selection.policy.name, selection.discover.name
    fill = parts[FILL]
    if ranker is not None and heldout_users.size:
        heldout = _views(data, heldout_users, max_users, seen.hide_seen)
        scores = {
            name: per_user(PolicyModel(by_name[name], parts, fill), heldout)
            for name in dict.fromkeys((best, discover))
        }
        scores[FULL] = per_user(replace(at_train_end, ranker=ranker), heldout)
        paired = {name: means(values) for name, values in scores.items()}
        selection.paired, selection.paired_users = paired, int(heldout[ALL_POSITIVES].users.size)
        selection.paired_scores = scores
        if full_or(best, paired, view, selection.paired_users, scores=scores) == FULL:
            selection.policy = Policy("single", (FULL,))
            selection.validated = FULL
        users = selection.paired_users
        if full_or(discover, paired, DISCOVERY, users, by_other=False, scores=scores) == FULL:
            selection.discover = Policy("single", (FULL,))
    return selection


def policy_sources(
    policies: Iterable[Policy | None],
    data: RecsData,
    history_end_us: int,
    settings: SourceSettings | None = None,
    reuse: Mapping[str, Recommender] | None = None,
    windows: WindowCache | None = None,
) -> dict[str, Recommender]:
    """The refittable sources ``policies`` are built on, each fitted once on the history before
    ``history_end_us`` with its chosen ``settings``: the served list and the discover list
    usually share EASE or ALS, and fitting each its own copy doubles the slowest fits.
    ``reuse``: sources the caller already fitted on that same history with those same settings
    (:func:`shared_sources`), taken as they are. The source rankers among them are fitted
    together, each training window's sources once for both, and serve over the other sources
    fitted here (:func:`~vitrina.core.recs.source_ranker.fit_rankers`); ``windows``: the run's
    training windows already built (at the selection, or at an earlier cutoff), reused."""
    history = data.interactions.before(history_end_us)
    names = [part for policy in policies if policy is not None for part in policy.parts if part in SOURCES]
    given = reuse or {}
    fitted = {
        name: given[name] if name in given else make_source(name, settings).fit(data, history)
        for name in dict.fromkeys(names)
        if name not in RANKERS
    }
    # both lists' rankers train on the same windows: each window's sources fitted once for both
    rankers = made_rankers([name for name in dict.fromkeys(names) if name in RANKERS], settings)
    fit_rankers(
        list(rankers.values()), data, history, {**given, **fitted}, end_us=history_end_us, cache=windows
    )
    return {name: rankers[name] if name in rankers else fitted[name] for name in dict.fromkeys(names)}


def shared_sources(
    als: ALSRecommender | None, settings: SourceSettings | None = None
) -> dict[str, Recommender]:
    """The sources the full model assembled at a cutoff already fitted as a policy would fit
    them there: its ALS (:func:`~vitrina.pipelines.recs.publish.assemble` fits the defaults),
    unless the chosen settings give ALS settings of its own. ALS is the slowest refitted fit
    after EASE, and the same seed on the same history gives the same factors."""
    if als is None or als.user_factors is None or (settings or {}).get("als"):
        return {}
    return {"als": als}


def served_model(
    policy: Policy,
    data: RecsData,
    history_end_us: int,
    full: FullRecommender,
    settings: SourceSettings | None = None,
    fitted: Mapping[str, Recommender] | None = None,
) -> PolicyModel:
    """``policy`` as of ``history_end_us``: its sources refitted on the history before it with
    their chosen ``settings`` (or taken from ``fitted``, :func:`policy_sources` at that same
    instant), its trained parts from ``full`` (assembled at that same instant by the caller)."""
    history = data.interactions.before(history_end_us)
    given = {**(fitted or {}), **trained_parts(full)}
    served = build_policy(policy, data, history, given, settings=settings)
    served.content = np.asarray(full.candidates.item_embeddings(), dtype=np.float32)
    return served


def discover_model(
    policy: Policy,
    data: RecsData,
    history_end_us: int,
    full: FullRecommender,
    settings: SourceSettings | None = None,
    fitted: Mapping[str, Recommender] | None = None,
) -> NewToUser:
    """The discover list as of ``history_end_us``: ``policy`` built like :func:`served_model`,
    each user's purchases before that instant removed from their list — or every item the user
    had an event on, when ``settings`` say the shop's looks never turn into choices
    (:mod:`vitrina.core.recs.seen_items`)."""
    history = data.interactions.before(history_end_us)
    return NewToUser(
        served_model(policy, data, history_end_us, full, settings, fitted),
        UserItems.hidden(history, len(data.items), hides_seen(settings)),
    )
