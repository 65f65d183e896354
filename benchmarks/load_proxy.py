"""Load benchmark of API replicas behind the proxy: N single-worker ``vitrina serve`` processes
behind a local HAProxy (the deployed configuration), against one process alone, same run.

Uvicorn's workers share one listening socket and the kernel hands each new connection to
whichever worker accepts first: when the connections open together, one worker often takes
them all (in 20 runs of 4 connections, 11 put all four on one worker), and a closed loop on
one Python process queues behind one thread. Production runs independent replicas behind
HAProxy (``deploy/haproxy/haproxy.cfg``: ``balance leastconn``, health checks on ``/ready``,
keep-alive to the replicas). This benchmark measures that, on one machine:

- **setups**, all started at once on the same home, each with the Redis store and the Redis
  search cache (the home's published batch copied into a private ``redis-server``), events
  into a second private Redis, no job runner (as the compose replicas run):

  - ``direct``: one API process, ``--workers 1``, no proxy (the baseline);
  - ``workers``: one ``vitrina serve --workers N`` (uvicorn workers on a shared socket, no proxy);
  - ``proxy``: N processes of ``--workers 1`` on their own ports behind HAProxy, its
    configuration generated from the deployed file (:mod:`load_haproxy`);

- **cells** (wrk closed loop, after a warm-up of each route): ``/health`` (the framework
  floor) and ``/recs/{user}`` at each ``--connections``, ``/search?q=`` at
  ``--search-connections`` with an empty result cache at the start of the cell; each cell is
  measured on every setup in turn before the next cell (:func:`run_rounds`), so a drifting
  machine load hits the setups alike;
- **the split** of each proxy cell: requests per replica counted twice, by HAProxy (``stot``
  per server on its stats socket) and by each replica's own ``/metrics``
  (``vitrina_http_requests_total`` of the route), and the client connections each replica
  held a second into the cell.

Bars (the proxy setup): ``/recs`` p99 ≤ 5 ms at 16 connections, ``/search`` p95 ≤ 30 ms at
4 connections, and in every proxy cell of 4 connections or more the busiest replica served
at most 1.5 × the requests of the idlest.

    make wrk haproxy   # once: apt-installs wrk and HAProxy
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/load_proxy.py --home .vitrina [--build-home demo]

Writes ``docs/benchmarks/load_proxy.json`` and ``load_proxy.md`` (``--out`` elsewhere).
``--routes`` and ``--setups`` measure a subset (``--routes health recs`` needs no search
index in the home), e.g. for a quick comparison of two proxy configurations.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load import WRK_NICENESS, require_wrk, run_wrk, write_paths
from load_haproxy import HaproxyServer, require_haproxy
from load_proxy_report import bars, markdown
from load_servers import (
    ApiServer,
    RedisServer,
    clear_search_cache,
    copy_batch_to_redis,
    free_port,
    metric_sum,
)
from load_traffic import traffic_from_home
from machine import describe

import vitrina
from vitrina.adapters.models.index_versions import current_version
from vitrina.config import get_settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
SETUPS = ("direct", "workers", "proxy")
ROUTES = ("health", "recs", "search")
ROUTE_LABELS = {"health": "/health", "recs": "/recs/{user_id}", "search": "/search"}
REQUESTS = "vitrina_http_requests_total"
FALLBACKS = "vitrina_fallbacks_total"


@dataclass
class Target:
    """What wrk drives in one setup: the URL, the API processes behind it, the proxy if any."""

    setup: str
    base: str
    apis: list[ApiServer]
    proxy: HaproxyServer | None = None
    workers: int = 1

    def metrics(self) -> list[str]:
        """Each API process's ``/metrics`` (with uvicorn workers: their sum, as one)."""
        return [api.metrics() for api in self.apis]

    def held(self) -> list[int]:
        """Client connections per process now: per worker (``workers``, busiest first, idle
        workers as 0), per replica (``proxy``)."""
        if self.workers > 1:
            busy = self.apis[0].connections_per_worker()
            return busy + [0] * (self.workers - len(busy))
        return [api.held_connections() for api in self.apis]

    def proxy_requests(self) -> list[int]:
        return list(self.proxy.requests().values()) if self.proxy is not None else []


