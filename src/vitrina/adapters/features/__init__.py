"""Recommendation features (docs/spec.md §3.1): defined once, point-in-time correct.

* :mod:`~vitrina.adapters.features.definitions` — the feature list (names, entity, window, meaning);
* :mod:`~vitrina.adapters.features.expressions` — the definitions as Ibis expressions;
* :mod:`~vitrina.adapters.features.duckdb_engine` — :func:`compute_features` on DuckDB (default);
* :mod:`~vitrina.adapters.features.spark_engine` — the same frames on PySpark (optional extra;
  :func:`vitrina.bootstrap.compute_features_configured` picks the engine the settings name);
* :mod:`~vitrina.adapters.features.offline` — frames as Parquet under ``<lake>/features/``;
* :mod:`~vitrina.adapters.features.feast_repo` — Feast repository, training joins, online store;
* :mod:`~vitrina.adapters.features.embeddings` — the pipeline's session-embedding hooks.
"""
