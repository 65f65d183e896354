"""A new search version against the serving champion, on the same held-out live searches.

Each run of the search pipeline measures its own models on its own held-out set; a new version's
NDCG@10 beside the champion's registered one compares two different sets of searches (the
champion's week and this run's), so a change of traffic reads as a change of model. Here both
versions rank the **same** searches — the most recent searches the shop's own API logged, which
the new version never learnt from (docs/adr/0033) — and each search is judged by what its
shopper did (purchase 2, click 1, exponential NDCG gains as for held-out logs).

The two versions may index different catalogs (products come and go between runs), so the
judgement is over **product ids**, not index rows: a clicked product that one index lacks is a
relevant product that version cannot show, which is what its shoppers would have seen.

Clicks can only land on what the logging version showed, and mostly on its top positions:
judged by them, the version that served (the champion) is favoured whatever it is worth
(docs/adr/0033 gives the numbers on the ci shop). So beside NDCG@10 and MRR
(reported, not gated on) each version is scored by the **inverse-propensity-weighted DCG@10 of
the logged page** (``ips_dcg@10``, the counterfactual estimate of Joachims et al., 2017): each
version re-ranks the products the shopper was shown, and a clicked or bought product adds
``gain / θ(logged position) / log2(1 + its rank)`` when in the top 10, θ being the examination
probability per position the pipeline estimates from the logs before the held-out days (the
one its ranker's IPS weights come from). A click at a position few shoppers look at stands for
the relevant products nobody examined there, so a version is not punished for lifting them.
Its mean over searches is not normalised per search (a per-search ideal would cancel the
weights of single-click searches).

Per-search values of the two versions differ; whether the mean difference says anything is the
one-sided paired t-test of :mod:`vitrina.core.metrics.paired` (ADR-0029), run both ways:
``p_better`` (the new version beats the champion) and ``p_worse`` (the champion beats it). The
gate's rule reads ``p_worse`` on ``ips_dcg@10`` (:attr:`LiveComparison.worse`, docs/adr/0033).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.metrics import PAD, Truth, judge, mean_over_queries, ndcg, reciprocal_rank
from vitrina.core.metrics.paired import LEVEL, p_better

FloatArray = npt.NDArray[np.float64]
Verdict = Literal["better", "worse", "tied"]
K = 100
"""Length of each ranked list: MRR is read over it, NDCG over its top 10."""
GATED = "ips_dcg@10"
"""The metric the gate's rule reads."""
RULE = (
    "one-sided paired t-test on per-search IPS-weighted DCG@10 of the logged page over the same "
    "held-out live searches, p < 0.05"
)
"""The rule as recorded with every comparison (docs/adr/0033)."""


@dataclass(frozen=True)
class HeldOutSearches:
    """Held-out searches a shopper acted on: search ``i`` typed ``texts[i]`` as ``user_ids[i]``
    and clicked or bought ``relevant[i]`` (product ids) worth ``gains[i]`` (purchase 2, click 1)
    after being shown ``shown[i]``; ``ips[i]`` weighs each relevant product by the inverse of
    the examination probability at its logged position (1.0 when no estimate was given)."""

    search_ids: list[str]
    texts: list[str]
    user_ids: list[str | None]
    relevant: list[list[str]]
    gains: list[FloatArray]
    shown: list[list[str]]
    ips: list[FloatArray]

    def __len__(self) -> int:
        return len(self.texts)


def held_out_searches(
    logs: pd.DataFrame,
    *,
    max_searches: int,
    seed: int,
    ips_weights: Callable[[npt.ArrayLike], FloatArray] | None = None,
) -> HeldOutSearches:
    """The searches of ``logs`` (search_logs rows) with at least one click, in time order; a
    seeded sample of ``max_searches`` of them when there are more (scoring costs a search each).
    ``ips_weights`` maps 1-based logged positions to inverse-propensity weights (a product
    bought without being shown takes the last position's)."""
    clicked = logs[np.array([len(c) > 0 for c in logs["results_clicked"]], dtype=bool)]
    if len(clicked) > max_searches:
        clicked = clicked.sample(n=max_searches, random_state=seed).sort_values(["ts", "search_id"])
    relevant, gains, shown, ips = [], [], [], []
    columns = ("results_shown", "results_clicked", "results_purchased")
    for seen, clicks, purchases in zip(*(clicked[c] for c in columns), strict=True):
        ids = [str(p) for p in dict.fromkeys([*clicks, *purchases])]
        bought = {str(p) for p in purchases}
        page = [str(p) for p in seen]
        at = {p: i + 1 for i, p in reversed(list(enumerate(page)))}
        positions = np.array([at.get(p, max(len(page), 1)) for p in ids], dtype=np.int64)
        relevant.append(ids)
        gains.append(np.array([2.0 if p in bought else 1.0 for p in ids], dtype=np.float64))
        shown.append(page)
        ips.append(
            np.ones(len(ids)) if ips_weights is None else np.asarray(ips_weights(positions), np.float64)
        )
    return HeldOutSearches(
        search_ids=[str(s) for s in clicked["search_id"]],
        texts=[str(q) for q in clicked["query"]],
        user_ids=[None if u is None else str(u) for u in clicked["user_id"]],
        relevant=relevant,
        gains=gains,
        shown=shown,
        ips=ips,
    )


