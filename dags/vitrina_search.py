"""Airflow DAG: search daily at 02:00 UTC.

Validate the lake, then `vitrina train search --policy auto`: retrain (fine-tune, ranker, evaluate,
gate, register a new index version) on drift, on schedule or without a champion; otherwise
re-index the changed products incrementally with the champion's models (docs/adr/0011)."""

from __future__ import annotations

import datetime as dt

from vitrina_dag_common import cli_task, vitrina_dag

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
    validate >> run_search
