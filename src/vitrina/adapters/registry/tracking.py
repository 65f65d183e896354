"""One MLflow run per pipeline run: params, metrics, reports, the model bundle, the input
datasets with their content hashes, and the lineage tags of docs/spec.md §5.1.

Metric names: ``metrics.json``'s nesting flattened with ``/`` and ``@k`` spelled ``_at_k``
(MLflow allows neither ``@`` nor ``.`` semantics in the UI grouping), for example
``models/full/ndcg_at_10``; the headline metrics (what the gate reads) sit at the top level.

Tags on every run: ``git_sha`` (``unknown`` outside a git checkout), ``git_dirty``,
``train_date``, ``dataset_version`` (a hash of the input tables' digests),
``pipeline_run_id``. The gate's decision is added by :func:`record_gate`: tags
``gate.passed`` / ``gate.summary`` / ``gate.<check>``, params ``gate.<threshold>``, metrics
``gate/<check>`` and a ``gate.json`` artifact.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vitrina.adapters.lake.digest import TableDigest, dataset_version
from vitrina.adapters.registry.mlflow_client import experiment_id, mlflow_client
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem
from vitrina.core.promotion.gate import GateDecision

if TYPE_CHECKING:
    from mlflow.entities import Dataset

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. :/]")
MAX_TAG = 5000
MAX_PARAM = 6000
MAX_DIGEST = 32  # MLflow keeps ≤ 36 characters; the full SHA-256 is in the profile


@dataclass(frozen=True)
class RunRecord:
    """Everything one pipeline run logs. ``artifacts`` maps an artifact folder name to a
    local path or lake URL (a folder is copied whole, a file as is)."""

    experiment: str
    run_name: str
    train_date: dt.date
    params: Mapping[str, object] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    headline: Mapping[str, float] = field(default_factory=dict)
    datasets: Sequence[TableDigest] = field(default_factory=tuple)
    artifacts: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrackedRun:
    """The MLflow run a pipeline run was logged as."""

    run_id: str
    experiment_id: str
    artifact_uri: str
    tags: dict[str, str]

    @property
    def dataset_version(self) -> str:
        return self.tags["dataset_version"]


@dataclass(frozen=True)
class RunSummary:
    """A past run as ``vitrina models list`` lists it: when, gate outcome, registered version."""

    run_id: str
    run_name: str
    started: dt.datetime
    gate: str
    ndcg: float | None
    version: str | None


def metric_key(name: str) -> str:
    """An MLflow-safe metric name: ``ndcg@10`` → ``ndcg_at_10``; any other character MLflow
    refuses (accents, ``+``, …) becomes ``_``."""
    return _UNSAFE.sub("_", name.replace("@", "_at_"))


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested mapping of numbers → ``{"a/b/c": value}``; None, NaN and non-numbers are left out."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{metric_key(str(key))}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, f"{name}/"))
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            flat[name] = float(value)
    return flat


def git_sha(path: Path | None = None) -> tuple[str, bool]:
    """(commit SHA, has uncommitted changes) of the checkout holding ``path`` (default: this
    package's source); ``("unknown", False)`` outside a git checkout or without git."""
    where = path or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    return sha or "unknown", bool(status.strip())


def _dataset_entity(digest: TableDigest) -> Dataset:
    """An MLflow dataset record: the table's URL as source (typed ``local`` or by URL scheme,
    as MLflow's artifact sources are), its content hash as digest (the first 128 bits; all of
    it in the profile), its shape as profile."""
    from mlflow.entities import Dataset

    scheme = urlsplit(digest.url).scheme
    return Dataset(
        name=digest.name,
        digest=digest.digest[:MAX_DIGEST],
        source_type="local" if scheme in ("", "file") else scheme,
        source=json.dumps({"uri": digest.url}),
        profile=json.dumps(
            {
                "sha256": digest.digest,
                "num_rows": digest.rows,
                "num_files": digest.files,
                "columns": list(digest.columns),
            }
        ),
    )


@contextmanager
def local_copy(url: str) -> Iterator[Path]:
    """``url`` as a local path: itself when local, else a temporary download (file or folder)."""
    fs, path = filesystem(url)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in ("file", "local"):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="vitrina-artifact-") as tmp:
        target = Path(tmp) / path.rstrip("/").rsplit("/", 1)[-1]
        fs.get(path, str(target), recursive=fs.isdir(path))
        yield target


