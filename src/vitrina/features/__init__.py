"""Recommendation features (SPEC §3.1): defined once, point-in-time correct.

* :mod:`~vitrina.features.definitions` — the feature list (names, entity, window, meaning);
* :mod:`~vitrina.features.expressions` — the definitions as Ibis expressions;
* :mod:`~vitrina.features.duckdb_engine` — :func:`compute_features` on DuckDB (default);
* :mod:`~vitrina.features.spark_engine` — the same frames on PySpark (optional extra);
* :mod:`~vitrina.features.offline` — frames as Parquet under ``<lake>/features/``;
* :mod:`~vitrina.features.feast_repo` — Feast repository, training joins, online store;
* :mod:`~vitrina.features.embeddings` — the pipeline's session-embedding hooks.
"""
