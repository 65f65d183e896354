"""Run the queued batch jobs (:mod:`vitrina.adapters.jobs`) outside the API's request workers.

The API's admin promote / rollback of ``vitrina-recs`` switches the alias and queues a
``publish-recs`` job; this module executes it: every active user's TOP-K with the champion as
it is when the job runs (:func:`~vitrina.pipelines.recs.publish.publish_champion`), written
to the serving store and switched to atomically. Until then the previous batch keeps
serving; a failed job leaves it serving too, and the job says why.

* :func:`publish_pending` runs every queued ``publish-recs`` job once (the body of the
  runner's loop); :func:`publish_now` queues one (or joins the queued one) and runs it here
  (``vitrina models publish``).
* ``python -m vitrina.pipelines.jobs_runner --home H`` polls the queue until stopped and runs
  the waiting jobs in a child process (``--once``), so the loop stays small and outlives a job
  that dies; ``vitrina serve`` starts it beside the uvicorn workers and stops it on shutdown
  (SIGTERM: a job cut short goes back to the queue, and the next round starts it again).

A job runs under the home's run lock, like every pipeline: while ``vitrina train recs`` holds
it, the job waits in the queue (its progress says for whom). Runners claim only under the
lock, so the runner holding it may put back any job left ``running`` by a runner that died
(:meth:`~vitrina.adapters.jobs.JobQueue.recover`). After a successful publish the running API
processes are told to reload (:mod:`vitrina.adapters.reload_counters`), so the popularity
fallback and the model version they report follow the new batch within about a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from vitrina.adapters.home_lock import HomeLockedError, home_lock
from vitrina.adapters.jobs import PUBLISH_RECS, Job, JobQueue, JobStateError
from vitrina.adapters.reload_counters import bump_counter
from vitrina.config import Settings, get_settings

log = logging.getLogger(__name__)
MODULE = "vitrina.pipelines.jobs_runner"
POLL_SECONDS = 2.0
MAX_PAUSE_SECONDS = 60.0  # between rounds while job processes keep failing
STOP_SECONDS = 10.0  # a job process told to stop re-queues its job and exits at once


class NoChampionError(LookupError):
    """There is no ``vitrina-recs`` champion to publish."""


def runner_name() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _execute(settings: Settings, queue: JobQueue, job: Job) -> Job:
    """Run a claimed ``publish-recs`` job to done or failed. An interruption (SIGTERM,
    Ctrl-C) puts it back in the queue and propagates."""
    try:
        from vitrina.pipelines.recs.publish import publish_champion  # heavy: only when there is work

        batch = publish_champion(settings, on_step=lambda text: queue.report(job.id, text))
        if batch is None:
            raise NoChampionError("vitrina-recs has no champion to publish")
    except Exception as error:  # any failure is the job's, recorded; the runner goes on
        log.exception("job %s (%s) failed", job.id, job.kind)
        return queue.fail(job.id, f"{type(error).__name__}: {error}")
    except BaseException:
        queue.requeue(job.id, "queued again: the runner was stopped while publishing")
        raise
    result = {
        "store_version": batch.version,
        "model_version": batch.model_version,
        "users": batch.users_written,
        "recommendations": batch.recommendations,
        "seconds": round(batch.seconds, 3),
    }
    done = queue.finish(job.id, result, progress=batch.render())
    bump_counter(Path(settings.home), "models")  # the running API reloads the popular list
    log.info("job %s (%s) done: %s", job.id, job.kind, done.progress)
    return done


def publish_pending(settings: Settings, wait_seconds: float | None = None) -> list[Job]:
    """Run every queued ``publish-recs`` job (also those put back after their runner died),
    oldest first, including any queued meanwhile; the finished jobs, empty when there was
    nothing to do. Raises :class:`~vitrina.adapters.home_lock.HomeLockedError` when the home
    stays busy for ``wait_seconds`` (default: the settings')."""
    queue = JobQueue(settings.home)
    if not queue.waiting(PUBLISH_RECS):
        return []
    finished = []
    with home_lock(settings, command="vitrina publish job runner", wait_seconds=wait_seconds):
        queue.recover()
        while (job := queue.claim(runner_name(), kind=PUBLISH_RECS)) is not None:
            finished.append(_execute(settings, queue, job))
    return finished


def publish_now(settings: Settings, requested_by: str, reason: str = "") -> Job:
    """Queue a ``publish-recs`` job (or join the queued one) and run it here, under the home's
    run lock taken first: a busy home raises
    :class:`~vitrina.adapters.home_lock.HomeLockedError` with nothing written."""
    with home_lock(settings, command=requested_by):
        queue = JobQueue(settings.home)
        queue.recover()
        queued = queue.enqueue(PUBLISH_RECS, requested_by, reason)
        job = queue.claim(runner_name(), kind=PUBLISH_RECS, job_id=queued.job.id)
        if job is None:  # cannot happen under the lock: only a lock holder claims
            raise JobStateError(f"publish job {queued.job.id} could not be claimed")
        return _execute(settings, queue, job)


def _note_busy(settings: Settings, busy: HomeLockedError) -> None:
    JobQueue(settings.home).note_queued(
        PUBLISH_RECS, f"waiting for the home's run lock, held by {busy.holder}"
    )


def run_once(settings: Settings) -> list[Job]:
    """:func:`publish_pending` if the home is free now; otherwise note on the queued jobs who
    holds it (they run on a later round)."""
    try:
        return publish_pending(settings, wait_seconds=0)
    except HomeLockedError as busy:
        _note_busy(settings, busy)
        return []


def _home_is_free(settings: Settings) -> bool:
    """Whether the run lock can be taken now (taken and released at once): a job process is
    started only then, not every round of a long pipeline run. Otherwise the queued jobs say
    who holds it."""
    try:
        with home_lock(settings, command="vitrina job runner (checking the home)", wait_seconds=0):
            return True
    except HomeLockedError as busy:
        _note_busy(settings, busy)
        return False


def _in_child(settings: Settings) -> int:
    """One :func:`run_once` in a fresh interpreter; its exit code. A SIGTERM or Ctrl-C meant
    for this process stops the child first (it puts its job back in the queue)."""
    command = [sys.executable, "-m", MODULE, "--once", "--home", str(Path(settings.home).resolve())]
    child = subprocess.Popen(command)
    try:
        return child.wait()
    except BaseException:
        child.terminate()
        child.wait(timeout=STOP_SECONDS)
        raise


def run_forever(
    settings: Settings, poll_seconds: float = POLL_SECONDS, parent_pid: int | None = None
) -> None:
    """Every ``poll_seconds``, when a job waits: :func:`run_once` in a child process. The
    loop itself stays small (it imports no model code) and survives whatever kills a job's
    process (out of memory, a crash in native code): the next child finds the job left
    running and queues it again (:meth:`~vitrina.adapters.jobs.JobQueue.recover`). Returns
    when ``parent_pid`` is given and is no longer this process's parent (``vitrina serve``
    died without stopping it)."""
    queue = JobQueue(settings.home)
    pause = poll_seconds
    while parent_pid is None or os.getppid() == parent_pid:
        try:
            work = queue.waiting(PUBLISH_RECS) and _home_is_free(settings)
            code = _in_child(settings) if work else 0
        except sqlite3.Error:  # the queue is unreadable (disk full, …): try again later
            log.exception("the job runner could not read the job queue")
            code = 1
        if code != 0:
            log.error("the job process exited with %s; the next round picks its job up again", code)
        pause = poll_seconds if code == 0 else min(MAX_PAUSE_SECONDS, pause * 2)
        time.sleep(pause)
    log.warning("the job runner's parent (pid %s) is gone: stopping", parent_pid)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description="Run vitrina's queued batch jobs (re-publishing the recommendation lists) until stopped.",
    )
    parser.add_argument("--home", type=Path, help="The vitrina home (default: VITRINA_HOME).")
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS)
    parser.add_argument("--parent-pid", type=int, help="Stop when this process is no longer the parent.")
    parser.add_argument("--once", action="store_true", help="Run the pending jobs once, here, and exit.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _stop)
    settings = get_settings(**({"home": args.home} if args.home is not None else {}))
    try:
        if args.once:
            run_once(settings)
        else:
            log.info("job runner %s watching %s", runner_name(), settings.home)
            run_forever(settings, args.poll_seconds, args.parent_pid)
    except (KeyboardInterrupt, SystemExit):
        log.info("job runner %s stopped", runner_name())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
