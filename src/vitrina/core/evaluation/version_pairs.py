"""Two search versions on the same searches: which pairs are compared, on which searches, and
what the per-search differences say.

Each version a pipeline run registered is compared with the version registered just before it
and with the first version (the one learnt from the history only), on searches that neither
learnt from: the searches logged from the later version's held-out cut (the start of its run's
held-out window) on. Each search is scored for both versions (any per-search measure: the
simulator's truth NDCG@10, the market's expected clicks); the mean of the per-search
differences, its standard error and the one-sided paired t-test of
:mod:`vitrina.core.metrics.paired` (ADR-0029), run both ways, give the verdict at the 5 % level.

Scoring costs a search per version, so a pair is judged on at most a bounded, seeded sample of
the searches after its cut (:func:`sample_positions`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vitrina.core.metrics.paired import LEVEL, p_better

Verdict = Literal["better", "worse", "tied"]
PREVIOUS = "previous"
FIRST = "first"
NDCG = "truth_ndcg@10"
"""Metric key of the truth's NDCG@10 in a pair's ``metrics`` (the verdict's metric)."""
CLICKS = "expected_clicks"


@dataclass(frozen=True)
class PairedDifference:
    """Version ``b`` (the later one) against ``a`` on the same ``n`` searches: both means, the
    mean per-search difference ``b - a`` with its standard error, and the one-sided paired
    tests' p-values (``p_better``: b beats a; ``p_worse``: a beats b)."""

    n: int
    mean_a: float
    mean_b: float
    difference: float
    standard_error: float
    p_better: float
    p_worse: float

    @property
    def verdict(self) -> Verdict:
        if self.p_better < LEVEL:
            return "better"
        return "worse" if self.p_worse < LEVEL else "tied"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def paired_difference(b: npt.ArrayLike, a: npt.ArrayLike) -> PairedDifference:
    """``b`` against ``a``, per-search scores over the same searches in the same order."""
    later, earlier = np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64)
    if later.shape != earlier.shape:
        raise ValueError(
            f"paired scores must be over the same searches, got {later.shape} and {earlier.shape}"
        )
    n = int(later.size)
    difference = later - earlier
    se = float(difference.std(ddof=1) / math.sqrt(n)) if n >= 2 else math.nan
    return PairedDifference(
        n=n,
        mean_a=float(earlier.mean()) if n else math.nan,
        mean_b=float(later.mean()) if n else math.nan,
        difference=float(difference.mean()) if n else math.nan,
        standard_error=se,
        p_better=p_better(later, earlier),
        p_worse=p_better(earlier, later),
    )


def comparison_pairs(versions: Sequence[int]) -> list[tuple[int, int, str]]:
    """``(later, earlier, relation)`` for every version but the first (the oldest of
    ``versions``): against the one registered just before it (``previous``) and against the
    first (``first``), once when they are the same version."""
    ordered = sorted(set(versions))
    out: list[tuple[int, int, str]] = []
    for i, later in enumerate(ordered[1:], start=1):
        out.append((later, ordered[i - 1], PREVIOUS))
        if ordered[i - 1] != ordered[0]:
            out.append((later, ordered[0], FIRST))
    return out


def sample_positions(n: int, max_n: int, seed: int) -> npt.NDArray[np.int64]:
    """Positions of at most ``max_n`` of ``n`` searches, in their order: all of them when there
    are no more than ``max_n``, else a sample without replacement drawn with ``seed``."""
    if n <= max_n:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_n, replace=False)).astype(np.int64)
