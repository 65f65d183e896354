"""How `make test` shares the suite between two pytest-xdist workers (`-n 2 --dist loadfile`).

Integration and end-to-end tests share real services (PostgreSQL, Redis, ports, a Prometheus
and a Pushgateway) and session fixtures that take minutes to build (`served_home`): they all
form one unit of work, so one worker runs them one after the other, in collection order, as a
plain sequential run would. Unit tests (no I/O beyond tmp_path) keep `loadfile`'s unit, their
module, so a module-scoped fixture is still built once; the other worker takes them as they
come while the first one works through the services. The end-to-end tests, which measure
latencies and timeouts of a running service, come last (tests/conftest.py orders them so in
every worker): by then the unit tests are done and no longer compete for the cores.

When a worker has finished every test it will ever get while another still works (the
integration sequence is the longest unit of work), its core is idle until the end of the run.
With ``VITRINA_TEST_IDLE_FILE`` set, the scheduler creates that file at that moment: `make test`
waits for it to start the runs that follow the main suite (the quality tests on other world
ends, the Airflow tests) on the idle core instead of after the last integration test.

The grouping is by path, not by xdist_group marks: with pytest 9 the marks no longer reach
xdist 3.8's scheduler (it renames ``item._nodeid``, which pytest 9 no longer reads).
"""

from __future__ import annotations

import os
from pathlib import Path

from xdist.scheduler import LoadFileScheduling

SEQUENTIAL_DIRS = ("tests/integration/", "tests/e2e/")
SEQUENTIAL_SCOPE = "integration-and-e2e"
IDLE_FILE_ENV = "VITRINA_TEST_IDLE_FILE"


class ServicesInOneWorker(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
    """`loadfile`, except that every integration and end-to-end module is one unit of work."""

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith(SEQUENTIAL_DIRS):
            return SEQUENTIAL_SCOPE
        return str(super()._split_scope(nodeid))

    def mark_test_complete(self, node: object, item_index: int, duration: float = 0) -> None:
        super().mark_test_complete(node, item_index, duration)
        idle_file = os.environ.get(IDLE_FILE_ENV)
        if idle_file and self._first_worker_done(node):
            Path(idle_file).touch()

    def _first_worker_done(self, node: object) -> bool:
        """Whether ``node`` has no test left and will get none, while another worker still has."""
        if self.workqueue or self._pending_of(self.assigned_work[node]):
            return False
        return any(self._pending_of(work) for other, work in self.assigned_work.items() if other is not node)
