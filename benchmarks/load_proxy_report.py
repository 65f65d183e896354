"""The proxy load benchmark's bars checked against a run, and its Markdown report."""

from __future__ import annotations

from typing import Any

import machine

# (route, connections, percentile, limit in ms): judged on the proxy setup; the other setups'
# values for the same cell are shown beside them
LATENCY_BARS = [("recs", 16, "p99", 5.0), ("search", 4, "p95", 30.0)]
MAX_SPLIT = 1.5  # busiest replica's requests over the idlest's, in every proxy cell of ≥ 4 connections
SPLIT_FROM = 4
SETUP_LABELS = {
    "direct": "1 process, direct (baseline)",
    "workers": "`--workers N`, direct",
    "proxy": "N processes behind HAProxy",
}
ROUTE_LABELS = {"health": "/health", "recs": "/recs/{user}", "search": "/search (cold cache)"}
FULL_RUN = (
    "make wrk haproxy && HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/load_proxy.py "
    "--home /tmp/proxy-home --build-home demo"
)
ABOUT = [
    "Production runs independent API replicas behind HAProxy (`deploy/haproxy/haproxy.cfg`: "
    "`balance leastconn`, health checks on `/ready`, keep-alive to the replicas), because uvicorn "
    "workers sharing one socket split connections unevenly (in 20 runs of 4 connections, 11 put "
    "all four on one worker). This benchmark measures that setup on one machine. It starts three "
    "setups on the same home: one API process alone (the baseline), `vitrina serve --workers N`, "
    "and N single-worker processes on their own ports behind a local HAProxy, and measures each "
    "cell on the three in turn (seconds apart, the order turned every cell). The "
    "proxy's configuration is generated from the deployed file (one HAProxy thread, requests "
    "logged only when they go wrong); only the Docker DNS discovery, the ports and a stats "
    "socket differ (`benchmarks/load_haproxy.py`). Every "
    "setup uses the Redis store and the Redis search cache (the home's published batch copied into "
    "a private `redis-server`), events go to a second private Redis, and no job runner runs, as "
    "in the compose replicas. wrk drives `/health` (the framework floor), `/recs/{user}` and "
    "`/search?q=`, each cell after a warm-up; every `/search` cell starts with an empty result cache.",
    "",
    "The split: each API process counts its requests by route in its own `/metrics`; HAProxy "
    "counts the requests it sent to each server (`stot` on its stats socket, in the JSON). Both "
    "agree to the few requests in flight when wrk stops. HAProxy picks a replica for every "
    "request (least requests in flight), not once per client connection, so a replica that "
    "the scheduler holds back gets fewer requests.",
    "",
    f"Full run, building the demo home first if it is missing (a few minutes, plus the build): `{FULL_RUN}`.",
]


def _cell(payload: dict[str, Any], setup: str, route: str, connections: int) -> dict[str, Any] | None:
    return next(
        (
            c
            for c in payload["cells"]
            if c["setup"] == setup and c["route"] == route and c["connections"] == connections
        ),
        None,
    )


def _setups(payload: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c["setup"] for c in payload["cells"]))


def bars(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every bar with its proxy value, met / missed, and the same cell in the other setups."""
    out = []
    for route, connections, percentile, limit in LATENCY_BARS:
        cell = _cell(payload, "proxy", route, connections)
        if cell is None:
            continue
        others = {}
        for setup in _setups(payload):
            other = _cell(payload, setup, route, connections)
            if setup != "proxy" and other is not None:
                others[setup] = f"{other[f'{percentile}_ms']:.2f} ms"
        out.append(
            {
                "bar": f"{ROUTE_LABELS[route]} {percentile} ≤ {limit:g} ms at {connections} connections",
                "value": f"{cell[f'{percentile}_ms']:.2f} ms",
                "met": cell[f"{percentile}_ms"] <= limit and cell["errors"] == 0,
                "others": others,
            }
        )
    judged = [c for c in payload["cells"] if c["setup"] == "proxy" and c["connections"] >= SPLIT_FROM]
    if judged:
        ratios = [c["split_ratio"] for c in judged]
        worst = None if None in ratios else max(ratios)
        out.append(
            {
                "bar": f"requests split busiest/idlest ≤ {MAX_SPLIT:g} "
                f"in every proxy cell of ≥ {SPLIT_FROM} connections",
                "value": "a replica got nothing" if worst is None else f"worst {worst:.2f}",
                "met": worst is not None and worst <= MAX_SPLIT,
                "others": {},
            }
        )
    return out


def _split(cell: dict[str, Any]) -> str:
    counts = cell.get("requests_per_process", [])
    if len(counts) < 2:
        return ""
    ratio = cell.get("split_ratio")
    return "/".join(f"{n:,}" for n in counts) + (f" ({ratio:.2f})" if ratio is not None else " (—)")


def markdown(payload: dict[str, Any]) -> str:
    setups = _setups(payload)
    n = payload["backends"]
    labels = {s: SETUP_LABELS[s].replace("N", str(n)) for s in setups}
    others = [s for s in setups if s != "proxy"]
    lines = [
        "# load benchmark through the proxy — API replicas behind HAProxy",
        "",
        f"Command: `{payload['command']}`",
        "",
        f"{machine.summary(payload['machine'])} (1-min load {payload['load_average_1m'][0]} → "
        f"{payload['load_average_1m'][1]}) · {payload['date']} · home `{payload['home']}` · "
        f"{payload['traffic']['users']:,} users with a list, {payload['traffic']['queries']:,} queries "
        f"sampled from the logs. Redis store and Redis search cache; wrk {payload['wrk_seconds']:g} s "
        f"per cell after a warm-up, at nice {payload.get('wrk_niceness', 0)}; wrk, HAProxy, Redis "
        "and the API processes share the machine's cores.",
        *(["", payload["note"]] if payload.get("note") else []),
        "",
        *ABOUT,
        "",
        "## Bars (judged on the proxy setup)",
        "",
        "| bar | " + labels.get("proxy", "proxy") + " | | " + " | ".join(labels[s] for s in others) + " |",
        "|---|---|---|" + "---|" * len(others),
        *(
            f"| {b['bar']} | {b['value']} | {'met' if b['met'] else '**missed**'} | "
            + " | ".join(b["others"].get(s, "") for s in others)
            + " |"
            for b in payload["bars"]
        ),
        "",
        "## Cells",
        "",
        "Requests per process: what each API process counted for the route in its own `/metrics` "
        "(busiest/idlest in brackets). Connections per process: the TCP connections each process "
        "(or uvicorn worker) held a second into the cell; behind the proxy, HAProxy's connections "
        "to it, idle ones included.",
        "",
        "| setup | route | conn | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | requests per process "
        "| connections per process | cache hits |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for c in payload["cells"]:
        hits = f"{c['cache_hit_ratio']:.0%}" if "cache_hit_ratio" in c else ""
        held = "/".join(str(x) for x in c.get("connections_per_process") or [])
        lines.append(
            f"| {labels[c['setup']]} | {ROUTE_LABELS[c['route']]} | {c['connections']} | {c['rps']:,.0f} "
            f"| {c['p50_ms']:.2f} | {c['p95_ms']:.2f} | {c['p99_ms']:.2f} | {c['max_ms']:.1f} "
            f"| {c['errors']} | {_split(c)} | {held} | {hits} |"
        )
    return "\n".join(lines) + "\n"
