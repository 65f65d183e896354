"""Where the experiments vitrina creates keep their artifacts: under the home with the default
store, the server's root with another store, and ``VITRINA_MLFLOW_ARTIFACTS_URL`` when set."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitrina.adapters.registry.mlflow_client import artifact_location
from vitrina.config import get_settings

pytestmark = pytest.mark.unit


def test_the_default_store_keeps_artifacts_in_the_home(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    assert artifact_location(settings, "recs") == (tmp_path / "mlartifacts" / "recs").resolve().as_uri()


def test_a_server_store_uses_its_own_root(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path, mlflow_uri="http://127.0.0.1:5000")
    assert artifact_location(settings, "recs") is None


@pytest.mark.parametrize("uri", [None, "http://127.0.0.1:5000", "postgresql://mlflow@db/mlflow"])
def test_an_artifacts_url_is_the_root_of_every_experiment(tmp_path: Path, uri: str | None) -> None:
    settings = get_settings(home=tmp_path, mlflow_uri=uri, mlflow_artifacts_url="s3://bucket/mlflow/")
    assert artifact_location(settings, "search") == "s3://bucket/mlflow/search"
