"""The command spellings from before the command groups, kept for one release.

Each old spelling runs the new command unchanged, hidden from ``vitrina --help``, and first
prints one line to stderr naming the new spelling (stdout stays what scripts parse). Delete
this module, its :func:`register` call in :mod:`vitrina.cli.main` and ``cls=ListWhenNoCommand``
in :mod:`vitrina.cli.models` when the release after next drops them.

=============================  ====================================
old                            new
=============================  ====================================
generate, validate             data generate, data validate
ingest catalog|events          data ingest catalog|events
run recs|search|all            train recs|search|all
run drift                      drift
models [MODEL]                 models list [MODEL]
promote, rollback              models promote, models rollback
recs USER, search QUERY        query recs USER, query search QUERY
experiment run --kind K        experiment K
=============================  ====================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec

import typer
from typer.core import TyperGroup

from vitrina.cli.common import DEFAULT_SEED, HomeOption

P = ParamSpec("P")


def warn(old: str, new: str) -> None:
    """The one-line deprecation note, on stderr."""
    typer.echo(
        f"note: `vitrina {old}` is deprecated and goes in the next release; use `vitrina {new}`", err=True
    )


def alias(command: Callable[P, None], old: str, new: str) -> Callable[P, None]:
    """``command`` under its old spelling: same options, the note first."""

    @functools.wraps(command)
    def deprecated(*args: P.args, **kwargs: P.kwargs) -> None:
        warn(old, new)
        command(*args, **kwargs)

    deprecated.__doc__ = f"Deprecated: use `vitrina {new}`."
    return deprecated


class ListWhenNoCommand(TyperGroup):
    """``vitrina models`` was one command listing the registry (``vitrina models [MODEL]
    [--limit N]``); anything that is not one of the group's commands or ``--help`` still lists."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's vendored click
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            warn("models", "models list")
            args = ["list", *args]
        return super().parse_args(ctx, args)


def experiment_run(
    kind: Annotated[str, typer.Option(help="ab | aa | interleave (search)")] = "ab",
    sessions: Annotated[
        int, typer.Option(help="ab: sessions; aa: per run; interleave: most per method.", min=2)
    ] = 2000,
    api: Annotated[str, typer.Option(help="Base URL of the running API.")] = "http://127.0.0.1:8000",
    surface: Annotated[str, typer.Option(help="recs | search")] = "recs",
    seed: Annotated[int, typer.Option(help="Seed of the simulated shoppers.")] = DEFAULT_SEED,
    runs: Annotated[int, typer.Option(help="aa: how many A/A analyses.", min=1)] = 40,
    repeats: Annotated[int, typer.Option(help="interleave: repeats of each sequential test.", min=1)] = 1,
    block: Annotated[int, typer.Option(help="interleave: sessions between two looks.", min=1)] = 100,
    challenger: Annotated[
        str | None, typer.Option(help="recs: popularity; search: bm25 | semantic | hybrid (default bm25).")
    ] = None,
    post_events: Annotated[bool, typer.Option(help="Send the simulated events to POST /events.")] = True,
    home: HomeOption = None,
) -> None:
    """Deprecated: use `vitrina experiment ab | aa | interleave`."""
    from vitrina.cli.experiment import drive

    warn(
        "experiment run",
        f"experiment {kind}" if kind in ("ab", "aa", "interleave") else "experiment ab|aa|interleave",
    )
    options = {"sessions": sessions, "seed": seed, "runs": runs, "repeats": repeats, "block": block}
    drive(kind, surface, home, api, challenger=challenger, post_events=post_events, **options)


def register(app: typer.Typer) -> None:
    """Add the old spellings to ``app``, hidden (after the new commands, which own the help)."""
    from vitrina.cli.data import generate, ingest_catalog, ingest_events, validate
    from vitrina.cli.drift import drift
    from vitrina.cli.experiment import experiment_app
    from vitrina.cli.models import promote, rollback
    from vitrina.cli.query import recs, search
    from vitrina.cli.train import train_all, train_recs, train_search

    top: dict[str, tuple[Callable[..., None], str]] = {
        "generate": (generate, "data generate"),
        "validate": (validate, "data validate"),
        "promote": (promote, "models promote"),
        "rollback": (rollback, "models rollback"),
        "recs": (recs, "query recs"),
        "search": (search, "query search"),
    }
    for name, (command, new) in top.items():
        app.command(name, hidden=True)(alias(command, name, new))

    ingest = typer.Typer(help="Deprecated: use `vitrina data ingest`.", no_args_is_help=True)
    ingest.command("catalog")(alias(ingest_catalog, "ingest catalog", "data ingest catalog"))
    ingest.command("events")(alias(ingest_events, "ingest events", "data ingest events"))
    app.add_typer(ingest, name="ingest", hidden=True)

    run = typer.Typer(help="Deprecated: use `vitrina train` and `vitrina drift`.", no_args_is_help=True)
    run.command("recs")(alias(train_recs, "run recs", "train recs"))
    run.command("search")(alias(train_search, "run search", "train search"))
    run.command("all")(alias(train_all, "run all", "train all"))
    run.command("drift")(alias(drift, "run drift", "drift"))
    app.add_typer(run, name="run", hidden=True)

    experiment_app.command("run", hidden=True)(experiment_run)
