"""What every ``vitrina`` command module shares: the console, the ``--home`` option and the
settings it selects."""

from __future__ import annotations

import sys
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
