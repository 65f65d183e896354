"""The feature engine chosen by configuration (``VITRINA_ENGINE``): DuckDB by default,
PySpark for scale. Both run the same definitions and return the same rows."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from vitrina.adapters.features.cutoffs import Cutoffs
from vitrina.adapters.features.duckdb_engine import compute_features
from vitrina.config import Settings


def compute_features_configured(
    settings: Settings, cutoffs: Cutoffs, frames: Iterable[str] | None = None
) -> dict[str, pa.Table]:
    """Feature frames as of ``cutoffs`` on ``settings.engine``.

    ``spark`` uses the active Spark session, or starts a local one (a cluster deployment
    starts its session, with its master and a UTC time zone, before calling this).
    """
    if settings.engine == "spark":
        from vitrina.adapters.features.spark_engine import compute_features_spark, local_spark

        return compute_features_spark(local_spark(cores=2), settings.lake, cutoffs, frames)
    return compute_features(settings, cutoffs, frames)
