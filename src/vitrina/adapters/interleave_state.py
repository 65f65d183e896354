"""Where the live interleaving of two search versions keeps its state (docs/adr/0036).

:mod:`vitrina.pipelines.search.interleave` writes ``$lake/state/interleave/search.json``: the
champion and challenger versions it compares, its experiment, its status (``running``,
``promoted``, ``withdrawn``, ``stale``) and every look's verdict. Registration reads it too:
while it runs, a newly registered search version must not take the ``challenger`` alias from
the version being interleaved (:func:`vitrina.adapters.canary_state.registration_hold`), or
every retrain would end the comparison before it could conclude.
"""

from __future__ import annotations

from typing import Any

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json

RUNNING = "running"


def interleave_url(settings: Settings) -> str:
    return f"{LakePaths(settings.lake).layer('state')}/interleave/search.json"


def load_interleave(settings: Settings) -> dict[str, Any] | None:
    """The last interleaving of search versions (running or ended), or None when none ever ran."""
    payload = read_json(interleave_url(settings))
    return dict(payload) if isinstance(payload, dict) else None


def running_interleave(settings: Settings) -> dict[str, Any] | None:
    """The running interleaving's state, or None."""
    state = load_interleave(settings)
    return state if state is not None and state.get("status") == RUNNING else None
