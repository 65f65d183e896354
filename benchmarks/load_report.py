"""The load benchmark's bars checked against a run, and its Markdown report."""

from __future__ import annotations

from typing import Any

import machine

# (route, connections, percentile, limit in ms), checked for every store measured;
# search_warmed: /search as served, its result cache warmed at start-up (see load.closed_loop)
LATENCY_BARS = [
    ("recs", 1, "p99", 2.0),
    ("recs", 16, "p99", 5.0),
    ("search", 4, "p95", 30.0),
    ("search_warmed", 4, "p95", 30.0),
    ("search_filtered", 4, "p95", 30.0),
    ("suggest", 4, "p95", 5.0),
]
ROUTE_LABELS = {
    "search": "/search (cold cache)",
    "search_warmed": "/search (cache warmed at start, as served)",
    "search_filtered": "/search with filters, facets, sort, pages (cold cache)",
}


def _route(route: str) -> str:
    return ROUTE_LABELS.get(route, f"/{route}")


def _cell(payload: dict[str, Any], store: str, route: str, connections: int) -> dict[str, Any] | None:
    cells = payload["closed_loop"].get(store, [])
    return next((c for c in cells if c["route"] == route and c["connections"] == connections), None)


def bars(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every bar with its measured value and met / missed (a phase not run is not listed)."""
    out = []
    for store in payload["closed_loop"]:
        for route, connections, percentile, limit in LATENCY_BARS:
            cell = _cell(payload, store, route, connections)
            if cell is not None:
                value = cell[f"{percentile}_ms"]
                out.append(
                    {
                        "bar": f"{_route(route)} {percentile} ≤ {limit:g} ms at {connections} conn ({store})",
                        "value": f"{value:.2f} ms",
                        "met": value <= limit and cell["errors"] == 0,
                    }
                )
    rate = payload.get("fixed_rate")
    if rate is not None:
        offered = rate["all"]["n"] / rate["seconds"]
        out.append(
            {
                "bar": f"0 errors at {rate['rate']:g} req/s mixed for {rate['seconds']:.0f} s",
                "value": f"{rate['all']['failed']} errors of {rate['all']['n']} ({offered:.0f} req/s)",
                "met": rate["all"]["failed"] == 0 and offered >= 0.95 * rate["rate"],
            }
        )
    fault = payload.get("fault")
    if fault is not None:
        out.append(
            {
                "bar": "Redis stopped mid-load → 0 failed requests, fallbacks counted",
                "value": (
                    f"{fault['all']['failed']} failed of {fault['all']['n']}; "
                    f"{fault['recs_after_stop_flagged_fallback']}/{fault['recs_after_stop']} /recs after "
                    f"the stop flagged fallback; metrics +{fault['fallbacks_in_metrics']:.0f}"
                ),
                "met": fault["all"]["failed"] == 0
                and fault["recs_after_stop"] > 0
                and fault["recs_after_stop_flagged_fallback"] == fault["recs_after_stop"]
                and fault["fallbacks_in_metrics"] >= fault["recs_after_stop"],
            }
        )
    return out


def _phase_rows(name: str, summary: dict[str, Any]) -> list[str]:
    rows = []
    for kind in ("all", "recs", "search", "events"):
        s = summary.get(kind)
        if s and s["n"]:
            rows.append(
                f"| {name} | {kind} | {s['n']:,} | {s['failed']} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} "
                f"| {s['p99_ms']:.2f} | {s['max_ms']:.1f} | {s['fallbacks']} |"
            )
    return rows


def markdown(payload: dict[str, Any]) -> str:
    traffic = payload["traffic"]
    lines = [
        "# load benchmark — the serving API under load",
        "",
        f"{machine.summary(payload['machine'])} (1-min load {payload['load_average_1m'][0]} → "
        f"{payload['load_average_1m'][1]}) · {payload['date']} · home `{payload['home']}` · "
        f"{traffic['users']:,} users with a list, {traffic['queries']:,} queries sampled from the logs "
        f"({traffic['distinct_queries']:,} distinct, {traffic['typo_share']:.0%} with a typo). "
        f"`vitrina serve --workers {payload.get('workers', 1)}` (uvicorn) and the load generator "
        "share the machine's cores with other jobs.",
        "",
        "## Bars",
        "",
        "| bar | measured | |",
        "|---|---|---|",
        *(f"| {b['bar']} | {b['value']} | {'met' if b['met'] else '**missed**'} |" for b in payload["bars"]),
        "",
        f"## Closed loop (wrk at nice {payload.get('wrk_niceness', 0)}, {payload['wrk_seconds']:g} s per "
        "cell after a warm-up)",
        "",
        "`/health` is the baseline: the framework floor (uvicorn, routing, middleware, the response "
        "envelope) without the store or the engine. Errors = non-2xx + socket errors. "
        "The first cell is /search right after start-up with the result cache as the API's warm-up "
        "left it (the index version's most searched queries); every later /search cell starts with "
        "an empty cache, so it measures the engine. Split = the connections each worker held a "
        "second into the cell (the kernel gives a new connection to whichever worker accepts first).",
        "",
        "| store | route | conn | split | req/s | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| cache hits | fallbacks |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for store, cells in payload["closed_loop"].items():
        for c in cells:
            hits = f"{c['cache_hit_ratio']:.0%}" if "cache_hit_ratio" in c else ""
            split = "/".join(str(n) for n in c.get("connections_per_worker", []))
            lines.append(
                f"| {store} | {_route(c['route'])} | {c['connections']} | {split} | {c['rps']:,.0f} "
                f"| {c['p50_ms']:.2f} | {c['p95_ms']:.2f} | {c['p99_ms']:.2f} | {c['max_ms']:.1f} "
                f"| {c['errors']} | {hits} | {c['fallbacks']:.0f} |"
            )
    phases = [
        ("fixed rate", payload.get("fixed_rate")),
        ("fault: whole run", payload.get("fault")),
        ("fault: after the stop", (payload.get("fault") or {}).get("after_stop")),
    ]
    if any(summary for _, summary in phases):
        lines += [
            "",
            "## Open loop (fixed rate, mixed /recs + /search + POST /events)",
            "",
            "Latency from the scheduled send time. Fallbacks = /recs answers flagged `fallback`.",
            "",
            "| phase | kind | requests | failed | p50 ms | p95 ms | p99 ms | max ms | fallbacks |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, summary in phases:
            if summary:
                lines += _phase_rows(name, summary)
    fault = payload.get("fault")
    if fault:
        lines += [
            "",
            f"Fault: the store's Redis was shut down (`SHUTDOWN NOSAVE`) {fault['redis_stopped_at_s']} s "
            f"into {fault['seconds']:.0f} s of {fault['rate']:g} req/s; `vitrina_fallbacks_total"
            f'{{reason="store_unavailable"}}` rose by {fault["fallbacks_in_metrics"]:.0f}.',
        ]
    return "\n".join(lines) + "\n"
