"""Traffic for the load benchmark (``benchmarks/load.py``): what to ask, and an open-loop client.

What to ask comes from the served home itself: users who have a published list (the latest
``predictions/recs`` audit), queries drawn from the validated search logs row by row (so
frequent queries come back as often as shoppers type them, which is what the result cache
sees in production) plus a share of them with a keyboard slip
(:func:`vitrina.simulator.vocabulary.add_typos`), and products for ``POST /events``.

:func:`open_loop` sends requests at a fixed rate whatever the server's latency (open loop,
unlike wrk's closed loop, so a slow server cannot slow the offered load down), with optional
actions at set times (the fault phase stops Redis mid-load).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pyarrow.parquet as pq

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import get_settings
from vitrina.core.tables import EVENT_TYPES
from vitrina.simulator.vocabulary import add_typos

# The mixed phase: shares of /recs, /search and POST /events (a backend posts the events of
# what it showed, so they are frequent but fewer than the page views)
MIX = {"recs": 0.5, "search": 0.35, "events": 0.15}


@dataclass(frozen=True)
class Traffic:
    users: list[str]  # users with a published list
    queries: list[str]  # as typed (repeats = frequency), typos included
    products: list[str]  # products that appear in the published lists
    typo_share: float

    def recs_paths(self) -> list[str]:
        return [f"/recs/{urllib.parse.quote(u)}" for u in self.users]

    def search_paths(self) -> list[str]:
        return [f"/search?{urllib.parse.urlencode({'q': q})}" for q in self.queries]


def traffic_from_home(
    home: Path, *, n_queries: int = 5000, typo_share: float = 0.1, seed: int = 0
) -> Traffic:
    """Users, queries and products of ``home``; raises ``SystemExit`` with a message when the
    home has no published recs batch or no search logs."""
    lake = LakePaths(get_settings(home=home).lake)
    audits = list_parquet_files(lake, "predictions", "recs")
    logs = list_parquet_files(lake, "validated", "search_logs")
    if not audits or not logs:
        raise SystemExit(
            f"{home} has no published recs batch or no validated search logs: build it first "
            "(vitrina data generate, data validate, train recs, train search; or `make demo`)"
        )
    audit = pq.read_table(audits[-1], columns=["user_id", "product_id"])
    users = sorted(set(audit.column("user_id").to_pylist()))
    products = sorted(set(audit.column("product_id").to_pylist()))
    typed = [q for f in logs for q in pq.read_table(f, columns=["query"]).column("query").to_pylist() if q]
    rng = np.random.default_rng(seed)
    queries = [typed[i] for i in rng.integers(0, len(typed), n_queries)]
    for i in np.flatnonzero(rng.random(n_queries) < typo_share):
        queries[i] = " ".join(add_typos(queries[i].split(), rng.random(7).tolist()))
    return Traffic(users=users, queries=queries, products=products, typo_share=typo_share)


@dataclass(frozen=True)
class Call:
    kind: str  # recs | search | events
    method: str
    path: str
    body: dict[str, Any] | None = None


def mixed_calls(traffic: Traffic, n: int, *, run: str, seed: int = 1) -> list[Call]:
    """``n`` calls in the :data:`MIX` shares, in random order; event ids are unique per ``run``."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(list(MIX), size=n, p=list(MIX.values()))
    recs, search = traffic.recs_paths(), traffic.search_paths()
    calls = []
    for i, kind in enumerate(kinds.tolist()):
        if kind == "recs":
            calls.append(Call(kind, "GET", recs[int(rng.integers(len(recs)))]))
        elif kind == "search":
            calls.append(Call(kind, "GET", search[int(rng.integers(len(search)))]))
        else:
            event = {
                "event_id": f"load-{run}-{i}",
                "user_id": traffic.users[int(rng.integers(len(traffic.users)))],
                "product_id": traffic.products[int(rng.integers(len(traffic.products)))],
                "event_type": EVENT_TYPES[int(rng.integers(len(EVENT_TYPES)))],
                "session_id": f"load-{run}-s{i // 10}",
                "device": "mobile",
                "page": "recs" if rng.random() < 0.5 else "search",
            }
            calls.append(Call(kind, "POST", "/events", {"events": [event]}))
    return calls


