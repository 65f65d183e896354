"""Everything that talks to the outside: the lake, contracts, ingestion, feature engines,
serving stores, result caches, event buffers, the MLflow registry, Prometheus, locks.

Adapters import the core and the settings, never the pipelines, the serving layer or the CLI."""
