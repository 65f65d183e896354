"""A hostile client cannot stall ``vitrina serve``: /health keeps its latency and the server
its memory while one is attacking it.

A real ``vitrina serve`` process (uvicorn, the protocol with the header deadline) on an empty
home: /health does not need models, and the requests under attack are refused before
any model would be used. The attack, all at once from threads of this process:

- the issue's request: POST /events, 10.7 MB, one event with 900,000 keys (Content-Length
  declared), again and again;
- the same body streamed (chunked, no Content-Length);
- slowloris: connections that send a partial request line and headers, a byte at a time;
- partial bodies: complete headers, 10 of the 1,000 bytes announced, then silence.

Then the worst a body under the limit can do (1.9 MB, one event with 150,000 unknown keys):
its parse is bounded by the limit, not free.
/health is probed over one kept-alive connection before and during each phase; the server's
RSS is sampled throughout. The numbers are printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from support.ports import free_port

import vitrina

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
MAX_BODY = 2 * 1024 * 1024
PROBES = 400
HOSTILE = b'{"events": [{' + b",".join(b'"k%d": %d' % (i, i) for i in range(900_000)) + b"}]}"
NEAR_LIMIT = b'{"events": [{' + b",".join(b'"k%d": 1' % i for i in range(150_000)) + b"}]}"


@contextlib.contextmanager
def _serving(root: Path, **env_extra: str) -> Iterator[tuple[int, psutil.Process]]:
    """``vitrina serve`` on an empty home under ``root``, once /health answers 200."""
    port = free_port()
    source = str(Path(vitrina.__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
        "HF_HUB_OFFLINE": "1",
        **env_extra,
    }
    command = [sys.executable, "-m", "vitrina.cli.main", "serve", "--home", str(root / "home")]
    command += ["--port", str(port), "--log-level", "warning"]
    log = (root / "serve.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (root / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "vitrina serve did not start in 180 s"
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        yield port, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(root / "home", ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, psutil.Process]]:
    limits = {
        "VITRINA_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "VITRINA_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "VITRINA_MAX_BODY_BYTES": str(MAX_BODY),
    }
    with _serving(tmp_path_factory.mktemp("hostile"), **limits) as running:
        yield running


def test_one_process_that_inherited_the_multiprocess_variable_counts_its_requests(tmp_path: Path) -> None:
    """``PROMETHEUS_MULTIPROC_DIR`` set in the environment (a shell, or a library such as
    feast that sets it) makes prometheus_client keep values in files from its import on:
    ``vitrina serve`` with one worker must give it a folder, or every request fails to count."""
    elsewhere = tmp_path / "not-prepared"
    with _serving(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(elsewhere)) as (port, _):
        for _ in range(3):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/health")
            assert connection.getresponse().status == 200
            connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/metrics")
        lines = connection.getresponse().read().decode().splitlines()
    health = 'vitrina_http_requests_total{method="GET",route="/health",status="200"}'
    counted = sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(health))
    assert counted >= 4  # the start-up probe and the three above


def _health_p99(port: int, n: int = PROBES) -> tuple[float, float]:
    """(p50, p99) in ms of ``n`` GET /health over one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        connection.request("GET", "/health")
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200
        time.sleep(0.002)
    connection.close()
    cuts = statistics.quantiles(times, n=100)
    return cuts[49], cuts[98]


def _status_of(raw: bytes) -> int | None:
    line = raw.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else None


