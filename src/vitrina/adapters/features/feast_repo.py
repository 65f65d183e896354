"""Feast holds the feature definitions for training (point-in-time joins) and serving.

The repository lives in ``$VITRINA_HOME/feast/``: a ``feature_store.yaml`` written from
:class:`~vitrina.config.Settings` (provider ``local``; offline store ``duckdb`` over the
Parquet frames of :mod:`vitrina.adapters.features.offline`; online store SQLite in the repository
folder, or Redis when ``settings.store_url`` is ``redis://…``) and a file registry. The
Feast objects are generated from :mod:`vitrina.adapters.features.definitions` — one entity per key
column, one FeatureView per frame with ``as_of`` as its event timestamp — and applied
programmatically, so there is no second, hand-written copy of the feature list.

Typical use::

    write_frames(LakePaths(settings.lake), compute_features(settings, cutoffs))
    store = open_store(settings)                           # writes the yaml, applies
    train = historical_features(store, entity_df)          # as-of join for training
    store.materialize(start, end)                          # latest values → online store
    online_features(store, [{"user_id": "u1"}], ["user"])  # serving

Point-in-time semantics: for an entity row at time ``T`` Feast takes the frame row with the
latest ``as_of ≤ T`` and ``T − as_of ≤ ttl``; since a row as of ``as_of`` only uses events
before ``as_of``, nothing at or after ``T`` leaks into a training example.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import yaml

from vitrina.adapters.features.definitions import ENTITY_KEYS, FRAMES, FeatureFrame
from vitrina.adapters.features.offline import frame_glob
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import filesystem

DEFAULT_PROJECT = "vitrina"
DEFAULT_TTL = dt.timedelta(days=2)
"""A frame row older than this (relative to the entity row's timestamp) is not used."""
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def repo_path(settings: Settings) -> Path:
    return settings.home / "feast"


def redis_connection_string(url: str) -> str:
    """Feast's Redis ``connection_string`` (``host:port,db=N[,password=…][,ssl=true]``) from a URL."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        raise ValueError(f"not a redis:// URL: {url!r}")
    parts = [f"{parsed.hostname or '127.0.0.1'}:{parsed.port or 6379}"]
    db = parsed.path.strip("/")
    parts.append(f"db={db or 0}")
    if parsed.password:
        parts.append(f"password={parsed.password}")
    if parsed.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


def repo_config(settings: Settings, project: str = DEFAULT_PROJECT) -> dict[str, Any]:
    """The content of ``feature_store.yaml`` for these settings."""
    if not _PROJECT_NAME.match(project):
        raise ValueError(f"Feast project names are letters, digits and underscores, got {project!r}")
    folder = repo_path(settings)
    online: dict[str, Any]
    if settings.store_url and settings.store_url.startswith(("redis://", "rediss://")):
        online = {"type": "redis", "connection_string": redis_connection_string(settings.store_url)}
    else:
        online = {"type": "sqlite", "path": str(folder / "online.db")}
    return {
        "project": project,
        "provider": "local",
        "registry": str(folder / "registry.db"),
        "offline_store": {"type": "duckdb"},
        "online_store": online,
        "entity_key_serialization_version": 3,
    }


def write_repo_config(settings: Settings, project: str = DEFAULT_PROJECT) -> Path:
    """Write ``$VITRINA_HOME/feast/feature_store.yaml``; returns the repository folder.

    The offline store reads the lake with DuckDB, so the lake must be a local folder here.
    """
    fs, _ = filesystem(settings.lake)
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if not protocols & {"file", "local"}:
        raise ValueError(f"the Feast repository needs a local lake, got {settings.lake!r}")
    folder = repo_path(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feature_store.yaml").write_text(
        yaml.safe_dump(repo_config(settings, project), sort_keys=False)
    )
    return folder


def feast_objects(
    settings: Settings, frames: Iterable[str] | None = None, ttl: dt.timedelta = DEFAULT_TTL
) -> list[Any]:
    """Entities and one FeatureView per frame, generated from the definitions."""
    from feast import Entity, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64, String

    types = {"float64": Float64, "int64": Int64, "string": String}
    entities = {
        name: Entity(name=name, join_keys=[key], value_type=ValueType.STRING, description=f"{key} of vitrina")
        for name, key in ENTITY_KEYS.items()
    }
    lake = LakePaths(settings.lake)
    chosen: list[FeatureFrame] = [FRAMES[name] for name in (frames or FRAMES)]
    views = [
        FeatureView(
            name=frame.name,
            entities=[entities[e] for e in frame.entities],
            ttl=ttl,
            schema=[Field(name=k, dtype=String) for k in frame.keys]
            + [Field(name=f.name, dtype=types[f.dtype], description=f.description) for f in frame.features],
            source=FileSource(
                name=f"{frame.name}_source",
                path=str(Path(frame_glob(lake, frame.name))),
                timestamp_field="as_of",
            ),
            online=True,
            description=frame.description,
        )
        for frame in chosen
    ]
    used = {e for frame in chosen for e in frame.entities}
    return [entities[name] for name in sorted(used)] + views


def open_store(
    settings: Settings,
    project: str = DEFAULT_PROJECT,
    frames: Iterable[str] | None = None,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> Any:
    """Write the repository config, ``apply`` the objects, return the ``FeatureStore``."""
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(write_repo_config(settings, project)))
    store.apply(feast_objects(settings, frames, ttl))
    return store


def feature_refs(frames: Iterable[str]) -> list[str]:
    """``view:feature`` references of every feature of ``frames``."""
    return [f"{name}:{feature}" for name in frames for feature in FRAMES[name].feature_names]


def historical_features(
    store: Any,
    entity_df: pd.DataFrame,
    frames: Sequence[str] = ("user", "item"),
    timestamp_column: str = "event_timestamp",
) -> pd.DataFrame:
    """Point-in-time join: ``entity_df`` (join keys of ``frames`` + ``timestamp_column``, UTC)
    with each frame's latest row at or before that timestamp (within the TTL).

    Raises ValueError when a needed key or the timestamp column is missing, or the
    timestamps are naive (they would be read in the machine's time zone).
    """
    keys = {k for name in frames for k in FRAMES[name].keys}
    missing = sorted((keys | {timestamp_column}) - set(entity_df.columns))
    if missing:
        raise ValueError(f"entity_df lacks columns {missing}")
    stamps = pd.to_datetime(entity_df[timestamp_column])
    if stamps.dt.tz is None:
        raise ValueError(f"{timestamp_column} must be time-zone aware (UTC)")
    entity_df = entity_df.assign(**{timestamp_column: stamps.dt.tz_convert("UTC").dt.as_unit("us")})
    if timestamp_column != "event_timestamp":
        entity_df = entity_df.rename(columns={timestamp_column: "event_timestamp"})
    job = store.get_historical_features(entity_df=entity_df, features=feature_refs(frames))
    result: pd.DataFrame = job.to_df()
    if timestamp_column != "event_timestamp":
        result = result.rename(columns={"event_timestamp": timestamp_column})
    return result


def online_features(
    store: Any, entity_rows: Sequence[Mapping[str, str]], frames: Sequence[str]
) -> pd.DataFrame:
    """The latest materialised values of ``frames`` for ``entity_rows`` (serving path)."""
    response = store.get_online_features(features=feature_refs(frames), entity_rows=list(entity_rows))
    frame: pd.DataFrame = response.to_df()
    return frame
