"""Whether one ranking beats another beyond noise, on the same queries or users.

Two contenders scored on the same queries differ by per-query differences whose mean is what a
choice reads; whether that mean says anything depends on how much the differences spread and on
how many there are, not on a fixed margin. The **one-sided paired t-test** at the conventional
5 % level (docs/adr/0029) answers it: per-query metric differences are bounded, so their mean is
close to normal from a few dozen queries on, and the test needs no seed and costs one pass.
Recommendations (:mod:`vitrina.core.recs.paired`), search and the rankers read it here.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]

LEVEL = 0.05
"""One-sided significance level: the better contender must beat the other with p below it."""


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
