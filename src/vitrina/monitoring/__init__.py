"""Monitoring (SPEC §5.4): drift statistics, drift decisions and their reports.

Pure (no I/O):

* :mod:`~vitrina.monitoring.drift_stats` — PSI, KS, Wasserstein, chi², share movers, SPC;
* :mod:`~vitrina.monitoring.drift` — per-feature comparison and the none / warn / retrain decision;
* :mod:`~vitrina.monitoring.drift_records` — the records it takes and returns;
* :mod:`~vitrina.monitoring.drift_signals` — prediction, target and search drift;
* :mod:`~vitrina.monitoring.windows` — reference and current windows.

Reading and writing the lake:

* :mod:`~vitrina.monitoring.drift_inputs` — the monitored tables of raw data (DuckDB SQL);
* :mod:`~vitrina.monitoring.drift_features` — the recommendation features and served predictions;
* :mod:`~vitrina.monitoring.drift_report` — metrics.json, Markdown, history, Evidently HTML.

The pipeline that wires them is :mod:`vitrina.pipelines.drift` (``vitrina run drift``).
"""
