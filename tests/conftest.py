"""Shared fixtures: real services (PostgreSQL, Redis) and an isolated vitrina home.

Tests that need a server connect to the machine's real one. They skip with a clear
reason only when ``CI`` is unset and the server is absent; in CI an absent server fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixed_calendar import WORLD_END

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


@pytest.fixture(scope="session")
def ci_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A validated ci-scale marketplace (seed 7), generated once per test session. Read-only:
    tests that write must copy it or use their own home."""
    from vitrina.contracts.validate import validate_lake
    from vitrina.simulator.generate import generate_marketplace

    home = tmp_path_factory.mktemp("ci-lake")
    settings = get_settings(home=home)
    generate_marketplace(settings, scale="ci", seed=7, drift=None, end_date=WORLD_END, catalog_to=None)
    validate_lake(settings, max_invalid_share=0.0)
    return settings
