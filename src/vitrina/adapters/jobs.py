"""A durable queue of batch jobs under the home: ``<home>/jobs/jobs.sqlite3``.

The API must answer in milliseconds, and re-publishing every active user's list after a
promotion takes minutes of CPU: the API records a job here and answers 202 with its id; a
runner process outside the request workers (``python -m vitrina.pipelines.jobs_runner``,
started by ``vitrina serve``) executes it. Anyone can read a job's state, progress, times
and error (``GET /admin/jobs/{id}``, the console's Modelos page).

One row per job, in one of four states::

    queued ──claim──▶ running ──finish──▶ done
       ▲                 │  └────fail───▶ failed
       └──requeue/recover┘

Why SQLite, and what makes it crash-safe:

* every transition is one ``BEGIN IMMEDIATE`` transaction guarded by the state it leaves
  (``… WHERE state = 'queued'``), so two runners never claim the same job and a job is never
  finished twice; SQLite's locks are released by the kernel when a process dies, and a
  transaction interrupted by ``kill -9`` leaves the previous state (WAL, ``synchronous=FULL``);
* a runner dying *between* transitions leaves its job ``running``. Runners claim only while
  holding the home's run lock (:mod:`vitrina.adapters.home_lock`) and finish before releasing
  it, so whoever holds the lock and still finds a ``running`` job knows its runner is gone:
  :meth:`JobQueue.recover` puts it back in the queue (or fails it after ``max_attempts``).

A connection is opened per operation: jobs change a few times a minute at most, and no
connection is then shared between threads or kept open across a ``fork``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from vitrina.adapters.sqlite_wal import open_wal

DATABASE = Path("jobs") / "jobs.sqlite3"
BUSY_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 3
PUBLISH_RECS = "publish-recs"
"""Re-publish every active user's list with the ``vitrina-recs`` champion as it is when the job runs."""

State = Literal["queued", "running", "done", "failed"]
STATES: tuple[State, ...] = ("queued", "running", "done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    requested_by TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '',
    error TEXT,
    result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    runner TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, kind, id);
"""


class JobStateError(RuntimeError):
    """A transition the job's current state does not allow (claimed elsewhere, already done…)."""


@dataclass(frozen=True)
class Job:
    """One job as recorded; times are ISO 8601 UTC strings."""

    id: int
    kind: str
    state: State
    requested_by: str
    reason: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    progress: str
    error: str | None
    attempts: int
    runner: str | None
    result: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Enqueued:
    """What :meth:`JobQueue.enqueue` did: ``joined`` when an already queued job of the same
    kind will do the work (it has not started, so it will see the state this request made)."""

    job: Job
    joined: bool


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _job(row: sqlite3.Row) -> Job:
    values = dict(row)
    values["result"] = json.loads(values["result"]) if values["result"] else {}
    return Job(**values)


