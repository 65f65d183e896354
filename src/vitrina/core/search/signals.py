"""Behavioural signals for search ranking, as of a cutoff (point-in-time: only ``ts < as_of``).

* per product (aligned to :class:`~vitrina.core.search.products.ProductTable` rows): popularity
  and CTR of the last 7 days (the recommendation feature definitions, :mod:`vitrina.adapters.features`),
  search CTR over :data:`WINDOW_DAYS` (clicks / times shown on a search page, smoothed
  towards the catalog mean), price relative to the median of its L3 category. A product listed
  less than :data:`COUNT_WINDOW_DAYS` ago (or not yet) that no one was shown — no view, no
  search impression — has no behaviour to read: its counts are missing (NaN), not 0, since
  zero views and zero clicks would describe it as shown and passed over, the evidence of an
  unpopular product (its 7-day CTR is missing without views anyway; its search CTR is the
  prior, the catalog mean). A product listed for the whole window and still never shown keeps
  its zeros: a week without exposure is evidence. The ranker (LightGBM) learns from the
  training rows where missing counts go (docs/adr/0044); :func:`has_exposure` tells them apart;
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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vitrina.core.artifacts.files import filesystem, write_parquet_atomic
from vitrina.core.search.products import ProductTable

WINDOW_DAYS = 30
MIN_USER_EVENTS = 5
MIN_SHOWN_UNCLICKED = 5
FREQUENT_QUERIES = 2000
CTR_PRIOR_IMPRESSIONS = 20.0
"""Beta-prior strength of the smoothed search CTR: a product shown 20 times is half evidence."""

PRODUCT_COLUMNS = (
    "log_views_7d",
    "log_clicks_7d",
    "log_purchases_7d",
    "ctr_7d",
    "search_ctr",
    "price_ratio_l3",
)
COUNT_COLUMNS = PRODUCT_COLUMNS[:3]
"""The behavioural counts: missing for a new product without exposure. A ranker trained before
they could be missing reads a missing value as 0 (LightGBM's rule for a feature it saw no
missing value of), so such a ranker serves re-indexed signals exactly as before."""
COUNT_WINDOW_DAYS = 7.0
"""The counts' window: a product listed at least this long ago had all of it to be shown."""


def has_exposure(product: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Per row of a :attr:`SearchSignals.product` frame: does the product have behaviour to
    read — shown to someone in the windows, or listed for the whole counts' window? Signals
    saved before missing counts existed (``log_views_7d`` never missing) read as all having it."""
    return np.asarray(product["log_views_7d"].notna().to_numpy(), dtype=bool)


@dataclass(frozen=True)
class SearchSignals:
    """Signals as of ``as_of``; see the module docstring.

    Attributes:
        product: row-aligned to the product table, columns :data:`PRODUCT_COLUMNS`.
        query_clicks: columns ``query`` (normalised), ``row``, ``clicks``, ``impressions``.
        affinity: columns ``user_id``, ``category_l2``, ``affinity`` (share in [0, 1]).
        frequent_queries: columns ``query`` (a typed form), ``searches``, most searched first.
    """

    as_of: pd.Timestamp
    product: pd.DataFrame
    query_clicks: pd.DataFrame
    affinity: pd.DataFrame
    frequent_queries: pd.DataFrame

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
            with fs.open(path, "rb") as handle:
                return pd.read_parquet(handle)

        as_of = pd.Timestamp(read("as_of")["as_of"].iloc[0])
        return cls(as_of, read("product"), read("query_clicks"), read("affinity"), read("frequent_queries"))


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
    product = _product_signals(products, item, shown, clicked)
    query_clicks = _query_clicks(products, shown, clicked, normalise)
    affinity = _affinity(user_affinity)
    frequent = query_frequencies(searched, normalise, FREQUENT_QUERIES)
    return SearchSignals(as_of, product, query_clicks, affinity, frequent)


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


def _product_signals(
    products: ProductTable, item: pd.DataFrame, shown: pd.DataFrame, clicked: pd.DataFrame
) -> pd.DataFrame:
    n = len(products)
    item_rows = products.rows_of(item["product_id"].to_numpy())
    keep = item_rows >= 0

    def aligned(column: str, fill: float) -> np.ndarray:
        values = np.full(n, fill, dtype=np.float64)
        values[item_rows[keep]] = item[column].to_numpy(dtype=np.float64, na_value=fill)[keep]
        return values

    impressions = _per_row(products, shown)
    clicks = _per_row(products, clicked)
    prior = clicks.sum() / max(impressions.sum(), 1.0)
    views = aligned("item_views_7d", 0.0)
    listed = np.zeros(n, dtype=bool)  # listed at the cut-off (the item frame holds only those)
    listed[item_rows[keep]] = True
    age = aligned("item_freshness_days", np.nan) if "item_freshness_days" in item else np.full(n, np.nan)
    new = ~listed | (age < COUNT_WINDOW_DAYS)  # unknown listing time: not new
    frame = products.frame
    median = frame.groupby("category_l3")["price"].transform("median").to_numpy(dtype=np.float64)
    price = frame["price"].to_numpy(dtype=np.float64)
    out = pd.DataFrame(
        {
            "log_views_7d": np.log1p(views),
            "log_clicks_7d": np.log1p(aligned("item_clicks_7d", 0.0)),
            "log_purchases_7d": np.log1p(aligned("item_purchases_7d", 0.0)),
            "ctr_7d": aligned("item_ctr_7d", np.nan),
            "search_ctr": (clicks + CTR_PRIOR_IMPRESSIONS * prior) / (impressions + CTR_PRIOR_IMPRESSIONS),
            "price_ratio_l3": np.where(median > 0, price / np.where(median > 0, median, 1.0), np.nan),
        }
    )
    out.loc[new & (views <= 0) & (impressions <= 0), list(COUNT_COLUMNS)] = np.nan
    return out


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
