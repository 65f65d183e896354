"""The hidden ground truth under ``<lake>/truth/``: written by generation, read by evaluation.

Files (safe formats only, never pickle):

* ``meta.json``: seed, scale, window dates, click-model and query-type parameters;
* ``world.npz``: every latent array of :class:`.world.World` plus product facts
  (leaf, brand, model, variant, base price, stock) to recompute utility and relevance;
* ``queries.parquet``: one row per distinct (query text, target product): ``query_id``,
  ``query``, ``query_type``, ``product_id`` (the target), ``n_searches``;
* ``search_queries.parquet``: ``search_id`` → ``query_id`` for every logged search;
* ``qrels.parquet``: graded judgements (relevance ≥ 1 only) for an evaluation set of
  distinct queries (``scale.n_eval_queries``, chosen by query-id hash order; all types);
* ``drift.json``: the drift scenario (or ``null``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import (
    filesystem,
    read_json,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
)
from vitrina.simulator.clickmodel import ClickModel
from vitrina.simulator.common import US_PER_DAY, FloatArray, IntArray, datetime_to_us, parse_ids
from vitrina.simulator.market import PRODUCT_ID, USER_ID, Marketplace
from vitrina.simulator.queries import BRAND_ONLY, QUERY_TYPES, judged_products, relevance
from vitrina.simulator.world import World

_FACTS = ("leaf", "l2", "l1", "brand", "model", "variant", "base_price", "stock", "created_us")


@dataclass(frozen=True)
class ProductFacts:
    """Product attributes the truth needs (row = product number)."""

    leaf: IntArray
    l2: IntArray
    l1: IntArray
    brand: IntArray
    model: IntArray
    variant: IntArray
    base_price: FloatArray
    stock: IntArray
    created_us: IntArray


def truth_url(settings: Settings, name: str) -> str:
    return f"{LakePaths(settings.lake).layer('truth')}/{name}"


def clear_truth(settings: Settings) -> None:
    """Delete every truth file (before a generation rewrites them)."""
    fs, path = filesystem(LakePaths(settings.lake).layer("truth"))
    if fs.exists(path):
        fs.rm(path, recursive=True)


def write_truth(settings: Settings, m: Marketplace, search_truth: pa.Table, end_date: str) -> dict[str, int]:
    """Write every truth file for marketplace ``m``; returns row counts."""
    arrays = {f"world__{k}": v for k, v in m.world.to_arrays().items()}
    arrays |= {f"product__{k}": np.asarray(getattr(m.catalog, k)) for k in _FACTS}
    arrays["users__signup_day"] = m.users.signup_day
    arrays["users__city"] = m.users.city
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(buffer.getvalue(), truth_url(settings, "world.npz"))

    frame = search_truth.to_pandas()
    write_parquet_atomic(
        pa.Table.from_pandas(frame[["search_id", "query_id"]], preserve_index=False),
        truth_url(settings, "search_queries.parquet"),
    )
    queries = (
        frame.groupby("query_id", sort=True)
        .agg(query=("query", "first"), query_type=("query_type", "first"),
             product_id=("product_id", "first"), n_searches=("search_id", "size"))
        .reset_index()
    )  # fmt: skip
    write_parquet_atomic(
        pa.Table.from_pandas(queries, preserve_index=False), truth_url(settings, "queries.parquet")
    )
    qrels = build_qrels(m, queries.head(m.scale.n_eval_queries))
    write_parquet_atomic(qrels, truth_url(settings, "qrels.parquet"))
    write_json_atomic(m.drift.to_dict() if m.drift else None, truth_url(settings, "drift.json"))
    meta = {
        "seed": m.seed,
        "scale": m.scale.name,
        "start_date": m.start_date.isoformat(),
        "end_date": end_date,
        "n_days": m.scale.n_days,
        "n_products": m.catalog.n,
        "n_users": m.users.n,
        "l1_names": list(m.taxonomy.l1_names),
        "l2_names": list(m.taxonomy.l2_names),
        "leaf_names": [leaf.l3 for leaf in m.taxonomy.leaves],
        "click_model": m.click_model.to_dict(),
        "query_types": list(QUERY_TYPES),
    }
    write_json_atomic(meta, truth_url(settings, "meta.json"))
    return {"truth_queries": len(queries), "truth_qrels": qrels.num_rows}


def build_qrels(m: Marketplace, queries: pd.DataFrame) -> pa.Table:
    """Judgements (relevance ≥ 1) of every product for each query of ``queries``.

    Built in Arrow (ids taken by index) because it reaches millions of rows at large scale.
    """
    targets = parse_ids(queries["product_id"].to_numpy(), PRODUCT_ID[0], m.catalog.n, "product")
    brand_only = (queries["query_type"] == "brand_only").to_numpy()
    parts_q: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    parts_p: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for row, (target, only) in enumerate(zip(targets, brand_only, strict=True)):
        products = judged_products(m.catalog, int(target), bool(only))
        parts_q.append(np.full(products.size, row, dtype=np.int64))
        parts_p.append(products)
    rows = np.concatenate(parts_q)
    products = np.concatenate(parts_p)
    grades = relevance(m.catalog, targets[rows], products, brand_only[rows])
    keep = pa.array(grades >= 1)
    index = pa.array(rows)
    return pa.table(
        {
            "query_id": pa.array(queries["query_id"].to_numpy(), pa.string()).take(index),
            "query": pa.array(queries["query"].to_numpy(), pa.string()).take(index),
            "query_type": pa.array(queries["query_type"].to_numpy(), pa.string()).take(index),
            "product_id": m.product_ids.take(pa.array(products)),
            "relevance": pa.array(grades, pa.int8()),
        }
    ).filter(keep)


def to_days(ts: Any, start_us: int) -> FloatArray:
    """Days since the window start for timestamps (datetime, pandas, numpy or epoch µs ints)."""
    if isinstance(ts, int | np.integer):
        return np.asarray((int(ts) - start_us) / US_PER_DAY, dtype=np.float64)
    if hasattr(ts, "year") and hasattr(ts, "month"):  # a single date or datetime
        return np.asarray((datetime_to_us(ts) - start_us) / US_PER_DAY, dtype=np.float64)
    values = pd.to_datetime(pd.Series(np.atleast_1d(np.asarray(ts, dtype=object))), utc=True)
    us = values.astype("int64").to_numpy() // 1000
    return np.asarray((us - start_us) / US_PER_DAY, dtype=np.float64)


@dataclass(frozen=True)
class Truth:
    """The hidden truth of a generated lake (see the module docstring for the files)."""

    meta: dict[str, Any]
    world: World
    products: ProductFacts
    user_signup_day: IntArray
    queries: pd.DataFrame
    search_queries: pd.DataFrame
    qrels: pd.DataFrame
    drift: dict[str, Any] | None

    @property
    def start_us(self) -> int:
        return datetime_to_us(pd.Timestamp(self.meta["start_date"]).date())

    @property
    def click_model(self) -> ClickModel:
        return ClickModel(**self.meta["click_model"])

    def user_rows(self, user_ids: Sequence[str] | npt.ArrayLike) -> IntArray:
        return parse_ids(user_ids, USER_ID[0], self.world.user_vec.shape[0], "user")

    def product_rows(self, product_ids: Sequence[str] | npt.ArrayLike) -> IntArray:
        return parse_ids(product_ids, PRODUCT_ID[0], self.products.leaf.size, "product")

    def utility(self, user_ids: Any, product_ids: Any, ts: Any) -> FloatArray:
        """True utility of aligned ``user_ids`` × ``product_ids`` at ``ts`` (scalar or aligned).

        Ids are strings (``u0000042``, ``p0000123``); ``ValueError`` for unknown ids.
        """
        users = self.user_rows(user_ids)
        products = self.product_rows(product_ids)
        if users.size != products.size:
            raise ValueError(f"user_ids ({users.size}) and product_ids ({products.size}) must align")
        return self.world.utility(users, products, to_days(ts, self.start_us))

    @cached_property
    def _queries_by_id(self) -> pd.DataFrame:
        return self.queries.set_index("query_id")

    def relevance(self, query_ids: Any, product_ids: Any) -> npt.NDArray[np.int8]:
        """Relevance 0–3 of aligned (query_id, product_id) pairs, for any query in ``queries``."""
        table = self._queries_by_id
        wanted = pd.Index(np.atleast_1d(np.asarray(query_ids, dtype=str)))
        missing = wanted.difference(table.index)
        if len(missing):
            raise ValueError(f"unknown query id {missing[0]!r}")
        rows = table.loc[wanted]
        targets = self.product_rows(rows["product_id"].to_numpy())
        brand_only = (rows["query_type"] == QUERY_TYPES[BRAND_ONLY]).to_numpy()
        return relevance(self.products, targets, self.product_rows(product_ids), brand_only)


def load_truth(settings: Settings) -> Truth:
    """Read ``<lake>/truth/``; ``FileNotFoundError`` when nothing was generated there."""
    meta = read_json(truth_url(settings, "meta.json"))
    if meta is None:
        raise FileNotFoundError(
            f"no simulator truth under {truth_url(settings, '')}; run `vitrina data generate`"
        )
    fs, path = filesystem(truth_url(settings, "world.npz"))
    with fs.open(path, "rb") as handle, np.load(io.BytesIO(handle.read()), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    world = World.from_arrays(
        {k.removeprefix("world__"): v for k, v in arrays.items() if k.startswith("world__")}
    )
    facts = ProductFacts(**{k: arrays[f"product__{k}"] for k in _FACTS})

    def frame(name: str) -> pd.DataFrame:
        fs_, p = filesystem(truth_url(settings, name))
        with fs_.open(p, "rb") as handle:
            return pd.read_parquet(handle)

    return Truth(
        meta=meta,
        world=world,
        products=facts,
        user_signup_day=arrays["users__signup_day"],
        queries=frame("queries.parquet"),
        search_queries=frame("search_queries.parquet"),
        qrels=frame("qrels.parquet"),
        drift=read_json(truth_url(settings, "drift.json")),
    )
