"""Where a canary's state lives, and whether one is running on a model's surface.

The canary step (:mod:`vitrina.pipelines.canary`) writes ``$lake/state/canary/<surface>.json``;
registration reads it too: while a canary of a ``vitrina-<surface>`` challenger runs, a newly
registered version must not take the ``challenger`` alias from the version under canary
(ADR-0028), nor from a search challenger being interleaved with the champion (ADR-0036), so
:func:`registration_hold` says why it is held.
"""

from __future__ import annotations

from vitrina.adapters.interleave_state import running_interleave
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json
from vitrina.core.experiments.canary import CanaryState

MODELS = {"recs": RECS_MODEL, "search": SEARCH_MODEL}
"""The registered model each canary surface serves."""


def state_url(settings: Settings, surface: str) -> str:
    return f"{LakePaths(settings.lake).layer('state')}/canary/{surface}.json"


def load_canary(settings: Settings, surface: str) -> CanaryState | None:
    """The surface's last canary (running or ended), or None when it never had one."""
    payload = read_json(state_url(settings, surface))
    return None if payload is None else CanaryState.from_dict(payload)


def registration_hold(settings: Settings, model: str) -> str | None:
    """Why a new version of ``model`` must not become challenger now (a canary of the current
    challenger is running on its surface), or None when nothing holds it."""
    for surface, served in MODELS.items():
        if served != model:
            continue
        state = load_canary(settings, surface)
        if state is not None and state.status == "running":
            return f"a canary of {state.challenger} is running on {surface} at {state.share:g} %"
    interleaving = running_interleave(settings) if model == SEARCH_MODEL else None
    if interleaving is not None:
        return f"{interleaving['challenger']} is being interleaved with the champion on search"
    return None
