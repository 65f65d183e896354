"""A small marketplace for search tests: a real BM25 index over 400 products of four brands,
a stand-in semantic retriever, the real rules, filters, suggest index and spell corrector.

Bosch drills have short titles, Makita drills long ones, so for "taladro" BM25 ranks every
Bosch drill above every Makita one and an unfiltered top 100 holds no Makita drill at all: a
brand filter applied after the cut would answer nothing. Prices repeat every 50 products
(ties for the sorts), every 17th product is out of stock, sellers rotate over four. Hammers
fill the rest of the catalog, so that "taladro" is in fewer than half the products (BM25's
Robertson idf is floored at 0 for a word in more than half of them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vitrina.core.search.engine import Mode, SearchEngine
from vitrina.core.search.lexical import BM25Index
from vitrina.core.search.products import ProductTable
from vitrina.core.search.ranker_features import RankingContext
from vitrina.core.search.result_rules import SearchRules
from vitrina.core.search.signals import PRODUCT_COLUMNS, SearchSignals
from vitrina.core.search.spell import SpellCorrector
from vitrina.core.search.suggest import SuggestIndex
from vitrina.core.search.text import text_analyzer
from vitrina.core.search.types import Hits, ParsedQuery

N = 400
BOSCH = range(0, 110)
MAKITA = range(110, 140)
ALBA = range(140, 160)
TRUPER = range(160, N)
ANALYZER = text_analyzer("es")


def _title(i: int) -> str:
    if i in BOSCH:
        return f"Taladro Bosch {i}"
    if i in MAKITA:
        return f"Taladro percutor inalámbrico Makita compacto con batería y maletín {i}"
    if i in ALBA:
        return f"Pintura látex blanca Alba {i}"
    return f"Martillo de carpintero Truper {i}"


def catalog() -> pd.DataFrame:
    ids = [f"p{i:03d}" for i in range(N)]
    brands = [
        "Bosch" if i in BOSCH else "Makita" if i in MAKITA else "Alba" if i in ALBA else "Truper"
        for i in range(N)
    ]
    levels = {
        "Bosch": ("Herramientas", "Eléctricas", "Taladros"),
        "Makita": ("Herramientas", "Eléctricas", "Taladros"),
        "Alba": ("Hogar", "Pinturas", "Látex"),
        "Truper": ("Herramientas", "Manuales", "Martillos"),
    }
    return pd.DataFrame(
        {
            "product_id": ids,
            "title": [_title(i) for i in range(N)],
            "brand": brands,
            "category_l1": [levels[b][0] for b in brands],
            "category_l2": [levels[b][1] for b in brands],
            "category_l3": [levels[b][2] for b in brands],
            "price": [float(i % 50) + 10.0 for i in range(N)],
            "stock": [0 if i % 17 == 0 else 5 for i in range(N)],
            "seller_id": [f"s{i % 4}" for i in range(N)],
            "is_sponsored": [False] * N,
            "is_reported": [False] * N,
            "updated_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta([i % 30 for i in range(N)], unit="D"),
        }
    )


class Understanding:
    """Folds, tokenises and spell-corrects, as the real understanding does (no synonyms)."""

    def __init__(self, spell: SpellCorrector) -> None:
        self.spell = spell

    def parse(self, raw: str) -> ParsedQuery:
        tokens = ANALYZER.tokenize(raw)
        corrected, corrections = self.spell.correct(tokens)
        return ParsedQuery(raw, " ".join(tokens), " ".join(corrected), corrections)


class NearestPaint:
    """Stand-in semantic retriever: every query is "close" to the paints, best first."""

    def search(self, query: ParsedQuery, k: int = 100) -> Hits:
        rows = np.asarray(list(ALBA), dtype=np.int64)[:k]
        return Hits(rows, np.linspace(0.9, 0.5, rows.size).astype(np.float32))


def engine(served_mode: Mode | None = None, queries: pd.DataFrame | None = None) -> SearchEngine:
    frame = catalog()
    products = ProductTable.from_catalog(frame)
    texts = [
        f"{t} {b} {c}" for t, b, c in zip(frame["title"], frame["brand"], frame["category_l3"], strict=True)
    ]
    spell = SpellCorrector.build([ANALYZER.tokenize(t) for t in texts], [])
    signals = SearchSignals(
        as_of=pd.Timestamp("2026-02-01", tz="UTC"),
        product=pd.DataFrame({c: np.zeros(N) for c in PRODUCT_COLUMNS}),
        query_clicks=pd.DataFrame({"query": [], "row": [], "clicks": [], "impressions": []}),
        affinity=pd.DataFrame({"user_id": ["painter"], "category_l2": ["Pinturas"], "affinity": [1.0]}),
        frequent_queries=pd.DataFrame({"query": ["taladro"], "searches": [2]}),
    )
    return SearchEngine(
        understanding=Understanding(spell),
        lexical=BM25Index.build(products.product_ids.tolist(), texts, language="es"),
        semantic=NearestPaint(),
        products=products,
        context=RankingContext.build(products, signals, ANALYZER.analyse),
        ranker=None,
        rules=SearchRules.build(products.frame),
        index_version="products-v1",
        model_version="test",
        served_mode=served_mode,
        suggest=SuggestIndex.build(products.frame, queries, language="es"),
    )
