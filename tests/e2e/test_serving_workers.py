"""``vitrina serve --workers 2`` as deployed: real processes on a copy of the served ci home.

Both workers answer (a new request id starts with its worker's random prefix, so the ids
tell the workers apart without any debug endpoint); an experiment put through the admin API
on one worker is served by every worker within 2 s; ``/metrics``, answered by either worker,
counts every request of both.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support.ports import free_port

import vitrina
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import get_settings
from vitrina.serving.experiment_config import RecsExperiment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

KEY = "workers-admin-key"
RECS = 'vitrina_http_requests_total{method="GET",route="/recs/{user_id}",status="200"}'


@dataclass(frozen=True)
class Reply:
    status: int
    worker: str  # the first 16 hex characters of a generated request id
    arm: str
    body: bytes


def _get(port: int, path: str, method: str = "GET", body: dict[str, object] | None = None) -> Reply:
    """One request on a new connection (so the kernel may hand it to either worker)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"X-API-Key": KEY, "Content-Type": "application/json"}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        data = response.read()
        worker = (response.getheader("x-request-id") or "")[:16]
        return Reply(response.status, worker, response.getheader("x-experiment-arm") or "", data)
    finally:
        conn.close()


def _many(port: int, paths: list[str]) -> list[Reply]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda path: _get(port, path), paths))


def _from_both(port: int, paths: list[str], rounds: int = 5) -> list[tuple[str, Reply]]:
    """``paths`` sent concurrently on new connections, round after round, until both workers
    answered some (the kernel hands a connection to whichever worker accepts first: one busy
    with its start-up warm-up can miss a whole round); ``(path, reply)`` of every round."""
    out: list[tuple[str, Reply]] = []
    for _ in range(rounds):
        out += zip(paths, _many(port, paths), strict=True)
        if len({r.worker for _, r in out}) == 2:
            return out
    raise AssertionError(f"one worker answered all {len(out)} requests of {rounds} rounds")


def _recs_total(port: int) -> float:
    lines = _get(port, "/metrics").body.decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(RECS))


@pytest.fixture
def api(tmp_path: Path, served_home: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    port = free_port()
    source = str(Path(vitrina.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
        "VITRINA_ADMIN_API_KEY": KEY,
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "vitrina.cli.main", "serve", "--home", str(home), "--port", str(port)]
    command += ["--workers", "2", "--log-level", "warning"]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        workers: set[str] = set()
        while len(workers) < 2:  # both workers started: each answered /health once
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the workers did not both start in 300 s"
            try:
                reply = _get(port, "/health")
            except OSError:
                time.sleep(0.5)
                continue
            workers.add(reply.worker)
        yield port, home
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_two_workers_answer_follow_an_experiment_and_count_every_request(api: tuple[int, Path]) -> None:
    port, home = api
    audit = list_parquet_files(LakePaths(get_settings(home=home).lake), "predictions", "recs")[-1]
    users = sorted(set(pq.read_table(audit, columns=["user_id"]).column("user_id").to_pylist()))[:80]
    before = _recs_total(port)

    paths = [f"/recs/{u}" for u in users * 3]
    served = [reply for _, reply in _from_both(port, paths)]
    assert {r.status for r in served} == {200}
    assert {r.arm for r in served} == {"champion"}

    experiment = {"enabled": True, "name": "workers", "salt": "w1", "champion_weight": 50.0}
    experiment["challenger_weight"] = 50.0
    put = _get(port, "/admin/experiment", "PUT", {"recs": experiment})
    assert put.status == 200, put.body
    time.sleep(2.0)  # every worker checks for admin changes once per second
    expected = RecsExperiment.model_validate(experiment)
    answered = _from_both(port, paths)  # every worker answers: each must have followed the change
    after = [reply for _, reply in answered]
    assert {r.status for r in after} == {200}
    wrong = [(p, r.worker, r.arm) for p, r in answered if r.arm != expected.arm(p.removeprefix("/recs/"))]
    assert not wrong, f"{len(wrong)} answers without the new assignment, e.g. {wrong[:3]}"
    assert {r.arm for r in after} == {"champion", "challenger"}

    assert _recs_total(port) - before == len(served) + len(after)
    assert b'vitrina_model_info{alias="champion",model="recs"' in _get(port, "/metrics").body
