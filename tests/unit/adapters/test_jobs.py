"""The durable job queue on a real SQLite file: queued jobs coalesce, a job is claimed once
however many processes race for it, every transition is guarded by the state it leaves, a
failure keeps its reason, and a runner killed mid-job leaves a job that the next lock holder
puts back in the queue (and fails once it has killed its runners too often)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vitrina.adapters.home_lock import home_lock
from vitrina.adapters.jobs import MAX_ATTEMPTS, PUBLISH_RECS, JobQueue, JobStateError

pytestmark = pytest.mark.unit


def test_a_job_is_queued_and_a_second_request_joins_it_until_it_starts(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path)
    first = queue.enqueue(PUBLISH_RECS, "API POST /admin/promote/vitrina-recs", "better ndcg")
    assert not first.joined
    assert (first.job.state, first.job.attempts, first.job.reason) == ("queued", 0, "better ndcg")
    again = queue.enqueue(PUBLISH_RECS, "API POST /admin/rollback/vitrina-recs")
    assert again.joined
    assert again.job.id == first.job.id
    assert queue.enqueue("other-kind", "test").job.id != first.job.id

    claimed = queue.claim("runner-1", kind=PUBLISH_RECS)
    assert claimed is not None
    assert claimed.id == first.job.id
    assert (claimed.state, claimed.attempts, claimed.runner) == ("running", 1, "runner-1")
    after_start = queue.enqueue(PUBLISH_RECS, "API POST /admin/promote/vitrina-recs")
    assert not after_start.joined  # the running one may have read the old champion already


def _claim(home: str, start: multiprocessing.synchronize.Event, results: multiprocessing.Queue[int]) -> None:
    start.wait()
    job = JobQueue(home).claim(f"pid {os.getpid()}", kind=PUBLISH_RECS)
    results.put(-1 if job is None else job.id)


def test_a_job_is_claimed_by_exactly_one_of_racing_processes(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path)
    job = queue.enqueue(PUBLISH_RECS, "test").job
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    racers = [context.Process(target=_claim, args=(str(tmp_path), start, results)) for _ in range(6)]
    for racer in racers:
        racer.start()
    start.set()
    claims = sorted(results.get(timeout=60) for _ in racers)
    for racer in racers:
        racer.join(timeout=60)
    assert claims == [-1] * 5 + [job.id]
    stored = queue.get(job.id)
    assert stored is not None
    assert (stored.state, stored.attempts) == ("running", 1)


def test_transitions_are_guarded_and_a_failure_keeps_its_reason(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path)
    job = queue.enqueue(PUBLISH_RECS, "test").job
    with pytest.raises(JobStateError, match="is queued: it cannot become done"):
        queue.finish(job.id, {})
    queue.claim("runner", job_id=job.id)
    queue.report(job.id, "scoring every active user")
    failed = queue.fail(job.id, "IncompatibleBundleError: trained on other users")
    assert (failed.state, failed.error) == ("failed", "IncompatibleBundleError: trained on other users")
    assert failed.progress == "scoring every active user"  # where it stopped
    assert failed.finished_at is not None
    with pytest.raises(JobStateError, match="is failed: it cannot become done"):
        queue.finish(job.id, {"users": 1})
    queue.report(job.id, "too late")  # a finished job keeps its last words
    assert queue.get(job.id).progress == "scoring every active user"  # type: ignore[union-attr]
    with pytest.raises(JobStateError, match="there is no job 999"):
        queue.fail(999, "nothing")
    assert queue.claim("runner", kind=PUBLISH_RECS) is None


def test_a_finished_job_and_its_result_survive_reopening(tmp_path: Path) -> None:
    job = JobQueue(tmp_path).enqueue(PUBLISH_RECS, "test").job
    JobQueue(tmp_path).claim("runner", kind=PUBLISH_RECS)
    JobQueue(tmp_path).finish(job.id, {"store_version": "20250101T000000", "users": 3}, "published")
    reopened = JobQueue(tmp_path)
    done = reopened.get(job.id)
    assert done is not None
    assert (done.state, done.progress, done.result) == (
        "done",
        "published",
        {"store_version": "20250101T000000", "users": 3},
    )
    assert [j.id for j in reopened.recent(5)] == [job.id]
    assert reopened.latest(PUBLISH_RECS) == done
    assert not reopened.waiting(PUBLISH_RECS)


def test_readers_of_a_home_without_jobs_create_nothing(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path)
    assert (queue.get(1), queue.recent(), queue.latest(PUBLISH_RECS), queue.waiting(PUBLISH_RECS)) == (
        None,
        [],
        None,
        False,
    )
    assert queue.recover() == []
    assert not queue.path.exists()


CLAIM_AND_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from vitrina.adapters.home_lock import home_lock
    from vitrina.adapters.jobs import JobQueue, PUBLISH_RECS
    with home_lock(sys.argv[1]):
        queue = JobQueue(sys.argv[1])
        job = queue.claim(f"pid {os.getpid()}", kind=PUBLISH_RECS)
        queue.report(job.id, "scoring every active user")
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _runner_killed_mid_job(home: Path) -> None:
    killed = subprocess.run([sys.executable, "-c", CLAIM_AND_DIE, str(home)], check=False, timeout=120)
    assert killed.returncode == -signal.SIGKILL


def test_a_job_whose_runner_was_killed_is_queued_again_then_failed(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path)
    job = queue.enqueue(PUBLISH_RECS, "test").job
    for attempt in range(1, MAX_ATTEMPTS + 1):
        _runner_killed_mid_job(tmp_path)
        orphan = queue.get(job.id)
        assert orphan is not None
        assert (orphan.state, orphan.attempts) == ("running", attempt)
        assert queue.waiting(PUBLISH_RECS)  # a runner must look at it
        with home_lock(tmp_path):  # the lock's holder knows no live runner has it
            (recovered,) = queue.recover()
        if attempt < MAX_ATTEMPTS:
            assert recovered.state == "queued"
            assert (
                recovered.progress
                == f"queued again: its runner ({orphan.runner}) stopped during attempt {attempt}"
            )
    assert recovered.state == "failed"
    assert recovered.error is not None
    assert f"stopped during attempt {MAX_ATTEMPTS}, the last allowed" in recovered.error
    assert "last progress: scoring every active user" in recovered.error
    assert not queue.waiting(PUBLISH_RECS)
