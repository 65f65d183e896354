"""Airflow DAG: recommendations four times a day (00, 06, 12, 18 UTC).

Take in the catalog's changes (PostgreSQL, when configured) and the event buffer, validate the
lake, then `vitrina train recs --policy auto`: the drift branch — retrain (features → candidates →
ranker → evaluate → gate → register) when the latest drift report says retrain for recs, on
schedule or without a champion, else keep the champion — then publish the champion's TOP-20 of
every active user when the data or the champion changed (steps whose inputs did not change are
reused, docs/adr/0011)."""

from __future__ import annotations

import datetime as dt

from vitrina_dag_common import cli_task, intake_tasks, vitrina_dag

with vitrina_dag(
    "vitrina_recs",
    schedule="0 0,6,12,18 * * *",
    tags=["recs"],
    doc_md=__doc__ or "",
    dagrun_timeout=dt.timedelta(hours=5, minutes=30),  # done before the next 6-hourly run
):
    validate = cli_task("validate", ["data", "validate"], timeout=dt.timedelta(minutes=30))
    run_recs = cli_task("run_recs", ["train", "recs", "--policy", "auto"], timeout=dt.timedelta(hours=4))
    _, ingest_events = intake_tasks()
    ingest_events >> validate >> run_recs
