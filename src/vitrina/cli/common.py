"""What every ``vitrina`` command module shares: the console, the options several commands take
(one name, one default, wherever they appear), the settings ``--home`` selects and the home lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console

from vitrina.config import Settings, get_settings

# piped output (CI logs, files) gets room for the report tables instead of rich's 80 columns
console = Console(width=None if sys.stdout.isatty() else 140)

DEFAULT_SEED = 42
"""``--seed`` of every command that takes one: the same seed gives the same world, models and verdict."""
DEFAULT_TRIALS = 4
"""``--trials`` of every training command: Optuna trials of each ranker."""
DEFAULT_SCALE = "demo"
SHOP_FILE_EXIT_CODE = 2
"""A shop file (vitrina.yaml) that breaks its schema: a usage error, as click's own."""

HomeOption = Annotated[
    str | None, typer.Option("--home", help="State folder (default $VITRINA_HOME or ./.vitrina).")
]
TrialsOption = Annotated[int, typer.Option("--trials", help="Optuna trials of each ranker.", min=1)]
ForceOption = Annotated[bool, typer.Option("--force", help="Ignore the step ledger: redo every step.")]
ScaleOption = Annotated[str, typer.Option("--scale", help="ci | demo | large")]
EndDateOption = Annotated[
    str | None,
    typer.Option("--end-date", help="Last simulated day, YYYY-MM-DD (default: yesterday, UTC)."),
]


def settings_for(home: str | None) -> Settings:
    """The settings of ``--home`` (or of the environment when it is not given)."""
    return get_settings(home=home) if home else get_settings()


def parse_day(value: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option as a date (None stays None)."""
    return dt.date.fromisoformat(value) if value else None


@contextlib.contextmanager
def home_locked(settings: Settings) -> Iterator[None]:
    """Run the block under the home's run lock; when another run holds it, say who and exit 75
    (EX_TEMPFAIL: try again later) before anything is read or written."""
    from vitrina.adapters.home_lock import BUSY_EXIT_CODE, HomeLockedError, home_lock

    try:
        with home_lock(settings):
            yield
    except HomeLockedError as error:
        console.print(f"[bold red]busy:[/] {error}", soft_wrap=True)
        raise typer.Exit(code=BUSY_EXIT_CODE) from error
