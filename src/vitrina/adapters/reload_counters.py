"""The counters that tell API processes to re-read what changed: ``<home>/serving/generation.json``.

``{"experiment": n, "models": m}``: whoever changes the experiment file or what the models
serve bumps a counter; every API worker polls the file and applies a counter that moved
(:mod:`vitrina.serving.reload_signal`). The file lives here, below serving, because batch
processes bump it too: the job runner re-publishes the recommendation lists and then tells
the running API to reload, without importing the API.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Literal

Kind = Literal["experiment", "models"]
KINDS: tuple[Kind, ...] = ("experiment", "models")
FILE = Path("serving") / "generation.json"
LOCK = Path("serving") / ".generation.lock"


def read_counters(home: Path) -> dict[Kind, int]:
    """The counters on disk; zeros when the file is missing or unreadable."""
    try:
        data = json.loads((home / FILE).read_text())
    except (OSError, ValueError):
        data = {}
    return {kind: int(data.get(kind, 0)) if isinstance(data, dict) else 0 for kind in KINDS}


def bump_counter(home: Path, kind: Kind) -> dict[Kind, int]:
    """Add one to ``kind`` under an ``flock`` (concurrent bumps never lose one); the counters
    as written."""
    (home / FILE).parent.mkdir(parents=True, exist_ok=True)
    with (home / LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        counters = read_counters(home)
        counters[kind] += 1
        _replace(home / FILE, json.dumps(counters, sort_keys=True))
    return counters


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a sibling file renamed over it: readers polling
    the file see the old counters or the new ones). Local on purpose: the job runner imports
    this module while idle, and the lake's I/O module would bring pandas and pyarrow along."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
