"""EASE's λ chosen on the shop's validation windows (:mod:`vitrina.core.recs.ease_lambda`).

For each window — the validation window, then, on a small shop, the windows of the same width
before it — EASE is fitted at every grid value on the history before the window and scored on
the window's users with an earlier positive by NDCG@10 in the discovery view, with the user profile
at every recency decay of the grid (docs/adr/0048): EASE never lists what the user already
bought, so items new to the user are what its lists can hit. The chosen scale and decay are
stored with the policy (:data:`~vitrina.core.recs.policy.SourceSettings`), so the test
evaluation and every publish refit EASE with it, and recorded on the MLflow run and in the model
card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vitrina.core.evaluation.split import TemporalSplit
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.ease import EASE
from vitrina.core.recs.ease_lambda import (
    DEFAULT_DECAY,
    DEFAULT_SCALE,
    GRID_MAX_ITEMS,
    LAMBDA_SCALES,
    MAX_WINDOWS,
    MIN_CHOICE_USERS,
    MIN_POOLED_USERS,
    RECENCY_DECAYS,
    WindowScores,
    choose_setting,
    enough_to_choose,
    more_windows,
    pooled,
)
from vitrina.pipelines.recs.evaluation import (
    EvaluationSet,
    build_evaluation_set,
    heldout_ndcg,
    history_before,
    rank_users,
)

SOURCE = "ease"
METRIC = "ndcg@10 discovery"


@dataclass
class EaseLambda:
    """The chosen scale and recency decay, and the validation numbers they rest on."""

    scale: float
    scores: dict[float, float]  # pooled NDCG@10 (discovery) per scale, at the chosen decay
    windows: list[tuple[str, WindowScores[Any]]] = field(default_factory=list)  # (first day, scores)
    decay: float = DEFAULT_DECAY
    decay_scores: dict[float, float] = field(default_factory=dict)  # per decay, at the chosen scale
    l2: float = 0.0  # λ itself at the chosen scale, as the grid fitted it before the validation window
    model: EASE | None = field(default=None, repr=False)
    """EASE at the chosen scale fitted on the history before the validation window, when the
    grid fitted it there (the selection reuses it instead of fitting it again)."""

    def settings(self) -> dict[str, dict[str, Any]]:
        """The source settings the policy is refitted with."""
        if self.decay == DEFAULT_DECAY:
            return {SOURCE: {"lambda_scale": self.scale}}
        return {SOURCE: {"lambda_scale": self.scale, "recency_decay": self.decay}}

    @property
    def users(self) -> int:
        return window_users(self.windows)

    def record(self) -> dict[str, str]:
        """MLflow tags of the choice."""
        return {
            "selection.ease_lambda_scale": f"{self.scale:g}",
            "selection.ease_lambda": f"{self.l2:.4g}",
            "selection.ease_windows": windows_tag(self.windows),
            "selection.ease_recency_decay": f"{self.decay:g}",
        }

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """Each grid value's pooled score, as a metric section (MLflow and the model card)."""
        return {
            "validation_ease_lambda": {_row(scale): {METRIC: value} for scale, value in self.scores.items()},
            "validation_ease_recency": {
                f"ease recency decay {decay:g}": {METRIC: value} for decay, value in self.decay_scores.items()
            },
        }

    def note(self) -> str:
        """A sentence for the report."""
        if not self.scores:
            return (
                f"EASE's λ: the default {self.scale:g} × the Gram diagonal's mean: users of the "
                f"validation window(s) with an earlier purchase: {self.users:,}, too few to choose on."
            )
        tried = "; ".join(f"{scale:g} → {value:.4f}" for scale, value in self.scores.items())
        decays = "; ".join(f"{decay:g} → {value:.4f}" for decay, value in self.decay_scores.items())
        return (
            f"EASE's λ: **{self.scale:g} × the Gram diagonal's mean** (λ {self.l2:.4g} before the "
            f"validation window) with the profile's **recency decay {self.decay:g}**, the best "
            f"NDCG@10 on discovery over {self.users:,} users of "
            f"{len(self.windows)} window(s) starting {', '.join(day for day, _ in self.windows)} "
            f"(λ / mean diagonal → NDCG@10 at that decay: {tried}; decay → NDCG@10 at that λ: {decays})."
        )


def _whole(model: EASE) -> bool:
    """Whether the grid's fit modelled every item with a positive, so the served fit (more items
    allowed) would model the same ones and can be this one."""
    return model.modelled is not None and model.modelled.size < GRID_MAX_ITEMS


def _row(scale: float) -> str:
    return f"ease lambda {scale:g} x mean diag"


def earlier_window(data: RecsData, back: int) -> RecsData | None:
    """``data`` with its validation window moved ``back`` widths earlier (None when the history
    before it would be empty)."""
    if back == 0:
        return data
    width = data.split.valid_end - data.split.train_end
    start = data.split.train_end - back * width
    first = dt.datetime.fromtimestamp(int(data.interactions.ts_us.min()) / 1e6, tz=dt.UTC)
    if start <= first:
        return None
    return replace(data, split=TemporalSplit(start, start + width))


