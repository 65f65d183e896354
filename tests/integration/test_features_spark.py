"""The Spark engine gives the same rows as DuckDB on the ci marketplace (one cutoff)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pytest

from vitrina.adapters.features.definitions import FRAMES
from vitrina.adapters.features.duckdb_engine import compute_features
from vitrina.adapters.lake.warehouse import Warehouse
from vitrina.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from vitrina.adapters.features.spark_engine import local_spark

    session = local_spark(cores=2, app_name="vitrina-features-test")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cutoff(ci_settings: Settings) -> pd.Timestamp:
    """Midnight five days before the end of the ci data: every window has events."""
    with Warehouse.from_settings(ci_settings) as warehouse:
        last = warehouse.sql("SELECT max(ts) AS ts FROM events").column("ts")[0].as_py()
    return pd.Timestamp(last).floor("D") - pd.Timedelta(days=5)


@pytest.fixture(scope="module")
def both(
    ci_settings: Settings, spark: SparkSession, cutoff: pd.Timestamp
) -> dict[str, tuple[pa.Table, pa.Table]]:
    from vitrina.adapters.features.spark_engine import compute_features_spark

    duck = compute_features(ci_settings, [cutoff])
    sparked = compute_features_spark(spark, ci_settings.lake, [cutoff])
    return {name: (duck[name], sparked[name]) for name in FRAMES}


@pytest.mark.parametrize("frame", list(FRAMES))
def test_spark_rows_equal_duckdb_rows(both: dict[str, tuple[pa.Table, pa.Table]], frame: str) -> None:
    duck, sparked = both[frame]
    assert duck.num_rows > 0
    assert sparked.schema == duck.schema == FRAMES[frame].schema
    key = [(k, "ascending") for k in [*FRAMES[frame].keys, "as_of"]]
    pd.testing.assert_frame_equal(
        sparked.sort_by(key).to_pandas(),
        duck.sort_by(key).to_pandas(),
        check_exact=False,
        rtol=1e-9,
        atol=1e-12,
    )


def test_spark_refuses_a_non_utc_session(spark: SparkSession, ci_settings: Settings) -> None:
    from vitrina.adapters.features.spark_engine import compute_features_spark

    spark.conf.set("spark.sql.session.timeZone", "America/Lima")
    try:
        with pytest.raises(ValueError, match="UTC"):
            compute_features_spark(spark, ci_settings.lake, ["2026-01-01T00:00:00Z"])
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def test_the_configured_engine_is_spark_when_settings_say_so(
    spark: SparkSession,
    ci_settings: Settings,
    cutoff: pd.Timestamp,
    both: dict[str, tuple[pa.Table, pa.Table]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vitrina.adapters.features import duckdb_engine
    from vitrina.bootstrap import compute_features_configured
    from vitrina.config import get_settings

    def duckdb_must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("DuckDB ran although the engine is spark")

    monkeypatch.setattr(duckdb_engine, "compute_features", duckdb_must_not_run)
    on_spark = get_settings(home=ci_settings.home, engine="spark")
    item = compute_features_configured(on_spark, [cutoff], frames=["item"])["item"]
    key = [("product_id", "ascending"), ("as_of", "ascending")]
    assert item.sort_by(key).equals(both["item"][1].sort_by(key))
    with pytest.raises(AssertionError, match="DuckDB ran"):
        compute_features_configured(ci_settings, [cutoff], frames=["item"])
