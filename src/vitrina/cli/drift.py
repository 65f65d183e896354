"""``vitrina drift``: the drift monitor on its own (``vitrina train all`` runs it as a step too).

Its decision (none / warn / retrain) is what the drift DAG branches on.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from vitrina.cli.common import ForceOption, HomeOption, console, home_locked, parse_day, settings_for


def drift(
    window_days: Annotated[int, typer.Option(help="Length of the current window, in days.")] = 7,
    reference_days: Annotated[
        int, typer.Option(help="Reference before it (whole windows; cut to the history available).")
    ] = 28,
    end_date: Annotated[
        str | None,
        typer.Option(help="Last day of the current window, YYYY-MM-DD (default: last event's day)."),
    ] = None,
    query_sample: Annotated[
        int, typer.Option(help="Queries per window for the embedding check (0: off).")
    ] = 300,
    html: Annotated[bool, typer.Option(help="Write the Evidently HTML report.")] = True,
    force: ForceOption = False,
    home: HomeOption = None,
) -> None:
    """Compare the latest window with the reference: drift per feature, then a decision none / warn /
    retrain, written to reports/drift/ (latest/ is what the drift DAG reads)."""
    from vitrina.adapters.step_ledger import Ledger, StepEvent, StepFailedError
    from vitrina.pipelines.run_metrics import export_drift_check

    last_day = parse_day(end_date)
    end = (
        None if last_day is None else dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), dt.UTC)
    )
    settings = settings_for(home)
    steps: list[StepEvent] = []  # the check's step, for the Pushgateway (VITRINA_PUSHGATEWAY_URL)
    try:
        with home_locked(settings):  # before the heavy imports: a busy home answers at once
            from vitrina.pipelines.drift.run import DriftConfig, check_drift

            config = DriftConfig(
                window_days=window_days,
                reference_days=reference_days,
                end=end,
                query_sample=query_sample,
                html=html,
            )
            run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            ledger = Ledger(settings, "drift", run_id, console, force, steps)
            check = check_drift(settings, config, console, force=force, ledger=ledger)
    except StepFailedError as error:  # no validated data, not enough history, a bad window
        console.print(f"[bold red]drift check failed:[/] {error}")
        export_drift_check(settings, steps, measured=False)
        raise typer.Exit(code=1) from error
    export_drift_check(settings, steps, measured=True)
    if check.run is not None:
        console.print(check.run.render())
    else:
        per_domain = ", ".join(f"{d}: {v}" for d, v in check.decisions.items())
        console.print(
            f"drift {check.run_id} (reused): [bold]{check.decision}[/] ({per_domain}); {check.report}"
        )
    for reason in check.reasons:
        console.print(f"  · {reason}")
