"""Whether one policy beats another beyond noise, on the same validation users.

Two contenders scored on the same users differ by a per-user NDCG@10 difference whose mean is
what a choice reads; whether that mean says anything depends on how much the differences spread
and on how many users there are, not on a fixed margin. A margin that suits a shop of a few
hundred users (means move by about ±0.02 week to week) is far too wide for a shop of thousands,
and too narrow for a shop of dozens. So a contender counts as tied with the best unless the best
one wins a **one-sided paired t-test** at the conventional 5 % level (docs/adr/0029): per-user
differences are bounded in [-1, 1], so their mean is close to normal from a few dozen users on,
and the test needs no seed and costs one pass over the users. Pooled windows pool the per-user
differences (each user of each window is one pair). The test itself is
:mod:`vitrina.core.metrics.paired`, shared with search and the rankers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from vitrina.core.metrics.paired import LEVEL, p_better

__all__ = ["LEVEL", "RULE", "FloatArray", "Scores", "beyond_noise", "p_better", "pooled_scores"]

FloatArray = npt.NDArray[np.float64]
Scores = Mapping[str, Mapping[str, FloatArray]]
"""Per-user NDCG@10 of each contender per view (``{name: {view: array}}``); within one table,
every contender's array of a view is over the same users in the same order."""

RULE = "one-sided paired t-test on per-user NDCG@10, p < 0.05"
"""The rule as recorded with every choice (MLflow tag ``selection.rule``)."""


def beyond_noise(better: FloatArray, other: FloatArray, level: float = LEVEL) -> bool:
    """True when ``better`` beats ``other`` on the same users by the paired test at ``level``."""
    return p_better(better, other) < level


def pooled_scores(windows: Sequence[Scores]) -> dict[str, dict[str, FloatArray]]:
    """Each contender's per-user scores per view over every window that scored it, windows
    concatenated in order: the pooled per-user differences the paired test reads. A contender
    absent from a window leaves its arrays misaligned with the others', so only contenders
    scored on every window are kept."""
    if not windows:
        return {}
    names = [name for name in windows[0] if all(name in window for window in windows)]
    out: dict[str, dict[str, FloatArray]] = {}
    for name in names:
        views = [view for view in windows[0][name] if all(view in window[name] for window in windows)]
        out[name] = {
            view: np.concatenate([np.asarray(window[name][view], dtype=np.float64) for window in windows])
            for view in views
        }
    return out
