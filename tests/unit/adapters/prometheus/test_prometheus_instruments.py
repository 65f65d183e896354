"""Service metrics: own registry per build, nothing global, the expected exposition."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from vitrina.adapters.prometheus.instruments import LATENCY_BUCKETS_S, build_metrics, exported_names

pytestmark = pytest.mark.unit


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted labels): value}`` from an exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_nothing_is_registered_globally_and_builds_are_independent() -> None:
    first, second = build_metrics(), build_metrics()  # a global registration would raise "Duplicated"
    assert not [family.name for family in REGISTRY.collect() if family.name.startswith("vitrina_")]
    first.requests.labels(route="/search", method="GET", status="200").inc()
    key = ("vitrina_http_requests_total", (("method", "GET"), ("route", "/search"), ("status", "200")))
    assert samples(generate_latest(first.registry))[key] == 1.0
    assert key not in samples(generate_latest(second.registry))


def test_observe_request_counts_and_times_one_request() -> None:
    metrics = build_metrics()
    metrics.observe_request(route="/recs/{user_id}", method="GET", status=200, seconds=0.0015)
    metrics.observe_request(route="/recs/{user_id}", method="GET", status=503, seconds=0.02)
    got = samples(generate_latest(metrics.registry))
    labels = (("method", "GET"), ("route", "/recs/{user_id}"))
    assert got[("vitrina_http_requests_total", (*labels, ("status", "200")))] == 1.0
    assert got[("vitrina_http_requests_total", (*labels, ("status", "503")))] == 1.0
    assert got[("vitrina_http_request_duration_seconds_count", labels)] == 2.0
    assert got[("vitrina_http_request_duration_seconds_sum", labels)] == pytest.approx(0.0215)

    def bucket(le: str) -> float:
        return got[
            (
                "vitrina_http_request_duration_seconds_bucket",
                tuple(sorted({**dict(labels), "le": le}.items())),
            )
        ]

    assert (bucket("0.001"), bucket("0.002"), bucket("0.01"), bucket("0.02"), bucket("+Inf")) == (
        0,
        1,
        1,
        2,
        2,
    )


def test_the_slo_thresholds_are_bucket_edges() -> None:
    assert {0.002, 0.005, 0.01, 0.03, 0.1} <= set(LATENCY_BUCKETS_S)
    assert list(LATENCY_BUCKETS_S) == sorted(LATENCY_BUCKETS_S)


def test_set_model_replaces_the_version_of_an_alias() -> None:
    metrics = build_metrics()
    metrics.set_model(model="recs", alias="champion", version="3")
    metrics.set_model(model="recs", alias="champion", version="4")
    metrics.set_model(model="recs", alias="challenger", version="5")
    exposed = samples(generate_latest(metrics.registry))
    info = {key: value for key, value in exposed.items() if key[0] == "vitrina_model_info"}
    versions = {dict(labels)["alias"]: dict(labels)["version"] for _, labels in info}
    assert versions == {"champion": "4", "challenger": "5"}
    assert len(info) == 2


def test_exported_names_list_every_sample_name_even_before_any_observation() -> None:
    metrics = build_metrics()
    names = exported_names(metrics.registry)
    assert {
        "vitrina_http_requests_total",
        "vitrina_http_request_duration_seconds_bucket",
        "vitrina_http_request_duration_seconds_count",
        "vitrina_model_info",
        "vitrina_drift_psi",
        "vitrina_batch_job_failed",
    } <= names
    assert "vitrina_http_requests" not in names  # counters are exposed with _total
    metrics.drift_psi.labels(domain="recs", feature="price", role="data").set(0.3)
    metrics.cache_requests.labels(cache="recs", result="hit").inc()
    seen = {name for name, _ in samples(generate_latest(metrics.registry))}
    assert seen - {n for n in seen if n.endswith("_created")} <= names
