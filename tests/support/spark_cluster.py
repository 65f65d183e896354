"""A standalone Spark cluster on this machine: one master and its workers, started from the
pyspark package's own launcher (``$SPARK_HOME/bin/spark-class``; the pip package ships no
``sbin/start-*.sh``), on free loopback ports, stopped by process group at exit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.ports import free_port

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its master URL and the master's status page (JSON at ``/json/``)."""

    url: str
    web_url: str

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as answer:
            status: dict[str, Any] = json.load(answer)
            return status


def spark_home() -> Path:
    """The pyspark package's install folder, which is a Spark distribution (bin/, jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _wait(
    what: str, ready: Any, processes: list[subprocess.Popen[bytes]], logs: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p for p in processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{what}: a Spark daemon exited with {dead[0].returncode}; logs in {logs}")
        with suppress(OSError, ValueError):
            if ready():
                return
        time.sleep(1.0)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s; logs in {logs}")


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


@contextmanager
def standalone_cluster(
    folder: Path, workers: int = 2, cores: int = 1, memory: str = "768m", timeout: float = 180.0
) -> Iterator[Cluster]:
    """Start a master and ``workers`` workers (``cores`` and ``memory`` each), yield the cluster
    once every worker registered, and kill every daemon's process group on the way out."""
    home = spark_home()
    launcher = home / "bin" / "spark-class"
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "256m",
        "SPARK_LOG_DIR": str(folder / "logs"),
        "SPARK_NO_DAEMONIZE": "1",
    }
    port, web = free_port(), free_port()
    cluster = Cluster(url=f"spark://127.0.0.1:{port}", web_url=f"http://127.0.0.1:{web}")
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        log = (folder / f"{name}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [str(launcher), *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    try:
        start("master", MASTER, "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web))
        _wait("the Spark master", lambda: _listening(port) and _listening(web), processes, folder, timeout)
        for n in range(workers):
            work = folder / f"worker-{n}"
            work.mkdir(parents=True, exist_ok=True)
            start(
                f"worker-{n}",
                WORKER,
                "--host", "127.0.0.1",
                "--cores", str(cores),
                "--memory", memory,
                "--webui-port", str(free_port()),
                "--work-dir", str(work),
                cluster.url,
            )  # fmt: skip
        alive = lambda: sum(w["state"] == "ALIVE" for w in cluster.status()["workers"]) == workers  # noqa: E731
        _wait("the Spark workers", alive, processes, folder, timeout)
        yield cluster
    finally:
        for process in reversed(processes):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
