"""Monitoring (SPEC §5.4): drift statistics, drift decisions and their reports.

* :mod:`~vitrina.monitoring.drift_stats` — PSI, KS, Wasserstein, chi², share movers (pure);
* :mod:`~vitrina.monitoring.drift` — per-feature comparison and the none / warn / retrain decision (pure);
* :mod:`~vitrina.monitoring.drift_signals` — prediction, target and search drift (pure);
* :mod:`~vitrina.monitoring.windows` — reference and current windows;
* :mod:`~vitrina.monitoring.drift_inputs` — the monitored tables, read from the lake;
* :mod:`~vitrina.monitoring.drift_report` — metrics.json, Markdown, history, Evidently HTML.
"""
