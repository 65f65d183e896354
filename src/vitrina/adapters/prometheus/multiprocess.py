"""Prometheus metrics of several API worker processes (``vitrina serve --workers N``).

prometheus_client keeps metric values in memory-mapped files of one folder when
``PROMETHEUS_MULTIPROC_DIR`` is set *before it is imported*: ``vitrina serve`` empties
``$VITRINA_HOME/serving/run/prometheus-<port>/`` and sets the variable before uvicorn
starts the workers, so each worker writes its own files and the one that answers
``GET /metrics`` sums them (:func:`exposition`). Counters and histograms add up across
workers; each gauge says how it combines (``multiprocess_mode`` in
:func:`~vitrina.adapters.prometheus.instruments.build_metrics`). ``vitrina_model_info`` is not a stored
value but a collector over what the answering worker has loaded
(:class:`~vitrina.adapters.prometheus.instruments.ModelInfo`): every worker follows the same aliases
within a second (:mod:`vitrina.serving.reload_signal`).

With one process nothing of this is used: the app's own registry is exposed as it is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The shared folder when this process stores its metric values in files, else None.

    The mode is the one prometheus_client chose when it was imported, not what the variable
    says now: a library may set it later (importing ``feast.metrics`` does), which must not
    make ``/metrics`` read an empty folder instead of this process's values."""
    if not stores_in_files():
        return None
    return os.environ.get(ENV) or None


def stores_in_files() -> bool:
    """Whether prometheus_client, when it was imported, chose to keep values in files: it did
    if ``PROMETHEUS_MULTIPROC_DIR`` was set then, even if nobody meant it for this process."""
    return values.ValueClass is not values.MutexValue


def prepare_dir(folder: Path) -> Path:
    """Create ``folder`` empty (a previous run's files would be summed in) and return it;
    call before any worker starts."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def exposition(registry: CollectorRegistry, *extra: object) -> bytes:
    """The text exposition for ``GET /metrics``: ``registry`` itself in one process; in
    multiprocess mode every worker's stored values summed, plus the ``extra`` collectors
    (values that are not stored, such as the loaded model versions)."""
    folder = multiprocess_dir()
    if folder is None:
        return generate_latest(registry)
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=folder)  # type: ignore[no-untyped-call]
    for collector in extra:
        merged.register(collector)  # type: ignore[arg-type]
    return generate_latest(merged)


def process_exited() -> None:
    """Drop this process's live gauges (``live*`` modes) at shutdown; a no-op in one process."""
    folder = multiprocess_dir()
    if folder is not None:
        mark_process_dead(os.getpid(), folder)  # type: ignore[no-untyped-call]
