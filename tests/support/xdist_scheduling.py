"""How `make test` shares the suite between two pytest-xdist workers (`-n 2 --dist loadfile`).

Integration and end-to-end tests share real services (PostgreSQL, Redis, ports, a Prometheus
and a Pushgateway) and session fixtures that take minutes to build (`served_home`): they all
form one unit of work, so one worker runs them one after the other, in collection order, as a
plain sequential run would. Unit tests (no I/O beyond tmp_path) keep `loadfile`'s unit, their
module, so a module-scoped fixture is still built once; the other worker takes them as they
come while the first one works through the services. The end-to-end tests, which measure
latencies and timeouts of a running service, come last (tests/conftest.py orders them so in
every worker): by then the unit tests are done and no longer compete for the cores.

The grouping is by path, not by xdist_group marks: with pytest 9 the marks no longer reach
xdist 3.8's scheduler (it renames ``item._nodeid``, which pytest 9 no longer reads).
"""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

SEQUENTIAL_DIRS = ("tests/integration/", "tests/e2e/")
SEQUENTIAL_SCOPE = "integration-and-e2e"


class ServicesInOneWorker(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
    """`loadfile`, except that every integration and end-to-end module is one unit of work."""

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith(SEQUENTIAL_DIRS):
            return SEQUENTIAL_SCOPE
        return str(super()._split_scope(nodeid))
