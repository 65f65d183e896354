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

Per-search NDCG@10 and reciprocal rank differ between the two; whether the mean difference
says anything is the one-sided paired t-test of :mod:`vitrina.core.recs.paired` (ADR-0029), run
both ways: ``p_better`` (the new version beats the champion) and ``p_worse`` (the champion beats
the new version). The gate's rule reads ``p_worse`` on NDCG@10 (:attr:`LiveComparison.worse`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.metrics import PAD, Truth, judge, mean_over_queries, ndcg, reciprocal_rank
from vitrina.core.recs.paired import LEVEL, p_better

FloatArray = npt.NDArray[np.float64]
Verdict = Literal["better", "worse", "tied"]
K = 100
"""Length of each ranked list: MRR is read over it, NDCG over its top 10."""
RULE = "one-sided paired t-test on per-search NDCG@10 over the same held-out live searches, p < 0.05"
"""The rule as recorded with every comparison (docs/adr/0033)."""


@dataclass(frozen=True)
class HeldOutSearches:
    """Held-out searches a shopper acted on: search ``i`` typed ``texts[i]`` as ``user_ids[i]``
    and clicked or bought ``relevant[i]`` (product ids) worth ``gains[i]`` (purchase 2, click 1)."""

    search_ids: list[str]
    texts: list[str]
    user_ids: list[str | None]
    relevant: list[list[str]]
    gains: list[FloatArray]

    def __len__(self) -> int:
        return len(self.texts)


def held_out_searches(logs: pd.DataFrame, *, max_searches: int, seed: int) -> HeldOutSearches:
    """The searches of ``logs`` (search_logs rows) with at least one click, in time order; a
    seeded sample of ``max_searches`` of them when there are more (scoring costs a search each)."""
    clicked = logs[[len(c) > 0 for c in logs["results_clicked"]]]
    if len(clicked) > max_searches:
        clicked = clicked.sample(n=max_searches, random_state=seed).sort_values(["ts", "search_id"])
    relevant, gains = [], []
    for clicks, purchases in zip(clicked["results_clicked"], clicked["results_purchased"], strict=True):
        ids = [str(p) for p in dict.fromkeys([*clicks, *purchases])]
        bought = {str(p) for p in purchases}
        relevant.append(ids)
        gains.append(np.array([2.0 if p in bought else 1.0 for p in ids], dtype=np.float64))
    return HeldOutSearches(
        search_ids=[str(s) for s in clicked["search_id"]],
        texts=[str(q) for q in clicked["query"]],
        user_ids=[None if u is None else str(u) for u in clicked["user_id"]],
        relevant=relevant,
        gains=gains,
    )


@dataclass(frozen=True)
class PerSearch:
    """One version's NDCG@10 and reciprocal rank on each held-out search (aligned with it)."""

    ndcg: FloatArray
    rr: FloatArray

    def means(self) -> dict[str, float]:
        return {"ndcg@10": mean_over_queries(self.ndcg), "mrr": mean_over_queries(self.rr)}


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
    return PerSearch(ndcg=ndcg(judged, 10, "exponential"), rr=reciprocal_rank(judged))


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
        """The champion beats the new version beyond noise on NDCG@10: the gate refuses it."""
        return self.p_worse["ndcg@10"] < LEVEL

    @property
    def verdict(self) -> Verdict:
        if self.worse:
            return "worse"
        return "better" if self.p_better["ndcg@10"] < LEVEL else "tied"

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
            f"on the same {self.n_searches:,} held-out live searches, this version (NDCG@10 "
            f"{new['ndcg@10']:.4f}, MRR {new['mrr']:.4f}) {said} against the serving champion "
            f"{self.champion} (NDCG@10 {old['ndcg@10']:.4f}, MRR {old['mrr']:.4f}; paired test on "
            f"NDCG@10: p better {self.p_better['ndcg@10']:.3g}, p worse {self.p_worse['ndcg@10']:.3g})"
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
    pairs = {"ndcg@10": (new.ndcg, old.ndcg), "mrr": (new.rr, old.rr)}
    return LiveComparison(
        champion=champion,
        challenger=challenger,
        n_searches=len(searches),
        champion_scores=old.means(),
        challenger_scores=new.means(),
        p_better={metric: p_better(a, b) for metric, (a, b) in pairs.items()},
        p_worse={metric: p_better(b, a) for metric, (a, b) in pairs.items()},
    )
