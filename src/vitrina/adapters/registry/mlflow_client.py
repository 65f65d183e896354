"""Where MLflow lives for a vitrina home, and the one place that opens a client.

Default (``VITRINA_MLFLOW_URI`` unset): a SQLite store ``<home>/mlflow.db`` with artifacts
under ``<home>/mlartifacts/<experiment>/`` — ``mlflow ui --backend-store-uri
sqlite:///<home>/mlflow.db`` shows everything. Any other URI (an MLflow server, a
PostgreSQL-backed store) is used as is, with the server's own artifact store.
``VITRINA_MLFLOW_ARTIFACTS_URL`` (e.g. ``s3://bucket/mlflow``) puts the artifacts of the
experiments vitrina creates there instead, with either store.

MLflow is imported only inside :func:`mlflow_client` (nothing at import time); its usage
telemetry is switched off there unless the environment already says otherwise, because
vitrina runs offline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from vitrina.config import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

RECS_MODEL = "vitrina-recs"
SEARCH_MODEL = "vitrina-search"
MODELS = (RECS_MODEL, SEARCH_MODEL)
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"


def tracking_uri(settings: Settings) -> str:
    """``settings.mlflow_uri`` or the home's SQLite store (absolute path)."""
    if settings.mlflow_uri:
        return settings.mlflow_uri
    return f"sqlite:///{(Path(settings.home) / DB_FILE).resolve()}"


def _is_local_store(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def artifact_location(settings: Settings, experiment: str) -> str | None:
    """Artifact root of a new experiment: ``settings.mlflow_artifacts_url`` when set (an object
    store shared by every machine), else under the home for a local store, else the server's."""
    if settings.mlflow_artifacts_url:
        return f"{settings.mlflow_artifacts_url.rstrip('/')}/{experiment}"
    if not _is_local_store(tracking_uri(settings)):
        return None
    return (Path(settings.home) / ARTIFACTS_DIR / experiment).resolve().as_uri()


def mlflow_client(settings: Settings) -> MlflowClient:
    """A client bound to the home's tracking and registry store (created on first use)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = tracking_uri(settings)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: MlflowClient, settings: Settings, name: str) -> str:
    """The id of experiment ``name``, created (artifacts under the home) if absent."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(name, artifact_location=artifact_location(settings, name)))
