"""The one text that stands for a product in search: title, brand and leaf category.

Every text-based part of search (BM25, the bi-encoder's training pairs, product embeddings,
the spell-correction dictionary) reads a product through :func:`product_text`, so a change
here changes them all together and they never disagree on what a product "says".

The brand is added only when the title does not already name it (titles usually do), so the
brand is not counted twice by BM25 nor repeated to the encoder; the leaf category
(``category_l3``) carries the words of category-only queries that the title lacks
("Smart TV" for "Televisor TCL Urban 2 43 pulgadas").
"""

from __future__ import annotations

import pandas as pd

SEPARATOR = " · "
CATALOG_TEXT_COLUMNS = ("title", "brand", "category_l3")


def _clean(value: object) -> str:
    """``value`` as one line of single-spaced text; "" for None / NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).split())


def product_text(title: object, brand: object = None, category: object = None) -> str:
    """``"title · brand · category"``, leaving out empty parts and a brand the title names.

    Case and accents are kept (the tokenizers fold them themselves).

    >>> product_text("Celular Samsung Nova 5 128 GB", "Samsung", "Celulares")
    'Celular Samsung Nova 5 128 GB · Celulares'
    >>> product_text("Nova 5 128 GB", "Samsung", "Celulares")
    'Nova 5 128 GB · Samsung · Celulares'
    """
    title_text, brand_text, category_text = _clean(title), _clean(brand), _clean(category)
    if brand_text and f" {brand_text.casefold()} " in f" {title_text.casefold()} ":
        brand_text = ""
    return SEPARATOR.join(part for part in (title_text, brand_text, category_text) if part)


def catalog_texts(catalog: pd.DataFrame) -> list[str]:
    """:func:`product_text` of every row of a catalog frame, in the frame's row order.

    The frame needs the columns ``title``, ``brand`` and ``category_l3``.
    """
    missing = [column for column in CATALOG_TEXT_COLUMNS if column not in catalog.columns]
    if missing:
        raise ValueError(f"catalog lacks the column(s) {missing} needed for product texts")
    return [
        product_text(title, brand, category)
        for title, brand, category in zip(
            catalog["title"], catalog["brand"], catalog["category_l3"], strict=True
        )
    ]
