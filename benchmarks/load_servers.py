"""The processes the load benchmark starts and owns: a private ``redis-server`` and the API.

Both listen on a free loopback port and are stopped on exit (the API with SIGTERM, Redis with
``SHUTDOWN NOSAVE`` unless the benchmark already stopped it). :func:`copy_batch_to_redis`
puts the home's published SQLite batch into Redis record for record through the store API,
under the same version name and model version, so both stores serve the same lists.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil
import pyarrow.parquet as pq
import redis

import vitrina
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import open_result_cache, open_store
from vitrina.config import get_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on a free port, no persistence, data in ``folder``."""

    def __init__(self, folder: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (Debian: apt-get install redis-server)")
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self._process = subprocess.Popen(
            command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def shutdown(self) -> None:
        """``SHUTDOWN NOSAVE``: the server exits at once and its connections drop. Sent on a raw
        socket: redis-py's ``shutdown`` retries the closed connection for seconds first."""
        if self._process.poll() is not None:
            return
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 2) as conn:
            conn.sendall(b"SHUTDOWN NOSAVE\r\n")
            conn.recv(64)  # b"": the server closed the connection as it exited
        self._process.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        try:
            self.shutdown()
        finally:
            if self._process.poll() is None:
                self._process.kill()


class ApiServer:
    """``vitrina serve --workers N`` on ``home`` with extra environment ``env``, as a subprocess
    on a free port; entering waits until ``/ready`` answered 200 from every worker (a new
    request id starts with its worker's random prefix). Its output goes to ``log``."""

    def __init__(
        self, home: Path, env: dict[str, str], log: Path, workers: int = 1, ready_timeout_s: float = 600
    ):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        source = str(Path(vitrina.__file__).resolve().parents[1])  # this checkout's sources first
        child_env = {
            **os.environ,
            **env,
            "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
            "HF_HUB_OFFLINE": "1",
        }
        command = [sys.executable, "-m", "vitrina.cli.main", "serve", "--home", str(home)]
        command += ["--port", str(self.port), "--log-level", "warning", "--workers", str(workers)]
        self.workers = workers
        self._out = log.open("w")
        self._process = subprocess.Popen(command, env=child_env, stdout=self._out, stderr=subprocess.STDOUT)
        self._ready_timeout_s = ready_timeout_s

    def _get(self, path: str) -> tuple[int, str, str]:
        """Status, body and the worker's request-id prefix (one new connection per call)."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as response:
                worker = (response.headers.get("x-request-id") or "")[:16]
                return response.status, response.read().decode(), worker
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), ""

    def held_connections(self) -> int:
        """Established client connections on this server's port, over its whole process tree
        (one process with ``--workers 1``; else :meth:`connections_per_worker` splits them)."""
        root = psutil.Process(self._process.pid)
        held = 0
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                held += sum(
                    1
                    for c in process.net_connections(kind="tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port
                )
        return held

    def ready_components(self) -> dict[str, str]:
        """``/ready``'s components, as one worker reports them."""
        components: dict[str, str] = json.loads(self._get("/ready")[1])["components"]
        return components

    def connections_per_worker(self) -> list[int]:
        """Established client connections each worker process holds, busiest first: the kernel
        hands a new connection to whichever worker accepts first, so a few connections can all
        land on one worker while the other idles (the split explains a cell's spread)."""
        counts = []
        for worker in psutil.Process(self._process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                held = worker.net_connections(kind="tcp")
                counts.append(
                    sum(1 for c in held if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == self.port)
                )
        return sorted((c for c in counts if c), reverse=True)

    @property
    def pid(self) -> int:
        """The ``vitrina serve`` process (its workers, if any, are its children)."""
        return self._process.pid

    def metrics(self) -> str:
        """``/metrics``: summed over the workers by whichever answers."""
        return self._get("/metrics")[1]

    def __enter__(self) -> Self:
        deadline = time.monotonic() + self._ready_timeout_s
        ready: set[str] = set()
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = self.log.read_text()[-3000:]
                raise RuntimeError(f"the API exited ({self._process.returncode}):\n{tail}")
            try:
                status, body, worker = self._get("/ready")
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
                continue
            if status != 200:
                raise RuntimeError(f"the API is up but not ready: {body}")
            ready.add(worker)
            if len(ready) >= self.workers:
                self._wait_quiet(deadline)
                return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the API did not get ready in {self._ready_timeout_s:.0f} s")

    def _wait_quiet(self, deadline: float, share: float = 0.2) -> None:
        """Wait (until ``deadline``) for the server's processes to use less than ``share`` of a
        core over a second: once ready, each worker still warms the console's caches and
        settles its heap in the background (seconds of CPU), which the first cells would
        otherwise measure."""
        root = psutil.Process(self._process.pid)

        def cpu_seconds() -> float:
            total = 0.0
            for process in (root, *root.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    total += times.user + times.system
            return total

        before = cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = cpu_seconds()
            if now - before < share:
                return
            before = now

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._out.close()


_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` in a Prometheus text exposition whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None or match["name"] != name:
            continue
        found = dict(_LABEL.findall(match["labels"] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match["value"])
    return total


def clear_search_cache(home: Path, store_url: str | None) -> int:
    """Empty the search result cache the API of ``home`` with ``store_url`` uses (SQLite file
    or Redis keys), so each /search cell starts cold whatever ran before; returns how many
    entries it held."""
    with open_result_cache(get_settings(home=home, store_url=store_url)) as cache:
        return cache.clear()


def copy_batch_to_redis(home: Path, redis_url: str) -> dict[str, Any]:
    """Copy the current published batch of ``home``'s SQLite store into the Redis store at
    ``redis_url`` (users from the batch's audit) and publish it there."""
    settings = get_settings(home=home)
    started = time.perf_counter()
    audits = list_parquet_files(LakePaths(settings.lake), "predictions", "recs")
    users = sorted(set(pq.read_table(audits[-1], columns=["user_id"]).column("user_id").to_pylist()))
    with open_store(settings) as source, open_store(get_settings(home=home, store_url=redis_url)) as target:
        version = source.current_version()
        if version is None:
            raise SystemExit(f"{home} has no published recs batch")
        info = next(i for i in source.versions() if i.version == version)
        records = ((u, r.items) for u in users if (r := source.get(u)) is not None)
        writer = target.begin_version(version, model_version=info.model_version, generated_at=info.created_at)
        with writer:
            copied = writer.put_many(records)
            popular = source.popular()
            if popular is not None:
                writer.set_popular(popular.items)
        target.publish(version)
    return {"version": version, "users": copied, "seconds": round(time.perf_counter() - started, 2)}
