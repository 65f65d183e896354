"""After each cycle, whether each new product could be shown: in a published list, found by its title.

The day's traffic (:mod:`.traffic`) says whether a shopper happened to meet a new product; a
product no simulated shopper asked for is never counted there, however well the loop took it
in. These probes ask the shop itself, once per day, right after the API applied what the last
cycle published, about each new product that arrived before that cycle and is still in stock:

* **recs** — is it in at least one user's published list? Read from the audit copy of the
  batch the store serves (``predictions/recs``, the file of the current store version): every
  user's list, not a sample, and no request to the API.
* **search** — does a search for its title answer it in the top ``k``? Asked of the served
  index through :meth:`~.protocol.LiveApi.probe_search`, which logs nothing: a ``/search``
  request would become a search log without clicks that the search ranker learns from and
  the drift check counts.

A product is probed until each probe succeeds once (a handful of searches a day), so the cost
stays that of the day's new products.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import open_store
from vitrina.config import Settings
from vitrina.pipelines.live_simulation.protocol import LiveApi
from vitrina.pipelines.recs.batch import AUDIT_TABLE


def servable_titles(catalog: pd.DataFrame, new: Collection[str]) -> tuple[dict[str, str], set[str]]:
    """(product id → title of each of ``new`` in ``catalog`` the shop may show, the ids of those
    it may not: reported ones, which no list and no answer may hold, so no probe looks for them)."""
    rows = catalog[catalog["product_id"].astype(str).isin(set(new))]
    ids, titles = rows["product_id"].astype(str), rows["title"].astype(str)
    if "is_reported" in rows.columns:
        flagged = rows["is_reported"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        flagged = np.zeros(len(rows), dtype=bool)
    shown = dict(zip(ids[~flagged], titles[~flagged], strict=True))
    return shown, set(ids[flagged])


def published_products(settings: Settings) -> set[str]:
    """Every product in at least one user's list of the batch the store serves (empty when
    nothing is published)."""
    with open_store(settings) as store:
        version = store.current_version()
    if version is None:
        return set()
    suffix = f"/part-{version}.parquet"
    files = [
        f
        for f in list_parquet_files(LakePaths(settings.lake), "predictions", AUDIT_TABLE)
        if f.endswith(suffix)
    ]
    found: set[str] = set()
    for path in files:
        column = pq.read_table(path, columns=["product_id"]).column("product_id")
        found.update(str(p) for p in column.unique().to_pylist() if p is not None)
    return found


@dataclass
class ReachProbe:
    """The first day each probe found each product (see the module docstring)."""

    settings: Settings
    api: LiveApi
    k: int = 10
    recs: dict[str, int] = field(default_factory=dict)
    search: dict[str, int] = field(default_factory=dict)

    def probe(self, day: int, titles: Mapping[str, str]) -> tuple[int, int]:
        """Probe ``titles`` (product id → title: the new products the last cycle could know, in
        stock) not yet reached; returns how many of them each probe reached on ``day``."""
        waiting = [p for p in titles if p not in self.recs]
        listed = published_products(self.settings) if waiting else set()
        reached_recs = [p for p in waiting if p in listed]
        self.recs |= dict.fromkeys(reached_recs, day)
        reached_search = [
            p for p in titles if p not in self.search and p in self.api.probe_search(titles[p], k=self.k)
        ]
        self.search |= dict.fromkeys(reached_search, day)
        return len(reached_recs), len(reached_search)

    def first_days(self) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        """(recs, search): each reached product's first day, in the report's form."""
        return {p: {d} for p, d in self.recs.items()}, {p: {d} for p, d in self.search.items()}
