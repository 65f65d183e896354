"""`vitrina search "QUERY"`: one query through the served index version, as a table."""

from __future__ import annotations

from rich.table import Table

from vitrina.core.search.engine import Ranked, SearchEngine


def render_results(engine: SearchEngine, ranked: Ranked, *, explain: bool) -> Table:
    """Rank, product, price, seller, stock and category; with ``explain`` the retrievers,
    their scores and the ranker's strongest feature contributions."""
    query = ranked.query
    notes = [f"index {engine.index_version}", f"model {engine.model_version}"]
    if query.corrected != query.normalised:
        notes.insert(0, f"corrected: [bold]{query.corrected}[/]")
    if query.synonyms:
        notes.insert(1, "synonyms: " + ", ".join(query.synonyms))
    table = Table(title=f"«{query.raw}»", caption=" · ".join(notes))
    for column in ("#", "product", "title", "price", "seller", "stock", "category"):
        table.add_column(column, justify="right" if column in ("#", "price", "stock") else "left")
    if explain:
        table.add_column("why")
    frame = engine.products.frame
    for i, row in enumerate(ranked.rows.tolist()):
        product = frame.iloc[row]
        cells = [
            str(i + 1),
            str(product["product_id"]),
            str(product["title"]),
            f"{float(product['price']):,.2f}",
            str(product["seller_id"]),
            str(int(product["stock"])),
            str(product["category_l3"]),
        ]
        if explain and ranked.explanations:
            why = ranked.explanations[i]
            parts = ["+".join(why["found_by"])]
            parts += [
                f"{name} {value:+.2f}" for name, value in list(why.get("contributions", {}).items())[:3]
            ]
            cells.append(" · ".join(parts))
        table.add_row(*cells)
    if not ranked.rows.size:
        table.add_row("—", "", "no results", "", "", "", "", *([""] if explain else []))
    return table
