"""The served-policy choice pooled over several validation windows on a small shop.

One week of a small shop holds a few hundred users, and which population that week happens to
hold can decide the policy: contenders within ±0.02 of each other on a few hundred users swap
places from week to week. So, as EASE's λ (docs/adr/0023), while the windows scored hold fewer
than :data:`~vitrina.core.recs.ease_lambda.MIN_POOLED_USERS` users the window of the same width
before the last one is scored too (at most :data:`~vitrina.core.recs.ease_lambda.MAX_WINDOWS`),
each with the refittable sources fitted on the history before it, and the source-only
contenders' scores are pooled over all the windows' users (docs/adr/0026).

Contenders built on the run's trained models (the two-tower retrieval, the full model) are not
pooled: they learnt from everything before the validation window, earlier windows included, and
retraining them per window would multiply the run's training time. They challenge the pooled
choice on the validation window itself, on the same users
(:func:`~vitrina.core.recs.selection.challenge`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from vitrina.core.metrics import judge, ndcg
from vitrina.core.ranking.interactions import IntArray
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import MAX_WINDOWS, MIN_POOLED_USERS, more_windows
from vitrina.core.recs.paired import FloatArray
from vitrina.core.recs.policy import FILL, Policy, PolicyModel
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, DISCOVERY, VIEWS
from vitrina.pipelines.recs.ease_lambda import earlier_window
from vitrina.pipelines.recs.evaluation import EvaluationSet, build_evaluation_set, rank_models, rank_users

Table = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Window:
    """One validation window's numbers: its first day, its users per view, its table, and the
    per-user scores the table's means are of (pooled for the paired test, docs/adr/0029)."""

    day: str
    users: dict[str, int]
    table: Table
    scores: dict[str, dict[str, FloatArray]] = field(default_factory=dict)

    def pooling(self) -> tuple[dict[str, int], Table]:
        """As :func:`~vitrina.core.recs.selection.pooled_table` reads a window."""
        return self.users, self.table


def per_user(model: Recommender, views: Mapping[str, EvaluationSet]) -> dict[str, FloatArray]:
    """NDCG@10 of ``model`` for each user of each view (in the view's user order): what the
    paired test of the choice reads (docs/adr/0029)."""
    return {
        view: _ndcg_at_10(rank_users(model, evaluation), evaluation) for view, evaluation in views.items()
    }


def _ndcg_at_10(ranked: IntArray, evaluation: EvaluationSet) -> FloatArray:
    """Each user's held-out NDCG@10 of ``ranked`` (only the top 10 is read)."""
    return ndcg(judge(ranked[:, :10], evaluation.heldout), 10)


def means(scores: Mapping[str, FloatArray]) -> dict[str, float]:
    """Mean NDCG@10 per view of per-user ``scores`` (NaN for a view without users)."""
    return {view: float(np.nanmean(values)) if values.size else math.nan for view, values in scores.items()}


def score_policies(
    policies: Sequence[Policy], parts: Mapping[str, Recommender], views: Mapping[str, EvaluationSet]
) -> dict[str, dict[str, FloatArray]]:
    """:func:`per_user` of every policy over ``parts`` in each of ``views``. All the policies are
    ranked together, batch of users by batch
    (:func:`~vitrina.pipelines.recs.evaluation.rank_models`), so a memoised part shared by many
    of them scores each batch once."""
    models = [PolicyModel(policy, parts, parts[FILL]) for policy in policies]
    scores: dict[str, dict[str, FloatArray]] = {policy.name: {} for policy in policies}
    for view, evaluation in views.items():
        for policy, ranked in zip(policies, rank_models(models, evaluation), strict=True):
            scores[policy.name][view] = _ndcg_at_10(ranked, evaluation)
    return scores


def score_window(
    data: RecsData,
    policies: Sequence[Policy],
    parts: Mapping[str, Recommender],
    max_users: int | None = None,
    hide_seen: bool = False,
) -> Window:
    """Every policy over ``parts`` (fitted on the history before ``data``'s validation window)
    scored on that window in both views (at most ``max_users`` users each, a seeded sample;
    ``hide_seen``: the discovery view hides what the discover list hides, docs/adr/0046)."""
    views = {
        view: build_evaluation_set(
            data,
            part="valid",
            repeats=view == ALL_POSITIVES,
            max_users=max_users,
            hide_seen=hide_seen and view == DISCOVERY,
        )
        for view in VIEWS
    }
    scores = score_policies(policies, parts, views)
    table = {name: means(values) for name, values in scores.items()}
    users = {view: int(evaluation.users.size) for view, evaluation in views.items()}
    return Window(data.split.train_end.date().isoformat(), users, table, scores)


def earlier_windows(
    data: RecsData,
    policies: Sequence[Policy],
    fit_parts: Callable[[RecsData], Mapping[str, Recommender]],
    valid_users: int,
    min_users: int = MIN_POOLED_USERS,
    max_windows: int = MAX_WINDOWS,
    max_users: int | None = None,
    hide_seen: bool = False,
) -> list[Window]:
    """The windows before ``data``'s validation window (which holds ``valid_users`` users) worth
    pooling with it, each with ``policies`` (source-only) scored over ``fit_parts(shifted)``
    — the sources fitted on the history before that window; none on a busy shop."""
    counts, out = [valid_users], []
    while more_windows(counts, min_users, max_windows):
        shifted = earlier_window(data, len(counts))
        if shifted is None:
            break
        window = score_window(shifted, policies, fit_parts(shifted), max_users, hide_seen)
        counts.append(window.users[ALL_POSITIVES])
        out.append(window)
    return out
