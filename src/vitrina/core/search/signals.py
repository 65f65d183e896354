"""Behavioural signals for search ranking, as of a cutoff (point-in-time: only ``ts < as_of``).

* per product (aligned to :class:`~vitrina.core.search.products.ProductTable` rows): views,
  clicks, purchases and CTR of the last 7 days (the recommendation feature counts,
  :mod:`vitrina.adapters.features`) and search CTR over :data:`WINDOW_DAYS` (clicks / times
  shown on a search page), each shrunk towards its L3 category's rate by the days the product
  could collect them or the times it was shown, with a strength fitted on the shop's data
  (:mod:`vitrina.core.search.behaviour_prior`, docs/adr/0044: a product without history is an
  average product of its category, not an unpopular one); how long it has been listed and how
  often search showed it (the ranker's measure of how far to trust the rates); price relative
  to the median of its L3 category;
* per (normalised query, product): clicks and impressions in search over the window — the
  strongest signal a marketplace has for its head queries;
* per user: the share of positive events per L2 category over 30 days, kept only for users
  with more than :data:`MIN_USER_EVENTS` positive events (docs/spec.md §4.5: personalise logged-in
  users with history, leave the others to the non-personal features);
* the :data:`FREQUENT_QUERIES` most searched queries of the window (one typed form per
  normalised query), which the API runs right after loading the version to warm its result
  cache (docs/spec.md §4.7).

:func:`signals_from_frames` derives them from frames its caller has read from the lake as of
the cutoff, and :class:`SearchSignals` saves and loads its own Parquet files in the folder its
caller names: the signals know their format, not where the lake or the index versions live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from vitrina.core.artifacts.files import filesystem, write_parquet_atomic
from vitrina.core.search.behaviour_prior import Kind, Prior, fit_prior, shrunk_rates
from vitrina.core.search.products import ProductTable

WINDOW_DAYS = 30
MIN_USER_EVENTS = 5
MIN_SHOWN_UNCLICKED = 5
FREQUENT_QUERIES = 2000
RATE_DAYS = 7.0
"""The window of the feature store's ``item_*_7d`` counts: a product listed for longer had all of it."""

PRIOR_COLUMNS = ("rate", "strength", "catalog_rate", "fitted_on")
PRODUCT_COLUMNS = (
    "log_views_7d",
    "log_clicks_7d",
    "log_purchases_7d",
    "ctr_7d",
    "search_ctr",
    "price_ratio_l3",
    "log_days_listed",
    "log_search_shown",
)


@dataclass(frozen=True)
class SearchSignals:
    """Signals as of ``as_of``; see the module docstring.

    Attributes:
        product: row-aligned to the product table, columns :data:`PRODUCT_COLUMNS`.
        query_clicks: columns ``query`` (normalised), ``row``, ``clicks``, ``impressions``.
        affinity: columns ``user_id``, ``category_l2``, ``affinity`` (share in [0, 1]).
        frequent_queries: columns ``query`` (a typed form), ``searches``, most searched first.
        priors: the fitted priors of the product rates (columns ``rate``, ``strength``,
            ``catalog_rate``, ``fitted_on``; :mod:`vitrina.core.search.behaviour_prior`).
    """

    as_of: pd.Timestamp
    product: pd.DataFrame
    query_clicks: pd.DataFrame
    affinity: pd.DataFrame
    frequent_queries: pd.DataFrame
    priors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PRIOR_COLUMNS)))

    def query_lookup(self) -> dict[tuple[str, int], tuple[float, float]]:
        """``(query, row) → (clicks, impressions)`` for constant-time lookups at query time."""
        q = self.query_clicks
        keys = zip(q["query"].tolist(), q["row"].astype(int).tolist(), strict=True)
        values = zip(q["clicks"].astype(float).tolist(), q["impressions"].astype(float).tolist(), strict=True)
        return dict(zip(keys, values, strict=True))

    def affinity_lookup(self) -> dict[str, dict[str, float]]:
        """``user_id → {category_l2: share}`` for personalised users only."""
        out: dict[str, dict[str, float]] = {}
        for user, l2, share in self.affinity.itertuples(index=False):
            out.setdefault(str(user), {})[str(l2)] = float(share)
        return out

    def save(self, folder: str) -> None:
        root = folder.rstrip("/")
        frames = {
            "product": self.product,
            "query_clicks": self.query_clicks,
            "affinity": self.affinity,
            "frequent_queries": self.frequent_queries,
            "priors": self.priors,
            "as_of": pd.DataFrame({"as_of": [self.as_of]}),
        }
        for name, frame in frames.items():
            write_parquet_atomic(pa.Table.from_pandas(frame, preserve_index=False), f"{root}/{name}.parquet")

    @classmethod
    def load(cls, folder: str) -> SearchSignals:
        root = folder.rstrip("/")

        def read(name: str) -> pd.DataFrame:
            fs, path = filesystem(f"{root}/{name}.parquet")
            if name == "frequent_queries" and not fs.exists(path):  # versions built before it
                return query_frequencies(pd.DataFrame({"query": []}), str, 0)
            if name == "priors" and not fs.exists(path):  # versions built before ADR-0044
                return pd.DataFrame(columns=list(PRIOR_COLUMNS))
            with fs.open(path, "rb") as handle:
                return pd.read_parquet(handle)

        as_of = pd.Timestamp(read("as_of")["as_of"].iloc[0])
        product = read("product")
        for column in PRODUCT_COLUMNS:  # versions built before a column existed: unknown
            if column not in product.columns:
                product[column] = np.nan
        frames = (read("query_clicks"), read("affinity"), read("frequent_queries"), read("priors"))
        return cls(as_of, product, *frames)


