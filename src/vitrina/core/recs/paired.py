"""Whether one policy beats another beyond noise, on the same validation users.

Two contenders scored on the same users differ by a per-user NDCG@10 difference whose mean is
what a choice reads; whether that mean says anything depends on how much the differences spread
and on how many users there are, not on a fixed margin. A margin that suits a shop of a few
hundred users (means move by about ±0.02 week to week) is far too wide for a shop of thousands,
and too narrow for a shop of dozens. So a contender counts as tied with the best unless the best
one wins a **one-sided paired t-test** at the conventional 5 % level (docs/adr/0029): per-user
differences are bounded in [-1, 1], so their mean is close to normal from a few dozen users on,
and the test needs no seed and costs one pass over the users. Pooled windows pool the per-user
differences (each user of each window is one pair).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
Scores = Mapping[str, Mapping[str, FloatArray]]
"""Per-user NDCG@10 of each contender per view (``{name: {view: array}}``); within one table,
every contender's array of a view is over the same users in the same order."""

LEVEL = 0.05
"""One-sided significance level: the better contender must beat the other with p below it."""
RULE = "one-sided paired t-test on per-user NDCG@10, p < 0.05"
"""The rule as recorded with every choice (MLflow tag ``selection.rule``)."""


def p_better(better: FloatArray, other: FloatArray) -> float:
    """One-sided p-value of the paired t-test that ``better`` (per-user scores) beats ``other``
    on the same users: small when the mean difference is large against its standard error.
    Users with a NaN on either side are left out; fewer than two pairs prove nothing (1.0); the
    same difference for every user is certain (0.0 when positive, 1.0 otherwise)."""
    a, b = np.asarray(better, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores must be over the same users, got {a.shape} and {b.shape}")
    difference = (a - b)[np.isfinite(a) & np.isfinite(b)]
    if difference.size < 2:
        return 1.0
    mean = float(difference.mean())
    spread = float(difference.std(ddof=1))
    if spread == 0.0 or not math.isfinite(spread):
        return 0.0 if mean > 0 else 1.0
    t = mean / (spread / math.sqrt(difference.size))
    return float(stats.t.sf(t, difference.size - 1))


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
