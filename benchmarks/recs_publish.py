"""Batch publishing: every user with history plus the product lists, against the former batch.

On a validated home with a ``vitrina-recs`` champion (default: the one ``benchmarks/recs.py``
left), times in one run, with the same assembled model:

* ``baseline``: users active in the last 28 days, users' lists only (the former batch);
* ``all users``: every user with history, users' lists only;
* ``all users + lists``: every user with history plus each product's similar and
  bought-together lists and each buyer's buy-again list (the default now).

Users/s counts users (the bar: ≥ 2,000 users/s); the keyed lists' own seconds are reported.
Writes ``docs/benchmarks/recs_publish.json`` and ``.md``.

    python benchmarks/recs_publish.py --home DIR [--repeat 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from machine import describe, summary

from vitrina.config import get_settings
from vitrina.pipelines.recs.dataset import load_recs_data
from vitrina.pipelines.recs.keyed_lists import keyed_lists
from vitrina.pipelines.recs.options import RecsConfig
from vitrina.pipelines.recs.publish import _item_vectors, champion_model, publish_batch, published_users

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
VARIANTS = {
    "baseline (active 28 days, users' lists)": RecsConfig(active_days=28, product_lists=False),
    "all users, users' lists": RecsConfig(product_lists=False),
    "all users + similar, together, buy-again": RecsConfig(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a validated home with a vitrina-recs champion")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    settings = get_settings(home=Path(args.home))
    data = load_recs_data(settings)
    end = int(data.interactions.ts_us.max()) + 1
    found = champion_model(settings, data, end, RecsConfig())
    if found is None:
        raise SystemExit("no vitrina-recs champion in this home: run benchmarks/recs.py first")
    run_id, full, _ = found
    rows: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        for name, config in VARIANTS.items():
            version = f"bench-{len(rows)}-{time.strftime('%H%M%S')}"
            started = time.perf_counter()
            report = publish_batch(settings, data, full, version, config, model_version=f"recs-{run_id}")
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "variant": name,
                    "users": report.users,
                    "seconds": round(seconds, 2),
                    "users_per_s": round(report.users / seconds, 1),
                    "lists": report.lists,
                    "store_phases": {k: round(v, 2) for k, v in report.phases.items()},
                    "config": {
                        k: v
                        for k, v in dataclasses.asdict(config).items()
                        if k in ("active_days", "product_lists")
                    },
                }
            )
    started = time.perf_counter()
    keyed_lists(data, data.interactions, RecsConfig().top_k, _item_vectors(full))
    lists_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": f"python benchmarks/recs_publish.py --home {args.home} --repeat {args.repeat}",
        "machine": describe(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "users_with_history": int(published_users(data.interactions, None).size),
        "users_active_28_days": int(published_users(data.interactions, 28).size),
        "products": len(data.items),
        "keyed_lists_alone_s": round(lists_s, 2),
        "rows": rows,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "recs_publish.json").write_text(json.dumps(result, indent=2, default=str))
    lines = [
        "# Batch publishing: every known user and the product lists",
        "",
        f"`{result['command']}` — {result['when']}",
        "",
        summary(result["machine"])
        + f"; 1-minute load average at the end: {result['load_average_1min_at_end']}",
        "",
        f"{result['users_with_history']:,} users with history, {result['users_active_28_days']:,} of them "
        f"active in the last 28 days; {result['products']:,} products. Computing the keyed lists alone: "
        f"{lists_s:.1f} s.",
        "",
        "| variant | users | seconds | users/s | keyed lists |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['variant']} | {r['users']:,} | {r['seconds']:.1f} | {r['users_per_s']:,.0f} | "
        + (", ".join(f"{n:,} {k}" for k, n in r["lists"].items()) or "—")
        + " |"
        for r in rows
    ]
    (OUT / "recs_publish.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