def signals_from_frames(
    products: ProductTable,
    as_of: pd.Timestamp,
    item: pd.DataFrame,
    user_affinity: pd.DataFrame,
    shown: pd.DataFrame,
    clicked: pd.DataFrame,
    searched: pd.DataFrame,
    normalise: Callable[[str], str],
) -> SearchSignals:
    """Signals as of ``as_of`` from frames the caller read point-in-time (only ``ts < as_of``).

    ``item`` and ``user_affinity`` are the feature store's frames of those names; ``shown``
    and ``clicked`` count, per ``(query, product_id)``, the times a product was shown or
    clicked on a search page in the window (column ``n``); ``searched`` counts searches per
    typed query (``query``, ``searches``). ``normalise`` is the query normaliser of query
    understanding, so click history is keyed as queries will be.
    """
    product, priors = product_signals(
        products, as_of, item, _per_row(products, shown), _per_row(products, clicked)
    )
    query_clicks = _query_clicks(products, shown, clicked, normalise)
    affinity = _affinity(user_affinity)
    frequent = query_frequencies(searched, normalise, FREQUENT_QUERIES)
    return SearchSignals(as_of, product, query_clicks, affinity, frequent, priors)


def query_frequencies(counts: pd.DataFrame, normalise: Callable[[str], str], limit: int) -> pd.DataFrame:
    """The ``limit`` most searched queries: ``counts`` has a ``query`` column (typed text) and
    optionally ``searches`` (default 1 per row); queries that normalise alike are one query,
    shown in its most searched typed form. Columns ``query``, ``searches``; ties by query."""
    frame = pd.DataFrame({"query": counts["query"].astype(str)})
    frame["searches"] = counts["searches"].to_numpy(np.int64) if "searches" in counts else 1
    frame["key"] = frame["query"].map({q: normalise(q) for q in frame["query"].unique()})
    frame = frame[frame["key"].astype(str) != ""]
    forms = frame.groupby(["key", "query"], as_index=False).agg(searches=("searches", "sum"))
    forms = forms.sort_values(["searches", "query"], ascending=[False, True], kind="stable")
    best = forms.drop_duplicates("key")[["key", "query"]]
    totals = forms.groupby("key", as_index=False).agg(searches=("searches", "sum")).merge(best, on="key")
    totals = totals.sort_values(["searches", "key"], ascending=[False, True], kind="stable").head(limit)
    return pd.DataFrame(
        {"query": totals["query"].astype(str), "searches": totals["searches"].astype(np.int64)}
    ).reset_index(drop=True)


def days_listed(products: ProductTable, as_of: pd.Timestamp) -> np.ndarray:
    """Days each product has been listed as of ``as_of`` (0 for one listed later, NaN when the
    catalog does not say when it was created)."""
    if "created_at" not in products.frame.columns:
        return np.full(len(products), np.nan)
    created = pd.to_datetime(products.frame["created_at"], utc=True, errors="coerce")
    days = (pd.Timestamp(as_of) - created).dt.total_seconds().to_numpy(
        dtype=np.float64, na_value=np.nan
    ) / 86_400
    return np.where(np.isnan(days), np.nan, np.maximum(days, 0.0))


