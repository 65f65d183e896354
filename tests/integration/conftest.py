"""Fixtures for integration tests against a real MLflow store (SQLite, as in a default home)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vitrina.config import Settings, get_settings


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite database (migrations take seconds: done once)."""
    from vitrina.registry.client import DB_FILE, mlflow_client

    home = tmp_path_factory.mktemp("mlflow-template")
    mlflow_client(get_settings(home=home)).search_experiments()
    return home / DB_FILE


@pytest.fixture
def mlflow_settings(tmp_path: Path, mlflow_template: Path) -> Settings:
    """Settings whose home (lake, MLflow store, artifacts) lives in this test's tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(mlflow_template, home / mlflow_template.name)
    return get_settings(home=home)
