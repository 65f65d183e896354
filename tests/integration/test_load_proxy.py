"""The proxy load benchmark's real plumbing: HAProxy accepts the configuration generated from the
deployed file, and two single-worker API processes behind it (Redis store and cache, each on its
own port) both serve requests, counted alike by HAProxy and by each process's ``/metrics``."""

from __future__ import annotations

import http.client
import os
import shutil
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from support.paths import REPO

pytestmark = pytest.mark.integration

sys.path.insert(0, str(REPO / "benchmarks"))

from load_haproxy import TEMPLATE, check_config, find_haproxy, local_config  # noqa: E402
from load_proxy import Target, served, start_setup  # noqa: E402
from load_servers import RedisServer, copy_batch_to_redis, free_port, metric_sum  # noqa: E402
from load_traffic import traffic_from_home  # noqa: E402

CONNECTIONS = 4
PER_CONNECTION = 40


def _require(binary: str | None, what: str) -> str:
    if binary is None:
        message = f"{what} is not installed (Debian/Ubuntu: `make haproxy`, apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI requires it")
        pytest.skip(f"{message}; set CI=1 to make this a failure")
    return binary


def test_haproxy_accepts_the_generated_configuration(tmp_path: Path) -> None:
    haproxy = _require(find_haproxy(), "haproxy")
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        local_config(
            TEMPLATE.read_text(),
            listen_port=free_port(),
            stats_port=free_port(),
            stats_socket=tmp_path / "haproxy.sock",
            backend_ports=[free_port(), free_port()],
        )
    )
    checked = check_config(haproxy, config)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _get_many(base: str, paths: list[str]) -> list[int]:
    """``paths`` in order over one keep-alive connection; the statuses."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    statuses = []
    try:
        for path in paths:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
    finally:
        conn.close()
    return statuses


def _recs_served(target: Target) -> list[float]:
    """``/recs`` requests each process of ``target`` counted in its own ``/metrics``."""
    return [metric_sum(m, "vitrina_http_requests_total", route="/recs/{user_id}") for m in target.metrics()]


@pytest.mark.slow
def test_two_replicas_behind_the_proxy_both_serve_and_agree_with_its_counts(
    served_home: Path, tmp_path: Path
) -> None:
    """The benchmark's own proxy setup (:func:`load_proxy.start_setup`), driven by 4 keep-alive
    connections: every request answered, both replicas used, and HAProxy's per-server counts
    equal to what each process counted (so ``api1``/``api2`` are the processes, in order)."""
    _require(find_haproxy(), "haproxy")
    _require(shutil.which("redis-server"), "redis-server")
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    assert served(home)
    paths = traffic_from_home(home, n_queries=1).recs_paths()
    asked = [paths[i % len(paths)] for i in range(CONNECTIONS * PER_CONNECTION)]
    with (
        RedisServer(tmp_path / "store-redis") as store,
        RedisServer(tmp_path / "events-redis") as events,
        ExitStack() as running,
    ):
        copy_batch_to_redis(home, store.url + "/0")
        env = {
            "VITRINA_STORE_URL": store.url + "/0",
            "VITRINA_EVENTS_URL": events.url + "/0",
            "VITRINA_JOB_RUNNER": "false",
        }
        target = start_setup(running, "proxy", home, env, tmp_path, backends=2)
        assert target.proxy is not None
        assert target.proxy.statuses() == {"api1": "UP", "api2": "UP"}
        routed_before, served_before = target.proxy_requests(), _recs_served(target)
        chunks = [asked[i::CONNECTIONS] for i in range(CONNECTIONS)]
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            answers = pool.map(lambda chunk: _get_many(target.base, chunk), chunks)
            statuses = [status for chunk in answers for status in chunk]
        routed_after, served_after = target.proxy_requests(), _recs_served(target)
    assert statuses == [200] * len(asked)
    routed = [a - b for b, a in zip(routed_before, routed_after, strict=True)]
    counted = [round(a - b) for b, a in zip(served_before, served_after, strict=True)]
    assert sum(routed) == len(asked)
    assert counted == routed
    assert min(routed) > 0, f"one replica got every request: {routed}"
