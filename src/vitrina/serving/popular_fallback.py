"""The popularity list that answers when a user's own list cannot be served (docs/spec.md §6).

Loaded once at start-up (and on reload), held in memory, so it answers even when the store
is down. Sources, first that works:

1. the current store batch's fallback list (``RecsStore.popular()``) — then also saved as
   ``$VITRINA_HOME/serving/popular.json``, the snapshot for the next start;
2. that snapshot, when the store is unreachable;
3. popularity computed from the validated lake (:class:`~vitrina.core.recs.baselines.GlobalPopularity`,
   the same model the batch uses at the recency the recs champion's run chose — ``policy.json``
   ``sources``, docs/adr/0026 — servable products only; the tables read by
   :mod:`vitrina.adapters.lake.recs_tables`);
4. an empty list (nothing to recommend yet).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vitrina.adapters.stores.base import POPULAR_REASON, TOP_K, Recommendation, RecsStore
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic

if TYPE_CHECKING:  # the models load lazily, when the lake has to answer
    from vitrina.core.recs.policy import SourceSettings

log = logging.getLogger(__name__)

SNAPSHOT = Path("serving") / "popular.json"


@dataclass(frozen=True)
class PopularList:
    """``items`` best first; ``model_version`` names what computed them; ``source`` is one of
    store | snapshot | lake | none."""

    items: tuple[Recommendation, ...]
    model_version: str
    source: str


def _from_store(store: RecsStore) -> PopularList | None:
    record = store.popular()
    if record is None:
        return None
    return PopularList(record.items, record.model_version, "store")


def _save_snapshot(settings: Settings, popular: PopularList) -> None:
    payload = {
        "model_version": popular.model_version,
        "saved_at": dt.datetime.now(dt.UTC).isoformat(),
        "items": [list(item) for item in popular.items],
    }
    write_json_atomic(payload, str(settings.home / SNAPSHOT))


def _from_snapshot(settings: Settings) -> PopularList | None:
    path = settings.home / SNAPSHOT
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    items = tuple(Recommendation(str(p), float(s), str(r)) for p, s, r in payload["items"])
    return PopularList(items, str(payload["model_version"]), "snapshot")


def _chosen_sources(settings: Settings) -> SourceSettings:
    """The source settings of the recs champion (``policy.json``), so the lake's list ranks as
    the published popularity lists do; empty (the defaults) without a champion or a registry."""
    from vitrina.adapters.models.recs_bundle import chosen_sources
    from vitrina.adapters.registry.mlflow_client import RECS_MODEL
    from vitrina.adapters.registry.models import resolve

    try:
        return chosen_sources(resolve(settings, RECS_MODEL).path)
    except Exception as error:  # no champion yet, or the registry is down: the default recency
        log.info("popular list: no champion's popularity recency (%s); the default", error)
        return {}


def _from_lake(settings: Settings, k: int) -> PopularList | None:
    from vitrina.adapters.lake.recs_tables import read_recs_data
    from vitrina.core.recs.policy import FILL, make_source

    data = read_recs_data(settings)
    if len(data.users) == 0 or len(data.items) == 0:
        return None
    model = make_source(FILL, _chosen_sources(settings)).fit(data, data.interactions)
    rows, scores = model.recommend(np.zeros(1, dtype=np.int64), k, ~data.servable)
    keep = rows[0] >= 0
    items = tuple(
        Recommendation(str(data.items.ids[row]), float(score), POPULAR_REASON)
        for row, score in zip(rows[0][keep], scores[0][keep], strict=True)
    )
    return PopularList(items, "popularity-lake", "lake")


def load_popular(settings: Settings, store: RecsStore | None, k: int = TOP_K) -> PopularList:
    """The fallback list from the first source that works (see the module docstring)."""
    if store is not None:
        try:
            found = _from_store(store)
        except Exception as error:
            log.warning("popular list: the store failed (%s); trying the snapshot", error)
        else:
            if found is not None:
                _save_snapshot(settings, found)
                return found
    sources: list[Callable[[], PopularList | None]] = [
        partial(_from_snapshot, settings),
        partial(_from_lake, settings, k),
    ]
    for source in sources:
        try:
            found = source()
        except Exception as error:
            log.warning("popular list: a source failed (%s)", error)
            continue
        if found is not None:
            return found
    return PopularList((), "none", "none")