class JobQueue:
    """The jobs of one home (see the module docstring)."""

    def __init__(self, home: Path | str) -> None:
        self.path = Path(home) / DATABASE

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = open_wal(
            self.path, timeout_s=BUSY_TIMEOUT_S, synchronous="FULL", schema=_SCHEMA, check_same_thread=True
        )
        try:
            conn.row_factory = sqlite3.Row
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: the write lock from the first read, so
        a read-then-update is atomic across processes); rolled back on any error."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _get(conn: sqlite3.Connection, job_id: int) -> Job | None:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def _updated(self, conn: sqlite3.Connection, job_id: int) -> Job:
        job = self._get(conn, job_id)
        assert job is not None  # updated in this transaction
        return job

    def enqueue(self, kind: str, requested_by: str, reason: str = "") -> Enqueued:
        """A new queued job of ``kind``, or the one already queued (not started) of that kind."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT * FROM jobs WHERE state = 'queued' AND kind = ? ORDER BY id LIMIT 1", (kind,)
            ).fetchone()
            if row is not None:
                return Enqueued(_job(row), joined=True)
            at = now_iso()
            cursor = conn.execute(
                "INSERT INTO jobs (kind, state, requested_by, reason, created_at, updated_at, progress) "
                "VALUES (?, 'queued', ?, ?, ?, ?, 'waiting for the job runner')",
                (kind, requested_by, reason, at, at),
            )
            assert cursor.lastrowid is not None
            return Enqueued(self._updated(conn, cursor.lastrowid), joined=False)

    def claim(self, runner: str, *, kind: str | None = None, job_id: int | None = None) -> Job | None:
        """Queued → running for the oldest queued job (of ``kind``, or job ``job_id``); None
        when there is none. Call while holding the home's run lock (see :meth:`recover`)."""
        query, args = "SELECT id FROM jobs WHERE state = 'queued'", list[object]()
        if kind is not None:
            query, args = query + " AND kind = ?", [*args, kind]
        if job_id is not None:
            query, args = query + " AND id = ?", [*args, job_id]
        with self._write() as conn:
            row = conn.execute(query + " ORDER BY id LIMIT 1", args).fetchone()
            if row is None:
                return None
            at = now_iso()
            conn.execute(
                "UPDATE jobs SET state = 'running', started_at = ?, updated_at = ?, finished_at = NULL, "
                "attempts = attempts + 1, runner = ?, progress = 'started', error = NULL WHERE id = ?",
                (at, at, runner, row["id"]),
            )
            return self._updated(conn, row["id"])

    def report(self, job_id: int, progress: str) -> None:
        """What a queued or running job is doing now (a finished job keeps its last words)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET progress = ?, updated_at = ? "
                "WHERE id = ? AND state IN ('queued', 'running')",
                (progress, now_iso(), job_id),
            )

    def note_queued(self, kind: str, progress: str) -> None:
        """Why the queued jobs of ``kind`` have not started (the home is busy, …)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET progress = ?, updated_at = ? WHERE state = 'queued' AND kind = ?",
                (progress, now_iso(), kind),
            )

    def _leave(
        self, job_id: int, source: tuple[State, ...], target: State, assignments: str, args: tuple[Any, ...]
    ) -> Job:
        marks = ", ".join("?" for _ in source)
        with self._write() as conn:
            updated = conn.execute(
                f"UPDATE jobs SET state = ?, updated_at = ?, {assignments} "
                f"WHERE id = ? AND state IN ({marks})",
                (target, now_iso(), *args, job_id, *source),
            ).rowcount
            job = self._get(conn, job_id)
        if job is None:
            raise JobStateError(f"there is no job {job_id}")
        if not updated:
            raise JobStateError(f"job {job_id} is {job.state}: it cannot become {target}")
        return job

    def finish(self, job_id: int, result: dict[str, Any], progress: str = "done") -> Job:
        """Running → done, with what it produced (JSON-serialisable)."""
        return self._leave(
            job_id, ("running",), "done", "finished_at = ?, result = ?, progress = ?",
            (now_iso(), json.dumps(result), progress),
        )  # fmt: skip

    def fail(self, job_id: int, error: str) -> Job:
        """Queued or running → failed, with the reason (the progress says where it stopped)."""
        return self._leave(
            job_id, ("queued", "running"), "failed", "finished_at = ?, error = ?", (now_iso(), error)
        )

    def requeue(self, job_id: int, note: str) -> Job:
        """Running → queued again (its runner was stopped before finishing)."""
        return self._leave(job_id, ("running",), "queued", "started_at = NULL, progress = ?", (note,))

    def recover(self, max_attempts: int = MAX_ATTEMPTS) -> list[Job]:
        """Put the jobs whose runner is gone back in the queue; fail those that were already
        started ``max_attempts`` times (a job that kills its runner must not loop forever).

        Only correct while holding the home's run lock: runners claim and finish under it, so
        then no live process is running any job and every ``running`` one is an orphan."""
        if not self.path.exists():
            return []
        with self._connect() as conn:
            orphans = [_job(row) for row in conn.execute("SELECT * FROM jobs WHERE state = 'running'")]
        recovered = []
        for job in orphans:
            stopped = f"its runner ({job.runner}) stopped during attempt {job.attempts}"
            if job.attempts >= max_attempts:
                last = f"{stopped}, the last allowed; last progress: {job.progress}"
                recovered.append(self.fail(job.id, last))
            else:
                recovered.append(self.requeue(job.id, f"queued again: {stopped}"))
        return recovered

    def get(self, job_id: int) -> Job | None:
        if not self.path.exists():  # readers never create the database
            return None
        with self._connect() as conn:
            return self._get(conn, job_id)

    def recent(self, limit: int = 20, kind: str | None = None) -> list[Job]:
        """The newest ``limit`` jobs (of ``kind``), newest first."""
        query, args = "SELECT * FROM jobs", list[object]()
        if kind is not None:
            query, args = query + " WHERE kind = ?", [kind]
        if not self.path.exists():
            return []
        with self._connect() as conn:
            return [_job(row) for row in conn.execute(query + " ORDER BY id DESC LIMIT ?", [*args, limit])]

    def latest(self, kind: str) -> Job | None:
        found = self.recent(1, kind)
        return found[0] if found else None

    def waiting(self, kind: str) -> bool:
        """Whether a job of ``kind`` is queued, or left running (a live runner's, or an orphan)."""
        if not self.path.exists():
            return False
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM jobs WHERE kind = ? AND state IN ('queued', 'running') LIMIT 1", (kind,)
            ).fetchone()
        return row is not None
