"""Training examples for the search ranker from the search logs (docs/spec.md §4.5).

Each logged search with at least one click becomes one LambdaRank query. Its rows are the
hybrid candidates the engine would retrieve for the query today, plus every product the
logging policy showed (so each logged click is a row even when today's retrievers miss it).
Labels: purchase 2, click 1, otherwise 0 (shown and skipped, or never shown).

Point in time: each search's features are computed with the behavioural signals as of the
start of the day it was made (:func:`build_point_in_time_frame`), as serving computes them with
signals as of its index's build. Signals frozen at the start of a window of one or two weeks
would describe every later search with data up to two weeks older than the one it was labelled
on, and the ranker would learn that popularity and click-through say less than they do when
it serves (docs/adr/0041).

Listed products only: a search's candidates are the products listed before it was made
(``listed_us``, from the catalog's ``created_at``). The product table is the catalog of today,
so without this a search of two weeks ago would have as candidates products that did not exist
yet: never shown, never clicked, labelled 0, with no behaviour — every one of them a lesson that
a product without history is irrelevant, which serving then applies to real new arrivals
(docs/adr/0044).

Position bias: a click at rank k is weighted ``1/θ_k`` (:mod:`vitrina.core.search.propensity`),
θ estimated from the same logs, so clicks on low ranks — rare only because few users look
there — count as much as they deserve. Searches are sampled (seeded) to bound the cost.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from vitrina.core.ranking.training_set import RankingFrame, concat_frames
from vitrina.core.search.products import ProductTable
from vitrina.core.search.propensity import PositionBias, estimate_position_bias
from vitrina.core.search.ranker_features import RankingContext, candidate_features, merge_hits
from vitrina.core.search.types import Hits, Int64Array, ParsedQuery, positions_in

Understand = Callable[[str], ParsedQuery]
ContextAsOf = Callable[[pd.Timestamp], RankingContext]
Retrieve = Callable[[ParsedQuery], tuple[Hits, Hits]]

PURCHASE, CLICK = 2, 1
ALWAYS_LISTED = np.iinfo(np.int64).min
"""``listed_us`` of a product whose listing time is unknown: a candidate of every search."""


def listing_times(products: ProductTable, catalog: pd.DataFrame) -> Int64Array:
    """Each product row's ``created_at`` in µs since the epoch (:data:`ALWAYS_LISTED` when the
    catalog has no such column or no value for the product)."""
    out = np.full(len(products), ALWAYS_LISTED, dtype=np.int64)
    if "created_at" not in catalog.columns:
        return out
    created = pd.to_datetime(catalog["created_at"], utc=True)
    rows = products.rows_of(catalog["product_id"].to_numpy())
    known = (rows >= 0) & created.notna().to_numpy()
    micros = created[known].dt.as_unit("us").astype("int64").to_numpy()
    out[rows[known]] = micros
    return out


def impressions(logs: pd.DataFrame, normalise: Callable[[str], str]) -> pd.DataFrame:
    """One row per shown product of each search: ``pair`` (query × product id), ``position``
    (1-based), ``clicked`` (0/1) — the input of position-bias estimation."""
    shown = logs[["query", "results_shown", "results_clicked"]].copy()
    shown["query"] = shown["query"].map({q: normalise(q) for q in shown["query"].unique()})
    lists = zip(shown["results_shown"], shown["results_clicked"], strict=True)
    flags = [[int(p in clicked) for p in seen] for seen, clicked in ((s, set(c)) for s, c in lists)]
    shown["clicked"] = pd.Series(flags, index=shown.index, dtype=object)
    positions = [list(range(1, len(f) + 1)) for f in flags]
    shown["position"] = pd.Series(positions, index=shown.index, dtype=object)
    long = shown.explode(["results_shown", "position", "clicked"]).dropna(subset=["results_shown"])
    key = long["query"].astype(str) + "\x1f" + long["results_shown"].astype(str)
    return pd.DataFrame(
        {
            "pair": pd.factorize(key)[0].astype(np.int64),
            "position": long["position"].astype(np.int64).to_numpy(),
            "clicked": long["clicked"].astype(np.int64).to_numpy(),
        }
    )


def position_bias_from_logs(
    logs: pd.DataFrame, normalise: Callable[[str], str], *, max_weight: float = 10.0
) -> PositionBias:
    """θ per rank from the logs (EM of :func:`~vitrina.core.search.propensity.estimate_position_bias`)."""
    rows = impressions(logs, normalise)
    return estimate_position_bias(rows["pair"], rows["position"], rows["clicked"], max_weight=max_weight)


def sample_searches(logs: pd.DataFrame, max_searches: int, seed: int) -> pd.DataFrame:
    """Searches with at least one click, at most ``max_searches`` of them, in time order."""
    clicked = logs[[len(c) > 0 for c in logs["results_clicked"]]]
    if len(clicked) > max_searches:
        clicked = clicked.sample(n=max_searches, random_state=seed)
    return clicked.sort_values(["ts", "search_id"]).reset_index(drop=True)


def build_ranking_frame(
    searches: pd.DataFrame,
    products: ProductTable,
    context: RankingContext,
    understand: Understand,
    retrieve: Retrieve,
    bias: PositionBias,
    listed_us: Int64Array | None = None,
    *,
    shown_only: bool = False,
) -> RankingFrame:
    """LambdaRank rows for ``searches`` (see the module docstring); ``users`` holds the search
    number, ``items`` the product row. With ``listed_us`` (per product row, see
    :func:`listing_times`), retrieved products listed after a search are not its candidates.
    With ``shown_only``, a search's rows are the products it showed only (with their retrieval
    features when retrieved): the page a held-out search is judged on
    (:mod:`vitrina.core.evaluation.shown_pages`)."""
    parts: list[pd.DataFrame] = []
    labels: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    groups: list[np.ndarray] = []
    items: list[np.ndarray] = []
    made_us = pd.to_datetime(searches["ts"], utc=True).dt.as_unit("us").astype("int64").to_numpy()
    for number, search in enumerate(searches.itertuples(index=False)):
        parsed = understand(str(search.query))
        rows, retrieval = merge_hits(*retrieve(parsed))
        if listed_us is not None:
            existed = listed_us[rows] < made_us[number]
            rows, retrieval = rows[existed], retrieval[existed]
        shown = products.rows_of(np.asarray(search.results_shown, dtype=object))
        if shown_only:
            kept = np.isin(rows, shown)
            rows, retrieval = rows[kept], retrieval[kept]
        extra = shown[(shown >= 0) & ~np.isin(shown, rows)]
        rows = np.concatenate([rows, extra])
        retrieval = np.vstack([retrieval, np.full((extra.size, 4), np.nan)])
        label = np.zeros(rows.size, dtype=np.int64)
        label[np.isin(rows, products.rows_of(np.asarray(search.results_clicked, dtype=object)))] = CLICK
        label[np.isin(rows, products.rows_of(np.asarray(search.results_purchased, dtype=object)))] = PURCHASE
        weight = np.ones(rows.size, dtype=np.float64)
        position = positions_in(rows, shown) + 1
        positive = (label > 0) & (position > 0)
        weight[positive] = bias.weights(position[positive])
        parts.append(candidate_features(context, parsed, rows, retrieval, user_id=str(search.user_id)))
        labels.append(label)
        weights.append(weight)
        groups.append(np.full(rows.size, number, dtype=np.int64))
        items.append(rows)
    if not parts:
        raise ValueError("no search with a click to learn from")
    group = np.concatenate(groups)
    return RankingFrame(
        features=pd.concat(parts, ignore_index=True),
        labels=np.concatenate(labels),
        groups=group,
        users=group,
        items=np.concatenate(items),
        weights=np.concatenate(weights),
    )


def build_point_in_time_frame(
    searches: pd.DataFrame,
    products: ProductTable,
    context_as_of: ContextAsOf,
    understand: Understand,
    retrieve: Retrieve,
    bias: PositionBias,
    listed_us: Int64Array | None = None,
    *,
    shown_only: bool = False,
) -> RankingFrame:
    """:func:`build_ranking_frame` day by day: the searches of each UTC day with
    ``context_as_of(start of that day)`` (signals from before the day only: no search's own
    clicks in its features), stacked in time order (the ranker's validation split takes the
    last groups); ``users`` holds the search number over the whole frame."""
    if searches.empty:
        raise ValueError("no search with a click to learn from")
    days = pd.to_datetime(searches["ts"], utc=True).dt.floor("D")
    frames = [
        build_ranking_frame(
            searches[(days == day).to_numpy()].reset_index(drop=True),
            products,
            context_as_of(pd.Timestamp(day)),
            understand,
            retrieve,
            bias,
            listed_us,
            shown_only=shown_only,
        )
        for day in sorted(days.unique())
    ]
    frame = concat_frames(frames)
    return RankingFrame(
        features=frame.features,
        labels=frame.labels,
        groups=frame.groups,
        users=frame.groups,
        items=frame.items,
        weights=frame.weights,
    )
