"""Two-sample drift statistics: PSI, KS, Wasserstein, chi-squared, share movers (pure numpy/scipy).

Every function compares a *reference* sample with a *current* one and returns plain floats
(or small frozen records), so the decision logic in :mod:`vitrina.core.drift.decision` and the
tests can use them without any I/O.

PSI (population stability index), ``Σ_b (c_b − r_b) · ln(c_b / r_b)`` over bins ``b`` with
reference shares ``r`` and current shares ``c``:

* numeric values are binned on **fixed reference quantiles** (deciles by default): the
  edges are the unique quantiles ``0, 0.1, …, 1`` of the reference, so a discrete or
  constant reference gets fewer bins instead of empty ones; values holding ≥ 5 % of the
  reference get a bin of their own (see :class:`Bins`); open bins below the reference
  minimum and above its maximum catch values the reference never had;
* categorical values use one bin per category seen in either sample;
* an empty bin counts as share ``1e-4`` (the convention Evidently also uses), so PSI stays
  finite; a category or range absent from the reference then weighs ``c · ln(c / 1e-4)``.

Under no drift PSI is ≈ ``χ²(k − 1) · (1/n_ref + 1/n_cur)`` (PSI is the symmetric KL
divergence, whose leading term is Pearson's chi-squared over the pooled sample size), so its
noise grows with the number of bins and shrinks with the samples: the decision therefore
confirms a PSI level with a significance test (KS or chi-squared) before flagging it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PSI_EPS = 1e-4
"""Share given to an empty bin (Evidently's convention) so PSI stays finite."""
PSI_BINS = 10
"""Reference quantile bins of numeric PSI (deciles)."""


def _finite(values: ArrayLike, what: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise ValueError(f"the {what} sample has no finite value")
    return array


@dataclass(frozen=True)
class Bins:
    """PSI's bins for a numeric feature, fixed on the reference.

    ``edges`` ``E_0 < … < E_m`` are the unique reference quantiles ``0, 1/q, …, 1`` plus every
    *heavy* value (reference share ≥ :data:`HEAVY_SHARE`). Bin ``i`` is ``(E_{i−1}, E_i]``
    (``E_{−1} = −∞``, ``E_{m+1} = +∞``), and a heavy edge gets a bin of its own: ``(E_{i−1},
    E_i)`` and ``{E_i}``. Why: a point mass (all prices unchanged, a count that is mostly 1)
    must not share a bin with its neighbours, or values leaving it go unseen.
    """

    edges: FloatArray
    heavy: npt.NDArray[np.bool_]

    @property
    def size(self) -> int:
        """Number of bin codes :meth:`index` can return (some may stay empty)."""
        return 2 * (self.edges.size + 1)

    def index(self, values: ArrayLike) -> IntArray:
        """Bin code of each value: ``2·i`` for the open part of interval ``i``, ``2·i + 1`` for
        the heavy edge ``E_i`` itself."""
        x = np.asarray(values, dtype=np.float64)
        i = np.searchsorted(self.edges, x, side="left")
        inside = i < self.edges.size
        exact = np.zeros(x.shape, dtype=bool)
        exact[inside] = (x[inside] == self.edges[i[inside]]) & self.heavy[i[inside]]
        return (2 * i + exact).astype(np.int64)


HEAVY_SHARE = 0.05
"""A reference value holding at least this share gets a bin of its own."""


def reference_bins(reference: ArrayLike, bins: int = PSI_BINS) -> Bins:
    """:class:`Bins` on the reference's quantiles and heavy values."""
    if bins < 1:
        raise ValueError(f"bins must be ≥ 1, got {bins}")
    values = _finite(reference, "reference")
    quantiles = np.quantile(values, np.linspace(0.0, 1.0, bins + 1))
    unique, counts = np.unique(values, return_counts=True)
    heavy_values = unique[counts >= HEAVY_SHARE * values.size]
    edges = np.unique(np.concatenate([quantiles, heavy_values]))
    return Bins(edges, np.isin(edges, heavy_values))


def psi_from_counts(reference_counts: ArrayLike, current_counts: ArrayLike, eps: float = PSI_EPS) -> float:
    """PSI of two aligned count vectors (same bins in the same order)."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise ValueError(f"counts must be aligned 1-D vectors, got {ref.shape} and {cur.shape}")
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("both samples need at least one observation")
    r = np.maximum(ref / ref.sum(), eps)
    c = np.maximum(cur / cur.sum(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def binned_counts(
    reference: ArrayLike, current: ArrayLike, bins: int = PSI_BINS
) -> tuple[IntArray, IntArray]:
    """Counts of both samples in the reference's quantile bins (:class:`Bins`);
    non-finite values ignored."""
    ref = _finite(reference, "reference")
    cur = _finite(current, "current")
    fixed = reference_bins(ref, bins)
    return (
        np.bincount(fixed.index(ref), minlength=fixed.size).astype(np.int64),
        np.bincount(fixed.index(cur), minlength=fixed.size).astype(np.int64),
    )


def psi_numeric(reference: ArrayLike, current: ArrayLike, bins: int = PSI_BINS) -> float:
    """PSI of a numeric feature on the reference's quantile bins (non-finite values ignored)."""
    return psi_from_counts(*binned_counts(reference, current, bins))


@dataclass(frozen=True)
class CategoryCounts:
    """Counts of each category in both samples; categories sorted, seen in at least one."""

    categories: tuple[str, ...]
    reference: IntArray
    current: IntArray

    @property
    def n_reference(self) -> int:
        return int(self.reference.sum())

    @property
    def n_current(self) -> int:
        return int(self.current.sum())


def category_counts(reference: ArrayLike, current: ArrayLike) -> CategoryCounts:
    """Count categories (as strings) in two 1-D samples; missing values (None, NaN) are left out."""
    ref_counts = pd.Series(np.asarray(reference, dtype=object)).dropna().astype(str).value_counts()
    cur_counts = pd.Series(np.asarray(current, dtype=object)).dropna().astype(str).value_counts()
    categories = sorted(set(ref_counts.index) | set(cur_counts.index))
    return CategoryCounts(
        tuple(categories),
        np.asarray(ref_counts.reindex(categories, fill_value=0), dtype=np.int64),
        np.asarray(cur_counts.reindex(categories, fill_value=0), dtype=np.int64),
    )


def psi_categorical(counts: CategoryCounts) -> float:
    """PSI over the categories of ``counts``."""
    return psi_from_counts(counts.reference, counts.current)


def ks_test(reference: ArrayLike, current: ArrayLike) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov ``(statistic D, p-value)`` (scipy, two-sided)."""
    result = stats.ks_2samp(_finite(reference, "reference"), _finite(current, "current"))
    return float(result.statistic), float(result.pvalue)


def wasserstein(reference: ArrayLike, current: ArrayLike) -> tuple[float, float]:
    """Wasserstein-1 distance in the feature's units, and the same divided by the reference
    standard deviation (Evidently's "normed" variant; 0 when the reference is constant)."""
    ref = _finite(reference, "reference")
    distance = float(stats.wasserstein_distance(ref, _finite(current, "current")))
    scale = float(np.std(ref))
    return distance, distance / scale if scale > 0 else 0.0


def chi2_test(reference_counts: ArrayLike, current_counts: ArrayLike) -> tuple[float, float]:
    """Pearson's chi-squared test of homogeneity on the 2 × k table of aligned counts (the
    categories of :class:`CategoryCounts`, or PSI's bins): ``(statistic, p-value)``.

    No Yates correction; bins empty in both samples are dropped. Fewer than two non-empty
    bins cannot differ: ``(0.0, 1.0)``.
    """
    table = np.vstack([np.asarray(reference_counts), np.asarray(current_counts)]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class Mover:
    """A category whose share moved: shares in both samples, their ratio, its PSI term and
    the Bonferroni-adjusted p-value of the move.

    ``ratio`` is ``current_share / reference_share`` (``inf`` for a category new in current);
    ``psi_term`` is the category's share of the PSI sum, ``(c − r) · ln(c / r)``.
    """

    category: str
    reference_share: float
    current_share: float
    ratio: float
    psi_term: float
    p_adjusted: float

    def describe(self) -> str:
        """``'Videojuegos' 1.3% → 5.6% (×4.30)``."""
        change = "new" if np.isinf(self.ratio) else f"×{self.ratio:.2f}"
        return f"{self.category!r} {self.reference_share:.1%} → {self.current_share:.1%} ({change})"


def share_movers(counts: CategoryCounts, *, alpha: float = 0.01, min_term: float = 0.03) -> list[Mover]:
    """Categories whose share changed significantly and materially, largest PSI term first.

    A category moves when its two-proportion z-test (pooled variance) is significant at
    ``alpha`` after a Bonferroni correction over the categories **and** its own PSI term is
    at least ``min_term``. The PSI term weighs the relative change by the share that moved,
    so a rare category tripling (0.3 % → 0.9 %) does not count while a common one going
    from 1.3 % to 5.6 % does. This is the per-category reading of the chi-squared test and
    of PSI: it names *which* categories drive a change that PSI sums over a whole taxonomy.
    """
    n_ref, n_cur = counts.n_reference, counts.n_current
    if n_ref == 0 or n_cur == 0:
        return []
    ref = counts.reference / n_ref
    cur = counts.current / n_cur
    pooled = (counts.reference + counts.current) / (n_ref + n_cur)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n_ref + 1.0 / n_cur))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (cur - ref) / se, 0.0)
        ratio = np.where(ref > 0, cur / ref, np.where(cur > 0, np.inf, 1.0))
    r, c = np.maximum(ref, PSI_EPS), np.maximum(cur, PSI_EPS)
    term = (c - r) * np.log(c / r)
    p_adjusted = np.minimum(2.0 * stats.norm.sf(np.abs(z)) * len(counts.categories), 1.0)
    hits = np.flatnonzero((p_adjusted < alpha) & (term >= min_term))
    movers = [
        Mover(
            counts.categories[i],
            float(ref[i]),
            float(cur[i]),
            float(ratio[i]),
            float(term[i]),
            float(p_adjusted[i]),
        )
        for i in hits
    ]
    return sorted(movers, key=lambda m: -m.psi_term)


def spc_gap(history: ArrayLike, current: float) -> tuple[float, float, float]:
    """Statistical process control: ``(mean, std, gap)`` of a daily ``history`` and how many
    standard deviations ``current`` lies from its mean (``gap``; 0 when the std is 0)."""
    values = _finite(history, "history")
    if values.size < 2:
        raise ValueError("a process-control baseline needs at least two periods")
    mean, std = float(values.mean()), float(values.std(ddof=1))
    return mean, std, (float(current) - mean) / std if std > 0 else 0.0


def centroid_shift(reference: ArrayLike, current: ArrayLike) -> float:
    """Cosine distance ``1 − cos(μ_ref, μ_cur)`` between the mean vectors of two
    ``(n, d)`` embedding samples (e.g. search queries)."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.ndim != 2 or cur.ndim != 2 or ref.shape[1] != cur.shape[1] or not len(ref) or not len(cur):
        raise ValueError(f"embeddings must be non-empty (n, d) arrays of one d, got {ref.shape}, {cur.shape}")
    a, b = ref.mean(axis=0), cur.mean(axis=0)
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norms == 0:
        raise ValueError("a centroid is the zero vector: its direction is undefined")
    return float(1.0 - (a @ b) / norms)


def new_items_share(
    reference_lists: Iterable[Sequence[str]], current_lists: Iterable[Sequence[str]]
) -> float:
    """Share of the entries of the current lists (e.g. each user's top-10) whose item appears
    in none of the reference lists (0 when the current lists are empty)."""
    seen = {item for items in reference_lists for item in items}
    entries = [item for items in current_lists for item in items]
    if not entries:
        return 0.0
    return sum(item not in seen for item in entries) / len(entries)
