"""The lake and the MLflow artifacts on S3 (a moto server process started here), end to end.

`vitrina data generate` and `vitrina train all` run with ``VITRINA_LAKE_URL=s3://…/lake`` and
the MLflow artifact root ``s3://…/mlflow``: every table, model, index version, report and
registered bundle lands in the bucket, nothing in the home's local lake. Two API processes,
each with its own home (its own local copies), share only the bucket, the MLflow store and the
recommendations store: both serve the same index version fetched from S3, and after a new
version is published and each is told to reload, both serve the new one.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from support.ports import free_port
from typer.testing import CliRunner

import vitrina
from vitrina.adapters.models.index_versions import current_version
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.adapters.registry.models import get_version
from vitrina.cli.main import app
from vitrina.config import get_settings
from vitrina.core.promotion.alias_plans import CHAMPION

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RUNNER = CliRunner()
BUCKET = "vitrina-lake"
KEY = "s3-admin-key"
SEED = "7"


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Iterator[dict[str, str]]:
    """A moto S3 server with an empty bucket, and the environment pointing vitrina at it: the
    lake and the MLflow artifacts in the bucket, one MLflow store and one recs store shared."""
    port = free_port()
    # Its own process: in this one it would share the GIL with the pipelines the tests run here.
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _wait_for_port(port, server)
    shared = tmp_path_factory.mktemp("s3-shared")
    shutil.copy(mlflow_template, shared / "mlflow.db")
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "VITRINA_LAKE_URL": f"s3://{BUCKET}/lake",
        "VITRINA_MLFLOW_URI": f"sqlite:///{shared / 'mlflow.db'}",
        "VITRINA_MLFLOW_ARTIFACTS_URL": f"s3://{BUCKET}/mlflow",
        "VITRINA_STORE_URL": f"sqlite:///{shared / 'store.db'}",
        "HF_HUB_OFFLINE": "1",
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
            yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, f"the S3 server exited ({process.returncode})"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"the S3 server did not listen on {port} within {timeout_s} s"
            time.sleep(0.2)


def keys(prefix: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def cli(home: Path, *args: str) -> str:
    result = RUNNER.invoke(app, [*args, "--home", str(home)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, s3_env: dict[str, str]) -> Path:
    """A ci-scale world generated into the bucket, then one `vitrina train all`."""
    home = tmp_path_factory.mktemp("s3-trainer") / "home"
    home.mkdir()
    cli(home, "data", "generate", "--scale", "ci", "--seed", SEED)
    cli(home, "train", "all", "--quick", "--trials", "1", "--seed", SEED)
    return home


def test_train_all_writes_tables_models_reports_and_mlflow_artifacts_to_the_bucket(trained: Path) -> None:
    settings = get_settings(home=trained)
    assert settings.lake == f"s3://{BUCKET}/lake"
    assert not (trained / "lake").exists()  # nothing fell back to the default local lake

    lake = keys("lake/")
    assert any(k.startswith("lake/validated/events/dt=") for k in lake)
    recs = get_version(settings, RECS_MODEL, CHAMPION)
    assert recs is not None
    assert recs.source.startswith(f"s3://{BUCKET}/mlflow/")
    assert any(k.startswith("lake/models/recs/") and k.endswith("/MANIFEST.json") for k in lake)
    assert any(k.startswith("lake/reports/recs/") for k in lake)
    assert any(k.startswith("lake/state/steps/recs/") for k in lake)
    index = current_version(settings)
    assert index is not None, "train all served no search index"
    assert f"lake/models/search/{index}/MANIFEST.json" in lake
    artifacts = keys("mlflow/")
    run_bundle = recs.source.removeprefix(f"s3://{BUCKET}/")
    assert any(k.startswith(f"{run_bundle}/") and k.endswith("MANIFEST.json") for k in artifacts)
    search = get_version(settings, SEARCH_MODEL, CHAMPION)
    if search is not None:
        assert search.source.startswith(f"s3://{BUCKET}/mlflow/")


def _get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, headers={"X-API-Key": KEY})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


@pytest.fixture
def apis(tmp_path: Path, trained: Path, s3_env: dict[str, str]) -> Iterator[list[tuple[int, Path]]]:
    """Two `vitrina serve` processes, each with a fresh home of its own."""
    source = str(Path(vitrina.__file__).resolve().parents[1])
    env = {
        **os.environ,
        **s3_env,
        "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
        "VITRINA_ADMIN_API_KEY": KEY,
        "VITRINA_JOB_RUNNER": "false",
        "VITRINA_SEARCH_WARM_QUERIES": "0",
    }
    started: list[tuple[subprocess.Popen[bytes], int, Path]] = []
    try:
        for name in ("api-a", "api-b"):
            home, port = tmp_path / name, free_port()
            home.mkdir()
            command = [sys.executable, "-m", "vitrina.cli.main", "serve", "--home", str(home)]
            command += ["--port", str(port), "--log-level", "warning"]
            log = (tmp_path / f"{name}.log").open("w")
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            started.append((process, port, home))
        deadline = time.monotonic() + 240
        for process, port, home in started:
            while True:
                assert process.poll() is None, (home.parent / f"{home.name}.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "an API did not start within 240 s"
                try:
                    if _get(port, "/health")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
        yield [(port, home) for _, port, home in started]
    finally:
        for process, _, _ in started:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def served(port: int) -> dict[str, str]:
    status, body = _get(port, "/ready")
    assert status == 200, body
    components = body["components"]
    assert isinstance(components, dict)
    return {"search": str(components["search"]), "recs_store": str(components["recs_store"])}


def test_two_apis_serve_the_same_versions_from_the_bucket_and_switch_together(
    apis: list[tuple[int, Path]], trained: Path
) -> None:
    settings = get_settings(home=trained)
    first = current_version(settings)
    before = [served(port) for port, _ in apis]
    assert before[0] == before[1]
    assert before[0]["search"] == f"ok ({first})"
    for _, home in apis:  # each fetched its own copy of the version from the bucket
        assert list((home / "cache" / "lake").glob("*/*/MANIFEST.json")), f"no local copy in {home}"
    assert not (apis[0][1] / "lake").exists()

    cli(trained, "train", "search", "--incremental")  # a new index version, served blue-green
    second = current_version(settings)
    assert second is not None
    assert second != first
    assert f"lake/models/search/{second}/MANIFEST.json" in keys(f"lake/models/search/{second}/")

    for port, _ in apis:
        status, body = _get(port, "/admin/reload", "POST")
        assert status == 200, body
    after = [served(port) for port, _ in apis]
    assert after[0] == after[1]
    assert after[0]["search"] == f"ok ({second})"
    assert after[0]["recs_store"] == before[0]["recs_store"]
