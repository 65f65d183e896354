"""Shared pieces of vitrina's Airflow DAGs (docs/adr/0005).

The DAGs never import ``vitrina``: every step is the ``vitrina`` CLI of vitrina's own venv, run by a
``BashOperator``. Where that CLI and the state live is configuration, read when a task runs (never
while the DAG file is parsed): an Airflow Variable (``vitrina_bin``, ``vitrina_home``,
``vitrina_lake_url``; also settable as ``AIRFLOW_VAR_VITRINA_BIN`` …) wins over vitrina's own
environment variable (``VITRINA_BIN``, ``VITRINA_HOME``, ``VITRINA_LAKE_URL``).

Every DAG starts with the intake (:func:`intake_tasks`: catalog changes, then the event buffer)
before ``validate``, so what the shop and its shoppers sent since the last run is validated and
learnt from. Steps exchange data only through the lake: the drift step writes
``<lake>/reports/drift/latest/metrics.json`` and the branch reads its ``decision`` from there.

A DAG file's text must contain "airflow" and "dag" (the dag processor's safe mode skips other
files), hence the "Airflow DAG:" opening of each DAG's docstring.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Variable

log = logging.getLogger(__name__)

START_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DECISIONS = ("none", "warn", "retrain")
DRIFT_METRICS = "reports/drift/latest/metrics.json"
FAILURES_FILE = "airflow_failures.jsonl"
RETRAIN_TASK = "retrain"
KEEP_TASK = "keep_champion"
INGEST_CATALOG_TASK = "ingest_catalog"
INGEST_EVENTS_TASK = "ingest_events"

# Retries with exponential backoff: 5 min, 10 min, capped at 30 min. Every vitrina step is
# idempotent (atomic writes, named output parts), so a retry is safe.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "vitrina",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=30),
    "do_xcom_push": False,  # data goes through the lake, never XCom
}

Lookup = Callable[[str], str | None]


class ConfigError(RuntimeError):
    """The DAGs cannot find vitrina's CLI or state: says which setting to fix."""


@dataclass(frozen=True)
class VitrinaConfig:
    """Where vitrina's CLI and state are, as seen from an Airflow worker."""

    bin: str
    home: Path
    lake_url: str | None = None

    @property
    def lake(self) -> str:
        """The lake root, as vitrina resolves it (``$VITRINA_LAKE_URL`` or ``<home>/lake``)."""
        return self.lake_url or str(self.home / "lake")

    @property
    def lake_is_local(self) -> bool:
        return "://" not in self.lake or self.lake.startswith("file://")


def airflow_variable(name: str) -> str | None:
    """An Airflow Variable, or None when no backend has it (only valid inside a running task)."""
    value = Variable.get(name, default=None)
    return None if value in (None, "") else str(value)


def resolve_config(
    lookup: Lookup = airflow_variable, environ: Mapping[str, str] = os.environ
) -> VitrinaConfig:
    """Variable ``vitrina_x`` first, then env ``VITRINA_X``. Raises :class:`ConfigError` with the fix.

    The home must be absolute: a task runs in a temporary working directory, so a relative
    home would be created there and lost.
    """

    def setting(name: str) -> str | None:
        return lookup(name.lower()) or environ.get(name) or None

    bin_setting = setting("VITRINA_BIN") or "vitrina"
    found = shutil.which(bin_setting)
    if found is None:
        raise ConfigError(
            f"vitrina executable {bin_setting!r} not found: set the Airflow Variable vitrina_bin "
            "or the env var VITRINA_BIN to the CLI of vitrina's venv (e.g. /srv/vitrina/.venv/bin/vitrina)"
        )
    home = setting("VITRINA_HOME")
    if home is None or not Path(home).is_absolute():
        raise ConfigError(
            f"vitrina home {home!r} must be an absolute path: set the Airflow Variable vitrina_home "
            "or the env var VITRINA_HOME"
        )
    return VitrinaConfig(bin=found, home=Path(home), lake_url=setting("VITRINA_LAKE_URL"))


def cli_command(args: list[str], config: VitrinaConfig | None = None) -> str:
    """The bash line running ``vitrina ARGS`` against the configured home (a Jinja macro of the DAGs)."""
    config = config or resolve_config()
    env = [f"VITRINA_HOME={shlex.quote(str(config.home))}"]
    if config.lake_url:
        env.append(f"VITRINA_LAKE_URL={shlex.quote(config.lake_url)}")
    return " ".join([*env, shlex.join([config.bin, *args])])


