"""Which products' token sets hold which tokens, as an inverted index over rows: the text
features of a query's few hundred candidates become a handful of array look-ups instead of a
Python loop of set operations per candidate (≈ 0.9 → 0.2 ms of every ranked search)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]


class TokenRows:
    """For one column of token sets (one per product row): each token's rows, sorted."""

    def __init__(self, token_sets: Sequence[frozenset[str]]):
        postings: defaultdict[str, list[int]] = defaultdict(list)
        for row, tokens in enumerate(token_sets):
            for token in tokens:
                postings[token].append(row)
        self._rows = {token: np.asarray(rows, dtype=np.int64) for token, rows in postings.items()}
        self.sizes: Int64Array = np.fromiter(
            (len(t) for t in token_sets), dtype=np.int64, count=len(token_sets)
        )
        """How many tokens each row's set holds."""

    def count(self, rows: Int64Array, tokens: Iterable[str]) -> Int64Array:
        """How many of ``tokens`` (distinct) each of ``rows``' sets holds."""
        found = np.zeros(rows.size, dtype=np.int64)
        for token in set(tokens):
            holders = self._rows.get(token)
            if holders is None:
                continue
            at = np.minimum(np.searchsorted(holders, rows), holders.size - 1)
            found += holders[at] == rows
        return found
