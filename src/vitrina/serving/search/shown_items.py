"""One search result as the API shows it, read from the engine's product table."""

from __future__ import annotations

from vitrina.core.search.engine import SearchEngine
from vitrina.serving.api_models import SearchItem


def shown_item(engine: SearchEngine, row: int, score: float, team: str | None = None) -> SearchItem:
    """Row ``row`` of ``engine``'s products (id, title, brand, category, price) with its score
    and, in an interleaving, the team that drafted it. Reads the table's precomputed plain
    values (:attr:`~vitrina.core.search.products.ProductTable.shown`), not the frame."""
    product_ids, titles, brands, categories, prices = engine.products.shown
    return SearchItem(
        product_id=product_ids[row],
        title=titles[row],
        brand=brands[row],
        category=categories[row],
        price=prices[row],
        score=score,
        team=team,
    )
