"""Model-behaviour tests run before a model may be registered (ARCHITECTURE convention 7).

Each check looks at what the model actually returns and answers pass/fail with the numbers
behind it, so a gate can block a version for a reason a person can read:

* :func:`no_unservable_items` — no out-of-stock or reported product in any list;
* :func:`cold_users_served` — users with little or no history still get a non-empty list;
* :func:`exact_titles_found` — searching a product's exact title finds it in the top 3.

Pure functions over arrays and a search callable; no model type is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

PAD = -1


@dataclass(frozen=True)
class BehaviourCheck:
    """One behaviour test's outcome: ``failures`` of ``checked`` cases, with examples."""

    name: str
    passed: bool
    checked: int
    failures: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "checked": self.checked,
            "failures": self.failures,
            "detail": self.detail,
        }


def _examples(values: Sequence[object], limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in list(values)[:limit])
    return shown + (", …" if len(values) > limit else "")


def no_unservable_items(
    items: npt.ArrayLike, servable: npt.NDArray[np.bool_], item_ids: Sequence[str] | None = None
) -> BehaviourCheck:
    """``items`` (n, k) item indices (``PAD`` = empty slot) must all be ``servable`` (a mask
    over item indices: in stock and not reported)."""
    matrix = np.asarray(items, dtype=np.int64)
    filled = matrix[matrix != PAD]
    bad = np.unique(filled[~servable[filled]]) if filled.size else np.zeros(0, dtype=np.int64)
    rows_bad = int((np.isin(matrix, bad) & (matrix != PAD)).any(axis=1).sum()) if bad.size else 0
    names = [item_ids[int(i)] for i in bad] if item_ids is not None else bad.tolist()
    detail = (
        f"{matrix.shape[0]} lists, {filled.size} items, none out of stock or reported"
        if not bad.size
        else f"{rows_bad} of {matrix.shape[0]} lists hold unservable products: {_examples(names)}"
    )
    return BehaviourCheck("no_out_of_stock", not bad.size, int(matrix.shape[0]), rows_bad, detail)


def cold_users_served(items: npt.ArrayLike, min_items: int = 1) -> BehaviourCheck:
    """Every row of ``items`` (n, k), the lists of cold-start users, has ≥ ``min_items`` items.
    Data without cold-start users passes with nothing checked (``checked == 0`` says so)."""
    matrix = np.asarray(items, dtype=np.int64)
    if matrix.size == 0:
        return BehaviourCheck("cold_start_non_empty", True, 0, 0, "no cold-start user in the data to check")
    counts = (matrix != PAD).sum(axis=1)
    short = int((counts < min_items).sum())
    detail = (
        f"{matrix.shape[0]} cold-start users, every list has ≥ {min_items} items "
        f"(median {int(np.median(counts))})"
        if not short
        else f"{short} of {matrix.shape[0]} cold-start users get fewer than {min_items} items"
    )
    return BehaviourCheck("cold_start_non_empty", not short, int(matrix.shape[0]), short, detail)


def exact_titles_found(
    search: Callable[[str], Sequence[str]],
    titles: Mapping[str, str],
    k: int = 3,
    min_share: float = 1.0,
    catalog_titles: Mapping[str, str] | None = None,
) -> BehaviourCheck:
    """Query each title of ``titles`` (product_id → title) with ``search`` (query → product
    ids, best first); a query passes when a product with exactly that title is in the top
    ``k`` (duplicated titles accept any of their products: those among ``titles``, or, when
    ``catalog_titles`` maps every product to its title, any product of the catalog). Passes
    when the share of passing queries is ≥ ``min_share``."""
    if not titles:
        return BehaviourCheck(f"exact_title_top{k}", False, 0, 0, "no title was checked")
    owners: dict[str, set[str]] = {}
    for product, title in titles.items():
        owners.setdefault(title, set()).add(product)
    if catalog_titles is not None:
        for product, title in catalog_titles.items():
            if title in owners:
                owners[title].add(product)
    missed = [title for title, products in owners.items() if not products & set(search(title)[:k])]
    share = 1.0 - len(missed) / len(owners)
    detail = f"{len(owners) - len(missed)} of {len(owners)} exact-title queries find their product in top {k}"
    if missed:
        detail += f"; missed: {_examples([repr(t) for t in missed], 3)}"
    return BehaviourCheck(f"exact_title_top{k}", share >= min_share, len(owners), len(missed), detail)
