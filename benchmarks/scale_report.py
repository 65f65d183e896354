"""``docs/benchmarks/scale.md`` from ``scale.json``: the measured tables per scale and the
projection of :mod:`scale_model` to the target marketplace, with its assumptions.

The assumptions sit here as constants so the Markdown prints exactly what the numbers used.
"""

from __future__ import annotations

from typing import Any

from machine import summary
from scale_model import Projection, Sizes, project
from scale_publish_note import RECS_PUBLISH_NOTE

TARGET_USERS = 10_000_000
TARGET_PRODUCTS = 1_000_000
CYCLE_HOURS = 6.0
EFFICIENCY = 0.7
"""Share of the ideal speed-up an executor delivers (shuffles, stragglers, the driver's serial work)."""
EXECUTOR_MB = 4096.0
"""One-core executor with 4 GiB (a common general-purpose cloud ratio)."""

ONE_MACHINE_GB = 64.0
"""The biggest single process assumed affordable for a step that has no scale-out path."""

DRIVER = {
    "generate": "events",
    "validate": "events",
    "features": "events",
    "drift": "events",
    "recs-train": "events",
    "recs-publish": "users",
    "search": "products",
}
"""What each step's cost is modelled to grow with (one driver each: three scales cannot separate two)."""

BUDGET_HOURS: dict[str, float | None] = {
    "generate": None,  # not part of a shop's cycle: its data arrives
    "validate": 0.5,
    "features": 0.5,
    "drift": 0.5,
    "recs-train": 2.0,
    "recs-publish": 1.5,
    "search": 3.5,
}
"""Each step's share of the cycle. validate → features → drift run in sequence (1.5 h), then the
recs branch (train 2 h, publish 1.5 h) and search (3.5 h) run side by side: 5 h on the critical
path, 1 h left for a retry."""

SCALE_OUT = {
    "generate": "simulator only (a real shop's data arrives); no sharded generator",
    "validate": "partly bounded: events are checked a week of raw files at a time and published "
    "atomically (VITRINA_VALIDATE_GROUP_FILES); the other tables in one piece, the carried key set "
    "grows with the events, all in one process; no Spark path",
    "features": "exists: VITRINA_ENGINE=spark computes the feature frames (ADR-0002)",
    "drift": "partly bounded: DuckDB scans the 35 days of windows (it can spill to disk) and keeps "
    "a reservoir sample of MAX_ROWS rows per table; no Spark path",
    "recs-train": "partly bounded: item2vec's sessions, the two-tower pairs per epoch and "
    "early-stopping users, the ranker's users and every evaluation's users are capped seeded "
    "samples (RecsConfig, TwoTowerConfig, Item2VecConfig); ALS, EASE and the candidates at each "
    "cutoff grow with the data in one process; the evaluation join has a Spark path (ADR-0018)",
    "recs-publish": "exists: VITRINA_ENGINE=spark scores blocks of VITRINA_BATCH_BLOCK_USERS users "
    "on executors (ADR-0018); the store write stays on the driver",
    "search": "missing: embedding the catalog and building the index run in one process "
    "(incremental re-index embeds only changed products)",
}
"""Whether a scale-out path exists for the step in the code base, and which."""

MIN_SCALES = 2
"""A step completed at one scale only is not projected: one point cannot separate the fixed cost
from the per-unit cost."""

STAND_IN_MARK = "†"

