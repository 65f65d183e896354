"""The ``vitrina`` command line: the app and its command groups, registered in the order a user
meets them. Each group lives in its own module; this one only wires.

Imports of heavy modules happen inside commands so ``vitrina --help`` stays instant.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from vitrina.cli import deprecated
from vitrina.cli.common import SHOP_FILE_EXIT_CODE, console
from vitrina.cli.data import data_app
from vitrina.cli.demo import demo
from vitrina.cli.drift import drift
from vitrina.cli.experiment import experiment_app
from vitrina.cli.models import models_app
from vitrina.cli.query import query_app
from vitrina.cli.serve import serve
from vitrina.cli.simulate import simulate_app
from vitrina.cli.train import train_app
from vitrina.shop_config import ShopFileError

ORDER = ("demo", "serve", "data", "train", "drift", "models", "query", "experiment")
"""What a user does first comes first: the whole job and the server, the lake's inputs, training
and its drift check, then operating the trained models."""


class InOrder(TyperGroup):
    """Lists :data:`ORDER` in that order (Typer would list single commands before groups), and
    turns a bad shop file, whichever command reads it, into one line and exit code 2."""

    def list_commands(self, ctx: Any) -> list[str]:  # Any: the Context of typer's vendored click
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ShopFileError as error:
            console.print(f"[bold red]bad shop file:[/] {error}", soft_wrap=True, highlight=False)
            raise typer.Exit(code=SHOP_FILE_EXIT_CODE) from error


app = typer.Typer(
    cls=InOrder,
    help="vitrina: recommendations + product search with the MLOps loop built in.",
    no_args_is_help=True,
)
app.command("demo")(demo)
app.command("serve")(serve)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")
app.command("drift")(drift)
app.add_typer(models_app, name="models")
app.add_typer(query_app, name="query")
app.add_typer(experiment_app, name="experiment")
app.add_typer(simulate_app, name="simulate")
deprecated.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
