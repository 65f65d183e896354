"""Airflow DAG: search daily at 02:00 UTC.

Take in the catalog's changes (PostgreSQL, when configured) and the event buffer (the search logs
of the shop's own traffic included), validate the lake, then `vitrina train search --policy auto`:
retrain (fine-tune, ranker, evaluate, gate, register a new index version) on drift, on schedule or
without a champion; otherwise re-index the changed products incrementally with the champion's
models (docs/adr/0011). Around it, what `vitrina train all` does for search experiments
(docs/adr/0036): before training, one look at a running interleaving of the champion and its
challenger (a promotion changes the champion the training compares against); after it, the
interleaving of a newly registered challenger starts when nothing else runs on search."""

from __future__ import annotations

import datetime as dt

from vitrina_dag_common import cli_task, intake_tasks, vitrina_dag

with vitrina_dag(
    "vitrina_search",
    schedule="0 2 * * *",
    tags=["search"],
    doc_md=__doc__ or "",
    dagrun_timeout=dt.timedelta(hours=12),
):
    validate = cli_task("validate", ["data", "validate"], timeout=dt.timedelta(minutes=30))
    run_search = cli_task(
        "run_search", ["train", "search", "--policy", "auto"], timeout=dt.timedelta(hours=4)
    )
    interleave_look = cli_task(
        "interleave_look",
        ["experiment", "search-interleave", "step", "--scheduled"],
        timeout=dt.timedelta(minutes=30),
    )
    interleave_start = cli_task(
        "interleave_start",
        ["experiment", "search-interleave", "start", "--scheduled"],
        timeout=dt.timedelta(minutes=30),
    )
    _, ingest_events = intake_tasks()
    ingest_events >> validate >> interleave_look >> run_search >> interleave_start