RECS_TRAIN_NOTE = [
    "**recs-train.** The load codes the events inside DuckDB (`read_recs_data`, "
    "`adapters/lake/recs_tables.py`: the vocabularies joined, sessions and pages numbered, sorted "
    "by time, int32 columns returned, DuckDB held to 1 GB and spilling to disk), equal to the "
    "frame path on the same tables (a contract test): 5.2 GB of peak at large, 1.4 GB instead of "
    "3.2 GB at demo; read as a pandas frame of Python strings (0.63 KB an event) it passed 12 GB "
    "in its first minute (the recs-train attempt stopped at 12 GB). What the load leaves is the "
    "dataset's own form, int64 arrays and fixed-width page labels, ~100 bytes an event held for "
    "the whole run (3 GB at large, ~55 GB at 10 M users).",
    "",
    "Time at large is bounded by compute budgets: seeded samples with fixed caps, set above what "
    "the demo world holds, so ci and demo train and score exactly as without them "
    "(`core/recs/budget.py`). Item2vec trains on at most 100,000 sessions (326,988 at large; 56,294 "
    "at demo); the two-tower model draws at most 250,000 pairs an epoch (1,272,309; 206,542) and "
    "early-stops on at most 10,000 validation users (41,595; at most 7,515); the ranker learns from "
    "at most 10,000 users (33,172; under 6,000); every validation window and view, and the test "
    "evaluation, score at most 10,000 users (about 55,000 each; 7,515 and 7,731), where a mean "
    "NDCG@10 has a standard error near 0.002. The MLflow run records what each took out of what "
    "there was (`budget.*` tags) and the report says which cap bound. The two-tower model's id "
    "tables take sparse gradients, densified into buffers kept across steps for a fused Adam: the "
    "same update, 0.14 s a step at large instead of 1.15 s with dense gradients "
    "(`benchmarks/two_tower_step.py`, load 9), so a capped epoch trains in about a minute (488 "
    "steps) where every pair with dense gradients would take about 48 (2,485 steps).",
    "",
    "Measured at large (the recs-train row, load ≈ 5): the load 82 s, item2vec 80 s, two-tower + "
    "FAISS 287 s, the ranker 85 s, the policy choice 285 s and the evaluation 457 s, every cap "
    "bound (the run's note: item2vec sessions 100,000 of 326,988; two-tower pairs per epoch 250,000 "
    "of 1,272,309 and early-stopping users 10,000 of 41,595; ranker users 10,000 of 33,172; test "
    "users 10,000 of 57,203): training, choice and evaluation complete in 21 min, against more than "
    "40 min for the load, item2vec and part of the two-tower model alone without the budgets (the "
    "attempt stopped by hand). The step does not fit in 12 GB: the evaluation runs at 9.2–10.2 GB "
    "(the dataset's 3 GB, the models at the test cutoff, the evaluation sets), and assembling the "
    "model as of the end of the data (ALS, EASE, the features and cold start refitted beside the "
    "trained models and the dataset), with the test-cutoff models released first, takes the process "
    "to 12.0–12.3 GB, where the guard stops it; recs-publish is not run. What is left to bound at "
    "large is that step's memory, not time.",
    "",
    "**What stays in one process.** ALS, EASE (10,000 items), the candidate lists and the "
    "features at each cutoff still grow with the users and items and run in one process; at the "
    "target the budgets keep item2vec, the two-tower epochs, the ranker and the evaluations flat, "
    "and the rest needs a sample of users or distributed trainers. No Spark path exists for "
    "training.",
]
"""recs-train at large: the load, the compute budgets and what they leave to grow."""

