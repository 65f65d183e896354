"""Benchmark the whole loop at one scale: per step wall time, CPU time and peak memory.

For ``--scale`` it generates the marketplace into a scratch home outside the repository
(``/tmp/scale-<scale>`` by default), then runs each step of ``vitrina train all`` as its own
child process so every step's peak memory is its own:

    generate → validate → features → drift → recs-train → recs-publish → search

(``recs-train`` is the recs ledger step ``train``, ``recs-publish`` its ``publish``; ``search`` is
``train`` plus the served index. The loop's intake and canary steps have nothing to do on a
generated home and are not run.) Each child is watched by sampling the resident memory of its
whole process tree (Spark's JVM included); a step whose tree passes ``--max-rss-gb``, or that
leaves the machine less than ``--min-free-gb``, is killed: the first is recorded as "did not fit",
the second as "stopped (machine memory)" (the machine is shared: it says the machine was full,
not that the step alone is too big), one past ``--timeout-min`` as "timeout". Steps depending on
one that did not finish are "not run".

    .venv/bin/python benchmarks/scale.py --scale ci
    .venv/bin/python benchmarks/scale.py --scale demo
    nohup .venv/bin/python benchmarks/scale.py --scale large > /tmp/scale-large.log 2>&1 &
    .venv/bin/python benchmarks/scale.py --report     # re-render the Markdown from the JSON

Results merge into ``docs/benchmarks/scale.json`` (one entry per scale, rewritten after each
step, so a long run shows how far it got) and ``docs/benchmarks/scale.md``, which carries the
projection of :mod:`scale_model` and :mod:`scale_report`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from machine import describe
from scale_report import render
from world_end import WORLD_END

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
RESULTS_JSON = DOCS / "scale.json"
RESULTS_MD = DOCS / "scale.md"
SAMPLE_SECONDS = 0.5


@dataclass(frozen=True)
class Step:
    name: str
    needs: tuple[str, ...]
    what: str


STEPS = (
    Step("generate", (), "the synthetic marketplace: raw tables and the hidden truth"),
    Step("validate", ("generate",), "every raw table against its contract"),
    Step("features", ("validate",), "the feature frames as of the end of the data"),
    Step("drift", ("features",), "the drift check (features, events, query embeddings)"),
    Step("recs-train", ("validate",), "candidates, ranker trials, evaluation, gate, register"),
    Step("recs-publish", ("recs-train",), "champion refresh, product lists, batch of every user's TOP-20"),
    Step("search", ("validate",), "query understanding, fine-tune, index, ranker, evaluation, gate, serve"),
)


# ---------------------------------------------------------------------------------------- child


def _child(step: str, scale: str, seed: int, home: str, result: str, groups: int | None) -> None:
    """Run one step in this process and write what it reports (sub-step seconds, counts)."""
    from rich.console import Console

    from vitrina.config import get_settings

    settings = get_settings(home=home)
    console = Console(stderr=True)
    out: dict[str, Any] = {}
    if step == "generate":
        from vitrina.simulator.generate import generate_marketplace

        summary = generate_marketplace(
            settings, scale=scale, seed=seed, drift=None, end_date=WORLD_END, catalog_to=None
        )
        out["counts"] = dict(summary.counts)
    elif step == "validate":
        from vitrina.pipelines.validate import validate_lake

        if groups:
            from scale_grouped_validation import install

            install(groups)
            out["variant"] = f"in {groups} groups of raw files (scale_grouped_validation.py)"
        report = validate_lake(settings)
        console.print(report.render(), soft_wrap=True)
        out["rows"] = {
            name: {"valid": t.valid_rows, "quarantined": t.quarantined_rows}
            for name, t in report.tables.items()
        }
    elif step == "features":
        from vitrina.pipelines.loop import _features

        out["features"] = {k: v for k, v in _features(settings).items() if k != "files"}
    elif step == "drift":
        from vitrina.pipelines.drift.run import DriftConfig, check_drift

        check = check_drift(settings, DriftConfig(), console)
        out["decision"] = check.decision
    elif step in ("recs-train", "recs-publish"):
        import logging

        from vitrina.pipelines.recs.run import RecsConfig, run_recs

        # publishing's progress lines (keyed lists, batch inference's users done) in the step's log
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("vitrina.pipelines.recs.publish").setLevel(logging.INFO)
        from vitrina.pipelines.retrain_policy import TrainDecision

        train = step == "recs-train"
        decision = TrainDecision(train, "manual", "benchmark" if train else "trained by recs-train")
        run = run_recs(settings, RecsConfig(seed=seed, publish=not train), console, decision=decision)
        out["substeps"] = dict(run.seconds)
        out["ledger"] = [(e.step, e.outcome, round(e.seconds, 2)) for e in run.steps]
        if run.batch is not None:
            out["published_users"] = run.batch.users
    elif step == "search":
        from vitrina.cli.demo import search_config
        from vitrina.pipelines.search.run import run_search

        # the loop's search run (``train all`` without --quick) at every scale, so the scales compare
        searched = run_search(settings, search_config("demo", seed), console)
        out["substeps"] = dict(searched.seconds)
        out["ledger"] = [(e.step, e.outcome, round(e.seconds, 2)) for e in searched.steps]
    else:
        raise SystemExit(f"unknown step {step!r}")
    Path(result).write_text(json.dumps(out, default=str))


# ---------------------------------------------------------------------------------------- parent


def _tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (0 for those gone meanwhile)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run_step(
    step: Step, args: argparse.Namespace, home: Path, log: Path, env: dict[str, str]
) -> dict[str, Any]:
    """One step as a child process, watched; its measurements and outcome."""
    result = home.parent / f"{home.name}.{step.name}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", step.name, "--scale", args.scale, "--seed", str(args.seed),
           "--home", str(home), "--result", str(result)]  # fmt: skip
    if args.validate_groups:
        cmd += ["--validate-groups", str(args.validate_groups)]
    limit = args.max_rss_gb * 2**30
    floor = args.min_free_gb * 2**30
    began = time.perf_counter()
    with log.open("a") as sink:
        sink.write(f"\n===== {step.name} {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\n")
        sink.flush()
        child = subprocess.Popen(cmd, stdout=sink, stderr=sink, env=env, start_new_session=True)
        watched = psutil.Process(child.pid)
        peak, killed = 0, ""
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            rss = _tree_rss(watched)
            peak = max(peak, rss)
            if not killed:
                if rss > limit:
                    killed = f"did not fit: process tree at {rss / 2**30:.1f} GB > {args.max_rss_gb} GB"
                elif psutil.virtual_memory().available < floor:
                    free = psutil.virtual_memory().available / 2**30
                    killed = f"stopped: machine down to {free:.1f} GB free (tree at {rss / 2**30:.1f} GB)"
                elif time.perf_counter() - began > args.timeout_min * 60:
                    killed = f"timeout after {args.timeout_min} min"
                if killed:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.pid, signal.SIGKILL)
            time.sleep(SAMPLE_SECONDS)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    row: dict[str, Any] = {
        "step": step.name,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(usage.ru_maxrss / 1024, 1),  # the largest single process (Linux: KiB)
        "exit_code": child.returncode,
    }
    if step.name == "validate" and args.validate_groups:
        row["variant"] = f"in {args.validate_groups} groups of raw files (scale_grouped_validation.py)"
    if killed:
        kinds = {"timeout": "timeout", "did not fit": "did not fit", "stopped": "stopped (machine memory)"}
        row["outcome"] = next(v for k, v in kinds.items() if killed.startswith(k))
        row["error"] = killed
    elif child.returncode != 0:
        row["outcome"] = "failed"
        row["error"] = _last_error(log)
    else:
        row["outcome"] = "ok"
        row |= json.loads(result.read_text()) if result.exists() else {}
    result.unlink(missing_ok=True)
    return row


def _last_error(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(lines[-3:])[-600:]


@contextlib.contextmanager
def locked_results() -> Iterator[dict[str, Any]]:
    """The results file, read and rewritten under a lock (two scales may run at once)."""
    DOCS.mkdir(parents=True, exist_ok=True)
    with (DOCS / ".scale.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {"scales": {}}
        yield data
        RESULTS_JSON.write_text(json.dumps(data, indent=2) + "\n")
        RESULTS_MD.write_text(render(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="ci", choices=("ci", "demo", "large"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", help="scratch home (default /tmp/scale-<scale>); emptied first")
    parser.add_argument("--steps", help="comma-separated subset (default: all, in order)")
    parser.add_argument("--max-rss-gb", type=float, default=16.0, help="kill a step whose tree passes this")
    parser.add_argument("--min-free-gb", type=float, default=1.5, help="kill a step leaving less free")
    parser.add_argument("--timeout-min", type=float, default=180.0, help="kill a step running longer")
    parser.add_argument(
        "--validate-groups",
        type=int,
        help="validate big tables in this many groups of raw files (scale_grouped_validation.py)",
    )
    parser.add_argument("--report", action="store_true", help="only re-render scale.md from scale.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.scale, args.seed, args.home, args.result, args.validate_groups)
        return
    if args.report:
        with locked_results():
            pass
        print(RESULTS_MD.read_text())
        return
    home = Path(args.home or f"/tmp/scale-{args.scale}")
    wanted = args.steps.split(",") if args.steps else [s.name for s in STEPS]
    if "generate" in wanted:
        shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"{home.name}.log"
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    env = {k: v for k, v in env.items() if k != "VITRINA_HOME"}
    entry: dict[str, Any] = {
        "command": " ".join(["benchmarks/scale.py", *sys.argv[1:]]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": describe() | {"memory_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "engine": os.environ.get("VITRINA_ENGINE", "duckdb"),
        "limits": {
            "max_rss_gb": args.max_rss_gb,
            "min_free_gb": args.min_free_gb,
            "timeout_min": args.timeout_min,
        },
        "steps": [{"step": s.name, "outcome": "pending", "what": s.what} for s in STEPS],
    }
    with locked_results() as data:
        previous = data["scales"].get(args.scale, {})
        if "generate" not in wanted:  # a resumed run: keep what the earlier one measured
            kept = {r["step"]: r for r in previous.get("steps", []) if r["step"] not in wanted}
            entry["steps"] = [kept.get(r["step"], r) for r in entry["steps"]]
            entry["counts"] = previous.get("counts", {})
            entry["command"] = f"{previous.get('command', '?')}; then {entry['command']}"
            entry["attempts"] = previous.get("attempts", []) + [
                r
                for r in previous.get("steps", [])
                if r["step"] in wanted and r["outcome"] not in ("ok", "pending", "running", "not run")
            ]
        data["scales"][args.scale] = entry
    finished: set[str] = set()
    for i, step in enumerate(STEPS):
        if step.name not in wanted:
            if entry["steps"][i].get("outcome") == "ok":
                finished.add(step.name)
            continue
        missing = [need for need in step.needs if need not in finished]
        if missing:
            row = {"step": step.name, "outcome": "not run", "error": f"needs {', '.join(missing)}"}
        else:
            print(f"[{args.scale}] {step.name} …", flush=True)
            with locked_results() as data:
                data["scales"][args.scale]["steps"][i]["outcome"] = "running"
            row = run_step(step, args, home, log, env)
            print(f"[{args.scale}] {step.name}: {row['outcome']} {row['wall_seconds']} s, "
                  f"peak {row['peak_rss_mb']:.0f} MB {row.get('error', '')}", flush=True)  # fmt: skip
        if row["outcome"] == "ok":
            finished.add(step.name)
        with locked_results() as data:
            current = data["scales"][args.scale]
            current["steps"][i] = {"what": step.what, **row}
            if step.name == "generate" and "counts" in row:
                current["counts"] = row["counts"]
            current["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    main()
