"""Shared fixtures: real services (PostgreSQL, Redis) and an isolated vitrina home.

Tests that need a server connect to the machine's real one. They skip with a clear
reason only when ``CI`` is unset and the server is absent; in CI an absent server fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support.fixed_calendar import WORLD_END

from vitrina.config import Settings, get_settings

POSTGRES_URL = os.environ.get("VITRINA_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VITRINA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Every API a test starts warms its search cache in a background thread (2,000 queries by
# default, seconds of CPU): 100 keep the feature exercised without loading the shared cores.
os.environ.setdefault("VITRINA_SEARCH_WARM_QUERIES", "100")


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI requires it")
    pytest.skip(f"{message}; set CI=1 to make this a failure")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose whole state lives in this test's tmp_path."""
    return get_settings(home=tmp_path / "home")


@pytest.fixture
def postgres_url() -> str:
    """URL of the real PostgreSQL at 127.0.0.1:5432 (database ``test``)."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.Error as error:
        _unavailable("PostgreSQL", error)
    return POSTGRES_URL


@pytest.fixture
def pg_table(postgres_url: str) -> Iterator[str]:
    """A unique table name in the test database, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{name}"')


@pytest.fixture
def redis_url() -> str:
    """URL of the real Redis at 127.0.0.1:6379."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        _unavailable("Redis", error)
    return REDIS_URL


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test declares its tier, so `-m unit` really selects the fast ones."""
    untiered = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(f"tests without a unit/integration/e2e marker: {untiered[:5]}")
    if hasattr(config, "workerinput"):  # an xdist worker: end-to-end tests after the integration ones
        items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/"))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `--dist loadfile`, one worker runs every integration and e2e test in sequence
    (support/xdist_scheduling.py); any other distribution mode stays xdist's own."""
    if config.getoption("dist") != "loadfile":
        return None
    from support.xdist_scheduling import ServicesInOneWorker

    return ServicesInOneWorker(config, log)


@pytest.fixture(scope="session")
def ci_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A validated ci-scale marketplace (seed 7), generated once per test session. Read-only:
    tests that write must copy it or use their own home."""
    from vitrina.pipelines.validate import validate_lake
    from vitrina.simulator.generate import generate_marketplace

    home = tmp_path_factory.mktemp("ci-lake")
    settings = get_settings(home=home)
    generate_marketplace(settings, scale="ci", seed=7, drift=None, end_date=WORLD_END, catalog_to=None)
    validate_lake(settings, max_invalid_share=0.0)
    return settings


# Integration and end-to-end fixtures: a real MLflow store (SQLite, as in a default home) and a
# served ci home (recs champion published, search index served) built once per session.


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite database (migrations take seconds: done once)."""
    from vitrina.adapters.registry.mlflow_client import DB_FILE, mlflow_client

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
    from support.search_configs import STEP_BOUND_FINETUNE

    from vitrina.pipelines.recs.run import RecsConfig, run_recs
    from vitrina.pipelines.search.run import SearchConfig, run_search

    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the session
    small_search = SearchConfig(
        n_trials=1,
        evaluate=False,  # no gate: this version is served directly (the API is under test, not the gate)
        max_train_searches=400,
        max_eval_searches=300,
        finetune=STEP_BOUND_FINETUNE,
    )
    root = tmp_path_factory.mktemp("served") / "home"
    shutil.copytree(ci_settings.home, root)
    shutil.copy(mlflow_template, root / mlflow_template.name)
    settings = get_settings(home=root)
    recs = run_recs(settings, RecsConfig(n_trials=1), quiet)
    assert recs.batch is not None, "the recs pipeline published nothing"
    run_search(settings, small_search, quiet)
    return root
