"""Held-out searches judged without the logging policy's exposure bias: each ranker re-ranks
the page the shopper was shown, and clicks count by the inverse of their examination probability.

Judged by held-out clicks over everything a ranker could return (the ``logs`` section of
:mod:`vitrina.core.evaluation.search_rankings`), a ranker is rewarded for resembling the policy
that chose what shoppers saw: only shown products can be clicked, and a policy that shows popular
products makes "popular" look like "relevant". Two corrections remove that bias:

* **Selection**: each search is judged on the products it showed only (the logged page). Every
  one of them could have been clicked, so a ranker gains nothing by telling shown products from
  unshown ones;
* **Position**: within the page, shoppers look at the top more than at the bottom, so a click
  at a low position stands for more relevant products left unexamined there. A clicked or bought
  product adds ``gain / θ(logged position) / log2(1 + rank)`` when the ranker puts it in its
  top ``k`` of the page, θ being the examination probability per position (the position-bias
  estimate of :mod:`vitrina.core.search.propensity`, whose inverse also weighs the ranker's
  training clicks; gain 2 for a purchase, 1 for a click).

This is the inverse-propensity-scored (IPS) estimate of a ranker's DCG on the logged page:
Joachims, Swaminathan & Schnabel, "Unbiased learning-to-rank with biased feedback" (WSDM 2017),
show that under the position-based click model the IPS-weighted sum of a ranking metric over the
clicks is an unbiased estimate of the same metric over the true relevance of the examined-or-not
products; Agarwal, Takatsu, Zaitsev & Joachims, "A general framework for counterfactual
learning-to-rank" (SIGIR 2019), extend the estimate to any additive metric such as DCG. The mean
is not normalised per search (a per-search ideal would cancel the weights of single-click
searches), as in :func:`vitrina.core.evaluation.live_champion.page_ips_dcg`, the same estimate
on lists of product ids. Per-search values let two rankers be compared by a paired test
(:mod:`vitrina.core.metrics.paired`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vitrina.core.metrics.paired import LEVEL, p_better

FloatArray = npt.NDArray[np.float64]

K = 10
"""Depth of the DCG."""


def shown_page_ips_dcg(
    groups: npt.ArrayLike,
    scores: npt.ArrayLike,
    gains: npt.ArrayLike,
    ips: npt.ArrayLike,
    shown: npt.ArrayLike | None = None,
    *,
    k: int = K,
) -> FloatArray:
    """Per search, the IPS-weighted DCG@``k`` of the shown page ordered by ``scores``.

    Args:
        groups: ``(n,)`` the search of each row (any integers).
        scores: ``(n,)`` the ranker's score of each row, higher first; ties keep row order.
        gains: ``(n,)`` what the shopper did with the product (purchase 2, click 1, else 0).
        ips: ``(n,)`` inverse examination probability at the product's logged position (read on
            rows with a gain only).
        shown: ``(n,)`` whether the search showed the product (default: every row); rows not
            shown are left out before ranking.

    Returns:
        One value per distinct search, in ascending order of ``groups`` (a search without shown
        rows scores 0).
    """
    group = np.asarray(groups, dtype=np.int64)
    score = np.asarray(scores, dtype=np.float64)
    gain = np.asarray(gains, dtype=np.float64)
    weight = np.asarray(ips, dtype=np.float64)
    mask = np.ones(group.size, dtype=bool) if shown is None else np.asarray(shown, dtype=bool)
    if not (group.shape == score.shape == gain.shape == weight.shape == mask.shape) or group.ndim != 1:
        raise ValueError("groups, scores, gains, ips and shown must be aligned 1-d arrays")
    if k < 1:
        raise ValueError("k must be at least 1")
    searches, search = np.unique(group, return_inverse=True)
    out = np.zeros(searches.size, dtype=np.float64)
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return out
    order = rows[np.lexsort((rows, -score[rows], search[rows]))]
    ordered = search[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size])) + 1
    top = rank <= k
    value = gain[order] * np.where(gain[order] > 0, weight[order], 0.0) / np.log2(1.0 + rank)
    np.add.at(out, ordered[top], value[top])
    return out


ALL_CANDIDATES = "all_candidates"
"""The incumbent row set: every candidate of a training search (retrieved or shown)."""
SHOWN_ONLY = "shown_only"
"""The challenger: the products each training search showed only."""
RULE = (
    "one-sided paired t-test on per-search IPS-weighted DCG@10 of the shown page over the held-out "
    "searches, p < 0.05; all candidates keep ties"
)
"""The rule as recorded with every choice (MLflow tag ``ranker_rows.rule``)."""


@dataclass(frozen=True)
class RowsChoice:
    """Which training rows the served ranker learnt from, and the numbers that chose them.

    A training search's candidates nobody was shown are labelled 0, and a logging policy that
    shows popular products puts those zeros on less popular ones: a ranker fitted on every
    candidate learns popularity, which clicks on the same policy's pages confirm whatever the
    relevance. Fitted on the shown products only, its zeros are skips. Which one ranks better is
    read on the held-out searches' shown pages (:func:`shown_page_ips_dcg`), where popularity
    earns nothing for having been shown."""

    rows: str
    n_searches: int
    scores: dict[str, float]
    """Mean IPS-weighted DCG@10 of the shown page per row set."""
    p_better: float
    """One-sided p that the shown-only ranker beats the all-candidates one."""

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "n_searches": self.n_searches,
            "ips_dcg@10": dict(self.scores),
            "p_better": self.p_better,
            "rule": RULE,
        }

    def reason(self) -> str:
        said = "beats" if self.rows == SHOWN_ONLY else "does not beat"
        return (
            f"ranker training rows: {self.rows.replace('_', ' ')}. On {self.n_searches:,} held-out "
            f"searches' shown pages (IPS-weighted DCG@10), the ranker fitted on the shown products "
            f"only ({self.scores[SHOWN_ONLY]:.4f}) {said} the one fitted on every candidate "
            f"({self.scores[ALL_CANDIDATES]:.4f}) beyond noise; paired test p {self.p_better:.3g}"
        )

    def params(self) -> dict[str, object]:
        """MLflow params (shown in the model card)."""
        return {
            "ranker_rows": self.rows,
            "ranker_rows_searches": self.n_searches,
            "ranker_rows_p_better": float(f"{self.p_better:.3g}"),
            **{f"ranker_rows_ips_dcg_{name}": round(value, 6) for name, value in self.scores.items()},
        }


def choose_training_rows(
    all_candidates: npt.ArrayLike, shown_only: npt.ArrayLike, *, level: float = LEVEL
) -> RowsChoice:
    """Shown-only rows when their ranker beats the all-candidates one (the incumbent) beyond
    noise on the same held-out searches (per-search :func:`shown_page_ips_dcg` of each, aligned),
    by the one-sided paired t-test of :mod:`vitrina.core.metrics.paired`; all candidates otherwise."""
    incumbent = np.asarray(all_candidates, dtype=np.float64)
    challenger = np.asarray(shown_only, dtype=np.float64)
    p = p_better(challenger, incumbent)
    return RowsChoice(
        rows=SHOWN_ONLY if p < level else ALL_CANDIDATES,
        n_searches=int(incumbent.size),
        scores={
            ALL_CANDIDATES: float(incumbent.mean()) if incumbent.size else float("nan"),
            SHOWN_ONLY: float(challenger.mean()) if challenger.size else float("nan"),
        },
        p_better=p,
    )