def validation_windows(
    data: RecsData, evaluation_of: Callable[[RecsData], EvaluationSet], min_users: int, max_windows: int
) -> list[tuple[RecsData, EvaluationSet]]:
    """The validation window and, while they hold fewer than ``min_users`` users, up to
    ``max_windows`` - 1 earlier windows of its width, each with its evaluation set: where every
    setting chosen on validation (EASE's λ, popularity's recency, buy-again's timing) is scored."""
    found: list[tuple[RecsData, EvaluationSet]] = []
    while more_windows([int(e.users.size) for _, e in found], min_users, max_windows):
        shifted = earlier_window(data, len(found))
        if shifted is None:
            break
        found.append((shifted, evaluation_of(shifted)))
    return found


def window_day(data: RecsData) -> str:
    """The first day of ``data``'s validation window, as the choices' records name a window."""
    return data.split.train_end.date().isoformat()


def windows_tag(windows: Sequence[tuple[str, WindowScores[Any]]]) -> str:
    """The windows a choice was scored on, for its MLflow tag: first day and users of each."""
    return ", ".join(f"{day} ({window.users} users)" for day, window in windows)


def window_users(windows: Sequence[tuple[str, WindowScores[Any]]]) -> int:
    """The users a choice was scored on, over all its windows."""
    return sum(window.users for _, window in windows)


def returning_users(data: RecsData, max_users: int | None = None) -> EvaluationSet:
    """``data``'s validation window (discovery view) restricted to the users with a positive before
    it: EASE lists nothing for anyone else, at every λ, so they tell the grid's values nothing
    (at most ``max_users`` of them, a seeded sample)."""
    before = history_before(data, "valid").positives()
    return build_evaluation_set(data, part="valid", users=np.unique(before.user), max_users=max_users)


Setting = tuple[float, float]
"""``(lambda_scale, recency_decay)``: one point of the grid."""


def window_scores(
    data: RecsData,
    evaluation: EvaluationSet,
    scales: tuple[float, ...],
    decays: tuple[float, ...] = RECENCY_DECAYS,
) -> tuple[WindowScores[Setting], dict[float, float], EASE | None]:
    """NDCG@10 (discovery) of EASE at each scale and recency decay on ``evaluation`` (``data``'s
    validation window), fitted on the history before it on at most :data:`GRID_MAX_ITEMS` items
    (once per scale: the decay changes only the profile scored); also λ itself per scale, and
    the best-scoring fit, set to its decay (one model is kept at a time)."""
    if evaluation.users.size == 0:
        return WindowScores(0, {}), {}, None
    history = history_before(data, "valid")
    scores: dict[Setting, float] = {}
    l2: dict[float, float] = {}
    best: tuple[Setting, EASE] | None = None
    for scale in scales:
        model = EASE(lambda_scale=scale, max_items=GRID_MAX_ITEMS).fit(data, history)
        l2[scale] = model.l2_used
        for decay in decays:
            model.recency_decay = decay
            scores[scale, decay] = heldout_ndcg(rank_users(model, evaluation), evaluation)
        top = choose_setting({pair: scores[pair] for pair in scores if pair[0] == scale})
        model.recency_decay = top[1]
        if best is None or choose_setting({best[0]: scores[best[0]], top: scores[top]}) == top:
            best = (top, model)
    return WindowScores(int(evaluation.users.size), scores), l2, best[1] if best else None


def choose_ease_lambda(
    data: RecsData,
    scales: tuple[float, ...] = LAMBDA_SCALES,
    decays: tuple[float, ...] = RECENCY_DECAYS,
    min_users: int = MIN_POOLED_USERS,
    max_windows: int = MAX_WINDOWS,
    min_choice: int = MIN_CHOICE_USERS,
    max_users: int | None = None,
) -> EaseLambda:
    """The scale and recency decay with the best NDCG@10 pooled over the validation window and,
    while they hold fewer than ``min_users`` returning users, up to ``max_windows`` - 1 earlier
    windows; the defaults, with nothing fitted, when all of them hold fewer than ``min_choice``."""
    found = validation_windows(data, lambda d: returning_users(d, max_users), min_users, max_windows)
    if not enough_to_choose([int(e.users.size) for _, e in found], min_choice):
        windows = [(window_day(d), WindowScores[Setting](int(e.users.size), {})) for d, e in found]
        return EaseLambda(DEFAULT_SCALE, {}, windows)
    windows, l2_at_valid = [], {}
    fitted: EASE | None = None  # the validation window's best fit
    for shifted, evaluation in found:
        scored, l2, best = window_scores(shifted, evaluation, scales, decays)
        if not windows:
            l2_at_valid, fitted = l2, best
        windows.append((window_day(shifted), scored))
    grid = pooled([w for _, w in windows])
    scale, decay = choose_setting(grid)
    reused = (
        fitted
        if fitted is not None
        and (fitted.lambda_scale, fitted.recency_decay) == (scale, decay)
        and _whole(fitted)
        else None
    )
    return EaseLambda(
        scale,
        {s: value for (s, d), value in grid.items() if d == decay},
        windows,
        decay=decay,
        decay_scores={d: value for (s, d), value in grid.items() if s == scale},
        l2=l2_at_valid.get(scale, 0.0),
        model=reused,
    )
