"""Offline evaluation of search rankings (docs/spec.md §4.8), overall and by query type.

Three kinds of judgement, each a :class:`JudgedQueries`:

* **judgments** — the shop's own graded relevance (``judgments`` table: query, product,
  grade on the shop's scale, 0 = irrelevant), read with *linear* gains (gain = grade): the
  shop chose its scale, and an exponential transform would reweigh it behind its back;
* **qrels** — the simulator's graded relevance (0–3) of products to its evaluation queries,
  each tagged with its query type (exact, typo, synonym, brand-only, category-only, …);
* **held-out logs** — searches of the evaluation window, a product's gain being what the user
  did with it (purchase 2, click 1). Biased towards what the logging policy showed, so it
  favours rankers that resemble it; read it beside the qrels.

Metrics per model: NDCG@10 (exponential gains for qrels and logs, linear for judgments), MRR,
Recall@100, Precision@5 (relevant = gain > 0) and the zero-result rate (share of queries whose
ranking is empty: on a real site, the page that says "no results").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.core.evaluation.relevance_source import LABELS
from vitrina.core.metrics import PAD, Truth, judge, mean_over_queries, ndcg, ranking_report
from vitrina.core.metrics.ranking import Transform

METRICS = ("ndcg@10", "mrr", "recall@100", "p@5", "zero_result_rate")
_LIBRARY_NAMES = {"mrr": "mrr", "recall@100": "recall@100", "p@5": "precision@5"}
K_MAX = 100
JUDGED = "judged"
"""Query type of a shop's judged queries (the judgments table has no query types)."""


@dataclass(frozen=True)
class JudgedQueries:
    """Queries with their judgements: ``texts[i]`` is judged by ``rows[i]`` (product rows)
    with ``gains[i]``; ``types[i]`` is its query type (``"logged"`` for held-out logs);
    ``user_ids[i]`` the searching user, if any; ``transform`` the gain transform of NDCG;
    ``searched_us[i]`` when the query was searched (µs since the epoch), for queries that
    happened at a time (held-out logs): the products listed after it were no candidates of
    it. None: judgements of no moment (the shop's judgments, the simulator's qrels)."""

    texts: list[str]
    types: list[str]
    rows: list[npt.NDArray[np.int64]]
    gains: list[npt.NDArray[np.float64]]
    user_ids: list[str | None]
    transform: Transform = "exponential"
    searched_us: list[int] | None = None

    def __post_init__(self) -> None:
        n = len(self.texts)
        if not all(len(v) == n for v in (self.types, self.rows, self.gains, self.user_ids)):
            raise ValueError("texts, types, rows, gains and user_ids must have one entry per query")
        if self.searched_us is not None and len(self.searched_us) != n:
            raise ValueError("searched_us must have one entry per query")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_scored(self) -> int:
        """Queries with at least one relevant (gain > 0) product in the index: the only ones
        the metrics average over (a query with none has no defined NDCG)."""
        return sum(bool((gains > 0).any()) for gains in self.gains)

    def truth(self, subset: npt.NDArray[np.int64] | None = None) -> Truth:
        picked = np.arange(len(self)) if subset is None else subset
        empty = [np.zeros(0, dtype=np.int64)]
        index = np.concatenate([np.full(self.rows[i].size, j) for j, i in enumerate(picked)] or empty)
        items = np.concatenate([self.rows[i] for i in picked] or empty)
        gains = np.concatenate([self.gains[i] for i in picked] or empty)
        return Truth.from_pairs(
            index.astype(np.int64), items.astype(np.int64), gains, n_queries=len(picked), duplicates="max"
        )


def ranked_matrix(rankings: Sequence[npt.ArrayLike], k_max: int = K_MAX) -> npt.NDArray[np.int64]:
    """Rankings (product rows, best first, any length) → ``(n, k_max)`` padded with PAD."""
    out = np.full((len(rankings), k_max), PAD, dtype=np.int64)
    for i, ranking in enumerate(rankings):
        rows = np.asarray(ranking, dtype=np.int64)[:k_max]
        out[i, : rows.size] = rows
    return out


