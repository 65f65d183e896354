"""Shadow comparisons: how the challenger's answer differs from the champion's it stood behind.

In shadow mode the champion is shown and the challenger's answer to the same request is
computed beside it, never shown. Each request yields one :class:`ShadowComparison`:

* ``overlap@k`` — the share of the champion's top ``k`` the challenger also has in its top
  ``k`` (1 = the same set, 0 = disjoint);
* Kendall's τ-b and Spearman's ρ between the two rankings over the union of both top-k
  lists, an item missing from one list ranked just after its end (rank ``k + 1``, tied) —
  the usual way to compare top-k lists of different items (Fagin, Kumar & Sivakumar,
  "Comparing top k lists", 2003). 1 = same order, −1 = reversed; None below two items;
* the challenger's predicted scores (mean and top score) and both sides' latency.

:func:`summarise` aggregates a log of them into the report the console shows: means, the
latency p50/p95 of each side, and how many requests it covers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class ShadowComparison:
    """One shadowed request: agreement of the two top-k lists, the challenger's scores, latency."""

    k: int
    overlap: float
    kendall: float | None
    spearman: float | None
    challenger_score_mean: float | None
    challenger_score_top: float | None
    champion_ms: float
    challenger_ms: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ranks(items: Sequence[str], universe: Sequence[str], k: int) -> list[int]:
    position = {item: rank for rank, item in enumerate(items[:k], start=1)}
    return [position.get(item, k + 1) for item in universe]


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def kendall_tau_b(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Kendall's τ-b (ties in either ranking accounted for), over all pairs: a few dozen items
    per list make the O(n²) pairs cheaper than a library call's overhead (≈ 5 ms for
    ``scipy.stats.kendalltau`` + ``spearmanr`` per request). NaN when a ranking is constant."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    upper = np.triu_indices(a.size, k=1)
    da = np.sign(a[:, None] - a[None, :])[upper]
    db = np.sign(b[:, None] - b[None, :])[upper]
    pairs = da.size
    untied_a, untied_b = pairs - int(np.sum(da == 0)), pairs - int(np.sum(db == 0))
    if untied_a == 0 or untied_b == 0:
        return math.nan
    return float(np.sum(da * db) / math.sqrt(untied_a * untied_b))


def _average_ranks(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def spearman_rho(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Spearman's ρ: Pearson's correlation of the average ranks. NaN when a ranking is constant."""
    a = _average_ranks(np.asarray(x, dtype=np.float64))
    b = _average_ranks(np.asarray(y, dtype=np.float64))
    if np.all(a == a[0]) or np.all(b == b[0]):
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def compare_lists(
    champion: Sequence[str],
    challenger: Sequence[str],
    challenger_scores: Sequence[float],
    k: int,
    *,
    champion_ms: float = 0.0,
    challenger_ms: float = 0.0,
) -> ShadowComparison:
    """The comparison of two ranked lists of ids (best first), over their first ``k``."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    top_a, top_b = list(champion[:k]), list(challenger[:k])
    overlap = len(set(top_a) & set(top_b)) / len(top_a) if top_a else (1.0 if not top_b else 0.0)
    universe = list(dict.fromkeys(top_a + top_b))
    kendall = spearman = None
    if len(universe) >= 2:
        a, b = _ranks(top_a, universe, k), _ranks(top_b, universe, k)
        if len(set(a)) > 1 and len(set(b)) > 1:
            kendall = _finite_or_none(kendall_tau_b(a, b))
            spearman = _finite_or_none(spearman_rho(a, b))
    scores = [float(s) for s in challenger_scores[:k] if math.isfinite(float(s))]
    return ShadowComparison(
        k=k,
        overlap=overlap,
        kendall=kendall,
        spearman=spearman,
        challenger_score_mean=float(np.mean(scores)) if scores else None,
        challenger_score_top=scores[0] if scores else None,
        champion_ms=float(champion_ms),
        challenger_ms=float(challenger_ms),
    )


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    return float(np.quantile(values, q)) if values else None


def summarise(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The report of a log of :meth:`ShadowComparison.to_dict` rows (extra keys ignored):
    request count, mean overlap@k, mean Kendall τ and Spearman ρ (over the requests where
    they are defined), the challenger's mean score, and latency p50/p95 of both sides."""
    rows = list(records)
    champion_ms = [float(r["champion_ms"]) for r in rows]
    challenger_ms = [float(r["challenger_ms"]) for r in rows]
    ks = sorted({int(r["k"]) for r in rows})
    return {
        "requests": len(rows),
        "k": ks[0] if len(ks) == 1 else ks,
        "overlap_at_k": _mean(float(r["overlap"]) for r in rows),
        "kendall_tau": _mean(r.get("kendall") for r in rows),
        "spearman_rho": _mean(r.get("spearman") for r in rows),
        "challenger_score_mean": _mean(r.get("challenger_score_mean") for r in rows),
        "champion_ms_p50": _quantile(champion_ms, 0.5),
        "champion_ms_p95": _quantile(champion_ms, 0.95),
        "challenger_ms_p50": _quantile(challenger_ms, 0.5),
        "challenger_ms_p95": _quantile(challenger_ms, 0.95),
    }
