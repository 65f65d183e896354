"""Benchmark drift monitoring on the simulator: does each scenario get flagged on the features
it changes, does a lake without drift stay quiet, and how long does a run take.

    .venv/bin/python benchmarks/drift.py --scale demo --seeds 7 --work /tmp/drift-bench
    .venv/bin/python benchmarks/drift.py --scale ci --seeds 1 2 3 5 7 11 --work /tmp/drift-ci

For every (seed, scenario) — no drift and the four drift scenarios — it generates and
validates a lake, runs ``vitrina drift`` (no Evidently page, no query embeddings: both are
timed separately once on the first lake) and checks the result against the simulator's
truth: the decision, the flagged features, and whether the first named category / group is
one the scenario really changed. Writes ``benchmarks/results/drift_<scale>.json`` and
``.md``. The machine load at the start is recorded: the 2 cores are shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from machine import describe, summary
from rich.console import Console

from vitrina.adapters.lake.truth import load_truth
from vitrina.config import Settings, get_settings
from vitrina.core.drift.decision import SEVERITY, DriftResult
from vitrina.pipelines.drift.run import DriftConfig, run_drift
from vitrina.pipelines.validate import validate_lake
from vitrina.simulator.generate import generate_marketplace
from vitrina.simulator.scenarios import SCENARIOS

RESULTS = Path(__file__).parent / "results"
END = dt.date(2025, 3, 31)
EXPECTED = {
    "none": "nothing flagged",
    "price_inflation": "price features, retrain",
    "new_city": "users.city names the new city",
    "seasonal": "category mix names a boosted L1",
    "new_trend": "interaction mix names the trending L2",
}


def _named(result: DriftResult) -> list[str]:
    """Categories and groups named by flagged features, in the order of the reasons."""
    names = []
    for feature in sorted(result.features, key=lambda f: (-SEVERITY[f.status], -(f.psi or 0.0))):
        if SEVERITY[feature.status]:
            names += [m.category for m in feature.movers if m.ratio > 1] + [
                g.group for g in feature.groups[:1]
            ]
    return names


def _hit(scenario: str, result: DriftResult, truth: dict[str, Any] | None) -> bool:
    """Whether the result says what the scenario did (see ``EXPECTED``)."""
    flagged = {f.name: f for f in result.features if SEVERITY[f.status]}
    if scenario == "none" or truth is None:
        return result.decision == "none"
    if scenario == "price_inflation":
        price = flagged.get("transactions.price_vs_catalog")
        return price is not None and bool(price.groups) and price.groups[0].group in truth["affected_l2"]
    if scenario == "new_city":
        city = flagged.get("users.city")
        return city is not None and bool(city.movers) and city.movers[0].category == truth["city"]
    if scenario == "seasonal":
        session = flagged.get("sessions.category_l1")
        return session is not None and any(m.category in truth["affected_l1"] for m in session.movers)
    interactions = flagged.get("sessions.interaction_l2")
    return interactions is not None and interactions.movers[0].category in truth["affected_l2"]


def _lake(work: Path, scale: str, seed: int, scenario: str) -> tuple[Settings, dict[str, float]]:
    settings = get_settings(home=work / f"{scale}-{seed}-{scenario}")
    seconds: dict[str, float] = {}
    began = time.perf_counter()
    drift = None if scenario == "none" else scenario
    generate_marketplace(settings, scale=scale, seed=seed, drift=drift, end_date=END, catalog_to=None)
    seconds["generate"] = time.perf_counter() - began
    began = time.perf_counter()
    validate_lake(settings, max_invalid_share=0.0)
    seconds["validate"] = time.perf_counter() - began
    return settings, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="demo", choices=("ci", "demo", "large"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[7])
    parser.add_argument("--work", required=True, help="folder for the generated lakes")
    parser.add_argument("--no-extras", action="store_true", help="skip timing Evidently and embeddings")
    args = parser.parse_args()
    quiet = Console(quiet=True)
    load = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    extras: dict[str, float] = {}
    for seed in args.seeds:
        for scenario in ("none", *SCENARIOS):
            settings, seconds = _lake(Path(args.work), args.scale, seed, scenario)
            run = run_drift(settings, DriftConfig(query_sample=0, html=False), quiet, run_id="bench")
            truth = load_truth(settings).drift
            flagged = [f.name for f in run.result.features if SEVERITY[f.status]]
            flagged += [s.name for s in run.result.signals if SEVERITY[s.status]]
            rows.append({
                "seed": seed, "scenario": scenario, "decision": run.result.decision,
                "decisions": dict(run.result.decisions), "hit": _hit(scenario, run.result, truth),
                "flagged": flagged, "named": _named(run.result)[:4], "reasons": list(run.result.reasons),
                "seconds": {**seconds, **run.seconds, "drift": sum(run.seconds.values())},
                "rows": run.payload["tables"],
            })  # fmt: skip
            print(
                f"{seed} {scenario:16s} {run.result.decision:8s} hit={rows[-1]['hit']} {flagged}", flush=True
            )
            if not extras and not args.no_extras:  # the optional parts, once: Evidently page, embeddings
                full = run_drift(
                    settings, DriftConfig(query_sample=300, html=True), quiet, run_id="bench-full"
                )
                extras = {"drift_with_html_and_embeddings": sum(full.seconds.values()), **full.seconds}
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "scale": args.scale,
        "seeds": args.seeds,
        "load_avg_1m": load,
        "machine": describe(),
    }
    payload = {"meta": meta, "runs": rows, "optional_parts_seconds": extras}
    (RESULTS / f"drift_{args.scale}.json").write_text(json.dumps(payload, indent=2, default=str))
    lines = [
        f"# Drift monitoring on the simulator ({args.scale}, seeds {', '.join(map(str, args.seeds))})",
        "",
        f"{summary(meta['machine'])}; load average at start: {load:.1f} (shared cores). "
        "Hit = the result names what the scenario did.",
        "",
        "| seed | scenario | expected | decision | hit | flagged | named | drift s |",
        "|---:|---|---|---|---|---|---|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['seed']} | {row['scenario']} | {EXPECTED[row['scenario']]} | {row['decision']} | "
            f"{'yes' if row['hit'] else 'no'} | {', '.join(row['flagged']) or '—'} | "
            f"{', '.join(row['named']) or '—'} | {row['seconds']['drift']:.1f} |"
        )
    lines += ["", "Optional parts, once on the first lake (seconds): " + json.dumps(extras), ""]
    (RESULTS / f"drift_{args.scale}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
