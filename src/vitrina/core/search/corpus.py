"""What the text stages learn from: product texts, past queries, clicked titles, synonyms.

Pure functions over canonical frames (``catalog`` and ``search_logs`` columns of
:mod:`vitrina.core.tables`), plus :func:`read_search_inputs`, the one reader of the lake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.search.text import tokenize

if TYPE_CHECKING:
    from vitrina.config import Settings

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


def brand_tokens(catalog: pd.DataFrame) -> set[str]:
    """Folded tokens of every brand name (``The North Face`` gives ``the``, ``north``, ``face``)."""
    _require(catalog, ("brand",), "catalog")
    return {t for brand in catalog["brand"].dropna().unique() for t in tokenize(str(brand))}


def clicked_sentences(
    queries: Sequence[Sequence[str]], clicked: Sequence[Sequence[str]], titles: Mapping[str, str]
) -> list[list[str]]:
    """One sentence per clicked result: the query's tokens, then the clicked title's tokens.

    ``queries[i]`` are the tokens of search ``i`` and ``clicked[i]`` its clicked product ids;
    products missing from ``titles`` are skipped.
    """
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


def read_search_inputs(settings: Settings) -> SearchInputs:
    """Read the validated catalog and search logs through DuckDB. Synonyms come from the
    lake's ``synonyms`` table, or the curated CSV shipped with vitrina when it is empty."""
    from vitrina.adapters.lake.warehouse import Warehouse

    with Warehouse.from_settings(settings) as warehouse:
        catalog = warehouse.df("SELECT * FROM catalog ORDER BY product_id")
        logs = warehouse.df("SELECT query, results_clicked FROM search_logs ORDER BY ts, search_id")
        synonym_rows = warehouse.df("SELECT term, synonyms, category_scope FROM synonyms")
    if catalog.empty:
        raise ValueError(f"no validated catalog under {settings.lake}: run `vitrina data validate` first")
    logs["results_clicked"] = [list(c) if c is not None else [] for c in logs["results_clicked"]]
    synonyms = SynonymTable.from_frame(synonym_rows) if not synonym_rows.empty else SynonymTable.from_csv()
    return SearchInputs(catalog, logs, synonyms)
