"""Recent popularity's recency chosen on the shop's validation windows
(:mod:`vitrina.core.recs.popularity_recency`).

For each window — the validation window, then, on a small shop, the windows of the same width
before it (:func:`~vitrina.pipelines.recs.ease_lambda.earlier_window`) — the ``popularity_recent``
source is fitted at every recency of the grid on the history before the window and scored by
NDCG@10 on every user with a held-out choice there, in the view the served list is chosen on.
The chosen recency is stored with the policy (:data:`~vitrina.core.recs.policy.SourceSettings`),
so the contenders, the test evaluation, every publish and the popularity list unknown
customers get use it, and it is recorded on the MLflow run and in the model card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import (
    MAX_WINDOWS,
    MIN_CHOICE_USERS,
    MIN_POOLED_USERS,
    WindowScores,
    enough_to_choose,
    pooled,
)
from vitrina.core.recs.policy import FILL, make_source
from vitrina.core.recs.popularity_recency import DEFAULT, RECENCY_GRID, Recency, choose_recency
from vitrina.core.recs.selection import ALL_POSITIVES
from vitrina.pipelines.recs.ease_lambda import validation_windows, window_day, window_users, windows_tag
from vitrina.pipelines.recs.evaluation import (
    EvaluationSet,
    build_evaluation_set,
    heldout_ndcg,
    history_before,
    rank_users,
)


@dataclass
class PopularityRecency:
    """The chosen recency and the validation numbers it rests on."""

    recency: Recency
    view: str
    scores: dict[Recency, float]  # pooled NDCG@10 per recency (empty: too few users, default kept)
    windows: list[tuple[str, WindowScores[Recency]]] = field(default_factory=list)  # (first day, scores)

    def settings(self) -> dict[str, dict[str, Any]]:
        """The source settings the policy is refitted with."""
        return {FILL: self.recency.settings()}

    @property
    def users(self) -> int:
        return window_users(self.windows)

    def record(self) -> dict[str, str]:
        """MLflow tags of the choice."""
        return {
            "selection.popularity_recency": self.recency.name,
            "selection.popularity_windows": windows_tag(self.windows),
        }

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """Each recency's pooled score, as a metric section (MLflow and the model card)."""
        metric = f"ndcg@10 {self.view}"
        return {
            "validation_popularity_recency": {
                f"popularity {recency.name}": {metric: value} for recency, value in self.scores.items()
            }
        }

    def note(self) -> str:
        """A sentence for the report."""
        if not self.scores:
            return (
                f"Recent popularity's recency: the default ({self.recency.name}): validation users "
                f"with a held-out choice: {self.users:,}, too few to choose on."
            )
        tried = "; ".join(f"{recency.name} → {value:.4f}" for recency, value in self.scores.items())
        return (
            f"Recent popularity's recency: **{self.recency.name}**, the best NDCG@10 on "
            f"{self.view.replace('_', ' ')} over {self.users:,} users of {len(self.windows)} window(s) "
            f"starting {', '.join(day for day, _ in self.windows)} ({tried})."
        )


def window_scores(
    data: RecsData, evaluation: EvaluationSet, grid: tuple[Recency, ...]
) -> WindowScores[Recency]:
    """NDCG@10 of popularity at each recency on ``evaluation`` (``data``'s validation window),
    fitted on the history before it."""
    if evaluation.users.size == 0:
        return WindowScores(0, {})
    history = history_before(data, "valid")
    scores = {}
    for recency in grid:
        model = make_source(FILL, {FILL: recency.settings()}).fit(data, history)
        scores[recency] = heldout_ndcg(rank_users(model, evaluation), evaluation)
    return WindowScores(int(evaluation.users.size), scores)


def choose_popularity_recency(
    data: RecsData,
    view: str = ALL_POSITIVES,
    grid: tuple[Recency, ...] = RECENCY_GRID,
    min_users: int = MIN_POOLED_USERS,
    max_windows: int = MAX_WINDOWS,
    min_choice: int = MIN_CHOICE_USERS,
    max_users: int | None = None,
) -> PopularityRecency:
    """The recency with the best NDCG@10 (in ``view``) pooled over the validation window and,
    while they hold fewer than ``min_users`` users, up to ``max_windows`` - 1 earlier windows;
    the default, with nothing scored, when all of them hold fewer than ``min_choice``.
    ``max_users``: each window scores at most that many users (a seeded sample)."""
    found = validation_windows(
        data,
        lambda window: build_evaluation_set(
            window, part="valid", repeats=view == ALL_POSITIVES, max_users=max_users
        ),
        min_users,
        max_windows,
    )
    day = [window_day(shifted) for shifted, _ in found]
    if not enough_to_choose([int(e.users.size) for _, e in found], min_choice):
        empty = [
            (d, WindowScores[Recency](int(e.users.size), {})) for d, (_, e) in zip(day, found, strict=True)
        ]
        return PopularityRecency(DEFAULT, view, {}, empty)
    windows = [(d, window_scores(s, e, grid)) for d, (s, e) in zip(day, found, strict=True)]
    scores = pooled([w for _, w in windows])
    return PopularityRecency(choose_recency(scores), view, scores, windows)
