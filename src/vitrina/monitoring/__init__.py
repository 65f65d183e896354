"""Monitoring (SPEC §5.4, §5.7): drift statistics and decisions, and the Prometheus metrics.

* :mod:`~vitrina.monitoring.metrics` — :func:`~vitrina.monitoring.metrics.build_metrics`, every
  metric the service and the batch jobs export, in a registry of their own.
"""
