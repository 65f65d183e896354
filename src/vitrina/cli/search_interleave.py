"""``vitrina experiment search-interleave start | step | status``: the live interleaving of the
search champion and its registered challenger by hand (docs/adr/0036; wiring only).

The loop starts an interleaving by itself (``loop · interleave start``) and takes one look at
every run of ``train all`` (``loop · interleave``); these commands do the same by hand, or on a
scheduler that runs ``train search`` rather than the loop (the Airflow DAG ``vitrina_search``:
``step --scheduled`` before training, ``start --scheduled`` after it), and read its state.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vitrina.cli.common import HomeOption, console, settings_for

search_interleave_app = typer.Typer(
    help="Team-draft interleaving of the search champion and its registered challenger on live "
    "traffic: the users' clicks decide promotion or withdrawal (ADR-0036).",
    no_args_is_help=True,
)


SCHEDULED_START = typer.Option(
    "--scheduled",
    help="As the loop does: start only when a registered challenger waits and nothing runs on "
    "search (each version once); otherwise say why and exit 0.",
)
SCHEDULED_STEP = typer.Option(
    "--scheduled",
    help="For a scheduler: no running interleaving is nothing to do, and every verdict exits 0.",
)


@search_interleave_app.command("start")
def start(scheduled: Annotated[bool, SCHEDULED_START] = False, home: HomeOption = None) -> None:
    """Load the challenger's index beside the champion's and show half the users one team-draft
    list of both versions."""
    from vitrina.pipelines.search.interleave import InterleaveError, start_interleave
    from vitrina.pipelines.search.interleave_start import maybe_start

    settings = settings_for(home)
    if scheduled:
        decision, state = maybe_start(settings)
        if not state:
            console.print(f"no interleaving started: {decision.reason}")
            return
    else:
        try:
            state = start_interleave(settings)
        except InterleaveError as error:
            console.print(f"[bold red]{error}[/]")
            raise typer.Exit(code=1) from error
    console.print(
        f"interleaving {state['challenger']} ({state['challenger_index']}) with {state['champion']}: "
        f"experiment {state['experiment']}"
    )


@search_interleave_app.command("step")
def step(scheduled: Annotated[bool, SCHEDULED_STEP] = False, home: HomeOption = None) -> None:
    """One look at the logged answers and clicks: promote, withdraw or go on (exit 3 on a
    withdrawal, unless ``--scheduled``)."""
    from vitrina.adapters.interleave_state import running_interleave
    from vitrina.pipelines.search.interleave import NO_INTERLEAVE, InterleaveError, interleave_step

    if scheduled and running_interleave(settings_for(home)) is None:
        console.print(NO_INTERLEAVE)
        return
    try:
        _, decision = interleave_step(settings_for(home))
    except InterleaveError as error:
        console.print(f"[bold red]{error}[/]")
        raise typer.Exit(code=1) from error
    console.print(f"[bold]{decision.summary()}[/]")
    if decision.action in ("withdraw", "stale") and not scheduled:
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