def product_signals(
    products: ProductTable,
    as_of: pd.Timestamp,
    item: pd.DataFrame,
    impressions: np.ndarray,
    clicks: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The product columns (:data:`PRODUCT_COLUMNS`) and the priors fitted for them.

    ``item`` is the feature store's frame as of ``as_of``; ``impressions`` and ``clicks`` count,
    per product row, its search impressions and clicks in the window. Counts of the last 7 days
    are rates per listed day (a product listed for 2 days had 2 days of exposure; one whose
    creation is unknown, all 7) shrunk towards the category's, then scaled back to 7 days.
    """
    n = len(products)
    item_rows = products.rows_of(item["product_id"].to_numpy())
    keep = item_rows >= 0

    def aligned(column: str) -> np.ndarray:
        values = np.zeros(n, dtype=np.float64)
        values[item_rows[keep]] = item[column].to_numpy(dtype=np.float64, na_value=0.0)[keep]
        return values

    frame = products.frame
    groups = pd.factorize(frame["category_l3"].astype(str))[0].astype(np.int64)
    listed = days_listed(products, as_of)
    exposure_days = np.where(np.isnan(listed), RATE_DAYS, np.minimum(listed, RATE_DAYS))
    views, item_clicks = aligned("item_views_7d"), aligned("item_clicks_7d")
    fitted: dict[str, Prior] = {}

    def shrink(name: str, events: np.ndarray, exposure: np.ndarray, kind: Kind) -> np.ndarray:
        fitted[name] = fit_prior(events, exposure, groups, kind)
        return shrunk_rates(events, exposure, groups, fitted[name])

    per_day = {
        column: shrink(column, counts, exposure_days, "poisson")
        for column, counts in (
            ("log_views_7d", views),
            ("log_clicks_7d", item_clicks),
            ("log_purchases_7d", aligned("item_purchases_7d")),
        )
    }
    median = frame.groupby("category_l3")["price"].transform("median").to_numpy(dtype=np.float64)
    price = frame["price"].to_numpy(dtype=np.float64)
    product = pd.DataFrame(
        {
            **{column: np.log1p(RATE_DAYS * rate) for column, rate in per_day.items()},
            "ctr_7d": shrink("ctr_7d", np.minimum(item_clicks, views), views, "binomial"),
            "search_ctr": shrink("search_ctr", np.minimum(clicks, impressions), impressions, "binomial"),
            "price_ratio_l3": np.where(median > 0, price / np.where(median > 0, median, 1.0), np.nan),
            "log_days_listed": np.log1p(listed),
            "log_search_shown": np.log1p(impressions),
        }
    )
    priors = pd.DataFrame(
        {
            "rate": list(fitted),
            "strength": [p.strength for p in fitted.values()],
            "catalog_rate": [p.rate for p in fitted.values()],
            "fitted_on": [p.fitted_on for p in fitted.values()],
        }
    )
    return product, priors


def _per_row(products: ProductTable, counts: pd.DataFrame) -> np.ndarray:
    totals = counts.groupby("product_id")["n"].sum()
    rows = products.rows_of(totals.index.to_numpy())
    out = np.zeros(len(products), dtype=np.float64)
    np.add.at(out, rows[rows >= 0], totals.to_numpy(dtype=np.float64)[rows >= 0])
    return out


def _query_clicks(
    products: ProductTable, shown: pd.DataFrame, clicked: pd.DataFrame, normalise: Callable[[str], str]
) -> pd.DataFrame:
    merged = shown.merge(clicked, on=["query", "product_id"], how="outer", suffixes=("_shown", "_clicked"))
    merged[["n_shown", "n_clicked"]] = merged[["n_shown", "n_clicked"]].fillna(0)
    merged["query"] = merged["query"].map({q: normalise(q) for q in merged["query"].unique()})
    merged["row"] = products.rows_of(merged["product_id"].to_numpy())
    merged = merged[merged["row"] >= 0]
    grouped = merged.groupby(["query", "row"], as_index=False)[["n_clicked", "n_shown"]].sum()
    # Pairs with a click, or shown often enough that "never clicked" is evidence too.
    grouped = grouped[(grouped["n_clicked"] > 0) | (grouped["n_shown"] >= MIN_SHOWN_UNCLICKED)]
    return pd.DataFrame(
        {
            "query": grouped["query"].astype(str),
            "row": grouped["row"].astype(np.int64),
            "clicks": grouped["n_clicked"].astype(np.float64),
            "impressions": grouped["n_shown"].astype(np.float64),
        }
    ).reset_index(drop=True)


def _affinity(frame: pd.DataFrame) -> pd.DataFrame:
    positives = frame.groupby("user_id")["user_l2_positives_30d"].transform("sum")
    keep = frame[positives > MIN_USER_EVENTS]
    return pd.DataFrame(
        {
            "user_id": keep["user_id"].astype(str),
            "category_l2": keep["category_l2"].astype(str),
            "affinity": keep["user_l2_affinity_30d"].astype(np.float64),
        }
    ).reset_index(drop=True)