NOT_FITTING = [
    "**validate.** Checked in one piece (`VITRINA_VALIDATE_GROUP_FILES=0`, and every table but "
    "events), a table holds every raw file, the files coerced into one Arrow table, a pandas view "
    "of it for the pandera contract, pandera's per-check masks, then the valid copy, all alive "
    "together (the stage table above). Peak memory is linear in the rows, about 0.6 KB per event "
    "above the process's start, so the 27.8 M events of the large world need 17–19 GB in one "
    "process. Measured: the whole check passed 12 GB and was still growing when the guard stopped "
    "it because the shared 24 GB machine ran low (other jobs' tests beside it).",
    "",
    "The product validates events a week of raw files at a time (`pipelines/validate_groups.py`, "
    "`VITRINA_VALIDATE_GROUP_FILES=7`): each group's valid rows are staged in a hidden folder of the "
    "table as they are checked and moved into place once the whole table passed (a failed or "
    "interrupted run leaves the last good table), and the keys of earlier groups are carried so a "
    "key repeated in a later group is still quarantined as a duplicate, the first occurrence in "
    "file order winning as in one piece. At large it completed in 5.2 GB (the validate row; "
    "≈ 0.19 KB per event, most of it one group's check plus the carried keys), where the "
    "benchmark's earlier stand-in (`benchmarks/scale_grouped_validation.py`, `--validate-groups "
    "12`, the ok earlier attempt) peaked at 11.4 GB because it gathered every group's valid rows "
    "into one Arrow table for a single `replace_table`, and was blind to a key repeated in two "
    "groups. Its projected memory mixes two ways of checking (ci and demo in one piece, large in "
    "groups): read it as an upper bound.",
    "",
    "**What validation still lacks at the target.** At 10 M users (≈ 557 M events) the carried key "
    "set alone is ~9 GB, held in one process beside a group's check, and the projected CPU is past "
    "the step's budget on one core, so the natural home is Spark (`dropDuplicates` on the key "
    "after ordering by file and row, the contract's checks as column "
    "expressions); `VITRINA_ENGINE=spark` covers the feature frames, batch inference and the "
    "evaluation join today (ADR-0002, ADR-0018), not validation.",
    "",
    *RECS_TRAIN_NOTE,
    "",
    *RECS_PUBLISH_NOTE,
    "",
    "generate, features, drift and search at large were measured on the first large world (the "
    "sizes line), the last three on the stand-in's validated output; validate, recs-train and "
    "recs-publish on a world regenerated with the same seed (27,862,360 events, 0.06 % more). The "
    "machine line of the large table is the recs-train row's (AMD EPYC, 2 cores, AVX2 and FMA); the "
    "other large rows ran on an Intel Xeon of the same shape (2 cores, 23.6 GB, AVX-512).",
]
"""What the large run found (the numbers are in the tables above)."""

READING = [
    "How to read it:",
    "",
    "* **CPU seconds, not wall seconds, are fitted**: on a 2-core machine shared with other jobs "
    "the wall time measures the load as much as the step. Threads (LightGBM, torch, DuckDB) add "
    "their CPU time, so CPU seconds are the core-seconds an executor would have to provide.",
    "* **search** holds a fine-tune: a fixed cost that does not grow with the catalog. In the runs of "
    "this table it was bounded by 300 s of wall clock, so a loaded machine trained fewer steps in "
    "the same time; it is bounded by its planned steps since ADR-0027 (the clock is only a safety "
    "stop), which makes its CPU seconds independent of the load. The catalog-dependent part is "
    "embedding and indexing the products.",
    "* **Only scales where the step completed are fitted**; a step fitted on ci and demo only is "
    "extrapolated 50× to 300× in its driver: read its row as an order of magnitude.",
    "* **recs-train is fitted on ci, demo and large**; no compute budget binds at ci and demo, while "
    "at large the budgets bound item2vec, the two-tower epochs, the ranker and the evaluations (the "
    "sub-steps above), and those parts stop growing with the events, so its row over-states them; "
    "the parts that still grow (the load, ALS, EASE, the candidates at each cutoff) follow it.",
    "* **Executors** are sized for the step's budget in the cycle and for memory (one executor holds "
    "the process's fixed memory plus its share of the rest). A step whose scale-out path is "
    '"missing" cannot use them today: its executor count is what the missing path would need.',
    "* **Memory follows the same driver as time**, which is crude where they differ: recs-publish "
    "scores users but its memory is mostly the events it loads (as recs-train's is), and the events "
    "per user differ between the worlds (69 at ci, 150 at demo, 56 at large); fitted by users, "
    "its memory is pessimistic. On Spark each executor also holds the whole "
    'broadcast model, so "its share of the rest" is a lower bound there.',
    f"* **{STAND_IN_MARK}** marks a scale measured with a stand-in (the grouped validation): "
    "its CPU time is fitted (the same checks on the same rows), its memory is not.",
    "* **generate** is the simulator, not part of a shop's cycle (its data arrives): projected for "
    "reference, not sized.",
]
"""The caveats every projection row carries."""

