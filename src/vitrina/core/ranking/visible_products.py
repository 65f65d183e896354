"""Which catalog products may be shown to a shopper at all — one definition for recs and search.

A product is **servable** when it is in stock (``stock > 0``) and not reported
(``is_reported`` false). Unknown stock counts as out of stock (never sell what may not
exist); an unknown report state counts as not reported (a report is an explicit act).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

SERVABLE_COLUMNS = ("stock", "is_reported")


def servable_mask(products: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """``bool (len(products),)``: row ``i`` may be shown. Needs :data:`SERVABLE_COLUMNS`."""
    missing = set(SERVABLE_COLUMNS) - set(products.columns)
    if missing:
        raise ValueError(f"products lack the columns that decide what is servable: {sorted(missing)}")
    stock = pd.to_numeric(products["stock"], errors="coerce").fillna(0).to_numpy()
    reported = products["is_reported"].fillna(False).to_numpy(dtype=bool)
    return np.asarray((stock > 0) & ~reported, dtype=bool)