def _send_and_read(port: int, head: bytes, body: Callable[[socket.socket], None]) -> int | None:
    """Send ``head``, then whatever ``body`` sends (the server may close mid-way), then read
    the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        with contextlib.suppress(OSError):  # the server answered and closed before the end
            body(conn)
        try:
            return _status_of(conn.recv(65536))
        except OSError:
            return None


def _declared(port: int, payload: bytes) -> int | None:
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: %d\r\n\r\n" % len(payload)
    return _send_and_read(port, head, lambda conn: conn.sendall(payload))


def _chunked(port: int, payload: bytes) -> int | None:
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"

    def body(conn: socket.socket) -> None:
        step = 64 * 1024
        for start in range(0, len(payload), step):
            part = payload[start : start + step]
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        conn.sendall(b"0\r\n\r\n")

    return _send_and_read(port, head, body)


def _seconds_until_closed(conn: socket.socket, trickle: bytes, limit: float = 20.0) -> float:
    """Send ``trickle`` a byte every 0.1 s; how long until the server closes the connection."""
    started = time.monotonic()
    conn.settimeout(0.1)
    for byte in trickle:
        try:
            conn.sendall(bytes([byte]))
            if conn.recv(65536) == b"":
                break
        except TimeoutError:
            continue
        except OSError:
            break
        if time.monotonic() - started > limit:
            break
    return time.monotonic() - started


def _slowloris(port: int, closed_after: list[float]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        trickle = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: " + b"a" * 400
        closed_after.append(_seconds_until_closed(conn, trickle))


def _partial_body(port: int, statuses: list[int | None], closed_after: list[float]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        started = time.monotonic()
        conn.sendall(b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        conn.sendall(b'Content-Length: 1000\r\n\r\n{"events": [')
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        closed_after.append(time.monotonic() - started)
        statuses.append(_status_of(answer))


class RssSampler(threading.Thread):
    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.peak = process.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)


def _under_attack(attacks: list[Callable[[], None]], port: int) -> tuple[float, float]:
    stop = threading.Event()

    def repeat(attack: Callable[[], None]) -> None:
        while not stop.is_set():
            attack()

    threads = [threading.Thread(target=repeat, args=(a,), daemon=True) for a in attacks]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the attack is under way
    try:
        return _health_p99(port)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def test_a_hostile_client_does_not_delay_health_or_grow_memory(server: tuple[int, psutil.Process]) -> None:
    port, process = server
    _health_p99(port, 100)  # warm
    base_p50, base_p99 = _health_p99(port)
    rss_before = process.memory_info().rss
    sampler = RssSampler(process)
    sampler.start()

    declared: list[int | None] = []
    chunked: list[int | None] = []
    loris: list[float] = []
    partial_status: list[int | None] = []
    partial_closed: list[float] = []
    attacks: list[Callable[[], None]] = [
        lambda: declared.append(_declared(port, HOSTILE)),
        lambda: chunked.append(_chunked(port, HOSTILE)),
        *[lambda: _slowloris(port, loris) for _ in range(8)],
        *[lambda: _partial_body(port, partial_status, partial_closed) for _ in range(4)],
    ]
    attack_p50, attack_p99 = _under_attack(attacks, port)
    rss_attack = sampler.peak

    near: list[int | None] = []
    near_p50, near_p99 = _under_attack([lambda: near.append(_declared(port, NEAR_LIMIT))], port)
    sampler.running = False
    sampler.join()
    _, after_p99 = _health_p99(port)
    noise_p99 = max(base_p99, after_p99)  # the machine is shared: its noise, before and after
    report = {
        "health_ms": {
            "baseline_p50": round(base_p50, 2),
            "baseline_p99": round(base_p99, 2),
            "after_p99": round(after_p99, 2),
            "attack_p50": round(attack_p50, 2),
            "attack_p99": round(attack_p99, 2),
            "near_limit_p50": round(near_p50, 2),
            "near_limit_p99": round(near_p99, 2),
        },
        "rss_mb": {
            "before": round(rss_before / 2**20, 1),
            "peak_attack": round(rss_attack / 2**20, 1),
            "peak_near_limit": round(sampler.peak / 2**20, 1),
        },
        "requests": {
            "declared_10mb": {s: declared.count(s) for s in set(declared)},
            "chunked_10mb": {s: chunked.count(s) for s in set(chunked)},
            "near_limit_1.9mb": {s: near.count(s) for s in set(near)},
            "partial_body": {s: partial_status.count(s) for s in set(partial_status)},
        },
        "closed_after_s": {
            "slowloris_max": round(max(loris), 2),
            "slowloris_n": len(loris),
            "partial_body_max": round(max(partial_closed), 2),
        },
    }
    print(json.dumps(report, indent=1, default=str))

    assert len(HOSTILE) > 10_000_000
    assert set(declared) <= {413, None}
    assert declared.count(413) >= 1
    assert set(chunked) <= {413, None}
    assert chunked.count(413) >= 1
    assert set(near) == {422}
    assert set(partial_status) == {408}
    assert max(partial_closed) < BODY_TIMEOUT + 1.5
    assert len(loris) >= 8
    assert max(loris) < HEADER_TIMEOUT + 1.5  # each trickle would take 44 s to finish
    # /health under attack: the median a few ms at most, the p99 within 10 ms of the p99 the
    # machine (2 cores shared with the attacking threads and other work) shows without attack.
    # Before the limits: 7.3-7.8 s.
    assert attack_p50 < base_p50 + 3.0, report
    assert attack_p99 < noise_p99 + 10.0, report
    # A body under the limit is parsed: 150,000 keys cost ≈ 40-100 ms of native code holding
    # the GIL (pydantic's JSON parser, in a worker thread), which /health waits for when it
    # arrives meanwhile. VITRINA_MAX_BODY_BYTES is what bounds it.
    assert near_p99 < noise_p99 + 150.0, report
    assert rss_attack - rss_before < 64 * 2**20, report
    assert sampler.peak - rss_before < 128 * 2**20, report


def test_the_header_deadline_holds_on_every_request_of_a_connection(
    server: tuple[int, psutil.Process],
) -> None:
    """A connection that never sends a byte, and a kept-alive one whose *second* request
    trickles its headers, are closed after the header deadline; a request whose headers
    arrive in time is answered, however it is split."""
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
        started = time.monotonic()
        assert idle.recv(1024) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT + 1.0

    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _status_of(conn.recv(65536)) == 200
        trickle = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: " + b"a" * 400
        assert _seconds_until_closed(conn, trickle) < HEADER_TIMEOUT + 1.5

    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for part in (b"GET /hea", b"lth HTTP/1.1\r\nHo", b"st: x\r\n\r\n"):
            conn.sendall(part)
            time.sleep(HEADER_TIMEOUT / 4)
        assert _status_of(conn.recv(65536)) == 200