@dataclass
class Outcome:
    kind: str
    at: float  # seconds since the start, when it was sent
    seconds: float  # latency from the scheduled send time (includes any client-side delay)
    status: int  # 0: no HTTP answer (connection error, timeout)
    fallback: bool = False  # a /recs answer flagged fallback
    error: str = ""


@dataclass
class Action:
    """Run ``do`` (blocking, in a thread) ``at`` seconds into the load; ``done_at`` is filled in."""

    at: float
    do: Callable[[], None]
    done_at: float | None = field(default=None)


async def _send(session: aiohttp.ClientSession, base: str, call: Call, due: float, t0: float) -> Outcome:
    await asyncio.sleep(max(0.0, due - time.perf_counter()))
    try:
        async with session.request(call.method, base + call.path, json=call.body) as response:
            payload = await response.read()
            status = response.status
        error = "" if 200 <= status < 300 else payload[:200].decode("utf-8", "replace")
        fallback = call.kind == "recs" and not error and bool(json.loads(payload)["fallback"])
        return Outcome(call.kind, due - t0, time.perf_counter() - due, status, fallback, error)
    except (aiohttp.ClientError, TimeoutError) as failure:
        return Outcome(call.kind, due - t0, time.perf_counter() - due, 0, error=repr(failure))


async def _run(base: str, calls: Sequence[Call], rate: float, actions: Sequence[Action]) -> list[Outcome]:
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        t0 = time.perf_counter() + 0.05

        async def act(action: Action) -> None:
            await asyncio.sleep(max(0.0, t0 + action.at - time.perf_counter()))
            await asyncio.to_thread(action.do)
            action.done_at = time.perf_counter() - t0

        side = [asyncio.create_task(act(a)) for a in actions]
        tasks = []
        for i, call in enumerate(calls):  # scheduled ahead; each task sleeps until its time
            due = t0 + i / rate
            await asyncio.sleep(max(0.0, due - 0.5 - time.perf_counter()))  # keep ≤0.5 s of tasks ahead
            tasks.append(asyncio.create_task(_send(session, base, call, due, t0)))
        outcomes = await asyncio.gather(*tasks)
        await asyncio.gather(*side)
    return list(outcomes)


def open_loop(base: str, calls: Sequence[Call], rate: float, actions: Sequence[Action] = ()) -> list[Outcome]:
    """Send ``calls`` at ``rate`` per second to ``base`` (``http://host:port``), running
    ``actions`` on the way; one :class:`Outcome` per call, in order."""
    return asyncio.run(_run(base, calls, rate, actions))


def summarise(outcomes: Sequence[Outcome], seconds: float) -> dict[str, Any]:
    """Per kind and overall: count, 2xx, failed (non-2xx or no answer), latency percentiles (ms),
    fallbacks; ``achieved_rps`` is what the server answered per second of the phase."""

    def stats(rows: Sequence[Outcome]) -> dict[str, Any]:
        if not rows:
            return {"n": 0}
        ms = np.array([r.seconds for r in rows]) * 1000
        failed = [r for r in rows if not 200 <= r.status < 300]
        return {
            "n": len(rows),
            "ok": len(rows) - len(failed),
            "failed": len(failed),
            "failed_examples": sorted({f"{r.status} {r.error[:120]}" for r in failed})[:3],
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "max_ms": round(float(ms.max()), 2),
            "fallbacks": sum(r.fallback for r in rows),
        }

    kinds = sorted({r.kind for r in outcomes})
    return {
        "seconds": seconds,
        "achieved_rps": round(len(outcomes) / seconds, 1),
        "all": stats(outcomes),
        **{kind: stats([r for r in outcomes if r.kind == kind]) for kind in kinds},
    }
