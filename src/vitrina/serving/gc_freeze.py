"""Keep the loaded models out of the cyclic garbage collector's way.

The API holds a few hundred thousand long-lived Python objects (the search engine's
vocabularies and dictionaries, the imported libraries, the console's MLflow and DuckDB
clients). CPython's full (generation 2) collection walks all of them: measured ≈ 100 ms on
the ci home after start-up and ≈ 200 ms once the console has warmed up, a pause of the whole
event loop every few seconds under load — the p99 of ``/recs``. :func:`settle` collects once
and then moves every object alive into the permanent generation (``gc.freeze``), which the
collector no longer walks; objects created afterwards (per request) are collected as usual.
Called when the loaded state changes: after start-up, after the console's warm-up, after a
reload (which first un-freezes, so the replaced models' cycles are collected, not kept).
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle() -> None:
    """Collect everything, then freeze what is left (see the module docstring)."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    log.debug(
        "heap settled: %d objects frozen in %.0f ms",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
