"""Where the API's experiment configuration lives, for the steps that rewrite it.

``$VITRINA_HOME/serving/experiment.json`` is validated and served by
:mod:`vitrina.serving.experiment_config`; a canary step (a pipeline, which may not import
serving) rewrites one surface's entry here, atomically, then bumps the ``experiment``
reload counter so every API worker re-reads it within about a second
(:mod:`vitrina.adapters.reload_counters`). The API validates what it reads: an invalid file
serves no experiment, loudly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vitrina.adapters.reload_counters import bump_counter
from vitrina.core.artifacts.files import write_json_atomic

CONFIG_FILE = Path("serving") / "experiment.json"


def read_experiment_file(home: Path) -> dict[str, Any]:
    """The stored configuration as JSON (``{}`` when there is none or it does not parse)."""
    path = Path(home) / CONFIG_FILE
    if not path.exists():
        return {}
    try:
        payload = json.loads(path.read_text())
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def write_surface(home: Path, surface: str, experiment: Mapping[str, Any]) -> None:
    """Replace ``surface``'s experiment (the other surface's is kept) and tell the API."""
    if surface not in ("recs", "search"):
        raise ValueError(f"surface must be recs or search, got {surface!r}")
    payload = read_experiment_file(home)
    payload[surface] = dict(experiment)
    write_json_atomic(payload, str(Path(home) / CONFIG_FILE))
    bump_counter(Path(home), "experiment")
