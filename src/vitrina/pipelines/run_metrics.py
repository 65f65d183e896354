"""A finished pipeline run as Prometheus metrics, pushed to the Pushgateway.

The alert rules (``deploy/prometheus/alerts.yml``) and the Grafana dashboards watch the
models through gauges only a batch run can know: the PSI of every monitored feature and the
drift decision, the published batch's coverage, how old the serving versions and the data
are, each step's duration and outcome, and the last experiment's lift and SRM p-value.
:func:`export_loop_run` (the end of ``vitrina train all``), :func:`export_drift_check`
(``vitrina drift``, the drift DAG's check), :func:`export_pipeline_run` (``vitrina train
recs`` / ``train search``: the recs and search DAGs, the drift DAG's retrain) and
:func:`export_experiment` (``vitrina experiment ab``) read them from the run and from what it
wrote (the drift report, the serving store, the index pointer, the experiment report) and
push one group per pipeline when ``VITRINA_PUSHGATEWAY_URL`` is set.

Every group is pushed with POST, which replaces only the metric names sent: what this run
did not measure keeps its last value in the gateway — the batch coverage when the publish
step was reused, the last-success time when the pipeline failed (``vitrina_batch_job_failed``
turns 1). Nothing here raises: monitoring that cannot read a figure leaves it out, and a
gateway that is down is logged (:func:`vitrina.adapters.prometheus.push.push`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vitrina.adapters.prometheus.instruments import ServiceMetrics, build_metrics
from vitrina.adapters.prometheus.push import push
from vitrina.adapters.step_ledger import StepEvent
from vitrina.config import Settings

if TYPE_CHECKING:
    from vitrina.pipelines.loop import LoopRun
    from vitrina.pipelines.recs.batch import BatchReport

log = logging.getLogger(__name__)

DRIFT_LEVEL = {"none": 0.0, "warn": 1.0, "retrain": 2.0}
"""``vitrina_drift_decision``: the drift check's decision per domain as a number for alerts."""


@dataclass
class RunMetrics:
    """One registry per pipeline (``loop``, ``drift``, ``recs``, ``search``, ``experiment``) and
    which of them failed in this run."""

    groups: dict[str, ServiceMetrics]
    failed: set[str]

    def group(self, pipeline: str) -> ServiceMetrics:
        if pipeline not in self.groups:
            self.groups[pipeline] = build_metrics()
        return self.groups[pipeline]


