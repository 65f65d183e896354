"""Writing the hidden truth under ``<lake>/truth/`` after a generation, and the simulator's own
readings of it (query relevance, the click model).

The files, their records and the reader are the lake format :mod:`vitrina.adapters.lake.truth`:
evaluation reads them there without importing the simulator.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from vitrina.adapters.lake.truth import PRODUCT_FACTS, PRODUCT_ID, Truth, parse_ids, truth_url
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_bytes_atomic, write_json_atomic, write_parquet_atomic
from vitrina.simulator.clickmodel import ClickModel
from vitrina.simulator.common import IntArray
from vitrina.simulator.market import Marketplace
from vitrina.simulator.queries import BRAND_ONLY, QUERY_TYPES, judged_products, relevance


def write_truth(settings: Settings, m: Marketplace, search_truth: pa.Table, end_date: str) -> dict[str, int]:
    """Write every truth file for marketplace ``m``; returns row counts."""
    arrays = {f"world__{k}": v for k, v in m.world.to_arrays().items()}
    arrays |= {f"product__{k}": np.asarray(getattr(m.catalog, k)) for k in PRODUCT_FACTS}
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


def click_model(truth: Truth) -> ClickModel:
    """The click model the logs of ``truth`` were generated with (``meta.json``)."""
    return ClickModel(**truth.meta["click_model"])


def query_relevance(truth: Truth, query_ids: Any, product_ids: Any) -> npt.NDArray[np.int8]:
    """Relevance 0–3 of aligned (query_id, product_id) pairs, for any query in ``truth.queries``."""
    table = truth.queries_by_id
    wanted = pd.Index(np.atleast_1d(np.asarray(query_ids, dtype=str)))
    missing = wanted.difference(table.index)
    if len(missing):
        raise ValueError(f"unknown query id {missing[0]!r}")
    rows = table.loc[wanted]
    targets = truth.product_rows(rows["product_id"].to_numpy())
    brand_only = (rows["query_type"] == QUERY_TYPES[BRAND_ONLY]).to_numpy()
    return relevance(truth.products, targets, truth.product_rows(product_ids), brand_only)
