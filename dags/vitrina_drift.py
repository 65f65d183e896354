"""Airflow DAG: drift monitor daily at 04:00 UTC, with the SodAI branch.

Take in the catalog's changes (PostgreSQL, when configured) and the event buffer, validate the
lake, then `vitrina drift` (writes reports/drift/latest/metrics.json with a decision none | warn |
retrain); the branch retrains the recommendations (`vitrina train recs`, whose gate decides
whether the challenger is registered) on `retrain`, and keeps the champion on `none` or `warn`."""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from vitrina_dag_common import (
    KEEP_TASK,
    RETRAIN_TASK,
    choose_after_drift,
    cli_task,
    intake_tasks,
    vitrina_dag,
)

with vitrina_dag(
    "vitrina_drift",
    schedule="0 4 * * *",
    tags=["drift", "recs"],
    doc_md=__doc__ or "",
    dagrun_timeout=dt.timedelta(hours=12),
):
    validate = cli_task("validate", ["data", "validate"], timeout=dt.timedelta(minutes=30))
    drift_check = cli_task("drift_check", ["drift"], timeout=dt.timedelta(hours=1))
    branch = BranchPythonOperator(task_id="branch_on_drift", python_callable=choose_after_drift)
    retrain = cli_task(RETRAIN_TASK, ["train", "recs"], timeout=dt.timedelta(hours=4))
    keep_champion = EmptyOperator(task_id=KEEP_TASK)
    _, ingest_events = intake_tasks()
    ingest_events >> validate >> drift_check >> branch >> [retrain, keep_champion]
