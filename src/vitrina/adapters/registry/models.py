"""Registered models ``vitrina-recs`` / ``vitrina-search`` in MLflow: register, resolve by
alias, promote, roll back, list (ADR-0004).

A version's source is the run's ``bundle`` artifact folder (every file the model needs, in
safe formats). Serving and batch inference call :func:`resolve` with an alias and get a
local folder: the artifact folder itself for a local store, otherwise a download cached
under ``<home>/cache/registry/<model>/v<N>/``.

Decisions (who becomes champion, what is recorded) are planned by
:mod:`vitrina.core.promotion.alias_plans`; this module reads the state and applies the plans. Every
applied plan writes tags on the versions involved and appends a history event as a
registered-model tag ``history.<NNNNN>`` (JSON), so the audit trail lives in MLflow.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vitrina.adapters.canary_state import registration_hold
from vitrina.adapters.registry.mlflow_client import mlflow_client, tracking_uri
from vitrina.config import Settings
from vitrina.core.promotion.alias_plans import (
    CHAMPION,
    PREVIOUS_TAG,
    AliasPlan,
    AliasState,
    plan_promotion,
    plan_registration,
    plan_rollback,
    plan_withdrawal,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

BUNDLE = "bundle"
HISTORY_PREFIX = "history."
COMPLETE_MARKER = ".complete"


class ModelNotFoundError(LookupError):
    """The registry has no such model, version or alias."""


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as listed: its aliases and tags (gate decision, lineage)."""

    model: str
    version: int
    run_id: str | None
    source: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    created: dt.datetime


@dataclass(frozen=True)
class ResolvedModel:
    """A version found by alias, with the local folder holding its bundle."""

    model: str
    alias: str
    version: int
    run_id: str | None
    path: Path
    tags: dict[str, str]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _missing(error: Exception) -> bool:
    return getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def _aliases(client: MlflowClient, model: str) -> dict[str, int]:
    from mlflow.exceptions import MlflowException

    try:
        registered = client.get_registered_model(model)
    except MlflowException as error:
        if _missing(error):
            return {}
        raise
    return {alias: int(version) for alias, version in registered.aliases.items()}


def _info(version: ModelVersion, aliases: dict[str, int]) -> VersionInfo:
    number = int(version.version)
    return VersionInfo(
        model=version.name,
        version=number,
        run_id=version.run_id,
        source=version.source or "",
        aliases=tuple(sorted(a for a, v in aliases.items() if v == number)),
        tags=dict(version.tags),
        created=dt.datetime.fromtimestamp(version.creation_timestamp / 1000, tz=dt.UTC),
    )


def alias_state(settings: Settings, model: str, client: MlflowClient | None = None) -> AliasState:
    """Aliases of ``model`` and the ``previous_champion`` chain from its champion (3 deep)."""
    client = client or mlflow_client(settings)
    aliases = _aliases(client, model)
    chain: dict[int, int] = {}
    current = aliases.get(CHAMPION)
    for _ in range(3):
        if current is None:
            break
        tag = client.get_model_version(model, str(current)).tags.get(PREVIOUS_TAG, "")
        if not tag:
            break
        chain[current] = int(tag)
        current = int(tag)
    return AliasState(aliases=aliases, previous_champion=chain)


def _apply(client: MlflowClient, model: str, state: AliasState, plan: AliasPlan) -> None:
    """Tags first (descriptive), then aliases with ``champion`` last, then the history event."""
    for version, tags in plan.version_tags.items():
        for key, value in tags.items():
            client.set_model_version_tag(model, str(version), key, value)
    for alias, version in sorted(plan.set_aliases.items(), key=lambda kv: kv[0] == CHAMPION):
        client.set_registered_model_alias(model, alias, str(version))
    for alias in plan.delete_aliases:
        if alias in state.aliases:
            client.delete_registered_model_alias(model, alias)
    existing = [k for k in client.get_registered_model(model).tags if k.startswith(HISTORY_PREFIX)]
    client.set_registered_model_tag(model, f"{HISTORY_PREFIX}{len(existing) + 1:05d}", json.dumps(plan.event))


