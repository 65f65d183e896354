"""Prometheus metrics of the service and the batch jobs, one process or many."""
