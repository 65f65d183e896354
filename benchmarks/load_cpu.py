"""CPU per request of the API processes and of HAProxy: the load-independent measure behind
the proxy benchmark's tail latency.

At 16 connections on two cores, wrk, HAProxy, Redis and the API replicas all wait for a core,
so ``/recs`` p99 is mostly queueing and falls only with the CPU each request costs. Latency
on a machine other jobs share is not a quiet number; CPU seconds per request are: each
process's user + system time (``/proc/<pid>/stat``, over the process and its children) is
read before and after a wrk cell and divided by the requests wrk completed, less what the
process burns idle over the same time (measured once per setup before the cells: the
console's warm-up, the reload signal's polling).

Setups (each with the Redis store and cache and the events Redis, as ``load_proxy.py``), for
every ``--variant`` (a label and the environment its API processes get on top, e.g.
``--variant base: --variant nolog:VITRINA_SERVE_LOG_LEVEL=ERROR``; default one variant,
``current``, with nothing added):

- ``direct``: one ``vitrina serve --workers 1``, wrk straight at it;
- ``proxy``: ``--backends`` of them behind HAProxy (the deployed configuration,
  :mod:`load_haproxy`), the replicas' CPU summed and HAProxy's reported on its own.

Each route × setup × variant cell runs ``--repeats`` times, the setups and variants taking
turns within each repeat, so a drifting machine load hits them alike; the table gives the
median and the range. The CPU per request also falls as more requests share an event-loop
turn (a busier or more starved process batches more), so compare variants of one run only.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/load_cpu.py --home .vitrina [--build-home demo]

Writes ``load_cpu.json`` and ``load_cpu.md`` under ``--out`` (default ``docs/benchmarks``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from load import require_wrk, run_wrk, write_paths
from load_haproxy import HaproxyServer, require_haproxy
from load_proxy import ensure_home, start_apis
from load_servers import RedisServer, copy_batch_to_redis, free_port
from load_traffic import traffic_from_home
from machine import describe
from machine import summary as summary_of

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
SETUPS = ("direct", "proxy")
ROUTE_PATHS = {"health": "/health", "recs": "/recs/{user_id}"}
Variant = tuple[str, dict[str, str]]


def parse_variant(text: str) -> Variant:
    """``label:NAME=VALUE,NAME=VALUE`` (``label:`` alone adds nothing to the environment)."""
    label, _, pairs = text.partition(":")
    if not label or not all("=" in pair for pair in pairs.split(",") if pair):
        raise argparse.ArgumentTypeError(f"expected LABEL:[NAME=VALUE,…], got {text!r}")
    return label, dict(pair.split("=", 1) for pair in pairs.split(",") if pair)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU seconds of ``pid`` and its live children (0 for a gone process), and
    of their main threads alone (where the Python event loop runs: the request's serial part
    in one process, while threads of the server's own, if it has any, run beside it)."""
    total = main = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in (root, *root.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
                main += sum(t.user_time + t.system_time for t in process.threads() if t.id == process.pid)
    return total, main


@dataclass
class Target:
    """One setup of one variant: where wrk points, the API processes, the proxy if any."""

    variant: str
    setup: str
    base: str
    api_pids: list[int]
    proxy_pid: int | None = None
    idle: tuple[float, float, float] = (0.0, 0.0, 0.0)  # CPU s/s idle: API, API main threads, proxy
    cells: list[dict[str, Any]] = field(default_factory=list)

    def cpu(self) -> tuple[float, float, float]:
        """CPU seconds so far: the API processes' sum, their main threads', HAProxy's (0
        without a proxy)."""
        apis = [cpu_seconds(pid) for pid in self.api_pids]
        proxy = cpu_seconds(self.proxy_pid)[0] if self.proxy_pid is not None else 0.0
        return sum(a[0] for a in apis), sum(a[1] for a in apis), proxy

    def measure_idle(self, seconds: float) -> None:
        before = self.cpu()
        start = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - start
        after = self.cpu()
        self.idle = tuple((a - b) / elapsed for b, a in zip(before, after, strict=True))  # type: ignore[assignment]


def measure(
    wrk: str, target: Target, route: str, paths: Path, connections: int, seconds: float
) -> dict[str, Any]:
    """One wrk cell with the CPU microseconds per request of the API processes and HAProxy."""
    before = target.cpu()
    start = time.monotonic()
    cell = run_wrk(wrk, target.base, paths, connections, seconds)
    elapsed = time.monotonic() - start
    after = target.cpu()
    requests = max(1, cell["requests"])
    api_us, main_us, proxy_us = (
        (a - b - idle * elapsed) / requests * 1e6
        for b, a, idle in zip(before, after, target.idle, strict=True)
    )
    row = {
        "variant": target.variant,
        "setup": target.setup,
        "route": route,
        "connections": connections,
        "requests": cell["requests"],
        "rps": cell["rps"],
        "p99_ms": cell["p99_ms"],
        "errors": cell["errors"],
        "api_cpu_us_per_request": round(api_us, 1),
        "api_main_thread_cpu_us_per_request": round(main_us, 1),
        "proxy_cpu_us_per_request": round(proxy_us, 1) if target.proxy_pid else None,
    }
    shown = f"  proxy {proxy_us:6.1f} µs" if target.proxy_pid else ""
    print(
        f"  {target.variant:<8} {target.setup:<6} {route:<6} {cell['rps']:>7.0f} req/s  "
        f"p99 {cell['p99_ms']:6.2f} ms"
        f"  api {api_us:6.1f} µs/req (main thread {main_us:6.1f}){shown}",
        flush=True,
    )
    return row


def summary(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median and range of each (route, setup, variant) over the repeats."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for cell in cells:
        groups.setdefault((cell["route"], cell["setup"], cell["variant"]), []).append(cell)
    rows = []
    for (route, setup, variant), group in groups.items():
        api = [c["api_cpu_us_per_request"] for c in group]
        main = [c["api_main_thread_cpu_us_per_request"] for c in group]
        proxy = [c["proxy_cpu_us_per_request"] for c in group if c["proxy_cpu_us_per_request"] is not None]
        rows.append(
            {
                "route": route,
                "setup": setup,
                "variant": variant,
                "api_us_median": round(statistics.median(api), 1),
                "api_us_range": [min(api), max(api)],
                "main_thread_us_median": round(statistics.median(main), 1),
                "main_thread_us_range": [min(main), max(main)],
                "proxy_us_median": round(statistics.median(proxy), 1) if proxy else None,
                "rps_median": round(statistics.median(c["rps"] for c in group)),
                "p99_ms_median": round(statistics.median(c["p99_ms"] for c in group), 2),
                "errors": sum(c["errors"] for c in group),
            }
        )
    return rows


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# CPU per request: API processes and HAProxy",
        "",
        f"`{payload['command']}`",
        "",
        f"{payload['date']} · {summary_of(payload['machine'])} · 1-min load "
        f"{payload['load_average_1m'][0]} → {payload['load_average_1m'][1]} · "
        f"{payload['connections']} connections, {payload['wrk_seconds']:g} s cells, "
        f"{payload['repeats']} repeats",
        "",
        "Variants: "
        + "; ".join(
            f"`{label}` {' '.join(f'{k}={v}' for k, v in extra.items()) or '(as configured)'}"
            for label, extra in payload["variants"].items()
        ),
        "",
        "| route | setup | variant | API CPU µs/req (median, range) | of it, main threads | HAProxy µs/req "
        "| req/s | p99 ms | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in payload["summary"]:
        low, high = row["api_us_range"]
        main_low, main_high = row["main_thread_us_range"]
        proxy = f"{row['proxy_us_median']:.0f}" if row["proxy_us_median"] is not None else "–"
        cells = [
            ROUTE_PATHS[row["route"]],
            row["setup"],
            row["variant"],
            f"{row['api_us_median']:.0f} ({low:.0f}–{high:.0f})",
            f"{row['main_thread_us_median']:.0f} ({main_low:.0f}–{main_high:.0f})",
            proxy,
            str(row["rps_median"]),
            f"{row['p99_ms_median']:.2f}",
            str(row["errors"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "API CPU sums the replicas behind the proxy (each process with its children); idle CPU "
        "(measured before the cells) is taken off. Main threads: the part on the threads that run "
        "the Python event loop, which one process's requests queue for. Latencies are from a "
        "shared machine: compare the CPU columns.",
        "",
    ]
    return "\n".join(lines)


def start_target(
    stack: ExitStack,
    variant: Variant,
    setup: str,
    home: Path,
    env: dict[str, str],
    folder: Path,
    backends: int,
) -> Target:
    count = 1 if setup == "direct" else backends
    label, extra = variant
    print(f"{label} {setup}: starting {count} API process(es)", flush=True)
    apis = start_apis(stack, home, {**env, **extra}, folder / f"{label}-{setup}", count, 1)
    target = Target(label, setup, apis[0].base, [api.pid for api in apis])
    if setup == "proxy":
        proxy = HaproxyServer(
            folder / f"haproxy-{label}", free_port(), free_port(), [api.port for api in apis]
        )
        stack.enter_context(proxy)
        target.base, target.proxy_pid = proxy.base, proxy.pid
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("VITRINA_HOME", ".vitrina")))
    parser.add_argument(
        "--build-home", metavar="SCALE", help="build the home with `vitrina demo` if it has none"
    )
    parser.add_argument(
        "--variant",
        action="append",
        type=parse_variant,
        dest="variants",
        metavar="LABEL:[NAME=VALUE,…]",
        help="API processes started with this environment on top (repeat to compare)",
    )
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    parser.add_argument("--routes", nargs="+", default=list(ROUTE_PATHS), choices=list(ROUTE_PATHS))
    parser.add_argument("--backends", type=int, default=2, help="API processes behind the proxy")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each wrk cell")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DOCS, help="folder of load_cpu.json and .md")
    args = parser.parse_args()
    variants: list[Variant] = args.variants or [("current", {})]
    if len({label for label, _ in variants}) < len(variants):
        parser.error("--variant labels must differ")
    wrk = require_wrk()
    if "proxy" in args.setups:
        require_haproxy()
    home = args.home.resolve()
    ensure_home(home, args.build_home, search=False)
    traffic = traffic_from_home(home)
    payload: dict[str, Any] = {
        "command": "HF_HUB_OFFLINE=1 python " + shlex.join(["benchmarks/load_cpu.py", *sys.argv[1:]]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "connections": args.connections,
        "wrk_seconds": args.seconds,
        "repeats": args.repeats,
        "variants": dict(variants),
    }
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vitrina-load-cpu-")))
        every = {"health": lambda: ["/health"], "recs": traffic.recs_paths}
        files = {route: write_paths(tmp, route, every[route]()) for route in args.routes}
        events = stack.enter_context(RedisServer(tmp / "events-redis"))
        store = stack.enter_context(RedisServer(tmp / "store-redis"))
        copy_batch_to_redis(home, store.url + "/0")
        env = {
            "VITRINA_STORE_URL": store.url + "/0",
            "VITRINA_EVENTS_URL": events.url + "/0",
            "VITRINA_JOB_RUNNER": "false",
        }
        targets = [
            start_target(stack, variant, setup, home, env, tmp, args.backends)
            for variant in variants
            for setup in args.setups
        ]
        for target in targets:  # warm-up: lazy imports, caches, connection pools
            for paths in files.values():
                run_wrk(wrk, target.base, paths, 4, 2.0)
        for target in targets:
            target.measure_idle(min(args.seconds, 5.0))
        cells = []
        for repeat in range(args.repeats):
            print(f"repeat {repeat + 1}/{args.repeats}", flush=True)
            for route, paths in files.items():
                turn = repeat % len(targets)
                for target in targets[turn:] + targets[:turn]:
                    cells.append(measure(wrk, target, route, paths, args.connections, args.seconds))
        payload["idle_cpu_per_second"] = {
            f"{t.variant}/{t.setup}": dict(
                zip(("api", "api_main_threads", "proxy"), (round(x, 4) for x in t.idle), strict=True)
            )
            for t in targets
        }
    payload["load_average_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    payload["cells"] = cells
    payload["summary"] = summary(cells)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load_cpu.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    (args.out / "load_cpu.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))


if __name__ == "__main__":
    main()