def register_version(
    settings: Settings,
    model: str,
    run_id: str,
    *,
    tags: dict[str, str] | None = None,
    artifact_path: str = BUNDLE,
    reason: str = "gate passed",
) -> tuple[VersionInfo, AliasPlan]:
    """New version of ``model`` from run ``run_id``'s ``artifact_path`` folder; it becomes
    challenger (or champion when there is none) — unless a canary of the current challenger is
    running on the model's surface: then it is held without an alias, the reason tagged on it
    (ADR-0028). Returns the version and the applied plan (``plan.action == "hold"`` then)."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(settings)
    try:
        client.create_registered_model(model, description="vitrina model bundle (ADR-0004)")
    except MlflowException as error:
        if getattr(error, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise
    run = client.get_run(run_id)
    version = client.create_model_version(
        model, source=f"{run.info.artifact_uri}/{artifact_path}", run_id=run_id, tags=tags or {}
    )
    state = alias_state(settings, model, client)
    hold = registration_hold(settings, model)
    plan = plan_registration(state, int(version.version), now_iso(), reason, hold)
    _apply(client, model, state, plan)
    return _info(client.get_model_version(model, version.version), _aliases(client, model)), plan


def get_version(settings: Settings, model: str, alias: str) -> VersionInfo | None:
    """The version behind ``alias``, or None when the model or alias does not exist."""
    client = mlflow_client(settings)
    aliases = _aliases(client, model)
    if alias not in aliases:
        return None
    return _info(client.get_model_version(model, str(aliases[alias])), aliases)


def resolve(settings: Settings, model: str, alias: str = CHAMPION) -> ResolvedModel:
    """``models:/<model>@<alias>`` as a local folder; ModelNotFoundError if there is none."""
    import mlflow

    found = get_version(settings, model, alias)
    if found is None:
        raise ModelNotFoundError(
            f"{model} has no version with alias {alias!r}: run its pipeline so a version passes the gate"
        )
    if found.source.startswith("file:") or "://" not in found.source:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=found.source, tracking_uri=tracking_uri(settings)
        )
    else:
        cache = Path(settings.home) / "cache" / "registry" / model / f"v{found.version}"
        if not (cache / COMPLETE_MARKER).exists():
            cache.mkdir(parents=True, exist_ok=True)
            mlflow.artifacts.download_artifacts(
                artifact_uri=found.source, dst_path=str(cache), tracking_uri=tracking_uri(settings)
            )
            (cache / COMPLETE_MARKER).touch()
        local = str(cache / found.source.rstrip("/").rsplit("/", 1)[-1])
    return ResolvedModel(model, alias, found.version, found.run_id, Path(local), found.tags)


def promote(settings: Settings, model: str, reason: str, version: int | None = None) -> AliasPlan:
    """Move ``champion`` to the challenger (or ``version``); LifecycleError if not allowed."""
    client = mlflow_client(settings)
    state = alias_state(settings, model, client)
    plan = plan_promotion(state, reason, now_iso(), version)
    _apply(client, model, state, plan)
    return plan


def rollback(settings: Settings, model: str, reason: str) -> AliasPlan:
    """Move ``champion`` back to the previous champion; LifecycleError if there is none."""
    client = mlflow_client(settings)
    state = alias_state(settings, model, client)
    plan = plan_rollback(state, reason, now_iso())
    _apply(client, model, state, plan)
    return plan


def withdraw_challenger(settings: Settings, model: str, reason: str) -> AliasPlan:
    """Remove the ``challenger`` alias (a canary rolled it back); LifecycleError without one."""
    client = mlflow_client(settings)
    state = alias_state(settings, model, client)
    plan = plan_withdrawal(state, reason, now_iso())
    _apply(client, model, state, plan)
    return plan


def tag_version(settings: Settings, model: str, version: int, tags: dict[str, str]) -> None:
    """Write ``tags`` on one version of ``model`` (decisions recorded with their numbers)."""
    client = mlflow_client(settings)
    for key, value in tags.items():
        client.set_model_version_tag(model, str(version), key, value)


def list_versions(settings: Settings, model: str, limit: int = 50) -> list[VersionInfo]:
    """The newest ``limit`` versions of ``model`` (newest first); empty if it does not exist."""
    client = mlflow_client(settings)
    aliases = _aliases(client, model)
    if not aliases and not client.search_registered_models(filter_string=f"name='{model}'"):
        return []
    found = client.search_model_versions(f"name='{model}'", max_results=1000)
    infos = [_info(v, aliases) for v in found]
    return sorted(infos, key=lambda v: v.version, reverse=True)[:limit]


def history(settings: Settings, model: str) -> list[dict[str, Any]]:
    """Registration, promotion and rollback events of ``model``, oldest first."""
    client = mlflow_client(settings)
    if not client.search_registered_models(filter_string=f"name='{model}'"):
        return []
    tags = client.get_registered_model(model).tags
    return [json.loads(tags[key]) for key in sorted(k for k in tags if k.startswith(HISTORY_PREFIX))]