def _timestamp(value: Any) -> float | None:
    """Unix seconds of a datetime or an ISO-8601 string (naive means UTC); None otherwise."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def _steps(run: RunMetrics, steps: Iterable[StepEvent], now: float) -> None:
    """Per pipeline: each step's duration and outcome, the job's duration, failure and success."""
    seconds: dict[str, float] = {}
    for event in steps:
        metrics = run.group(event.pipeline)
        metrics.step_duration.labels(pipeline=event.pipeline, step=event.step).set(event.seconds)
        metrics.step_outcome.labels(pipeline=event.pipeline, step=event.step, outcome=event.outcome).set(1)
        seconds[event.pipeline] = seconds.get(event.pipeline, 0.0) + event.seconds
        if event.outcome == "failed":
            run.failed.add(event.pipeline)
    for pipeline, total in seconds.items():
        metrics = run.group(pipeline)
        metrics.batch_duration.labels(pipeline=pipeline).set(total)
        metrics.batch_failed.labels(pipeline=pipeline).set(1.0 if pipeline in run.failed else 0.0)
        if pipeline not in run.failed:
            metrics.batch_last_success.labels(pipeline=pipeline).set(now)


def drift_gauges(metrics: ServiceMetrics, report: Any) -> None:
    """PSI per feature and the decision per domain of a drift ``metrics.json`` payload.

    Every finite PSI is exported as measured, including one the check judged to be noise (its
    significance test did not confirm it); ``vitrina_drift_decision`` carries the judgement,
    and the alerts require both (docs/monitoring.md). Each PSI carries its feature's ``role``
    (ADR-0031): a model output (how many results the engine returned) is shown on the
    dashboards but never quoted as the drift that triggered a retrain."""
    if not isinstance(report, Mapping):
        return
    features = report.get("features")
    for name, stats in (features if isinstance(features, Mapping) else {}).items():
        psi = stats.get("psi") if isinstance(stats, Mapping) else None
        if isinstance(psi, int | float) and math.isfinite(psi):
            domain = str(stats.get("domain") or "all")
            role = "model_output" if stats.get("role") == "model_output" else "data"
            metrics.drift_psi.labels(domain=domain, feature=str(name), role=role).set(float(psi))
    decisions = report.get("decisions")
    for domain, decision in (decisions if isinstance(decisions, Mapping) else {}).items():
        if decision in DRIFT_LEVEL:
            metrics.drift_decision.labels(domain=str(domain)).set(DRIFT_LEVEL[decision])


def experiment_gauges(metrics: ServiceMetrics, report: Any) -> None:
    """Lift and p-value per metric and the SRM p-value of an A/B report (``ab`` section);
    other reports (A/A, interleaving) export nothing."""
    ab = report.get("ab") if isinstance(report, Mapping) else None
    if not isinstance(ab, Mapping) or not isinstance(ab.get("comparisons"), Mapping):
        return
    name = str(report.get("run_id") or report.get("name") or "experiment")[:64]
    for metric, comparison in ab["comparisons"].items():
        if not isinstance(comparison, Mapping):
            continue
        for gauge, key in ((metrics.experiment_lift, "lift"), (metrics.experiment_p_value, "p_value")):
            value = comparison.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                gauge.labels(experiment=name, metric=str(metric)).set(float(value))
    srm = ab.get("srm")
    p_value = srm.get("p_value") if isinstance(srm, Mapping) else None
    if isinstance(p_value, int | float) and math.isfinite(p_value):
        metrics.experiment_srm_p_value.labels(experiment=name).set(float(p_value))


def _recs_published(settings: Settings) -> float | None:
    """When the store's current batch was published; None without a store or a batch."""
    from vitrina.bootstrap import open_store

    try:
        with open_store(settings) as store:
            current = store.current_version()
            info = next((v for v in store.versions() if v.version == current), None)
    except Exception as error:  # Redis down, no store yet: the figure is left out
        log.info("recs publication time not read: %s", error)
        return None
    return None if info is None else _timestamp(info.published_at or info.created_at)


def _search_published(settings: Settings) -> float | None:
    """When the serving index version was switched to; None before the first index."""
    from vitrina.adapters.models.index_versions import pointer_url
    from vitrina.core.artifacts.files import read_json

    try:
        pointer = read_json(pointer_url(settings))
    except Exception as error:
        log.info("search index pointer not read: %s", error)
        return None
    return _timestamp(pointer.get("switched_at")) if isinstance(pointer, Mapping) else None


def _data_last(settings: Settings) -> float | None:
    """Newest validated event; None without events."""
    from vitrina.adapters.lake.warehouse import Warehouse
    from vitrina.pipelines.drift.monitored_tables import data_span

    try:
        with Warehouse.from_settings(settings) as warehouse:
            _, last = data_span(warehouse)
    except Exception as error:
        log.info("newest event not read: %s", error)
        return None
    return _timestamp(last)


def collect(
    settings: Settings,
    steps: Iterable[StepEvent],
    *,
    now: float,
    drift: bool = False,
    batch: BatchReport | None = None,
    loop_failed: bool = False,
) -> RunMetrics:
    """Every group a run knows about: its steps; the latest drift report when ``drift`` (the
    check ran or was reused); the coverage of the ``batch`` it published; the serving versions'
    and the data's times; the latest A/B report. ``loop_failed``: the loop stopped on an error.
    A group is created only for what the run knows, so a push never blanks another's figures."""
    from vitrina.adapters.reports import read_latest_metrics

    run = RunMetrics(groups={}, failed=set())
    _steps(run, steps, now)
    if loop_failed:  # a failure outside any step still fails the loop
        run.failed.add("loop")
        loop_group = run.group("loop")
        loop_group.batch_failed.labels(pipeline="loop").set(1.0)
        loop_group.batch_last_success.clear()
    if drift:
        drift_gauges(run.group("drift"), read_latest_metrics(settings, "drift"))
    if batch is not None:
        recs = run.group("recs")
        recs.user_coverage.labels(model="recs").set(batch.user_coverage)
        recs.coverage.labels(model="recs").set(batch.catalog_coverage)
    for model, published in (("recs", _recs_published(settings)), ("search", _search_published(settings))):
        if published is not None:
            run.group(model).published.labels(model=model).set(published)
    last = _data_last(settings)
    if last is not None:
        run.group("loop").data_last.labels(table="events").set(last)
    experiment = read_latest_metrics(settings, "experiments")
    if experiment is not None:
        experiment_gauges(run.group("experiment"), experiment)
    return run


