"""Buy-again's timing chosen on the shop's validation windows (:mod:`vitrina.core.recs.buy_again_timing`).

For each window — the validation window, then, on a small shop, the windows of the same width
before it (:func:`~vitrina.pipelines.recs.ease_lambda.earlier_window`) — the ``buy_again``
source is fitted once on the history before the window and scored at every timing of the grid
(only its scoring depends on the timing) by NDCG@10 in the all-positives view on the window's
users with an earlier purchase: buy-again lists only what the user bought, so a repeat is what
its lists can hit, and the others get nothing at any timing. The chosen timing is stored with the
policy (:data:`~vitrina.core.recs.policy.SourceSettings`), so the contenders, the source
rankers' buy-again features, the test evaluation, every publish and the batch's ``buy_again``
lists use it, and it is recorded on the MLflow run and in the model card (docs/adr/0043).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vitrina.core.ranking.interactions import EVENT_CODE
from vitrina.core.recs.buy_again import BuyAgain
from vitrina.core.recs.buy_again_timing import DEFAULT, TIMING_GRID, Timing, choose_timing
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease_lambda import (
    MAX_WINDOWS,
    MIN_CHOICE_USERS,
    MIN_POOLED_USERS,
    WindowScores,
    enough_to_choose,
    pooled,
)
from vitrina.pipelines.recs.ease_lambda import validation_windows, window_day, window_users, windows_tag
from vitrina.pipelines.recs.evaluation import (
    EvaluationSet,
    build_evaluation_set,
    heldout_ndcg,
    history_before,
    rank_users,
)

SOURCE = "buy_again"
METRIC = "ndcg@10 all positives"


@dataclass
class BuyAgainTiming:
    """The chosen timing and the validation numbers it rests on."""

    timing: Timing
    scores: dict[Timing, float]  # pooled NDCG@10 per timing (empty: too few users, default kept)
    windows: list[tuple[str, WindowScores[Timing]]] = field(default_factory=list)  # (first day, scores)

    def settings(self) -> dict[str, dict[str, Any]]:
        """The source settings the policy is refitted with."""
        return {SOURCE: self.timing.settings()}

    @property
    def users(self) -> int:
        return window_users(self.windows)

    def record(self) -> dict[str, str]:
        """MLflow tags of the choice."""
        return {
            "selection.buy_again_timing": self.timing.name,
            "selection.buy_again_windows": windows_tag(self.windows),
        }

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """Each timing's pooled score, as a metric section (MLflow and the model card)."""
        return {
            "validation_buy_again_timing": {
                f"buy_again {timing.name}": {METRIC: value} for timing, value in self.scores.items()
            }
        }

    def note(self) -> str:
        """A sentence for the report."""
        if not self.scores:
            return (
                f"Buy-again's timing: the default ({self.timing.name}): validation users with an "
                f"earlier purchase and a held-out choice: {self.users:,}, too few to choose on."
            )
        tried = "; ".join(f"{timing.name} → {value:.4f}" for timing, value in self.scores.items())
        return (
            f"Buy-again's timing: **{self.timing.name}**, the best NDCG@10 on all positives over "
            f"{self.users:,} users with an earlier purchase in {len(self.windows)} window(s) starting "
            f"{', '.join(day for day, _ in self.windows)} ({tried})."
        )


def repeat_buyers(data: RecsData, max_users: int | None = None) -> EvaluationSet:
    """``data``'s validation window (all positives) restricted to the users with a purchase
    before it: buy-again lists nothing for anyone else, at every timing (at most ``max_users``
    of them, a seeded sample)."""
    before = history_before(data, "valid")
    buyers = np.unique(before.user[before.event == EVENT_CODE["purchase"]])
    return build_evaluation_set(data, part="valid", repeats=True, users=buyers, max_users=max_users)


def window_scores(
    data: RecsData, evaluation: EvaluationSet, grid: tuple[Timing, ...]
) -> WindowScores[Timing]:
    """NDCG@10 of buy-again at each timing on ``evaluation`` (``data``'s validation window),
    fitted once on the history before it."""
    if evaluation.users.size == 0:
        return WindowScores(0, {})
    model = BuyAgain().fit(data, history_before(data, "valid"))
    scores = {}
    for timing in grid:
        model.due_floor, model.horizon_days = timing.due_floor, timing.horizon_days
        scores[timing] = heldout_ndcg(rank_users(model, evaluation), evaluation)
    return WindowScores(int(evaluation.users.size), scores)


def choose_buy_again_timing(
    data: RecsData,
    grid: tuple[Timing, ...] = TIMING_GRID,
    min_users: int = MIN_POOLED_USERS,
    max_windows: int = MAX_WINDOWS,
    min_choice: int = MIN_CHOICE_USERS,
    max_users: int | None = None,
) -> BuyAgainTiming:
    """The timing with the best NDCG@10 (all positives) pooled over the validation window and,
    while they hold fewer than ``min_users`` users, up to ``max_windows`` - 1 earlier windows;
    the default, with nothing scored, when all of them hold fewer than ``min_choice``."""
    found = validation_windows(data, lambda d: repeat_buyers(d, max_users), min_users, max_windows)
    day = [window_day(shifted) for shifted, _ in found]
    if not enough_to_choose([int(e.users.size) for _, e in found], min_choice):
        empty = [
            (d, WindowScores[Timing](int(e.users.size), {})) for d, (_, e) in zip(day, found, strict=True)
        ]
        return BuyAgainTiming(DEFAULT, {}, empty)
    windows = [(d, window_scores(s, e, grid)) for d, (s, e) in zip(day, found, strict=True)]
    scores = pooled([w for _, w in windows])
    return BuyAgainTiming(choose_timing(scores), scores, windows)