OUTCOME_NOTE = {
    "pending": "not reached yet",
    "running": "running when this file was written",
    "not run": "an earlier step it needs did not finish",
}


def sizes_of(entry: dict[str, Any]) -> Sizes | None:
    counts = entry.get("counts")
    if not counts:
        return None
    return Sizes(users=counts["users"], products=counts["catalog"], events=counts["events"])


def target_sizes(scales: dict[str, Any]) -> Sizes | None:
    """10 M users and 1 M products with the events per user of the largest scale generated."""
    measured = [s for s in (sizes_of(e) for e in scales.values()) if s is not None]
    if not measured:
        return None
    largest = max(measured, key=lambda s: s.users)
    return Sizes(TARGET_USERS, TARGET_PRODUCTS, TARGET_USERS * largest.events / largest.users)


def projections(scales: dict[str, Any]) -> list[tuple[Projection, list[str]]]:
    """Per step, the projection from the scales where it completed, and their names."""
    target = target_sizes(scales)
    if target is None:
        return []
    out = []
    for step, driver in DRIVER.items():
        points, names = [], []
        for name, entry in scales.items():
            sizes = sizes_of(entry)
            row = next((r for r in entry.get("steps", []) if r["step"] == step), None)
            if sizes is not None and row is not None and row.get("outcome") == "ok":
                # a stand-in's time is the step's work; its memory is not the product's
                points.append((sizes, row["cpu_seconds"], None if row.get("variant") else row["peak_rss_mb"]))
                names.append(f"{name}{STAND_IN_MARK if row.get('variant') else ''}")
        if len(points) >= MIN_SCALES:
            hours = BUDGET_HOURS[step]
            budget = hours * 3600 if hours is not None else None
            out.append((project(step, driver, points, target, budget, EFFICIENCY, EXECUTOR_MB), names))
    return out


