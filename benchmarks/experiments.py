"""Online experiments benchmark: the driver against the real API on a served home.

Starts the API itself (uvicorn in a thread, on a free port) over a home with a published recs
batch and a served search index (default: the demo home ``.vitrina``), then records:

* A/B, recs: popularity (challenger) vs the full recommender — effect, CI, p, verdict; beside
  it the truth's answer (expected session CTR of both lists under the simulator's click model);
* 40 A/A runs on recs — false-positive rate per metric with its Clopper–Pearson interval;
* search: sessions to a decision for team-draft interleaving vs an A/B test of the same pair
  (champion mode vs ``bm25``), ``repeats`` times each, medians — the baseline is the A/B count
  measured in the same run.

Writes ``benchmarks/results/experiments.json`` and ``experiments.md``. Events are not posted
(``--post-events`` to send them): the benchmark measures the statistics, not the buffer.

    python benchmarks/experiments.py [--home DIR] [--ab-sessions 4000] [--aa-sessions 1000]
        [--aa-runs 40] [--max-sessions 6000] [--block 100] [--repeats 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn
from machine import describe, summary

from vitrina.cli.experiment import load_population, run_experiment
from vitrina.config import Settings, get_settings
from vitrina.core.experiments.run_config import DriverConfig, Kind, Surface
from vitrina.serving.api_client import ApiClient
from vitrina.serving.app import create_app
from vitrina.simulator.online import OnlineMarketplace

RESULTS = Path(__file__).parent / "results"
KEY = "benchmark-admin-key"


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The API over ``settings``' home on a free local port, for the duration of the block."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def truth_ctr(settings: Settings, url: str) -> dict[str, float]:
    """Expected session CTR (P(≥ 1 click) on a recs page) of the champion's lists and of the
    popularity list over every active user (whom the A/B draws from), from the hidden truth."""
    market = OnlineMarketplace.from_lake(settings, seed=0)
    users = load_population(settings).users
    with httpx.Client(base_url=url) as http:
        client = ApiClient(http, api_key=KEY)
        popular = client.recs("benchmark-unknown-user", k=20, request_id="truth-popular").product_ids
        lists = [client.recs(u, k=20, request_id=f"truth-{i}").product_ids for i, u in enumerate(users)]
    return {
        "champion": float(
            np.mean([market.expected_ctr(u, items) for u, items in zip(users, lists, strict=True)])
        ),
        "popularity": float(np.mean([market.expected_ctr(u, popular) for u in users])),
    }


def _run(settings: Settings, url: str, kind: Kind, surface: Surface, **knobs: Any) -> dict[str, Any]:
    config = DriverConfig(kind=kind, surface=surface, run_id=f"bench-{kind}-{surface}", **knobs)
    started = time.perf_counter()
    result, _ = run_experiment(settings, config, url)
    return {**result.to_dict(), "seconds": time.perf_counter() - started}


def _markdown(result: dict[str, Any]) -> str:
    ab, aa, il = result["ab"], result["aa"], result["interleave"]
    ctr = ab["ab"]["comparisons"]["ctr"]
    lines = [
        "# Online experiments benchmark",
        "",
        f"{result['when']} · {summary(result['machine'])} · home {result['home']}",
        "",
        "## A/B, recs: popularity (challenger) vs the full recommender (champion)",
        "",
        "| metric | champion | challenger | lift | 95 % CI of lift | p | challenger is |",
        "|---|---:|---:|---:|---|---:|---|",
    ]
    for name, c in ab["ab"]["comparisons"].items():
        lines.append(
            f"| {name} | {c['control']:.4f} | {c['treatment']:.4f} | {c['lift']:+.1%} | "
            f"{c['lift_ci_low']:+.1%} … {c['lift_ci_high']:+.1%} | {c['p_value']:.3g} | {c['direction']} |"
        )
    truth = result["truth_ctr"]
    lines += [
        "",
        f"Verdict: **{ab['ab']['decision']['verdict']}** over {ctr['n_control']} / {ctr['n_treatment']} "
        f"sessions ({ab['seconds']:.0f} s). Truth (expected session CTR): champion "
        f"{truth['champion']:.4f}, popularity {truth['popularity']:.4f}.",
        "",
        f"## A/A, recs: {aa['config']['runs']} runs of {aa['sessions_per_run']} sessions",
        "",
        "| metric | significant | rate | Clopper–Pearson 95 % CI | contains 5 % |",
        "|---|---:|---:|---|---|",
    ]
    for name, check in aa["false_positives"].items():
        lines.append(
            f"| {name} | {check['false_positives']}/{check['runs']} | {check['rate']:.1%} | "
            f"{check['ci_low']:.1%} … {check['ci_high']:.1%} | {'yes' if check['consistent'] else 'no'} |"
        )
    counts = il["sessions_to_decision"]
    lines += [
        "",
        f"({aa['seconds']:.0f} s)",
        "",
        f"## Search: interleaving vs A/B, {il['config']['challenger']} (challenger) vs the champion mode",
        "",
        "| method | sessions to decision per repeat | median | winners |",
        "|---|---|---:|---|",
    ]
    for method in ("interleaving", "ab"):
        runs = counts[method]
        per = ", ".join(f"{r['sessions']}{'' if r['decided'] else ' (undecided)'}" for r in runs)
        winners = ", ".join(r["winner"] or "none" for r in runs)
        lines.append(f"| {method} | {per} | {counts['median_' + method]:.0f} | {winners} |")
    lines += [
        "",
        f"A/B needed {counts['ratio']:.1f}× the sessions of interleaving (median over median; budget "
        f"{il['config']['sessions']} per repeat, control = champion). Interleaving over all its "
        f"sessions: challenger share {il['interleaving']['share_b']:.3f} "
        f"[{il['interleaving']['share_ci_low']:.3f}, {il['interleaving']['share_ci_high']:.3f}], "
        f"p {il['interleaving']['p_value']:.3g} ({il['seconds']:.0f} s).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", default=".vitrina", help="a served home (recs batch + search index)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ab-sessions", type=int, default=4000)
    parser.add_argument("--aa-sessions", type=int, default=1000)
    parser.add_argument("--aa-runs", type=int, default=40)
    parser.add_argument("--max-sessions", type=int, default=6000)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--post-events", action="store_true")
    args = parser.parse_args()
    settings = get_settings(home=Path(args.home), admin_api_key=KEY)
    common = {"seed": args.seed, "post_events": args.post_events}
    with serve(settings) as url:
        truth = truth_ctr(settings, url)
        ab = _run(settings, url, "ab", "recs", sessions=args.ab_sessions, **common)
        aa = _run(settings, url, "aa", "recs", sessions=args.aa_sessions, runs=args.aa_runs, **common)
        il = _run(
            settings, url, "interleave", "search", sessions=args.max_sessions, block=args.block,
            repeats=args.repeats, **common,
        )  # fmt: skip
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": describe(),
        "home": str(args.home),
        "truth_ctr": truth,
        "ab": ab,
        "aa": aa,
        "interleave": il,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "experiments.json").write_text(json.dumps(result, indent=2, default=str))
    markdown = _markdown(result)
    (RESULTS / "experiments.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
