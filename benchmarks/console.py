"""Benchmark the web console: server time of every page on a home you pass, with the API's
``/health`` as the baseline measured in the same run.

    .venv/bin/python benchmarks/console.py --home .vitrina --requests 50
    .venv/bin/python benchmarks/console.py --home /tmp/ci-home --user u0000042 --query "celuar samsng"

The app is driven in process (``TestClient``: no network, no uvicorn), so the numbers are the
server's time to answer (routing, data, rendering). Each page is requested once cold (the
console's caches empty: MLflow opened, the event history loaded), then after a wait for the
background warm-up, ``--requests`` more times; p50 / p95 / max of those are reported against
the target of 300 ms. Writes ``benchmarks/results/console.json`` and ``.md``. The machine's
load at the start is recorded: the 2 cores are shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from machine import describe, summary

from vitrina.config import get_settings
from vitrina.serving.app import create_app

RESULTS = Path(__file__).parent / "results"
TARGET_MS = 300.0


def _pages(query: str, user: str | None) -> dict[str, str]:
    pages = {
        "health (baseline)": "/health",
        "search (empty)": "/console/search",
        "search (query)": f"/console/search?q={query}",
        "user (picker)": "/console/user",
        "models": "/console/models",
        "drift": "/console/drift",
        "experiments": "/console/experiments",
        "pipelines": "/console/pipelines",
    }
    if user:
        pages["user (list)"] = f"/console/user?user_id={user}"
    return pages


def _time(client: TestClient, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:200]}")
    return elapsed


def run(home: Path, requests: int, query: str, user: str | None, warmup_s: float) -> dict[str, Any]:
    pages = _pages(query, user)
    rows: dict[str, dict[str, float]] = {}
    token = secrets.token_urlsafe(32)  # the console's own; pages are timed signed in (the cookie)
    with TestClient(create_app(get_settings(home=home, console_token=token))) as client:
        client.get("/console/search", params={"token": token}, follow_redirects=False)  # no page yet
        cold = {name: _time(client, path) for name, path in pages.items()}
        time.sleep(warmup_s)  # the caches warm in the background
        for name, path in pages.items():
            samples = np.array([_time(client, path) for _ in range(requests)])
            rows[name] = {
                "cold_ms": round(cold[name], 2),
                "p50_ms": round(float(np.percentile(samples, 50)), 2),
                "p95_ms": round(float(np.percentile(samples, 95)), 2),
                "max_ms": round(float(samples.max()), 2),
            }
    return {
        "home": str(home),
        "requests": requests,
        "query": query,
        "user": user,
        "target_ms": TARGET_MS,
        "pages": rows,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe(),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Console page times ({result['requests']} requests per page, in process)",
        "",
        f"Home `{result['home']}`, query «{result['query']}», user `{result['user']}`; "
        f"load {result['machine']['load_1m']:.2f} on {summary(result['machine'])}. "
        f"Target: p95 < {result['target_ms']:.0f} ms. Cold: the first request, caches empty.",
        "",
        "| page | cold ms | p50 ms | p95 ms | max ms | p95 < target |",
        "|---|---:|---:|---:|---:|:-:|",
    ]
    for name, row in result["pages"].items():
        ok = "✓" if row["p95_ms"] < result["target_ms"] else "✗"
        lines.append(
            f"| {name} | {row['cold_ms']:.1f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
            f"{row['max_ms']:.1f} | {ok} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path(".vitrina"))
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--query", default="celuar samsng")
    parser.add_argument("--user", default=None, help="A user id with a published list.")
    parser.add_argument("--warmup", type=float, default=10.0, help="Seconds for the caches to warm.")
    args = parser.parse_args()
    result = run(args.home, args.requests, args.query, args.user, args.warmup)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "console.json").write_text(json.dumps(result, indent=2))
    text = markdown(result)
    (RESULTS / "console.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