def _num(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _variant(row: dict[str, Any]) -> str:
    return f"**{row['variant']}**; " if row.get("variant") else ""


def _measured(name: str, entry: dict[str, Any]) -> list[str]:
    counts = entry.get("counts", {})
    size = ", ".join(f"{counts[k]:,} {k}" for k in ("catalog", "users", "events") if k in counts)
    lines = [
        f"### {name}",
        "",
        f"`{entry['command']}` · last run started {entry['date']} · {summary(entry['machine'])} · "
        f"{entry['machine'].get('memory_gb', '?')} GB RAM · load {entry['machine']['load_1m']} at start · "
        f"engine {entry.get('engine', 'duckdb')}",
        "",
        f"Sizes: {size or 'not generated yet'}.",
        "",
        "| step | outcome | wall s | CPU s | peak RSS MB (tree) | largest process MB | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in entry["steps"]:
        note = row.get("error") or OUTCOME_NOTE.get(row["outcome"], "")
        if not note and row.get("substeps"):
            note = ", ".join(f"{k} {v:.0f} s" for k, v in row["substeps"].items())
        if not note and row.get("rows"):
            note = ", ".join(
                f"{k} {v['valid']:,} valid / {v['quarantined']:,} quarantined" for k, v in row["rows"].items()
            )
        note = _variant(row) + note
        lines.append(
            f"| {row['step']} | {row['outcome']} | {_num(row.get('wall_seconds'))} | "
            f"{_num(row.get('cpu_seconds'))} | {_num(row.get('peak_rss_mb'), 0)} | "
            f"{_num(row.get('max_rss_mb'), 0)} | {note.replace('|', '/')} |"
        )
    for attempt in entry.get("attempts", []):
        lines.append(
            f"| {attempt['step']} (earlier attempt) | {attempt['outcome']} | "
            f"{_num(attempt.get('wall_seconds'))} | "
            f"{_num(attempt.get('cpu_seconds'))} | {_num(attempt.get('peak_rss_mb'), 0)} | "
            f"{_num(attempt.get('max_rss_mb'), 0)} | "
            f"{_variant(attempt)}{attempt.get('error', '').replace('|', '/')} |"
        )
    extra = AFTER_TABLE.get(name, [])
    return [*lines, "", *extra, *([""] if extra else [])]


AFTER_TABLE = {
    "demo": [
        "With the policy choice ranking every contender batch by batch and EASE keeping its matrix "
        "in C order (exact speed-ups over the code of the table's rows: the same chosen lists and "
        "validation numbers), `benchmarks/scale.py --child recs-train` and `--child recs-publish` on "
        "the same demo home at load 4–6 (2026-12-06):",
        "",
        "| step | wall s | CPU s | peak RSS MB | sub-steps |",
        "|---|---:|---:|---:|---|",
        "| recs-train | 320 | 300 | 4,100 | load validated data 12 s, item2vec 17 s, two-tower + FAISS "
        "32 s, ranker 35 s, choose the served policy on validation 115 s, evaluate models and "
        "baselines 87 s, assemble the model as of now 8 s, behaviour tests, gate, MLflow registry 2 s |",
        "| recs-publish | 76 | 74 | — | champion histories 11 s, similar, bought-together and "
        "buy-again lists 10 s, batch inference → serving store 38 s |",
        "",
        "The choice step alone, on the same pickled inputs: 254 s CPU before, 87 s after.",
        "",
        "The recs load alone on a regenerated demo home (seed 42, 4,513,042 events; one process, "
        "resident memory sampled every 50 ms, load 8–13, 2026-12-06):",
        "",
        "| load | wall s | CPU s | peak RSS MB | after MB |",
        "|---|---:|---:|---:|---:|",
        "| every event as a pandas frame of strings, then `build_recs_data` | 46.8 | 15.4 | 3,201 | 746 |",
        "| coded inside DuckDB (`read_recs_data`, DuckDB's default memory) | 21.7 | 7.7 | 1,998 | 884 |",
        "| coded inside DuckDB, DuckDB held to 1 GB (`QUERY_MEMORY`), int32 codes "
        "| 30.9 | 9.9 | 1,383 | 738 |",
        "",
        "`vitrina data validate` on the same home (`benchmarks/scale.py --child validate`, largest "
        "process by `/usr/bin/time`, load 7–12): events in one piece 55.5 s wall, 16.1 s CPU, "
        "3,682 MB; a week of raw files at a time (the default) 78.6 s wall, 26.4 s CPU, "
        "1,213 MB, the same 4,513,042 valid events. The extra CPU is each group's fixed cost "
        "(pandera's schema and lazy validation per group) and the carried-key check.",
    ],
    "large": [
        "The recs load alone, coded inside DuckDB (`read_recs_data`), on the validated output of the "
        "validate row (27,862,360 events; one process, resident memory sampled every 50 ms, load "
        "≈ 10, 2026-12-06): 154.9 s wall, 59.8 s CPU, 5,198 MB of peak, 3,201 MB held after it "
        "(the dataset itself: int64 arrays and the page labels). As a frame of strings it passed "
        "12 GB within a minute (the recs-train earlier attempt).",
    ],
}
"""Measurements made by hand beside a scale's table (one-off comparisons, not scale.py runs)."""


def _one_process(p: Projection) -> str:
    """Whether the step as it is (one process, one core) meets its budget and memory."""
    if p.budget_seconds is None:
        return "—"
    slow = p.cpu_seconds > p.budget_seconds
    big = p.peak_mb > ONE_MACHINE_GB * 1024
    return " and ".join([*(["too slow"] if slow else []), *(["too big"] if big else [])]) or "fits"


def _projection(scales: dict[str, Any]) -> list[str]:
    target = target_sizes(scales)
    rows = projections(scales)
    if target is None or not rows:
        return ["No scale has completed a step yet: nothing to project."]
    lines = [
        f"Target: {target.users:,.0f} users, {target.products:,.0f} products, "
        f"{target.events:,.0f} events (the events per user of the largest scale generated, same "
        f"84-day window). Cycle: {CYCLE_HOURS:.0f} h. Executors: one core and {EXECUTOR_MB / 1024:.0f} GiB "
        f'each, {EFFICIENCY:.0%} parallel efficiency. "one process": the step as it runs today, '
        f"on one core, within its budget and {ONE_MACHINE_GB:.0f} GB.",
        "",
        "| step | driver | fitted on | fixed CPU s | CPU µs per unit | elasticity | projected CPU h | "
        "projected peak GB (one process) | budget h | one process | executors | scale-out path |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for p, names in rows:
        budget = "—" if p.budget_seconds is None else f"{p.budget_seconds / 3600:.1f}"
        needed = "—" if p.budget_seconds is None else (str(p.executors) if p.executors else "cannot")
        lines.append(
            f"| {p.step} | {p.driver} | {', '.join(names)} | {p.cpu_fit.fixed:,.1f} | "
            f"{p.cpu_fit.per_unit * 1e6:,.2f} | {_num(p.cpu_fit.elasticity, 2)} | "
            f"{p.cpu_seconds / 3600:,.2f} | {p.peak_mb / 1024:,.1f} | {budget} | {_one_process(p)} | "
            f"{needed} | "
            f"{SCALE_OUT[p.step]} |"
        )
    missing = [s for s in DRIVER if s not in {p.step for p, _ in rows}]
    if missing:
        lines += ["", f"Not projected (completed at fewer than {MIN_SCALES} scales): {', '.join(missing)}."]
    return lines


def _validate_stages(measured: dict[str, Any] | None) -> list[str]:
    if not measured:
        return []
    rows = measured["stages"]
    peak = max(r["peak_mb"] for r in rows) - rows[0]["rss_mb"]
    lines = [
        "### Where validation's memory goes",
        "",
        f"`benchmarks/scale_validate_stages.py --home {measured['home']}` · {measured['date']}: the stages "
        f"of the events table's check in one process ({measured['events']:,} events, "
        f"{measured['arrow_mb']:,} MB as Arrow). Every stage holds a full-size copy and they are all "
        f"alive together: {peak * 1024 / measured['events']:.2f} KB of peak per event above the "
        "process's start.",
        "",
        "| after | resident MB | peak MB | s |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['stage']} | {r['rss_mb']:,} | {r['peak_mb']:,} | {r['seconds']} |" for r in rows]
    return [*lines, ""]


def render(data: dict[str, Any]) -> str:
    scales = data.get("scales", {})
    order = [s for s in ("ci", "demo", "large") if s in scales]
    lines = [
        "# The loop at scale",
        "",
        "Each step of `vitrina train all` as its own process (`benchmarks/scale.py`), per scale: "
        "wall time, CPU time (user + system of the step's processes) and peak resident memory "
        '(sampled every 0.5 s over the step\'s whole process tree; "largest process" is the '
        "kernel's high-water mark of the biggest single process). The ci scale is the baseline "
        "measured on the same machine. The machine is shared (2 cores): wall times carry the "
        "other jobs' load, CPU times much less so.",
        "",
        "## Measured",
        "",
    ]
    for name in order:
        lines += _measured(name, scales[name])
    lines += _validate_stages(data.get("validate_stages"))
    lines += ["## What does not fit at large, and why", "", *NOT_FITTING, ""]
    lines += ["## Projection", "", *_projection({k: scales[k] for k in order}), "", *READING]
    return "\n".join(lines) + "\n"
