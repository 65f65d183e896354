"""Pushing a batch run's metrics to a Prometheus Pushgateway.

A batch job lives for minutes and is gone before Prometheus scrapes it, so it hands its last
run's gauges to the Pushgateway, which Prometheus scrapes (``deploy/prometheus/prometheus.yml``,
job ``pushgateway``, ``honor_labels``). Each pipeline pushes to a group of its own
(``job="vitrina-batch"``, ``pipeline=…``), so a failed drift check does not erase the last
publication's figures.

Monitoring must never be the reason a pipeline fails: :func:`push` logs a refused or
unreachable gateway and returns False.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, push_to_gateway, pushadd_to_gateway

log = logging.getLogger(__name__)

JOB = "vitrina-batch"
TIMEOUT_S = 5.0


def push(
    url: str,
    registry: CollectorRegistry,
    grouping_key: Mapping[str, str],
    *,
    replace: bool = True,
    job: str = JOB,
    timeout: float = TIMEOUT_S,
) -> bool:
    """Push ``registry`` to the group ``job`` + ``grouping_key`` at ``url``; True when accepted.

    ``replace`` (HTTP PUT) drops the group's earlier metrics; otherwise (POST) only the metric
    names pushed now replace theirs, so a failed run that could not measure something leaves
    the last measured value in place (its last-success time, above all)."""
    send = push_to_gateway if replace else pushadd_to_gateway
    try:
        send(url, job=job, registry=registry, grouping_key=dict(grouping_key), timeout=timeout)
    except Exception as error:  # OSError, HTTP 4xx/5xx (urllib), a malformed URL
        log.warning("metrics not pushed to %s (%s): %s", url, dict(grouping_key), error)
        return False
    return True