def _metrics(ranked: npt.NDArray[np.int64], truth: Truth, transform: Transform) -> dict[str, float]:
    judged = judge(ranked, truth)
    report = ranking_report(judged, list(_LIBRARY_NAMES.values()))
    out = {"ndcg@10": mean_over_queries(ndcg(judged, 10, transform))}
    out.update({name: report[library] for name, library in _LIBRARY_NAMES.items()})
    out["zero_result_rate"] = float((ranked[:, 0] == PAD).mean()) if len(ranked) else math.nan
    return out


def evaluate_rankings(
    queries: JudgedQueries, rankings: Sequence[npt.ArrayLike], *, by_type: bool = True
) -> dict[str, object]:
    """Metrics of one model's ``rankings`` (aligned with ``queries``), plus ``by_query_type``."""
    if len(rankings) != len(queries):
        raise ValueError(f"{len(rankings)} rankings for {len(queries)} queries")
    ranked = ranked_matrix(rankings)
    transform = queries.transform
    result: dict[str, object] = dict(_metrics(ranked, queries.truth(), transform))
    if by_type:
        types = np.asarray(queries.types)
        result["by_query_type"] = {
            kind: {
                **_metrics(ranked[subset], queries.truth(subset), transform),
                "n_queries": int(subset.size),
            }
            for kind in sorted(set(queries.types))
            for subset in [np.flatnonzero(types == kind).astype(np.int64)]
        }
    return result


SECTION_TITLES = {
    "judgments": "Shop's judgments",
    "judgments_selection": "Shop's judgments: selection half (chose the served mode, not gated on)",
    "models": "Simulator qrels",
    "logs": "Held-out search logs",
}
"""The report's judgement sections (``models`` holds the qrels: its historical name)."""


def render_markdown(report: Mapping[str, Mapping[str, Any]], run_id: str) -> str:
    """The run's ``notes`` and which relevance the gate read (``relevance``), when present,
    then one table per judgement section (rows models, columns metrics), then NDCG@10 by type."""
    lines = [f"# Search: offline evaluation `{run_id}`", ""]
    titles = SECTION_TITLES
    notes: list[str] = list(report.get("notes") or [])
    lines += [*(f"- {note}" for note in notes), *([""] if notes else [])]
    relevance = report.get("relevance")
    if relevance:
        lines += [f"Gate: {relevance.get('gate_detail', '—')}.", ""]
    lines += _live_champion_lines(report.get("live_champion"))
    for section, models in report.items():
        if not models or section not in titles:
            continue
        lines += [f"## {titles.get(section, section)}", ""]
        counts = (relevance or {}).get("sources", {}).get(LABELS.get(section, ""))
        if counts:
            lines += [
                f"{counts['n_queries']} queries, {counts['n_scored']} scored "
                "(those with a relevant product in the index).",
                "",
            ]
        lines += ["| model | " + " | ".join(METRICS) + " |"]
        lines.append("|---|" + "---:|" * len(METRICS))
        for model, values in models.items():
            lines.append(f"| {model} | " + " | ".join(_cell(values.get(m)) for m in METRICS) + " |")
        lines.append("")
        types = sorted({t for v in models.values() for t in v.get("by_query_type", {})})  # type: ignore[attr-defined]
        if len(types) > 1:
            lines += [f"### NDCG@10 by query type ({titles.get(section, section)})", ""]
            lines += ["| model | " + " | ".join(types) + " |", "|---|" + "---:|" * len(types)]
            for model, values in models.items():
                by_type = values.get("by_query_type", {})
                cells = [_cell(by_type.get(t, {}).get("ndcg@10")) for t in types]  # type: ignore[attr-defined]
                lines.append(f"| {model} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def _live_champion_lines(live: Mapping[str, Any] | None) -> list[str]:
    """The new version beside the served one on the same held-out live searches, if compared
    (:mod:`vitrina.core.evaluation.live_champion`)."""
    if not live or "verdict" not in live:
        return []
    lines = [
        f"## Against the served version on {live['n_searches']} held-out live searches",
        "",
        "| version | ips_dcg@10 (gated) | ndcg@10 | mrr |",
        "|---|---:|---:|---:|",
    ]
    for role in ("champion", "challenger"):
        cells = " | ".join(_cell(live[role].get(m)) for m in (live["gated"], "ndcg@10", "mrr"))
        lines.append(f"| {live[role + '_version']} | {cells} |")
    p_better, p_worse = live["p_better"][live["gated"]], live["p_worse"][live["gated"]]
    lines += ["", f"{live['verdict']} ({live['rule']}: p better {p_better:.3g}, p worse {p_worse:.3g}).", ""]
    return lines


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.4f}"  # type: ignore[arg-type]