def track_run(settings: Settings, record: RunRecord) -> TrackedRun:
    """Create and fill the MLflow run of ``record``; the run is left FINISHED (the gate and
    model card are added to it afterwards). A failure marks the run FAILED and re-raises."""
    from mlflow.entities import DatasetInput, InputTag, Metric, Param

    client = mlflow_client(settings)
    exp = experiment_id(client, settings, record.experiment)
    sha, dirty = git_sha()
    tags = {
        "git_sha": sha,
        "git_dirty": str(dirty).lower(),
        "train_date": record.train_date.isoformat(),
        "pipeline_run_id": record.run_name,
        **({"dataset_version": dataset_version(record.datasets)} if record.datasets else {}),
        **record.tags,
    }
    tags.setdefault("dataset_version", "unknown")
    run = client.create_run(
        exp, run_name=record.run_name, tags={k: str(v)[:MAX_TAG] for k, v in tags.items()}
    )
    run_id = run.info.run_id
    try:
        when = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        values = {**flatten_metrics(record.metrics), **{metric_key(k): v for k, v in record.headline.items()}}
        metrics = [Metric(k, v, when, 0) for k, v in values.items() if math.isfinite(v)]
        params = [Param(k, str(v)[:MAX_PARAM]) for k, v in record.params.items()]
        for start in range(0, len(metrics), 1000):  # MLflow's per-call limits
            client.log_batch(run_id, metrics=metrics[start : start + 1000])
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start : start + 100])
        if record.datasets:
            context = InputTag("mlflow.data.context", "training")
            client.log_inputs(run_id, [DatasetInput(_dataset_entity(d), [context]) for d in record.datasets])
            client.log_dict(run_id, {"tables": [d.to_dict() for d in record.datasets]}, "datasets.json")
        log_artifacts(settings, run_id, record.artifacts)
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return TrackedRun(run_id, exp, run.info.artifact_uri, tags)


def record_gate(settings: Settings, run_id: str, decision: GateDecision) -> None:
    """Write the gate's decision, thresholds and numbers on the run (see module docstring)."""
    from mlflow.entities import Metric, Param, RunTag

    client = mlflow_client(settings)
    when = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    payload = decision.to_dict()
    client.log_batch(
        run_id,
        metrics=[Metric(f"gate/{c.name}", c.value, when, 0) for c in decision.checks if c.value is not None],
        params=[Param(f"gate.{k}", str(v)) for k, v in payload["thresholds"].items()],
        tags=[
            RunTag("gate.passed", str(decision.passed).lower()),
            RunTag("gate.summary", decision.summary()[:MAX_TAG]),
            *(RunTag(f"gate.{c.name}", c.status) for c in decision.checks),
        ],
    )
    client.log_dict(run_id, payload, "gate.json")


def tag_run(settings: Settings, run_id: str, tags: Mapping[str, str]) -> None:
    """Add tags to a finished run (e.g. the registered version)."""
    from mlflow.entities import RunTag

    mlflow_client(settings).log_batch(run_id, tags=[RunTag(k, str(v)[:MAX_TAG]) for k, v in tags.items()])


def log_artifacts(settings: Settings, run_id: str, artifacts: Mapping[str, str]) -> None:
    """Copy each local path or lake URL of ``artifacts`` (folder name → source) to the run:
    a folder whole, a file as is."""
    client = mlflow_client(settings)
    for name, url in artifacts.items():
        with local_copy(url) as local:
            if local.is_dir():
                client.log_artifacts(run_id, str(local), name)
            elif local.is_file():
                client.log_artifact(run_id, str(local), name)
            else:
                raise FileNotFoundError(f"artifact {name!r}: nothing at {url}")


def log_artifact_files(settings: Settings, run_id: str, files: Sequence[Path], folder: str) -> None:
    """Attach local files (model card, plots) to the run under ``folder``."""
    client = mlflow_client(settings)
    for path in files:
        client.log_artifact(run_id, str(path), folder)


def recent_runs(settings: Settings, experiment: str, limit: int = 10) -> list[RunSummary]:
    """The newest runs of ``experiment`` with their gate outcome, newest first."""
    client = mlflow_client(settings)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
    )
    return [
        RunSummary(
            run_id=r.info.run_id,
            run_name=r.info.run_name or "",
            started=dt.datetime.fromtimestamp(r.info.start_time / 1000, tz=dt.UTC),
            gate=r.data.tags.get("gate.summary", "not gated"),
            ndcg=r.data.metrics.get("ndcg_at_10"),
            version=r.data.tags.get("registered_version"),
        )
        for r in runs
    ]


def record_canary(
    settings: Settings, run_id: str, look: int, numbers: Mapping[str, float], tags: Mapping[str, str]
) -> None:
    """A canary decision on the challenger's training run: its numbers as metrics
    ``canary/<name>`` at step ``look`` (one point per decision, so MLflow charts the rollout)
    and its verdict as tags."""
    from mlflow.entities import Metric, RunTag

    when = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    metrics = [
        Metric(f"canary/{metric_key(name)}", float(value), when, look)
        for name, value in numbers.items()
        if math.isfinite(float(value))
    ]
    mlflow_client(settings).log_batch(
        run_id, metrics=metrics, tags=[RunTag(k, str(v)[:MAX_TAG]) for k, v in tags.items()]
    )