def parse_decision(payload: Mapping[str, Any]) -> str:
    """The drift decision of a ``metrics.json`` payload; ValueError if absent or unknown."""
    decision = payload.get("decision")
    if decision not in DECISIONS:
        raise ValueError(f"drift metrics.json has decision {decision!r}, expected one of {DECISIONS}")
    return str(decision)


def branch_for(decision: str) -> str:
    """SodAI's drift branch: retrain only on ``retrain``; ``none`` and ``warn`` keep the champion."""
    return RETRAIN_TASK if decision == "retrain" else KEEP_TASK


def read_drift_decision(config: VitrinaConfig) -> tuple[str, Mapping[str, Any]]:
    """Read the latest drift report of the lake (any fsspec URL): (decision, payload)."""
    url = f"{config.lake.rstrip('/')}/{DRIFT_METRICS}"
    try:
        with fsspec.open(url, "r", encoding="utf-8") as handle:
            payload = json.load(handle)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"no drift report at {url}: did `vitrina drift` run?") from error
    return parse_decision(payload), payload


def choose_after_drift() -> str:
    """Branch callable of the drift DAG: the task id to follow, logged with the decision's reasons."""
    decision, payload = read_drift_decision(resolve_config())
    chosen = branch_for(decision)
    log.info("drift decision %s → %s; reasons: %s", decision, chosen, payload.get("reasons", []))
    return chosen


def failure_record(context: Mapping[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """One JSON-serialisable line describing a failed task instance."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    logical = context.get("logical_date")
    return {
        "at": (now or dt.datetime.now(dt.UTC)).isoformat(),
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(dag_run, "run_id", None) or context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "logical_date": logical.isoformat() if logical else None,
        "error": repr(context.get("exception")),
    }


def failures_path(config: VitrinaConfig) -> Path:
    """``<lake>/state/airflow_failures.jsonl`` for a local lake, else ``<home>/state/…``."""
    base = Path(config.lake.removeprefix("file://")) if config.lake_is_local else config.home
    return base / "state" / FAILURES_FILE


def record_failure(context: Mapping[str, Any]) -> None:
    """Failure callback: log the failure and append it to the failures file. Never raises."""
    record = failure_record(context)
    log.error("vitrina task failed: %s", record)
    try:
        path = failures_path(resolve_config())
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except Exception:  # a callback that raises would hide the task's own error
        log.exception("could not write the failure record")


def vitrina_dag(
    dag_id: str, *, schedule: str, tags: list[str], doc_md: str, dagrun_timeout: dt.timedelta
) -> DAG:
    """A DAG with vitrina's defaults: UTC cron, no catchup, one active run, retries, failure callback."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=dagrun_timeout,
        default_args={**DEFAULT_ARGS, "on_failure_callback": record_failure},
        tags=["vitrina", *tags],
        doc_md=doc_md,
        user_defined_macros={"vitrina": cli_command},
    )


def intake_tasks() -> tuple[BashOperator, BashOperator]:
    """What flows in by itself, ahead of ``validate`` (the first steps of ``vitrina train all``):
    the PostgreSQL catalog's changes since the ``updated_at`` watermark when the workers have
    ``VITRINA_CATALOG_URL`` (without it the task says so and succeeds), then the event buffer
    (events, the API's search answers, and the search logs derived from both)."""
    catalog = cli_task(
        INGEST_CATALOG_TASK,
        ["data", "ingest", "catalog", "--if-configured"],
        timeout=dt.timedelta(minutes=30),
    )
    events = cli_task(INGEST_EVENTS_TASK, ["data", "ingest", "events"], timeout=dt.timedelta(minutes=30))
    catalog >> events
    return catalog, events


def cli_task(task_id: str, args: list[str], *, timeout: dt.timedelta) -> BashOperator:
    """A BashOperator running ``vitrina ARGS``; the command is rendered when the task runs."""
    return BashOperator(
        task_id=task_id,
        bash_command="{{ vitrina(" + json.dumps(args) + ") }}",
        execution_timeout=timeout,
    )
