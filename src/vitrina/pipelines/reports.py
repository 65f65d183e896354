"""Where evaluation reports live and how they are written, for every pipeline alike.

``$lake/reports/<kind>/<run_id>/`` holds one run's files; ``reports/<kind>/latest/`` a copy of
the newest. Each file is written atomically, the run's folder first, so ``latest`` never shows
numbers that are not also stored under their run id.
"""

from __future__ import annotations

import re
from typing import Any

from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic, write_text_atomic

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
LATEST = "latest"


def report_folder(settings: Settings, kind: str, run_id: str) -> str:
    """Folder of one run's report of ``kind`` (``recs``, ``search``, ``drift``);
    ``run_id`` may be ``latest``."""
    for label, value in (("kind", kind), ("run_id", run_id)):
        if not _RUN_ID.match(value):
            raise ValueError(f"{label} must be letters, digits, '.', '_' or '-' (no '/'), got {value!r}")
    return f"{LakePaths(settings.lake).layer('reports')}/{kind}/{run_id}"


def write_report(settings: Settings, kind: str, run_id: str, payload: Any, markdown: str) -> str:
    """Write ``metrics.json`` and ``metrics.md`` for ``run_id`` and copy both to ``latest``;
    returns the run's folder URL."""
    if run_id == LATEST:
        raise ValueError("run_id 'latest' is reserved for the copy of the newest report")
    folder = report_folder(settings, kind, run_id)
    for target in (folder, report_folder(settings, kind, LATEST)):
        write_json_atomic(payload, f"{target}/metrics.json")
        write_text_atomic(markdown, f"{target}/metrics.md")
    return folder
