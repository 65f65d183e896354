"""Data of the Producto page: what a product page shows beside the product, as the API serves it
(``GET /products/{id}/similar`` and ``/bought-together``: the batch's keyed lists, or the
popularity list flagged as the fallback), with titles from
:class:`~vitrina.serving.console.user_view.Activity`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vitrina.adapters.stores import RecsRecord
from vitrina.serving.console.user_view import Activity, ListRow, Product, list_rows
from vitrina.serving.popular_fallback import PopularList


@dataclass(frozen=True)
class ProductList:
    """One list: its rows, and whether the popularity list stood in for it."""

    rows: list[ListRow]
    fallback: bool
    batch_version: str | None = None
    generated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ProductView:
    product: Product
    similar: ProductList
    together: ProductList
    error: str | None = None


def product_list(
    activity: Activity, record: RecsRecord | None, popular: PopularList, product_id: str, k: int
) -> ProductList:
    if record is None:
        items = [item for item in popular.items if item.product_id != product_id][:k]
        return ProductList(list_rows(items, activity.products([i.product_id for i in items])), fallback=True)
    items = list(record.items[:k])
    rows = list_rows(items, activity.products([i.product_id for i in items]))
    return ProductList(rows, fallback=False, batch_version=record.version, generated_at=record.generated_at)


def product_view(
    activity: Activity,
    product_id: str,
    *,
    similar: RecsRecord | None,
    together: RecsRecord | None,
    popular: PopularList,
    error: str | None = None,
    k: int = 10,
) -> ProductView:
    """Shape the page: ``similar`` / ``together`` are the store's records (None: fallback)."""
    product = activity.products([product_id]).get(product_id, Product(product_id, product_id, "", None))
    return ProductView(
        product=product,
        similar=product_list(activity, similar, popular, product_id, k),
        together=product_list(activity, together, popular, product_id, k),
        error=error,
    )