def strict_json(value: object) -> object:
    """NaN → None, recursively, so the report is strict JSON."""
    if isinstance(value, Mapping):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def judged_from_qrels(
    qrels: pd.DataFrame, product_rows: Callable[[npt.ArrayLike], npt.NDArray[np.int64]]
) -> JudgedQueries:
    """The simulator's evaluation queries (one per ``query_id``) with their graded products;
    ``product_rows`` maps product ids to index rows (``-1``: not in the index, dropped)."""
    texts, types, rows, gains = [], [], [], []
    for _, group in qrels.groupby("query_id", sort=True):
        found = product_rows(group["product_id"].to_numpy())
        keep = found >= 0
        texts.append(str(group["query"].iloc[0]))
        types.append(str(group["query_type"].iloc[0]))
        rows.append(found[keep])
        gains.append(group["relevance"].to_numpy(dtype=np.float64)[keep])
    return JudgedQueries(texts, types, rows, gains, [None] * len(texts))


def judged_from_logs(
    logs: pd.DataFrame,
    product_rows: Callable[[npt.ArrayLike], npt.NDArray[np.int64]],
    *,
    max_queries: int,
    seed: int,
) -> JudgedQueries:
    """Held-out searches with at least one click: gain 2 for a purchase, 1 for a click; each
    with the time it was made (``ts``, when the logs have it)."""
    # a boolean array, not a list: indexing an empty frame with an empty list selects columns
    has_click = np.fromiter((len(c) > 0 for c in logs["results_clicked"]), dtype=bool, count=len(logs))
    clicked = logs.loc[has_click]
    if len(clicked) > max_queries:
        clicked = clicked.sample(n=max_queries, random_state=seed)
    texts, rows, gains, users = [], [], [], []
    searched = (
        pd.to_datetime(clicked["ts"], utc=True).dt.as_unit("us").astype("int64").tolist()
        if "ts" in clicked.columns
        else None
    )
    columns = ("query", "user_id", "results_clicked", "results_purchased")
    for query, user, clicks, purchases in zip(*(clicked[c].tolist() for c in columns), strict=True):
        ids = list(dict.fromkeys([*clicks, *purchases]))
        bought = set(purchases)
        found = product_rows(np.asarray(ids, dtype=object))
        gain = np.array([2.0 if p in bought else 1.0 for p in ids])
        texts.append(str(query))
        rows.append(found[found >= 0])
        gains.append(gain[found >= 0])
        users.append(None if user is None else str(user))
    return JudgedQueries(texts, ["logged"] * len(texts), rows, gains, users, searched_us=searched)


def judged_from_judgments(
    judgments: pd.DataFrame, product_rows: Callable[[npt.ArrayLike], npt.NDArray[np.int64]]
) -> JudgedQueries:
    """The shop's judged queries (one per distinct ``query`` text, in text order) with their
    graded products, gain = ``grade`` (linear NDCG); ``product_rows`` maps product ids to
    index rows (``-1``: not in the index, dropped). A product judged twice for a query keeps
    its highest grade."""
    texts, rows, gains = [], [], []
    for query, group in judgments.groupby("query", sort=True):
        found = product_rows(group["product_id"].to_numpy())
        keep = found >= 0
        texts.append(str(query))
        rows.append(found[keep])
        gains.append(group["grade"].to_numpy(dtype=np.float64)[keep])
    n = len(texts)
    return JudgedQueries(texts, [JUDGED] * n, rows, gains, [None] * n, transform="linear")
