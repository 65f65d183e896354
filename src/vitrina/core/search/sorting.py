"""Orders a result pool can be shown in: relevance (as ranked), price up or down, newest first.

Every order other than relevance is a total order over product rows: ties are broken by row,
which is the product id's order (:class:`~vitrina.core.search.products.ProductTable` is sorted
by id), so the same pool always sorts the same way and pages cut from it never overlap or
skip. Products without a price sort after every priced one in both price orders; products
without a date after every dated one.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from vitrina.core.search.filters import FilterError, FilterIndex
from vitrina.core.search.types import Int64Array

Sort = Literal["relevance", "price_asc", "price_desc", "newest"]
SORTS: tuple[Sort, ...] = get_args(Sort)


def as_sort(value: str) -> Sort:
    """``value`` as a :data:`Sort`; :class:`FilterError` naming the choices otherwise."""
    for sort in SORTS:
        if value == sort:
            return sort
    raise FilterError(f"sort must be one of {', '.join(SORTS)}; got {value!r}")


def sort_order(index: FilterIndex, rows: Int64Array, sort: Sort) -> Int64Array:
    """Positions of ``rows`` (a relevance-ranked pool) in the order ``sort`` shows them."""
    pool = np.asarray(rows, dtype=np.int64)
    if sort == "relevance":
        return np.arange(pool.size, dtype=np.int64)
    if sort == "newest":
        updated = index.updated[pool]
        key = np.where(updated == np.iinfo(np.int64).min, np.inf, -updated.astype(np.float64))
    else:
        price = index.price[pool]
        signed = price if sort == "price_asc" else -price
        key = np.where(np.isfinite(price), signed, np.inf)
    return np.lexsort((pool, key)).astype(np.int64)