@dataclass(frozen=True)
class PerSearch:
    """One version's metrics on each held-out search (aligned with it), by name."""

    values: dict[str, FloatArray]

    def means(self) -> dict[str, float]:
        return {name: mean_over_queries(values) for name, values in self.values.items()}


def page_ips_dcg(searches: HeldOutSearches, rankings: Sequence[Sequence[str]], k: int = 10) -> FloatArray:
    """Per search: the IPS-weighted DCG@``k`` of ``rankings`` restricted to the logged page
    (see the module docstring); a shown product a ranking lacks ranks nowhere."""
    out = np.zeros(len(searches), dtype=np.float64)
    for i, ranking in enumerate(rankings):
        page = set(searches.shown[i])
        order = [p for p in ranking if p in page][:k]
        rank = {p: r + 1 for r, p in enumerate(order)}
        for product, gain, weight in zip(
            searches.relevant[i], searches.gains[i], searches.ips[i], strict=True
        ):
            if product in rank:
                out[i] += gain * weight / np.log2(1.0 + rank[product])
    return out


def score(searches: HeldOutSearches, rankings: Sequence[Sequence[str]]) -> PerSearch:
    """Per-search metrics of ``rankings`` (product ids, best first, one list per search)."""
    if len(rankings) != len(searches):
        raise ValueError(f"{len(rankings)} rankings for {len(searches)} held-out searches")
    codes: dict[str, int] = {}
    for ids in searches.relevant:
        for product in ids:
            codes.setdefault(product, len(codes))
    ranked = np.full((len(searches), K), PAD, dtype=np.int64)
    for i, ranking in enumerate(rankings):
        # A product no shopper acted on is irrelevant whatever its code: one past the known ones.
        row = [codes.get(str(p), len(codes) + j) for j, p in enumerate(ranking[:K])]
        ranked[i, : len(row)] = row
    pairs = [(i, codes[p]) for i, ids in enumerate(searches.relevant) for p in ids]
    index = np.array([i for i, _ in pairs], dtype=np.int64)
    items = np.array([code for _, code in pairs], dtype=np.int64)
    gains = np.concatenate([*searches.gains, np.zeros(0)])
    truth = Truth.from_pairs(index, items, gains, n_queries=len(searches), duplicates="max")
    judged = judge(ranked, truth)
    return PerSearch(
        {
            "ndcg@10": ndcg(judged, 10, "exponential"),
            "mrr": reciprocal_rank(judged),
            GATED: page_ips_dcg(searches, rankings),
        }
    )


@dataclass(frozen=True)
class LiveComparison:
    """The champion (index version ``champion``) and the new version (``challenger``) on the
    same ``n_searches`` held-out live searches: mean metrics and the paired tests' p-values."""

    champion: str
    challenger: str
    n_searches: int
    champion_scores: dict[str, float]
    challenger_scores: dict[str, float]
    p_better: dict[str, float]
    """Per metric: one-sided p that the new version beats the champion."""
    p_worse: dict[str, float]
    """Per metric: one-sided p that the champion beats the new version."""

    @property
    def worse(self) -> bool:
        """The champion beats the new version beyond noise on :data:`GATED`: the gate refuses it."""
        return self.p_worse[GATED] < LEVEL

    @property
    def verdict(self) -> Verdict:
        if self.worse:
            return "worse"
        return "better" if self.p_better[GATED] < LEVEL else "tied"

    def to_dict(self) -> dict[str, Any]:
        return {
            "champion_version": self.champion,
            "challenger_version": self.challenger,
            "n_searches": self.n_searches,
            "champion": dict(self.champion_scores),
            "challenger": dict(self.challenger_scores),
            "p_better": dict(self.p_better),
            "p_worse": dict(self.p_worse),
            "verdict": self.verdict,
            "gated": GATED,
            "rule": RULE,
        }

    def reason(self) -> str:
        new, old = self.challenger_scores, self.champion_scores
        said = {
            "better": "beats it beyond noise",
            "worse": "is worse beyond noise",
            "tied": "is tied with it within noise",
        }[self.verdict]
        return (
            f"on the same {self.n_searches:,} held-out live searches, this version (IPS-DCG@10 of "
            f"the logged page {new[GATED]:.4f}; NDCG@10 {new['ndcg@10']:.4f}, MRR {new['mrr']:.4f} "
            f"on the clicks) {said} against the served version {self.champion} ({old[GATED]:.4f}; "
            f"{old['ndcg@10']:.4f}, {old['mrr']:.4f}); paired test on IPS-DCG@10: p better "
            f"{self.p_better[GATED]:.3g}, p worse {self.p_worse[GATED]:.3g}"
        )


def compare(
    searches: HeldOutSearches,
    *,
    champion: str,
    champion_rankings: Sequence[Sequence[str]],
    challenger: str,
    challenger_rankings: Sequence[Sequence[str]],
) -> LiveComparison:
    """Score both versions' rankings of the same ``searches`` and test them pairwise."""
    old, new = score(searches, champion_rankings), score(searches, challenger_rankings)
    pairs = {name: (new.values[name], old.values[name]) for name in new.values}
    return LiveComparison(
        champion=champion,
        challenger=challenger,
        n_searches=len(searches),
        champion_scores=old.means(),
        challenger_scores=new.means(),
        p_better={metric: p_better(a, b) for metric, (a, b) in pairs.items()},
        p_worse={metric: p_better(b, a) for metric, (a, b) in pairs.items()},
    )
