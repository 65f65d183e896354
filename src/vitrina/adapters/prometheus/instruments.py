"""Prometheus metrics of the service and the batch jobs (docs/spec.md §5.8), in a registry of their own.

Nothing is registered at import time: :func:`build_metrics` creates a fresh
:class:`~prometheus_client.CollectorRegistry` and the metrics in it, so every app (and every
test) owns its metrics and ``GET /metrics`` serves exactly those
(``generate_latest(metrics.registry)``).

Naming follows the Prometheus conventions (base units, ``_total`` for counters,
``_seconds``, ``_ratio``); the alert rules in ``deploy/prometheus/alerts.yml`` and the
Grafana dashboards in ``deploy/grafana/`` use these names and only these (a test checks it).
Label values must stay few: ``route`` is the route *template* (``/recs/{user_id}``), never
the raw path; ``model`` is ``recs`` or ``search``; ``alias`` is ``champion``/``challenger``.

Several API worker processes share their counters and histograms through prometheus_client's
multiprocess mode (:mod:`vitrina.adapters.prometheus.multiprocess`); each gauge's ``multiprocess_mode``
says how the workers' values combine: ``livemostrecent`` for the loaded model's figures (the
workers hold the same model; a stopped worker's value is dropped), ``mostrecent`` for results
of the last analysis or batch run. ``vitrina_model_info`` is a collector over the loaded
versions (:class:`ModelInfo`), since prometheus_client's ``Info`` has no multiprocess mode.

Batch jobs run in their own short-lived process: they set the ``vitrina_batch_*``, drift,
coverage, freshness and experiment gauges (last run's state, not counters, so a Pushgateway
keeps them meaningful between runs) on a registry from :func:`build_metrics` per pipeline and
push it (:mod:`vitrina.pipelines.run_metrics`, :mod:`vitrina.adapters.prometheus.push`:
``job="vitrina-batch"``, grouping key ``pipeline``). Their label is ``pipeline``, not ``job``,
which Prometheus reserves for the scrape job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from vitrina.adapters.prometheus.multiprocess import exposition

LATENCY_BUCKETS_S = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.02,
    0.03,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
"""Request latency buckets (s); the SLOs (2, 5, 10, 30, 100 ms) are bucket edges, so the
alert thresholds are read exactly rather than interpolated across a wide bucket."""


class ModelInfo:
    """``vitrina_model_info{alias, model, version} 1``: the version loaded per model and
    alias, the exposition ``Info`` gave (same name, labels and value), computed at
    collection time from what :meth:`set` recorded, so it also works in multiprocess mode."""

    name = "vitrina_model_info"
    documentation = "Model version loaded per model and alias."

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def set(self, *, model: str, alias: str, version: str) -> None:
        """``version`` now serves ``model`` under ``alias`` (replaces the previous one)."""
        with self._lock:
            self._versions[(model, alias)] = version

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, labels=("alias", "model", "version"))

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        with self._lock:
            for (model, alias), version in sorted(self._versions.items()):
                family.add_metric((alias, model, version), 1.0)
        yield family


@dataclass(frozen=True)
class ServiceMetrics:
    """Every metric vitrina exports, bound to :attr:`registry`.

    Attributes (metric name — labels — meaning):
        requests: ``vitrina_http_requests_total`` — route, method, status — finished requests.
        request_latency: ``vitrina_http_request_duration_seconds`` — route, method — latency.
        errors: ``vitrina_errors_total`` — route, kind — unhandled errors by exception type.
        cache_requests: ``vitrina_cache_requests_total`` — cache, result (``hit``/``miss``).
        fallbacks: ``vitrina_fallbacks_total`` — route, reason — degraded (popularity) answers.
        search_zero_results: ``vitrina_search_zero_results_total`` — mode — empty result pages.
        events_received: ``vitrina_events_received_total`` — event_type, page — ``POST /events``.
        search_answers_logged: ``vitrina_search_answers_logged_total`` — outcome (``buffered``:
            appended to the event buffer; ``dropped``: lost, the buffer down too long) — the
            ``/search`` answers logged for learning from the shop's own traffic.
        model: ``vitrina_model_info`` — model, alias, version — the loaded model versions.
        model_trained: ``vitrina_model_trained_timestamp_seconds`` — model, alias — train time.
        model_offline_metric: ``vitrina_model_offline_metric`` — model, alias, metric — e.g.
            ``metric="ndcg_at_10"`` from the model's evaluation.
        coverage: ``vitrina_catalog_coverage_ratio`` — model — share of the catalog recommended.
        drift_psi: ``vitrina_drift_psi`` — domain, feature, role (data or model_output) — latest
            PSI per monitored feature.
        drift_decision: ``vitrina_drift_decision`` — domain — the latest drift check's decision:
            0 none, 1 warn, 2 retrain (a PSI its significance test did not confirm stays 0).
        experiment_exposures: ``vitrina_experiment_exposures_total`` — experiment, arm.
        experiment_events: ``vitrina_experiment_events_total`` — experiment, arm, event_type.
        experiment_p_value: ``vitrina_experiment_p_value`` — experiment, metric — last analysis.
        experiment_lift: ``vitrina_experiment_lift_ratio`` — experiment, metric — relative lift.
        experiment_srm_p_value: ``vitrina_experiment_srm_p_value`` — experiment.
        experiment_required_sessions: ``vitrina_experiment_required_sessions`` — experiment —
            planned sessions per arm (sample size for the MDE).
        artifact_rejected: ``vitrina_artifact_rejected_total`` — component (``recs``/``search``)
            — versions refused at load (manifest mismatch, unloadable, store unreadable).
        serving_fallback: ``vitrina_serving_fallback`` — component — 1 while the component serves
            something other than its current version (an earlier one, popularity or nothing).
        batch_duration: ``vitrina_batch_job_last_duration_seconds`` — pipeline.
        batch_failed: ``vitrina_batch_job_failed`` — pipeline — 1 if the last run failed, else 0.
        batch_last_success: ``vitrina_batch_job_last_success_timestamp_seconds`` — pipeline.
        step_duration: ``vitrina_batch_step_duration_seconds`` — pipeline, step — last run's time.
        step_outcome: ``vitrina_batch_step_outcome`` — pipeline, step, outcome (``ran``/``reused``/
            ``skipped``/``failed``) — 1 for the last run's outcome of each step.
        user_coverage: ``vitrina_batch_user_coverage_ratio`` — model — share of the active users
            the published batch has a list for (the others get the popularity list).
        published: ``vitrina_published_timestamp_seconds`` — model — when the version that
            serves was published (recs batch) or switched to (search index).
        data_last: ``vitrina_data_last_timestamp_seconds`` — table — newest row of the validated data.
    """

    registry: CollectorRegistry
    requests: Counter
    request_latency: Histogram
    errors: Counter
    cache_requests: Counter
    fallbacks: Counter
    search_zero_results: Counter
    events_received: Counter
    search_answers_logged: Counter
    model: ModelInfo
    model_trained: Gauge
    model_offline_metric: Gauge
    coverage: Gauge
    drift_psi: Gauge
    drift_decision: Gauge
    experiment_exposures: Counter
    experiment_events: Counter
    experiment_p_value: Gauge
    experiment_lift: Gauge
    experiment_srm_p_value: Gauge
    experiment_required_sessions: Gauge
    artifact_rejected: Counter
    serving_fallback: Gauge
    batch_duration: Gauge
    batch_failed: Gauge
    batch_last_success: Gauge
    step_duration: Gauge
    step_outcome: Gauge
    user_coverage: Gauge
    published: Gauge
    data_last: Gauge
    _per_request: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def observe_request(self, *, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request and its latency (call once per request, in middleware).

        The labelled children are looked up once per (route, method, status) and kept: a
        ``labels()`` call checks and stringifies every value under a lock, a measurable
        share of a /recs request. The keys are as bounded as the label values."""
        key = (route, method, status)
        children = self._per_request.get(key)
        if children is None:
            children = (
                self.requests.labels(route=route, method=method, status=str(status)),
                self.request_latency.labels(route=route, method=method),
            )
            self._per_request[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def set_model(self, *, model: str, alias: str, version: str) -> None:
        """Record the version now serving ``model`` under ``alias`` (replaces the previous one)."""
        self.model.set(model=model, alias=alias, version=version)

    def exposition(self) -> bytes:
        """``GET /metrics``: this registry, or every worker's values in multiprocess mode."""
        return exposition(self.registry, self.model)


def build_metrics(registry: CollectorRegistry | None = None) -> ServiceMetrics:
    """Create every metric in ``registry`` (a new, empty one by default)."""
    reg = CollectorRegistry(auto_describe=True) if registry is None else registry

    def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
        return Counter(name, doc, labels, registry=reg)

    def gauge(name: str, doc: str, labels: tuple[str, ...], *, live: bool = False) -> Gauge:
        mode: Literal["livemostrecent", "mostrecent"] = "livemostrecent" if live else "mostrecent"
        return Gauge(name, doc, labels, registry=reg, multiprocess_mode=mode)

    model = ModelInfo()
    reg.register(model)  # type: ignore[arg-type]

    return ServiceMetrics(
        registry=reg,
        requests=counter("vitrina_http_requests", "Finished HTTP requests.", ("route", "method", "status")),
        request_latency=Histogram(
            "vitrina_http_request_duration_seconds",
            "Server-side HTTP request latency (routing, handler, serialisation).",
            ("route", "method"),
            buckets=LATENCY_BUCKETS_S,
            registry=reg,
        ),
        errors=counter("vitrina_errors", "Unhandled errors by exception type.", ("route", "kind")),
        cache_requests=counter("vitrina_cache_requests", "Cache look-ups by outcome.", ("cache", "result")),
        fallbacks=counter(
            "vitrina_fallbacks", "Answers degraded to the popularity fallback.", ("route", "reason")
        ),
        search_zero_results=counter(
            "vitrina_search_zero_results", "Searches that returned nothing.", ("mode",)
        ),
        events_received=counter(
            "vitrina_events_received", "Events accepted by POST /events.", ("event_type", "page")
        ),
        search_answers_logged=counter(
            "vitrina_search_answers_logged", "/search answers written to the event buffer.", ("outcome",)
        ),
        model=model,
        model_trained=gauge(
            "vitrina_model_trained_timestamp_seconds", "Training time (Unix).", ("model", "alias"), live=True
        ),
        model_offline_metric=gauge(
            "vitrina_model_offline_metric",
            "Offline evaluation metric of the loaded model.",
            ("model", "alias", "metric"),
            live=True,
        ),
        coverage=gauge(
            "vitrina_catalog_coverage_ratio",
            "Share of the catalog that gets recommended.",
            ("model",),
            live=True,
        ),
        drift_psi=gauge(
            "vitrina_drift_psi",
            "Latest population stability index per feature.",
            ("domain", "feature", "role"),
        ),
        drift_decision=gauge(
            "vitrina_drift_decision", "Latest drift decision: 0 none, 1 warn, 2 retrain.", ("domain",)
        ),
        experiment_exposures=counter(
            "vitrina_experiment_exposures", "Responses served per arm.", ("experiment", "arm")
        ),
        experiment_events=counter(
            "vitrina_experiment_events", "Events attributed to an arm.", ("experiment", "arm", "event_type")
        ),
        experiment_p_value=gauge(
            "vitrina_experiment_p_value", "p-value of the last analysis.", ("experiment", "metric")
        ),
        experiment_lift=gauge(
            "vitrina_experiment_lift_ratio",
            "Relative lift, challenger/champion − 1.",
            ("experiment", "metric"),
        ),
        experiment_srm_p_value=gauge(
            "vitrina_experiment_srm_p_value", "Sample-ratio-mismatch p-value.", ("experiment",)
        ),
        experiment_required_sessions=gauge(
            "vitrina_experiment_required_sessions", "Planned sessions per arm for the MDE.", ("experiment",)
        ),
        artifact_rejected=counter(
            "vitrina_artifact_rejected", "Versions refused at load (damaged or unloadable).", ("component",)
        ),
        serving_fallback=gauge(
            "vitrina_serving_fallback",
            "1 while the component serves other than its current version.",
            ("component",),
            live=True,
        ),
        batch_duration=gauge(
            "vitrina_batch_job_last_duration_seconds", "Duration of the last run.", ("pipeline",)
        ),
        batch_failed=gauge(
            "vitrina_batch_job_failed", "1 if the last run of the job failed, else 0.", ("pipeline",)
        ),
        batch_last_success=gauge(
            "vitrina_batch_job_last_success_timestamp_seconds",
            "End of the last successful run (Unix).",
            ("pipeline",),
        ),
        step_duration=gauge(
            "vitrina_batch_step_duration_seconds",
            "Duration of the step in the last run.",
            ("pipeline", "step"),
        ),
        step_outcome=gauge(
            "vitrina_batch_step_outcome",
            "1 for the step's outcome in the last run (ran, reused, skipped, failed).",
            ("pipeline", "step", "outcome"),
        ),
        user_coverage=gauge(
            "vitrina_batch_user_coverage_ratio",
            "Share of the active users the published batch has a list for.",
            ("model",),
        ),
        published=gauge(
            "vitrina_published_timestamp_seconds",
            "When the serving version was published or switched to (Unix).",
            ("model",),
        ),
        data_last=gauge(
            "vitrina_data_last_timestamp_seconds", "Newest row of the validated data (Unix).", ("table",)
        ),
    )


_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "info": ("_info",),
}


def exported_names(registry: CollectorRegistry) -> frozenset[str]:
    """Every sample name ``registry`` can expose (``x_total``, ``x_bucket``, ``x_info`` …), labels or not."""
    return frozenset(
        family.name + suffix for family in registry.collect() for suffix in _SUFFIXES.get(family.type, ("",))
    )
