"""``VITRINA_ENGINE=spark`` on a real standalone cluster (a master and two one-core workers
started from the pyspark package): the champion's batch publishes the same lists as the
in-process batch, and the evaluation join gives the same metrics, on the ci marketplace."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from support.spark_cluster import Cluster, spark_home, standalone_cluster

from vitrina.adapters.lake.truth import load_truth
from vitrina.bootstrap import spark_for
from vitrina.config import Settings, get_settings
from vitrina.pipelines.recs.batch import BatchReport
from vitrina.pipelines.recs.dataset import load_recs_data
from vitrina.pipelines.recs.engine import accuracy_join
from vitrina.pipelines.recs.evaluation import build_evaluation_set, rank_users, score_lists
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.publish import champion_model, publish_champion
from vitrina.pipelines.recs.run import run_recs

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module
BLOCK = 256  # users per scoring block: the ci batch is several blocks, so both workers score some
LISTED = ["user_id", "rank", "product_id", "score", "reason", "model_version"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None and not (spark_home() / "bin" / "java").exists():
        message = "no java on PATH: a Spark cluster needs a JVM"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(message)
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster"), workers=2, cores=1) as running:
        yield running


@pytest.fixture(scope="module")
def homes(
    tmp_path_factory: pytest.TempPathFactory, ci_settings: Settings, mlflow_template: Path, cluster: Cluster
) -> Iterator[tuple[Settings, Settings]]:
    """(in-process, Spark) settings of one ci home whose recs champion is trained and registered."""
    root = tmp_path_factory.mktemp("spark-home") / "home"
    shutil.copytree(ci_settings.home, root)
    shutil.copy(mlflow_template, root / mlflow_template.name)
    local = get_settings(home=root).model_copy(update={"batch_block_users": BLOCK})
    run_recs(local, RecsConfig(n_trials=1, publish=False), QUIET)
    sparked = local.model_copy(update={"engine": "spark", "spark_master": cluster.url})
    yield local, sparked
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def _lists(report: BatchReport | None) -> pd.DataFrame:
    assert report is not None, "no champion: nothing was published"
    table = pd.concat([pq.read_table(path).to_pandas() for path in report.audit_paths])
    return table[LISTED].sort_values(["user_id", "rank"]).reset_index(drop=True)


def test_spark_batch_publishes_the_in_process_lists(
    homes: tuple[Settings, Settings], cluster: Cluster
) -> None:
    local, sparked = homes
    in_process = _lists(publish_champion(local))
    on_spark = _lists(publish_champion(sparked))

    assert spark_for(sparked).sparkContext.master == cluster.url
    apps = cluster.status()["activeapps"]
    assert [app["cores"] for app in apps] == [2]  # one core on each worker: both executors ran
    assert in_process["user_id"].nunique() > 2 * BLOCK  # several blocks, shared by the executors
    assert (in_process.groupby("user_id")["rank"].count() == 20).all()
    pd.testing.assert_frame_equal(on_spark, in_process, check_exact=True)


def test_spark_evaluation_join_gives_the_in_process_metrics(homes: tuple[Settings, Settings]) -> None:
    local, sparked = homes
    data = load_recs_data(local)
    champion = champion_model(local, data, data.valid_end_us, RecsConfig())
    assert champion is not None
    evaluation = build_evaluation_set(data, part="test", truth=load_truth(local))
    ranked = rank_users(champion[1], evaluation)

    in_process = score_lists(ranked, evaluation)
    on_spark = score_lists(ranked, evaluation, accuracy_join(sparked))

    assert accuracy_join(local) is None  # the default engine joins in process
    assert set(on_spark) == set(in_process) == {"heldout", "truth"}
    for block, metrics in in_process.items():
        assert set(on_spark[block]) == set(metrics)
        for name, value in metrics.items():
            assert np.isfinite(value), (block, name)
            assert value > 0, (block, name)
            assert math.isclose(on_spark[block][name], value, rel_tol=1e-12), (block, name)
