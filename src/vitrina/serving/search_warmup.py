"""Warm the search result cache after an index version loads (SPEC §4.7).

The version's most searched queries (``SearchEngine.frequent_queries``, from its signals)
run through the cached front in a background thread, so the head of the traffic hits the
cache from the first minutes, and this process's query-embedding cache is warm too. Serving
does not wait: a request that comes first is answered as usual, and a query another worker
already warmed is a cache hit here. Loading a newer version stops the previous warm-up.
``/ready`` shows the progress.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from vitrina.search.cached import CachedSearch

log = logging.getLogger(__name__)


class SearchWarmUp:
    """One warm-up of ``queries`` (at most ``limit``) through ``cached``, page size ``k``."""

    def __init__(self, cached: CachedSearch, queries: Sequence[str], *, limit: int, k: int = 20) -> None:
        self.cached = cached
        self.queries = list(queries)[: max(limit, 0)]
        self.k = k
        self.done = 0
        self.computed = 0
        self.seconds = 0.0
        self.error: str | None = None
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vitrina-search-warmup", daemon=True)

    def start(self) -> SearchWarmUp:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to stop after its current query (does not wait)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the warm-up has ended (finished, stopped or failed)."""
        return self._finished.wait(timeout)

    def describe(self) -> str:
        index = self.cached.engine.index_version
        progress = f"{self.done}/{len(self.queries)} queries of {index}, {self.computed} computed"
        if self.error is not None:
            return f"failed after {progress}: {self.error}"
        if not self._finished.is_set():
            return f"running: {progress}"
        ended = "stopped" if self._stop.is_set() and self.done < len(self.queries) else "done"
        return f"{ended}: {progress} in {self.seconds:.1f} s"

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            for query in self.queries:
                if self._stop.is_set():
                    break
                self.computed += not self.cached.search(query, k=self.k).cached
                self.done += 1
        except Exception as error:  # a closed engine on shutdown, a cache outage: serving goes on
            self.error = f"{type(error).__name__}: {error}"
            log.warning("search cache warm-up ended early: %s", self.error)
        finally:
            self.seconds = time.perf_counter() - started
            self._finished.set()
        if self.error is None:
            log.info("search cache warm-up: %s", self.describe())