def loop_metrics(settings: Settings, loop: LoopRun, *, error: BaseException | None, now: float) -> RunMetrics:
    """Every group of a ``train all`` run; ``error`` is what stopped it (None: it finished)."""
    batch = loop.recs.batch if loop.recs is not None else None
    return collect(
        settings,
        loop.steps,
        now=now,
        drift=loop.drift is not None,
        batch=batch,
        loop_failed=error is not None,
    )


def push_run(settings: Settings, run: RunMetrics) -> list[str]:
    """Push every group to ``settings.pushgateway_url`` (POST: see the module docstring); the
    pipelines pushed (none when unset)."""
    url = settings.pushgateway_url
    if not url:
        return []
    return [
        pipeline
        for pipeline, metrics in sorted(run.groups.items())
        if push(url, metrics.registry, {"pipeline": pipeline}, replace=False)
    ]


def export_loop_run(settings: Settings, loop: LoopRun, error: BaseException | None = None) -> list[str]:
    """Push a ``train all`` run's metrics (the last thing the loop does); never raises."""
    if not settings.pushgateway_url:
        return []
    try:
        return push_run(settings, loop_metrics(settings, loop, error=error, now=_now()))
    except Exception:
        log.exception("the loop's metrics were not exported")
        return []


def export_pipeline_run(
    settings: Settings, steps: Iterable[StepEvent], batch: BatchReport | None = None
) -> list[str]:
    """Push a ``vitrina train recs`` / ``train search`` run (the recs and search DAGs, the drift
    DAG's retrain): its steps (a failed one included) and the batch it published; never raises."""
    if not settings.pushgateway_url:
        return []
    try:
        return push_run(settings, collect(settings, steps, now=_now(), batch=batch))
    except Exception:
        log.exception("the pipeline's metrics were not exported")
        return []


def export_drift_check(settings: Settings, steps: Iterable[StepEvent], measured: bool) -> list[str]:
    """Push a ``vitrina drift`` run's metrics (the drift DAG's check): its step, and the latest
    report's PSI and decisions when the check ``measured`` or reused one; never raises."""
    if not settings.pushgateway_url:
        return []
    from vitrina.adapters.reports import read_latest_metrics

    try:
        run = RunMetrics(groups={}, failed=set())
        _steps(run, steps, _now())
        if measured:
            drift_gauges(run.group("drift"), read_latest_metrics(settings, "drift"))
        return push_run(settings, run)
    except Exception:
        log.exception("the drift check's metrics were not exported")
        return []


def export_experiment(settings: Settings, report: Mapping[str, Any]) -> list[str]:
    """Push an A/B report's lift, p-value per metric and SRM p-value as soon as ``vitrina
    experiment ab`` wrote it (a loop run pushes the latest report again); never raises."""
    if not settings.pushgateway_url:
        return []
    try:
        run = RunMetrics(groups={}, failed=set())
        experiment_gauges(run.group("experiment"), report)
        if not any(family.samples for family in run.groups["experiment"].registry.collect()):
            return []  # A/A and interleaving reports carry no lift
        return push_run(settings, run)
    except Exception:
        log.exception("the experiment's metrics were not exported")
        return []


def _now() -> float:
    return dt.datetime.now(dt.UTC).timestamp()
