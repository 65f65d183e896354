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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import MAX_WINDOWS, MIN_POOLED_USERS, more_windows
from vitrina.core.recs.policy import FILL, Policy, PolicyModel
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import ALL_POSITIVES, VIEWS
from vitrina.pipelines.recs.ease_lambda import earlier_window
from vitrina.pipelines.recs.evaluation import EvaluationSet, build_evaluation_set, heldout_ndcg, rank_models

Table = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Window:
    """One validation window's numbers: its first day, its users per view, its table."""

    day: str
    users: dict[str, int]
    table: Table

    def pooling(self) -> tuple[dict[str, int], Table]:
        """As :func:`~vitrina.core.recs.selection.pooled_table` reads a window."""
        return self.users, self.table


def score_table(
    policies: Sequence[Policy], parts: Mapping[str, Recommender], views: Mapping[str, EvaluationSet]
) -> Table:
    """NDCG@10 of every policy over ``parts`` in each of ``views``. All the policies are ranked
    together, batch of users by batch (:func:`~vitrina.pipelines.recs.evaluation.rank_models`),
    so a memoised part shared by many of them scores each batch once."""
    models = [PolicyModel(policy, parts, parts[FILL]) for policy in policies]
    table: Table = {policy.name: {} for policy in policies}
    for view, evaluation in views.items():
        for policy, ranked in zip(policies, rank_models(models, evaluation), strict=True):
            table[policy.name][view] = heldout_ndcg(ranked, evaluation)
    return table


def score_window(data: RecsData, policies: Sequence[Policy], parts: Mapping[str, Recommender]) -> Window:
    """Every policy over ``parts`` (fitted on the history before ``data``'s validation window)
    scored on that window in both views."""
    views = {view: build_evaluation_set(data, part="valid", repeats=view == ALL_POSITIVES) for view in VIEWS}
    table = score_table(policies, parts, views)
    users = {view: int(evaluation.users.size) for view, evaluation in views.items()}
    return Window(data.split.train_end.date().isoformat(), users, table)


def earlier_windows(
    data: RecsData,
    policies: Sequence[Policy],
    fit_parts: Callable[[RecsData], Mapping[str, Recommender]],
    valid_users: int,
    min_users: int = MIN_POOLED_USERS,
    max_windows: int = MAX_WINDOWS,
) -> list[Window]:
    """The windows before ``data``'s validation window (which holds ``valid_users`` users) worth
    pooling with it, each with ``policies`` (source-only) scored over ``fit_parts(shifted)``
    — the sources fitted on the history before that window; none on a busy shop."""
    counts, out = [valid_users], []
    while more_windows(counts, min_users, max_windows):
        shifted = earlier_window(data, len(counts))
        if shifted is None:
            break
        window = score_window(shifted, policies, fit_parts(shifted))
        counts.append(window.users[ALL_POSITIVES])
        out.append(window)
    return out
