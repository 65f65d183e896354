"""The DAGs as the dag processor sees them: they import, have no cycles, run on docs/spec.md §5.5's schedule,
retry with backoff, record failures, and only ever call the vitrina CLI (docs/adr/0005)."""

from __future__ import annotations

import ast
import datetime as dt
import graphlib
from pathlib import Path
from typing import Any

import pytest
from croniter import croniter
from vitrina_dag_common import DEFAULT_ARGS, cli_command, record_failure

DAGS = Path(__file__).resolve().parents[2] / "dags"
# Every DAG first takes in what flowed in by itself: the catalog's changes, then the event buffer.
INTAKE = {
    "ingest_catalog": ["data", "ingest", "catalog", "--if-configured"],
    "ingest_events": ["data", "ingest", "events"],
    "validate": ["data", "validate"],
}
# dag_id → (UTC hours it fires at on one day, the vitrina commands its tasks run)
EXPECTED = {
    "vitrina_recs": ([0, 6, 12, 18], {**INTAKE, "run_recs": ["train", "recs", "--policy", "auto"]}),
    "vitrina_search": (
        [2],
        {
            **INTAKE,
            "interleave_look": ["experiment", "search-interleave", "step", "--scheduled"],
            "run_search": ["train", "search", "--policy", "auto"],
            "interleave_start": ["experiment", "search-interleave", "start", "--scheduled"],
        },
    ),
    "vitrina_drift": ([4], {**INTAKE, "drift_check": ["drift"], "retrain": ["train", "recs"]}),
}


@pytest.mark.unit
def test_dags_import_without_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert sorted(dagbag.dag_ids) == sorted(EXPECTED)


@pytest.mark.unit
def test_dag_files_never_import_vitrina() -> None:
    """The CLI is the only contract: a DAG importing vitrina would need vitrina in Airflow's venv."""
    for path in DAGS.glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] == "vitrina"], path.name


@pytest.mark.unit
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_schedule_in_utc(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    timetable = dag.timetable
    assert str(timetable.timezone) == "UTC"
    day = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    fires = croniter(timetable.expression, day - dt.timedelta(seconds=1))
    hours = []
    while (at := fires.get_next(dt.datetime)) < day + dt.timedelta(days=1):
        assert at.minute == 0
        hours.append(at.hour)
    assert hours == EXPECTED[dag_id][0]
    period = dt.timedelta(hours=24 // len(hours))
    assert dag.dagrun_timeout is not None
    assert dag.dagrun_timeout < period  # a run ends before the next one is due


@pytest.mark.unit
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_run_settings(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert "vitrina" in dag.tags
    assert dag.doc_md


@pytest.mark.unit
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_no_cycles(dagbag: Any, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    graph = {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    # the intake first, then the data contract gates every pipeline
    assert order[:3] == ["ingest_catalog", "ingest_events", "validate"]
    assert graph["ingest_events"] == {"ingest_catalog"}
    assert graph["validate"] == {"ingest_events"}


@pytest.mark.unit
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_tasks_retry_with_backoff_and_record_failures(dagbag: Any, dag_id: str) -> None:
    for task in dagbag.dags[dag_id].tasks:
        assert task.retries == DEFAULT_ARGS["retries"] >= 1, task.task_id
        assert task.retry_exponential_backoff > 1, task.task_id
        assert task.max_retry_delay is not None, task.task_id
        assert record_failure in task.on_failure_callback, task.task_id


@pytest.mark.unit
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_cli_tasks_call_vitrina(dagbag: Any, dag_id: str) -> None:
    """Each BashOperator renders the `vitrina` macro with its command; none pushes XCom."""
    dag = dagbag.dags[dag_id]
    bash = {t.task_id: t for t in dag.tasks if t.task_type == "BashOperator"}
    expected = EXPECTED[dag_id][1]
    assert sorted(bash) == sorted(expected)
    assert dag.user_defined_macros["vitrina"] is cli_command  # resolved when the task runs
    for task_id, task in bash.items():
        calls: list[list[str]] = []
        rendered = dag.get_template_env().from_string(task.bash_command).render(vitrina=calls.append)
        assert rendered == "None"
        assert calls == [expected[task_id]], task_id
        assert task.do_xcom_push is False
        assert task.execution_timeout is not None


@pytest.mark.unit
def test_drift_branch_targets(dagbag: Any) -> None:
    dag = dagbag.dags["vitrina_drift"]
    branch = dag.task_dict["branch_on_drift"]
    assert branch.task_type == "BranchPythonOperator"
    assert branch.upstream_task_ids == {"drift_check"}
    assert branch.downstream_task_ids == {"retrain", "keep_champion"}
