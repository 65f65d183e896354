"""Fixtures of the DAG tests, which run in Airflow's venv (`make airflow-test`), never vitrina's.

Airflow reads its configuration when first imported, so ``pytest_configure`` points it at a
throwaway AIRFLOW_HOME (SQLite metadata) and at the repository's ``dags/`` before any test
imports it. vitrina is reached only through its CLI, whose path comes from ``VITRINA_BIN``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
AIRFLOW_CLI = Path(sys.executable).with_name("airflow")
TIERS = ("unit", "integration", "e2e")
_HOME_KEY = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    home = Path(tempfile.mkdtemp(prefix="vitrina-airflow-home-"))
    config.stash[_HOME_KEY] = home
    for name in [n for n in os.environ if n.startswith("AIRFLOW_VAR_VITRINA_")]:
        del os.environ[name]  # tests set the Variables they need
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
    )
    sys.path.insert(0, str(DAGS))  # as the dag processor does for its bundle


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HOME_KEY, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test declares its tier, as in vitrina's own suite."""
    untiered = [item.nodeid for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(f"tests without a unit/integration/e2e marker: {untiered[:5]}")


@pytest.fixture(scope="session")
def dagbag() -> Any:
    """The repository's DAGs, parsed as the dag processor parses its bundle."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS)


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata DB in the throwaway AIRFLOW_HOME, created by `airflow db migrate`."""
    result = subprocess.run(
        [str(AIRFLOW_CLI), "db", "migrate"], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"`airflow db migrate` failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def vitrina_bin() -> str:
    """The real vitrina CLI (vitrina's venv), from ``VITRINA_BIN``; `make airflow-test` sets it."""
    configured = os.environ.get("VITRINA_BIN", "")
    found = shutil.which(configured) if configured else None
    if found is None:
        message = f"VITRINA_BIN={configured!r} is not an executable vitrina CLI"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(f"{message}; run `make airflow-test` or set VITRINA_BIN")
    return found
