"""How evaluation reports are written, for every pipeline alike.

``$lake/reports/<kind>/<run_id>/`` holds one run's files; ``reports/<kind>/latest/`` a copy of
the newest (where they live and how they are read: :mod:`vitrina.adapters.reports`). Each file
is written atomically, the run's folder first, so ``latest`` never shows numbers that are not
also stored under their run id.
"""

from __future__ import annotations

from typing import Any

from vitrina.adapters.reports import LATEST, report_folder
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_json_atomic, write_text_atomic


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
