"""``vitrina experiment search-interleave start | step | status``: the live interleaving of the
search champion and its registered challenger by hand (docs/adr/0036; wiring only).

The loop's ``interleave`` step takes the same look at every run of ``train all``; these
commands start it (the loop does not: which challenger to put before users is the operator's
call) and look or read its state between runs.
"""

from __future__ import annotations

import typer

from vitrina.cli.common import HomeOption, console, settings_for

search_interleave_app = typer.Typer(
    help="Team-draft interleaving of the search champion and its registered challenger on live "
    "traffic: the users' clicks decide promotion or withdrawal (ADR-0036).",
    no_args_is_help=True,
)


@search_interleave_app.command("start")
def start(home: HomeOption = None) -> None:
    """Load the challenger's index beside the champion's and show half the users one team-draft
    list of both versions."""
    from vitrina.pipelines.search.interleave import InterleaveError, start_interleave

    try:
        state = start_interleave(settings_for(home))
    except InterleaveError as error:
        console.print(f"[bold red]{error}[/]")
        raise typer.Exit(code=1) from error
    console.print(
        f"interleaving {state['challenger']} ({state['challenger_index']}) with {state['champion']}: "
        f"experiment {state['experiment']}"
    )


@search_interleave_app.command("step")
def step(home: HomeOption = None) -> None:
    """One look at the logged answers and clicks: promote, withdraw or go on (exit 3 on a
    withdrawal)."""
    from vitrina.pipelines.search.interleave import InterleaveError, interleave_step

    try:
        _, decision = interleave_step(settings_for(home))
    except InterleaveError as error:
        console.print(f"[bold red]{error}[/]")
        raise typer.Exit(code=1) from error
    console.print(f"[bold]{decision.summary()}[/]")
    if decision.action in ("withdraw", "stale"):
        raise typer.Exit(code=3)


@search_interleave_app.command("status")
def status(home: HomeOption = None) -> None:
    """The interleaving's state and every look so far."""
    from vitrina.adapters.interleave_state import load_interleave

    state = load_interleave(settings_for(home))
    if state is None:
        console.print("no interleaving of search versions yet")
        return
    console.print(f"interleaving {state['challenger']} with {state['champion']}: {state['status']}")
    for look in state["looks"]:
        console.print(
            f"{look['look']}. {look['at']} {look['action']}: {look['reason']} (users {look['wins_b']} / "
            f"{look['wins_a']} / {look['ties']} tie; always-valid p {look['always_valid_p']:.3g})"
        )
