"""``vitrina query recs USER | search QUERY``: what the API would answer, read from the same
stores (the served recommendation batch, the served index version), as tables.

The demo prints the same tables (:func:`render_user_recs`, :func:`render_results`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vitrina.cli.common import HomeOption, console, settings_for

if TYPE_CHECKING:
    from vitrina.config import Settings
    from vitrina.core.search.engine import Ranked, SearchEngine

query_app = typer.Typer(
    help="Ask the served models, as the API would answer: a user's recommendations, a search.",
    no_args_is_help=True,
)


@query_app.command("recs")
def recs(
    user_id: Annotated[str, typer.Argument(help="The user whose list to show.")],
    home: HomeOption = None,
) -> None:
    """Print a user's current "Para ti" list with reasons, from the serving store."""
    table = render_user_recs(settings_for(home), user_id)
    if table is None:
        console.print(f"[bold red]no recommendations for {user_id}[/]: run `vitrina train recs` first")
        raise typer.Exit(code=1)
    console.print(table)


@query_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What a shopper typed.")],
    user: Annotated[str | None, typer.Option("--user", help="Personalise for this user id.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Results to show.")] = 20,
    explain: Annotated[bool, typer.Option(help="Show why each result ranks where it does.")] = False,
    home: HomeOption = None,
) -> None:
    """Search the served index version: the corrected query, then the ranked products."""
    from vitrina.adapters.models.search_index import load_version

    try:
        engine = load_version(settings_for(home)).engine()
    except FileNotFoundError as error:
        console.print(f"[bold red]{error}[/]")
        raise typer.Exit(code=1) from None
    ranked = engine.search(query, user_id=user, k=k, explain=explain)
    console.print(render_results(engine, ranked, explain=explain))
    engine.close()


def render_user_recs(settings: Settings, user_id: str) -> Table | None:
    """The current TOP-20 of ``user_id`` with product details and reasons; None when the
    store has no list for the user (unknown user or nothing published yet)."""
    import pandas as pd

    from vitrina.adapters.lake.warehouse import Warehouse
    from vitrina.bootstrap import open_store

    with open_store(settings) as store:
        record = store.get(user_id)
    if record is None:
        return None
    ids = [r.product_id for r in record.items]
    with Warehouse.from_settings(settings) as warehouse:
        details = warehouse.df(
            "SELECT product_id, title, category_l2, price FROM catalog WHERE product_id IN "
            "(SELECT unnest($ids))",
            {"ids": ids},
        ).set_index("product_id")
    table = Table(
        title=f"Para ti · {user_id} · {record.model_version} · {record.generated_at:%Y-%m-%d %H:%M}"
    )
    for column in ("#", "producto", "categoría", "precio", "score", "por qué"):
        table.add_column(column, justify="right" if column in ("#", "precio", "score") else "left")
    for rank, rec in enumerate(record.items, start=1):
        row = details.loc[rec.product_id] if rec.product_id in details.index else pd.Series(dtype=object)
        table.add_row(
            str(rank),
            str(row.get("title", rec.product_id)),
            str(row.get("category_l2", "")),
            f"{row['price']:.2f}" if "price" in row else "",
            f"{rec.score:.3f}",
            rec.reason,
        )
    return table


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
