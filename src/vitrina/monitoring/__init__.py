"""Monitoring (SPEC §5.4, §5.7): drift statistics, drift decisions and their reports, and the
Prometheus metrics.

Pure (no I/O):

* :mod:`~vitrina.monitoring.drift_stats` — PSI, KS, Wasserstein, chi², share movers, SPC;
* :mod:`~vitrina.monitoring.drift` — per-feature comparison and the none / warn / retrain decision;
* :mod:`~vitrina.monitoring.drift_records` — the records it takes and returns;
* :mod:`~vitrina.monitoring.drift_signals` — prediction, target and search drift;
* :mod:`~vitrina.monitoring.windows` — reference and current windows;
* :mod:`~vitrina.monitoring.metrics` — :func:`~vitrina.monitoring.metrics.build_metrics`, every
  metric the service and the batch jobs export, in a registry of their own.

Reading and writing the lake:

* :mod:`~vitrina.monitoring.drift_inputs` — the monitored tables of raw data (DuckDB SQL);
* :mod:`~vitrina.monitoring.drift_features` — the recommendation features and served predictions;
* :mod:`~vitrina.monitoring.drift_report` — metrics.json, Markdown, history, Evidently HTML.

The pipeline that wires them is :mod:`vitrina.pipelines.drift` (``vitrina run drift``).
"""
