"""What the text stages learn from: product texts, past queries, clicked titles, synonyms.

Pure functions over canonical frames (``catalog`` and ``search_logs`` columns of
:mod:`vitrina.core.tables`), and :class:`SearchInputs`, the tables a build reads from the lake
(the caller reads them; nothing here touches storage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from vitrina.core.search.languages import DEFAULT_LANGUAGE
from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.search.text import text_analyzer

PRODUCT_TEXT_COLUMNS = ("title", "brand", "category_l1", "category_l2", "category_l3")
"""The product text BM25 indexes and the spell dictionary trusts: title, brand, category names."""


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}")


def product_texts(catalog: pd.DataFrame) -> list[str]:
    """One text per catalog row: :data:`PRODUCT_TEXT_COLUMNS` joined by spaces (nulls skipped)."""
    _require(catalog, PRODUCT_TEXT_COLUMNS, "catalog")
    parts = catalog[list(PRODUCT_TEXT_COLUMNS)].astype("string").fillna("")
    return [" ".join(p for p in row if p) for row in parts.itertuples(index=False, name=None)]


def brand_tokens(catalog: pd.DataFrame, language: str = DEFAULT_LANGUAGE) -> set[str]:
    """Folded tokens of every brand name (``The North Face`` gives ``the``, ``north``, ``face``)."""
    _require(catalog, ("brand",), "catalog")
    tokenize = text_analyzer(language).tokenize
    return {t for brand in catalog["brand"].dropna().unique() for t in tokenize(str(brand))}


def clicked_sentences(
    queries: Sequence[Sequence[str]],
    clicked: Sequence[Sequence[str]],
    titles: Mapping[str, str],
    language: str = DEFAULT_LANGUAGE,
) -> list[list[str]]:
    """One sentence per clicked result: the query's tokens, then the clicked title's tokens
    (in ``language``).

    ``queries[i]`` are the tokens of search ``i`` and ``clicked[i]`` its clicked product ids;
    products missing from ``titles`` are skipped.
    """
    tokenize = text_analyzer(language).tokenize
    title_tokens: dict[str, list[str]] = {}
    out: list[list[str]] = []
    for tokens, products in zip(queries, clicked, strict=True):
        for product in products:
            title = titles.get(product)
            if title is None:
                continue
            if product not in title_tokens:
                title_tokens[product] = tokenize(title)
            out.append([*tokens, *title_tokens[product]])
    return out


@dataclass(frozen=True)
class SearchInputs:
    """The validated tables search is built from: ``catalog`` (every canonical column),
    ``search_logs`` (``query``, ``results_clicked``, oldest first) and the synonym table."""

    catalog: pd.DataFrame
    search_logs: pd.DataFrame
    synonyms: SynonymTable
