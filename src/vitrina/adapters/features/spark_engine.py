"""The same feature frames on PySpark (the ``spark`` extra), for lakes beyond one machine.

The Ibis expressions of :mod:`vitrina.adapters.features.expressions` are compiled to Spark SQL by
Ibis's PySpark backend, so the rows equal DuckDB's (tested on the ci marketplace).

:func:`local_spark` starts a small local session for tests and laptops (``local[N]``, few
shuffle partitions, no UI, UTC session time zone, quiet logs); production passes its own
cluster session to :func:`compute_features_spark`. The session time zone must be UTC:
Spark renders timestamps in it, and the cyclic and bucket features are defined in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt_
import pyarrow as pa

from vitrina.adapters.features.cutoffs import Cutoffs, normalise_cutoffs
from vitrina.adapters.features.expressions import Sources, build_frames, collect
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.core.tables import TABLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_SOURCE_TABLES = ("events", "catalog", "transactions")


@ibis.udf.scalar.builtin(name="unix_micros")  # type: ignore[untyped-decorator]
def _unix_micros(ts: dt_.Timestamp(timezone="UTC")) -> dt_.int64:  # type: ignore[empty-body,valid-type]
    """Spark's ``unix_micros``: microseconds since the epoch of a TIMESTAMP."""


def local_spark(cores: int = 1, app_name: str = "vitrina-features") -> SparkSession:
    """A local Spark session sized for a laptop or CI (stop it with ``.stop()``)."""
    from vitrina.adapters.spark_session import spark_session

    return spark_session(f"local[{cores}]", app_name, cores)


def _read(spark: SparkSession, lake: LakePaths, name: str) -> DataFrame:
    """A validated table as a Spark DataFrame (empty with the canonical schema if absent).

    Files are listed by ``lake.io`` so Spark reads exactly what DuckDB's views read
    (hidden ``.x``/``_x`` files skipped).
    """
    files = list_parquet_files(lake, "validated", name)
    if files:
        return spark.read.option("mergeSchema", "true").parquet(*files)
    return spark.createDataFrame(TABLES[name].schema.empty_table().to_pandas())


def spark_sources(spark: SparkSession, lake: str | LakePaths, prefix: str = "vitrina_") -> Sources:
    """Temporary views over the validated tables, as Ibis tables of the PySpark backend."""
    paths = lake if isinstance(lake, LakePaths) else LakePaths(lake)
    con: Any = ibis.pyspark.connect(spark)
    tables = {}
    for name in _SOURCE_TABLES:
        view = f"{prefix}{name}"
        _read(spark, paths, name).createOrReplaceTempView(view)
        tables[name] = con.table(view)
    return Sources(
        events=tables["events"],
        catalog=tables["catalog"],
        transactions=tables["transactions"],
        epoch_us=_unix_micros,
    )


def compute_features_spark(
    spark: SparkSession, lake: str | LakePaths, cutoffs: Cutoffs, frames: Iterable[str] | None = None
) -> dict[str, pa.Table]:
    """Feature frames as of ``cutoffs`` computed by Spark; same contract (and rows) as
    :func:`vitrina.adapters.features.duckdb_engine.compute_features`."""
    if spark.conf.get("spark.sql.session.timeZone") != "UTC":
        raise ValueError("the Spark session time zone must be UTC (spark.sql.session.timeZone)")
    index = normalise_cutoffs(cutoffs)
    return collect(build_frames(spark_sources(spark, lake), index, frames))