def measure(wrk: str, target: Target, route: str, paths: Path, n: int, seconds: float) -> dict[str, Any]:
    """One wrk cell through ``target`` with the requests each process counted."""
    before, proxied_before = target.metrics(), target.proxy_requests()
    cell = run_wrk(wrk, target.base, paths, n, seconds, probe=target.held)
    after, proxied_after = target.metrics(), target.proxy_requests()
    label = ROUTE_LABELS[route]
    served = [
        round(metric_sum(a, REQUESTS, route=label) - metric_sum(b, REQUESTS, route=label))
        for b, a in zip(before, after, strict=True)
    ]
    cell["connections_per_process"] = cell.pop("probe")
    cell["requests_per_process"] = served
    if target.proxy is not None:
        cell["requests_per_server_haproxy"] = [
            a - b for b, a in zip(proxied_before, proxied_after, strict=True)
        ]
    cell["split_ratio"] = split_ratio(served) if len(served) > 1 else None
    if route == "search":
        hits = _delta(before, after, "vitrina_cache_requests_total", cache="search", result="hit")
        cell["cache_hit_ratio"] = round(hits / max(1, cell["requests"]), 3)
    cell["fallbacks"] = _delta(before, after, FALLBACKS)
    split = "/".join(str(x) for x in served) if len(served) > 1 else ""
    print(
        f"  {target.setup:<7} {route:<6} c={n:<2} {cell['rps']:>7.0f} req/s  p95 {cell['p95_ms']:.2f}  "
        f"p99 {cell['p99_ms']:.2f} ms  {split}",
        flush=True,
    )
    return {"setup": target.setup, "route": route, **cell}


def _delta(before: list[str], after: list[str], name: str, **labels: str) -> float:
    """How much ``name`` grew, summed over the processes' expositions."""
    pairs = zip(before, after, strict=True)
    return sum(metric_sum(a, name, **labels) - metric_sum(b, name, **labels) for b, a in pairs)


def split_ratio(counts: list[int]) -> float | None:
    """Busiest over idlest process; None when one got nothing (no ratio: fully unbalanced)."""
    low = min(counts)
    return round(max(counts) / low, 3) if low > 0 else None


def run_rounds(
    wrk: str,
    targets: list[Target],
    files: dict[str, Path],
    connections: list[int],
    search_connections: list[int],
    seconds: float,
    cold_cache: Callable[[], object],
) -> list[dict[str, Any]]:
    """Every route × connection count, the setups measured one after another within each
    cell (a round), their order turned by one every round: on a machine whose load drifts,
    the setups of one cell are seconds apart, not minutes, and none is always first."""
    for target in targets:  # warm-up: lazy imports, caches, connection pools
        for paths in files.values():
            run_wrk(wrk, target.base, paths, 4, max(2.0, seconds / 4))
    cells = []
    rounds = [(r, n) for r in files for n in (search_connections if r == "search" else connections)]
    for i, (route, n) in enumerate(rounds):
        for target in targets[i % len(targets) :] + targets[: i % len(targets)]:
            if route == "search":
                cold_cache()
            cells.append(measure(wrk, target, route, files[route], n, seconds))
    return cells


def start_setup(
    stack: ExitStack, setup: str, home: Path, env: dict[str, str], folder: Path, backends: int
) -> Target:
    """The processes of ``setup`` (see the module docstring), stopped when ``stack`` closes."""
    count, workers = {"direct": (1, 1), "workers": (1, backends), "proxy": (backends, 1)}[setup]
    print(f"{setup}: starting {count} API process(es) of {workers} worker(s) on {home}", flush=True)
    apis = start_apis(stack, home, env, folder / setup, count, workers)
    target = Target(setup, apis[0].base, apis, workers=workers)
    if setup == "proxy":
        proxy = HaproxyServer(folder / "haproxy", free_port(), free_port(), [api.port for api in apis])
        target.proxy = stack.enter_context(proxy)
        target.base = proxy.base
    return target


def served(home: Path, search: bool = True) -> bool:
    """``home`` has a published recs batch, validated search logs and, when ``search`` is
    measured, a served search index (a home whose build stopped half-way has the first two
    and not the last; ``/health`` and ``/recs`` need no index)."""
    try:
        traffic_from_home(home, n_queries=1)
    except SystemExit:
        return False
    return not search or current_version(get_settings(home=home)) is not None


