"""One Spark session for every Spark step of a process: feature frames, batch inference and
evaluation joins (``VITRINA_ENGINE=spark``), on the master ``VITRINA_SPARK_MASTER`` names.

``local[N]`` runs inside the driver's JVM (tests, laptops); ``spark://host:port`` is a
standalone cluster. Executors are kept small (one core, 512 MiB each: batch inference holds
one champion model per Python worker, not the lake) and run the driver's Python interpreter
with the driver's import path, so a cluster whose workers share the driver's filesystem (one
machine, or one container image with vitrina installed at the same place) needs no packaging
step. The session time zone is UTC: the feature definitions are written in UTC.

The first call builds the session; later calls get that same session back whatever master
they name (Spark has one active session per process), so a process picks its master once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EXECUTOR_MEMORY = "512m"
EXECUTOR_CORES = 1


def _package_root() -> str:
    """The folder vitrina is imported from (the executors' Python path starts there)."""
    return str(Path(__file__).resolve().parents[2])


def spark_session(master: str, app_name: str = "vitrina", cores: int = 2) -> SparkSession:
    """The process's Spark session on ``master`` (built on the first call; stop it with
    ``.stop()``). ``cores``: how many cores the application may take from a cluster, and the
    default number of partitions."""
    from pyspark.sql import SparkSession

    # PySpark takes the workers' interpreter from the driver's environment, not from its conf.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    python_path = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p)
    spark = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, cores)))
        .config("spark.default.parallelism", str(max(2, cores)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "1g")
        .config("spark.executor.memory", EXECUTOR_MEMORY)
        .config("spark.executor.cores", str(EXECUTOR_CORES))
        .config("spark.cores.max", str(cores))
        .config("spark.executorEnv.PYTHONPATH", python_path)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
