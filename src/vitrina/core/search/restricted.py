"""Retrieval restricted to allowed products, so a filter applies before the top-k cut.

A retriever that can restrict itself (BM25 masks its dense scores; the semantic retriever
scores the allowed rows exactly when they are few, or asks the HNSW graph to skip the rest)
offers ``search_within``. Any other retriever (a test stand-in, say) is over-fetched and
filtered, which is exact whenever the over-fetch reaches far enough.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from vitrina.core.search.types import Hits, ParsedQuery

BoolArray = npt.NDArray[np.bool_]
OVERFETCH = 10


class Retriever(Protocol):
    def search(self, query: ParsedQuery, k: int = ...) -> Hits: ...


def search_within(retriever: Retriever, query: ParsedQuery, k: int, allowed: BoolArray) -> Hits:
    """The best ``k`` hits of ``retriever`` for ``query`` among rows where ``allowed``."""
    if not allowed.any():
        return Hits.empty()
    restricted = getattr(retriever, "search_within", None)
    if restricted is not None:
        hits: Hits = restricted(query, k, allowed)
        return hits
    hits = retriever.search(query, k * OVERFETCH)
    keep = allowed[hits.rows]
    return Hits(hits.rows[keep][:k], hits.scores[keep][:k])