def ensure_home(home: Path, scale: str | None, search: bool = True) -> None:
    """Build ``home`` with ``vitrina demo --scale scale`` when it is not served yet (for the
    routes measured: ``search`` or not); without ``scale``, stop with a message instead."""
    if served(home, search):
        return
    if scale is None:
        raise SystemExit(f"{home} is not a served home: build it (`vitrina demo`), or pass --build-home demo")
    print(f"building a {scale}-scale demo home in {home} (once)", flush=True)
    source = str(Path(vitrina.__file__).resolve().parents[1])
    paths = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": paths}
    command = [sys.executable, "-m", "vitrina.cli.main", "demo", "--scale", scale, "--home", str(home)]
    subprocess.run(command, env=env, check=True)


def start_apis(
    stack: ExitStack, home: Path, env: dict[str, str], folder: Path, count: int, workers: int
) -> list[ApiServer]:
    """``count`` API processes started together (their start-ups overlap), each stopped when
    ``stack`` closes, returned once every one is ready."""
    folder.mkdir(parents=True, exist_ok=True)
    apis = []
    for i in range(count):
        api = ApiServer(home, env, folder / f"api-{i}.log", workers)
        stack.callback(api.__exit__, None, None, None)
        apis.append(api)
    return [api.__enter__() for api in apis]


def _shown_args() -> list[str]:
    """The command line as run, the ``--note`` text left out (it is printed on its own)."""
    args = sys.argv[1:]
    return [("…" if i > 0 and args[i - 1] == "--note" else a) for i, a in enumerate(args)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("VITRINA_HOME", ".vitrina")))
    parser.add_argument(
        "--build-home", metavar="SCALE", help="build the home with `vitrina demo` if it has none"
    )
    parser.add_argument(
        "--backends", type=int, default=2, help="API processes behind the proxy (and uvicorn workers)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each wrk cell")
    parser.add_argument(
        "--connections", type=int, nargs="+", default=[1, 4, 16], help="/health and /recs cells"
    )
    parser.add_argument("--search-connections", type=int, nargs="+", default=[4])
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    parser.add_argument(
        "--routes", nargs="+", default=list(ROUTES), choices=ROUTES, help="routes measured (default all)"
    )
    parser.add_argument("--out", type=Path, default=DOCS, help="folder of load_proxy.json and .md")
    parser.add_argument(
        "--note", default="", help="a sentence for the report (e.g. what else loaded the machine)"
    )
    args = parser.parse_args()
    if args.backends < 2:
        parser.error("--backends must be 2 or more (a split needs two replicas)")
    wrk, _ = require_wrk(), require_haproxy()
    home = args.home.resolve()
    ensure_home(home, args.build_home, search="search" in args.routes)
    traffic = traffic_from_home(home)
    load_before = os.getloadavg()[0]
    payload: dict[str, Any] = {
        "command": "HF_HUB_OFFLINE=1 python " + shlex.join(["benchmarks/load_proxy.py", *_shown_args()]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "home": str(home),
        "traffic": {"users": len(traffic.users), "queries": len(traffic.queries)},
        "backends": args.backends,
        "wrk_seconds": args.seconds,
        "wrk_niceness": WRK_NICENESS,
        "note": args.note,
        "cells": [],
    }
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vitrina-load-proxy-")))
        every: dict[str, Callable[[], list[str]]] = {
            "health": lambda: ["/health"],
            "recs": traffic.recs_paths,
            "search": traffic.search_paths,
        }
        files = {route: write_paths(tmp, route, every[route]()) for route in ROUTES if route in args.routes}
        events = stack.enter_context(RedisServer(tmp / "events-redis"))
        store = stack.enter_context(RedisServer(tmp / "store-redis"))
        payload["redis_copy"] = copy_batch_to_redis(home, store.url + "/0")
        env = {
            "VITRINA_STORE_URL": store.url + "/0",
            "VITRINA_EVENTS_URL": events.url + "/0",
            "VITRINA_JOB_RUNNER": "false",
        }
        cold = lambda: clear_search_cache(home, env["VITRINA_STORE_URL"])  # noqa: E731
        with ExitStack() as running:
            targets = [start_setup(running, s, home, env, tmp, args.backends) for s in args.setups]
            proxies = [target.proxy for target in targets if target.proxy is not None]
            if proxies:
                payload["haproxy_config"] = proxies[0].config.read_text()
            payload["cells"] = run_rounds(
                wrk, targets, files, args.connections, args.search_connections, args.seconds, cold
            )
    payload["load_average_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    payload["bars"] = bars(payload)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load_proxy.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    (args.out / "load_proxy.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))
    sys.exit(0 if all(b["met"] for b in payload["bars"]) else 1)


if __name__ == "__main__":
    main()
