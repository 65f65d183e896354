"""Search serves the index version its champion was built with (blue-green, docs/spec.md §4.7).

A registered ``vitrina-search`` bundle holds ``index_version.json`` naming the index version
built with it. Whenever the champion changes — a registration, a promotion, a rollback, from
a pipeline or from the API — :func:`serve_champion_index` moves the index pointer to that
version. It is an adapter, not a pipeline step, because the API's admin promote calls it
too: moving a pointer is a file rename, not batch work. :func:`serve_challenger_index` does
the same for the ``challenger`` alias with the challenger pointer: its index is loaded beside
the champion's for an experiment's challenger arm.
"""

from __future__ import annotations

import json
from pathlib import Path

from vitrina.adapters.models.index_versions import current_version, set_challenger, switch_to
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.adapters.registry.models import ModelNotFoundError, resolve
from vitrina.config import Settings

INDEX_FILE = "index_version.json"


def champion_index_version(settings: Settings, alias: str = "champion") -> str | None:
    """The index version the ``vitrina-search`` champion (or ``alias``) names (None without one)."""
    try:
        folder = Path(resolve(settings, SEARCH_MODEL, alias).path)
    except ModelNotFoundError:
        return None
    if not (folder / INDEX_FILE).is_file():  # a bundle registered without an index (older runs)
        return None
    payload = json.loads((folder / INDEX_FILE).read_text())
    return str(payload["index_version"])


def serve_champion_index(settings: Settings) -> str | None:
    """Switch the index pointer to the champion's version if it is not served already."""
    wanted = champion_index_version(settings)
    if wanted is not None and wanted != current_version(settings):
        switch_to(settings, wanted, reason=f"{SEARCH_MODEL} champion")
    return wanted


def serve_challenger_index(settings: Settings) -> str | None:
    """Point the challenger index at the version the ``vitrina-search`` challenger names
    (withdrawn when there is no challenger, or it names the current version)."""
    wanted = champion_index_version(settings, "challenger")
    if wanted == current_version(settings):
        wanted = None
    set_challenger(settings, wanted, reason=f"{SEARCH_MODEL} challenger")
    return wanted
