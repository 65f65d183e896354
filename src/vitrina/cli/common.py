"""What every ``vitrina`` command module shares: the console, the ``--home`` option and the
settings it selects."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console

from vitrina.config import Settings, get_settings

# piped output (CI logs, files) gets room for the report tables instead of rich's 80 columns
console = Console(width=None if sys.stdout.isatty() else 140)

HomeOption = Annotated[
    str | None, typer.Option("--home", help="State folder (default $VITRINA_HOME or ./.vitrina).")
]


def settings_for(home: str | None) -> Settings:
    """The settings of ``--home`` (or of the environment when it is not given)."""
    return get_settings(home=home) if home else get_settings()


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
