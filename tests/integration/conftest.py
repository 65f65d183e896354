"""Fixtures for integration tests: a real MLflow store (SQLite, as in a default home) and a
served ci home (recs champion published, search index served) built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.console import Console

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


@pytest.fixture(scope="session")
def served_home(
    tmp_path_factory: pytest.TempPathFactory, ci_settings: Settings, mlflow_template: Path
) -> Path:
    """A ci home with a published recs batch (champion) and a served search index, built by the
    real pipelines with small configs. Read-only: tests that write work on a copy
    (``shutil.copytree``; paths inside are relative to the home or read-only)."""
    from vitrina.pipelines.recs import RecsConfig, run_recs
    from vitrina.pipelines.search import SearchConfig, run_search
    from vitrina.search.finetune import FinetuneConfig

    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the session
    small_search = SearchConfig(
        n_trials=1,
        evaluate=False,  # no gate: this version is served directly (the API is under test, not the gate)
        max_train_searches=400,
        max_eval_searches=300,
        finetune=FinetuneConfig(max_examples=512, max_seconds=30, batch_size=32, show_progress=False),
    )
    root = tmp_path_factory.mktemp("served") / "home"
    shutil.copytree(ci_settings.home, root)
    shutil.copy(mlflow_template, root / mlflow_template.name)
    settings = get_settings(home=root)
    recs = run_recs(settings, RecsConfig(n_trials=1), quiet)
    assert recs.batch is not None, "the recs pipeline published nothing"
    run_search(settings, small_search, quiet)
    return root
