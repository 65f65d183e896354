"""Redis dies under load, the API does not: a private ``redis-server`` holds the serving store
(the champion's batch published into it by the pipeline's publish step) and the search result
cache; the real uvicorn serves the app; threads keep requesting /recs and /search while the
test shuts Redis down (``SHUTDOWN NOSAVE``). Every request must get a 2xx, every /recs answer
sent after the stop must be the popularity fallback, flagged, and the fallback counter in
/metrics must have counted each of them.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import redis
import uvicorn
from support.ports import free_port

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import get_settings
from vitrina.pipelines.recs.publish import publish_champion
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

THREADS = 6
BEFORE_S = 1.5  # load before the stop
AFTER_S = 3.0  # load after it
QUERIES = ("zapatillas", "celular samsung", "celuar samsng", "audifonos inalambricos")


@pytest.fixture
def redis_port(tmp_path: Path) -> Iterator[int]:
    """A redis-server of this test's own (no persistence), killed afterwards if still up."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(message)
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port, socket_connect_timeout=1)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail(f"redis-server did not start on port {port}")
        yield port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@dataclass(frozen=True)
class Answer:
    path: str
    sent: float  # perf_counter when the request was sent
    status: int  # 0: no HTTP answer
    body: dict[str, object]
    error: str = ""


def _load(port: int, paths: list[str], offset: int, stop: threading.Event, out: list[Answer]) -> None:
    """Request ``paths`` round robin on one keep-alive connection until ``stop``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    i = offset
    while not stop.is_set():
        path = paths[i % len(paths)]
        i += 1
        sent = time.perf_counter()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            out.append(Answer(path, sent, response.status, json.loads(response.read())))
        except (OSError, http.client.HTTPException, ValueError) as error:
            out.append(Answer(path, sent, 0, {}, repr(error)))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.close()


def _shutdown(port: int) -> None:
    """``SHUTDOWN NOSAVE`` on a raw socket (redis-py's ``shutdown`` retries the dropped
    connection for seconds before it returns)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"SHUTDOWN NOSAVE\r\n")
        assert conn.recv(64) == b"", "redis-server did not exit"


def _fallbacks(port: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    lines = [x for x in text.splitlines() if x.startswith("vitrina_fallbacks_total{")]
    return sum(float(x.rsplit(" ", 1)[1]) for x in lines if 'reason="store_unavailable"' in x)


def test_redis_store_stopped_mid_load_degrades_to_popularity(
    tmp_path: Path, served_home: Path, redis_port: int
) -> None:
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home, store_url=f"redis://127.0.0.1:{redis_port}/0")
    assert publish_champion(settings) is not None, "no champion to publish"
    audit = list_parquet_files(LakePaths(settings.lake), "predictions", "recs")[-1]
    users = sorted(set(pq.read_table(audit, columns=["user_id"]).column("user_id").to_pylist()))[:50]
    searches = [f"/search?{urllib.parse.urlencode({'q': q})}" for q in QUERIES]
    paths = [p for pair in zip([f"/recs/{u}" for u in users], searches * 13, strict=False) for p in pair]

    api_port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=api_port, log_level="warning")
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            assert serving.is_alive(), "the API exited while starting"
            assert time.monotonic() < deadline, "the API did not start in 120 s"
            time.sleep(0.05)
        assert _fallbacks(api_port) == 0

        answers: list[Answer] = []
        stop = threading.Event()
        workers = [
            threading.Thread(target=_load, args=(api_port, paths, 7 * n, stop, answers))
            for n in range(THREADS)
        ]
        for worker in workers:
            worker.start()
        time.sleep(BEFORE_S)
        stopping = time.perf_counter()
        _shutdown(redis_port)  # returns once redis-server has closed its sockets
        stopped = time.perf_counter()  # a request sent before this may still be served by Redis
        time.sleep(AFTER_S)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        counted = _fallbacks(api_port)
    finally:
        server.should_exit = True
        serving.join(timeout=30)

    failed = [a for a in answers if not 200 <= a.status < 300]
    assert not failed, f"{len(failed)} of {len(answers)} requests failed, e.g. {failed[:3]}"
    recs = [a for a in answers if a.path.startswith("/recs/")]
    before = [a for a in recs if a.sent < stopping]
    after = [a for a in recs if a.sent > stopped]
    assert before
    assert after
    assert any(a.path.startswith("/search") and a.sent > stopped for a in answers)
    assert not any(a.body["fallback"] for a in before[: len(before) // 2]), "served lists before the stop"
    served = [round(a.sent - stopped, 4) for a in after if not a.body["fallback"]]
    assert not served, f"{len(served)} of {len(after)} /recs after the stop got lists, at (s): {served[:5]}"
    assert all(a.body["fallback_reason"] == "store_unavailable" for a in after)
    assert all(len(a.body["items"]) == 20 for a in after)  # type: ignore[arg-type]
    flagged = sum(a.body["fallback_reason"] == "store_unavailable" for a in recs)
    assert counted == flagged >= len(after)
