"""Admin changes reach every API worker process (``vitrina serve --workers N``).

An admin call lands on one worker: ``PUT /admin/experiment`` rewrites the experiment file,
``POST /admin/reload`` and promote / rollback reload what the registry aliases now name. That
worker applies the change, then bumps a counter in ``$VITRINA_HOME/serving/generation.json``
(``{"experiment": n, "models": m}``, incremented under an ``flock`` so concurrent admin calls
on two workers never lose a bump; :mod:`vitrina.adapters.reload_counters`, which batch jobs
bump too). Every worker reads the file once per second
(:meth:`Generations.follow`, a task on its event loop; a few microseconds) and, when a
counter differs from what it last applied, re-reads the experiment file or reloads — in the
threadpool, while the previous state keeps serving. So every worker serves the change within
about a second. A worker does not apply its own bump again, unless another worker's bump
came in between (then it applies both, which is harmless: both actions are idempotent).
API processes sharing a home on one machine (replicas) follow each other the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from vitrina.adapters.reload_counters import FILE, KINDS, Kind, bump_counter, read_counters

log = logging.getLogger(__name__)


class Generations:
    """This process's view of the counters under ``home`` (see the module docstring)."""

    def __init__(self, home: Path, interval_s: float = 1.0) -> None:
        self.home = home
        self.path = home / FILE
        self.interval_s = interval_s
        self._guard = threading.Lock()  # bump (threadpool) and pending (event loop) interleave
        self._applied = self.read()

    def read(self) -> dict[Kind, int]:
        """The counters on disk; zeros when the file is missing or unreadable."""
        return read_counters(self.home)

    def bump(self, kind: Kind) -> None:
        """Tell the other processes that this one changed ``kind`` (call after applying it)."""
        with self._guard:
            counters = bump_counter(self.home, kind)  # under the file's flock
            if counters[kind] == self._applied[kind] + 1:  # nobody else's change in between
                self._applied[kind] = counters[kind]

    def pending(self) -> set[Kind]:
        """The kinds another process changed since this one last applied them (now marked
        applied: the caller applies them)."""
        with self._guard:
            counters = self.read()
            moved = {kind for kind in KINDS if counters[kind] != self._applied[kind]}
            self._applied.update(counters)
        return moved

    async def follow(self, apply: Callable[[set[Kind]], Awaitable[None]]) -> None:
        """Forever: every ``interval_s``, ``apply`` the kinds other processes changed. A
        failure is logged and the loop goes on (the previous state keeps serving)."""
        while True:
            await asyncio.sleep(self.interval_s)
            moved = self.pending()
            if moved:
                log.info("following another worker's admin change: %s", ", ".join(sorted(moved)))
                try:
                    await apply(moved)
                except Exception:
                    log.exception("applying another worker's admin change failed")


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a :meth:`Generations.follow` task and wait for it to end."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
