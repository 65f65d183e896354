"""Keep the search result cache warm with the index version's most searched queries (docs/spec.md §4.7).

The version's most searched queries (``SearchEngine.frequent_queries``, from its signals)
run through the cached front in a background thread right after the version loads, so the
head of the traffic hits the cache from the first minutes (and this process's
query-embedding cache is warm too). Cached pages live ``search_cache_ttl_minutes``, so the
thread runs the list again every TTL: a pass recomputes what expired and finds the rest
cached. Serving does not wait: a request that comes first is answered as usual. Worker
processes on one home share the result cache, so they take turns through a lock file: the
one that gets it runs the pass, the others skip it (a pass costs seconds of CPU per 1,000
queries, which N workers would otherwise spend N times). Loading a newer version stops the
older thread. ``/ready`` shows the progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.serving.api_models import DEFAULT_K

log = logging.getLogger(__name__)


class SearchWarmUp:
    """Passes over ``queries`` (at most ``limit``) through ``cached``, page size ``k``, one
    every ``every_s`` seconds until stopped; with a ``lock`` file, only when no other process
    holds it."""

    def __init__(
        self,
        cached: CachedSearch,
        queries: Sequence[str],
        *,
        limit: int,
        every_s: float,
        k: int = DEFAULT_K,  # the page /search serves by default: the one worth caching
        lock: Path | None = None,
    ) -> None:
        self.cached = cached
        self.lock = lock
        self.peer_warms = False  # another process held the lock at the latest turn
        self.queries = list(queries)[: max(limit, 0)]
        self.every_s = every_s
        self.k = k
        self.passes = 0  # started so far
        self.done = 0  # queries of the current (or last) pass
        self.computed = 0  # of which were not in the cache
        self.seconds = 0.0  # of the last finished pass
        self.error: str | None = None
        self._stop = threading.Event()
        self._first_pass = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vitrina-search-warmup", daemon=True)

    def start(self) -> SearchWarmUp:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the thread to stop after its current query (does not wait)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the first pass has ended (finished, stopped or failed)."""
        return self._first_pass.wait(timeout)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def describe(self) -> str:
        index = self.cached.engine.index_version
        progress = f"{self.done}/{len(self.queries)} queries of {index}, {self.computed} computed"
        if self.error is not None:
            return f"failed in pass {self.passes} after {progress}: {self.error}"
        if not self._first_pass.is_set():
            return f"running: {progress}"
        if self._stop.is_set():
            return f"stopped in pass {self.passes}: {progress}"
        if self.peer_warms:
            return f"another worker warms the shared cache ({len(self.queries)} queries of {index})"
        if self.done < len(self.queries):
            return f"refreshing (pass {self.passes}): {progress}"
        again = f"pass {self.passes}, again every {self.every_s:.0f} s"
        return f"done: {progress} in {self.seconds:.1f} s ({again})"

    def _run(self) -> None:
        while not self._stop.is_set() and self.error is None:
            with self._turn() as mine:
                self.peer_warms = not mine
                if mine:
                    self._pass()
            self._first_pass.set()
            if self._stop.wait(self.every_s):
                break

    @contextlib.contextmanager
    def _turn(self) -> Iterator[bool]:
        """True while this process holds the lock (always, without a lock file)."""
        if self.lock is None:
            yield True
            return
        self.lock.parent.mkdir(parents=True, exist_ok=True)
        with self.lock.open("a") as handle:  # the lock goes with the file's closing
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    def _pass(self) -> None:
        started = time.perf_counter()
        self.done = self.computed = 0
        self.passes += 1  # after the reset: a reader never sees a new pass with the old counts
        try:
            for query in self.queries:
                if self._stop.is_set():
                    return
                self.computed += not self.cached.search(query, k=self.k).cached
                self.done += 1
        except Exception as error:  # a closed engine on shutdown, a cache outage: serving goes on
            self.error = f"{type(error).__name__}: {error}"
            log.warning("search cache warm-up ended early: %s", self.error)
            return
        self.seconds = time.perf_counter() - started
        log.info("search cache warm-up: %s", self.describe())
