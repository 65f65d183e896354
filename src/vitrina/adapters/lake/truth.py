"""The hidden ground truth under ``<lake>/truth/``: written by generation, read by evaluation.

Files (safe formats only, never pickle):

* ``meta.json``: seed, scale, window dates, click-model and query-type parameters;
* ``world.npz``: every latent array of :class:`.truth_world.World` plus product facts
  (leaf, brand, model, variant, base price, stock) to recompute utility and relevance;
* ``queries.parquet``: one row per distinct (query text, target product): ``query_id``,
  ``query``, ``query_type``, ``product_id`` (the target), ``n_searches``;
* ``search_queries.parquet``: ``search_id`` → ``query_id`` for every logged search;
* ``qrels.parquet``: graded judgements (relevance ≥ 1 only) for an evaluation set of
  distinct queries (``scale.n_eval_queries``, chosen by query-id hash order; all types);
* ``drift.json``: the drift scenario (or ``null``).

This module is the format: where the files live, the records they load into and how ids map
to their rows. The simulator writes them (:mod:`vitrina.simulator.truth`); pipelines, benchmarks
and tests read them here, so reading the truth never imports the simulator.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.truth_world import FloatArray, IntArray, World
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem, read_json

PRODUCT_ID = ("p", 7)
USER_ID = ("u", 7)
"""Prefix and digits of the simulated ids: ``p0000042`` is product row 42."""
PRODUCT_FACTS = ("leaf", "l2", "l1", "brand", "model", "variant", "base_price", "stock", "created_us")
US_PER_DAY = 86_400_000_000


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


def parse_ids(ids: npt.ArrayLike, prefix: str, limit: int, what: str) -> IntArray:
    """Row numbers of zero-padded string ids (``p0000007`` → 7); raises ``ValueError`` naming
    the first unknown id."""
    values = np.atleast_1d(np.asarray(ids, dtype=np.str_))
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    ok = np.strings.startswith(values, prefix)
    digits = np.strings.slice(values, len(prefix), None)
    ok &= np.strings.isdecimal(digits) & (np.strings.str_len(digits) > 0)
    numbers = np.zeros(values.size, dtype=np.int64)
    numbers[ok] = digits[ok].astype(np.int64)
    ok &= (numbers >= 0) & (numbers < limit)
    if not ok.all():
        raise ValueError(f"unknown {what} id {values[~ok][0]!r} (expected {prefix}NNN below {limit})")
    return numbers


def _epoch_us(value: dt.date) -> int:
    """Epoch microseconds of a datetime (naive is taken as UTC) or of a date's midnight."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_days(ts: Any, start_us: int) -> FloatArray:
    """Days since the window start for timestamps (datetime, pandas, numpy or epoch µs ints)."""
    if isinstance(ts, int | np.integer):
        return np.asarray((int(ts) - start_us) / US_PER_DAY, dtype=np.float64)
    if hasattr(ts, "year") and hasattr(ts, "month"):  # a single date or datetime
        return np.asarray((_epoch_us(ts) - start_us) / US_PER_DAY, dtype=np.float64)
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
        return _epoch_us(pd.Timestamp(self.meta["start_date"]).date())

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
    def queries_by_id(self) -> pd.DataFrame:
        """:attr:`queries` indexed by ``query_id``."""
        return self.queries.set_index("query_id")


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
    facts = ProductFacts(**{k: arrays[f"product__{k}"] for k in PRODUCT_FACTS})

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
