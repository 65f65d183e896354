"""Do vitrina's served recommendations beat simple baselines on real shops' data?

One run per dataset: the dataset is imported through its example (``examples/<name>``: the
mapping and the shop file; ``vitrina data import`` and ``vitrina data validate`` into a temporary
home), split inside what ``../shared/realdata/<name>`` holds (``recs_split``: forward, the last 28
days held out; for MovieLens also each user's last 10 events), and scored in two views —
discovery (items new to the user) and all positives (a re-purchase counts) — by NDCG@10,
Recall@20 and HR@10 over the same users for every model:

* baselines (``recs_baselines``, reference implementations independent of vitrina's code):
  popularity all time / last 7 / last 30 days, buy-again, item-kNN, EASE (λ chosen on a
  validation slice of the train side), ALS;
* ``served``: a home holding only the train side, ``vitrina train all`` with the defaults, and
  for every test user (``recs_served``), fallbacks included: ``GET /recs/{user}`` (the default
  list) in the all-positives view, ``GET /recs/{user}?list=discover`` (the list chosen on the
  discovery view, never what the user bought) in the discovery view, each scored as answered.

Users are scored when they have a positive in the test part: *returning* users also had an
event before their cutoff, *all* adds the users first seen in the test part (every model gives
them its fallback). The bars: served ≥ 1.1 × the best baseline in both views (returning users)
on online-retail and movielens-latest-small; served ≥ popularity of the last 30 days on olist
(all users).

Writes ``docs/benchmarks/realdata_recs.json`` (one entry per dataset, replaced by each run) and
``realdata_recs.md`` (from that JSON).

    python benchmarks/realdata_recs.py --dataset online-retail|olist|movielens-latest-small
        [--train all|recs] [--trials N] [--no-served] [--source-rankers] [--until DAY] [--keep DIR]

``--until DAY`` measures the shop as it was before that day (the data from it on held back):
the same bars at an earlier cut, to tell a result that holds from one that needed its month.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from machine import describe, summary
from recs_baselines import (
    ALS,
    EASE_DEFAULT_LAMBDA,
    EASE_LAMBDAS,
    BuyAgain,
    Interactions,
    ItemKNN,
    Popularity,
    Scorer,
    build_interactions,
    ease_gram,
    ease_scores,
    ease_weights,
    recommend,
)
from recs_metrics import ndcg_per_user, paired_difference, score_lists
from recs_new_arrivals import SERVED_WITHOUT, arrival_products, new_arrival_hits, without_slots
from recs_new_arrivals import markdown as arrivals_markdown
from recs_served import (
    import_home,
    pipeline_ndcg,
    read_validated,
    served_lists,
    served_policy,
    train_home,
    write_train_home,
)
from recs_split import (
    ALL_POSITIVES,
    DISCOVERY,
    VIEWS,
    Split,
    Truth,
    build_truth,
    forward_split,
    leave_last_out_split,
    validation_split,
)

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "benchmarks"
REALDATA = REPO.parent / "shared" / "realdata"
POSITIVE = "purchase"
K = 20
POPULATIONS = ("returning", "all")
BASELINES = ("popularity", "popularity_7d", "popularity_30d", "buy_again", "item_knn", "ease", "als")
SERVED = "served"
BAR_RATIO = 1.1


@dataclass(frozen=True)
class Dataset:
    splits: tuple[str, ...]
    bar: str
    """``baselines``: served ≥ 1.1 × the best baseline (returning users); ``popularity_30d``:
    served ≥ popularity of the last 30 days (all users)."""


DATASETS = {
    "online-retail": Dataset(("forward",), "baselines"),
    "olist": Dataset(("forward",), "popularity_30d"),
    "movielens-latest-small": Dataset(("forward", "leave_last_out"), "baselines"),
}


def make_split(name: str, events: pd.DataFrame) -> Split:
    return forward_split(events) if name == "forward" else leave_last_out_split(events)


def choose_ease_lambda(
    data: Interactions, truth: Truth
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """λ per view with the best NDCG@10 on the validation slice's returning users, and the
    NDCG@10 of every λ tried."""
    columns, gram = ease_gram(data)
    users = sorted(set(truth.users(DISCOVERY, "returning")) | set(truth.users(ALL_POSITIVES, "returning")))
    tried: dict[str, dict[str, float]] = {view: {} for view in VIEWS}
    for lam in EASE_LAMBDAS:
        weights = ease_weights(gram, lam)
        model = _Fixed(data, columns, weights)
        for view in VIEWS:
            exclude = truth.history if view == DISCOVERY else None
            lists = recommend(model, data, users, K, exclude)
            scored = truth.users(view, "returning")
            tried[view][str(lam)] = score_lists(lists, truth.relevant[view], scored)["ndcg@10"]
    chosen = {}
    for view in VIEWS:
        finite = {lam: v for lam, v in tried[view].items() if not math.isnan(v)}
        # the best score, the stronger regularisation among equals; no validation users: the default
        best = max(finite, key=lambda lam: (finite[lam], float(lam))) if finite else str(EASE_DEFAULT_LAMBDA)
        chosen[view] = float(best)
    return chosen, tried


@dataclass
class _Fixed:
    """EASE with weights already computed (one inversion per λ, shared by both views)."""

    data: Interactions
    columns: np.ndarray
    weights: np.ndarray

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return ease_scores(self.data, self.columns, self.weights, rows)


def evaluate_split(
    events: pd.DataFrame, split: Split, served: dict[str, Any] | None, seed: int
) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, list[str]]]]]:
    """Every baseline's metrics on ``split`` (and the served lists' when given); the lists too."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    positive = events["event_type"] == POSITIVE
    truth = build_truth(events, split, positive)
    train = events[split.is_train(events)]
    train_positive = train[train["event_type"] == POSITIVE]
    data = build_interactions(train_positive, split.as_of)

    inner = validation_split(split, train)
    inner_truth = build_truth(train, inner, train["event_type"] == POSITIVE)
    inner_data = build_interactions(train_positive[inner.is_train(train_positive)], inner.as_of)
    lambdas, tried = choose_ease_lambda(inner_data, inner_truth)
    timings["ease_validation_s"] = time.perf_counter() - started

    users = sorted(set(truth.users(DISCOVERY, "all")) | set(truth.users(ALL_POSITIVES, "all")))
    models: dict[str, Scorer] = {
        "popularity": Popularity(data),
        "popularity_7d": Popularity(data, 7),
        "popularity_30d": Popularity(data, 30),
        "buy_again": BuyAgain(data),
        "item_knn": ItemKNN(data),
        "als": ALS(data, seed=seed),
    }
    columns, gram = ease_gram(data)
    weights = {lam: ease_weights(gram, lam) for lam in set(lambdas.values())}
    lists: dict[str, dict[str, dict[str, list[str]]]] = {view: {} for view in VIEWS}
    for view in VIEWS:
        exclude = truth.history if view == DISCOVERY else None
        view_models = dict(models, ease=_Fixed(data, columns, weights[lambdas[view]]))
        for name in BASELINES:
            began = time.perf_counter()
            lists[view][name] = recommend(view_models[name], data, users, K, exclude)
            timings[f"{name}_s"] = timings.get(f"{name}_s", 0.0) + time.perf_counter() - began
    slots: dict[str, dict[str, list[str]]] = {}
    if served is not None:
        answered: dict[str, list[str]] = served["lists"]
        lists[ALL_POSITIVES][SERVED] = answered
        slots[ALL_POSITIVES] = served.get("new_slots", {})
        if "discover" in served:  # the discover list, exactly as /recs?list=discover answered
            lists[DISCOVERY][SERVED] = served["discover"]["lists"]
            slots[DISCOVERY] = served["discover"].get("new_slots", {})
        else:  # a served side without that list: the default list minus each user's past items
            lists[DISCOVERY][SERVED] = {
                u: [p for p in items if p not in truth.history.get(u, frozenset())]
                for u, items in answered.items()
            }
        for view in VIEWS:  # the same lists without the new-arrivals slot (docs/adr/0025)
            lists[view][SERVED_WITHOUT] = without_slots(lists[view][SERVED], slots.get(view, {}))
    metrics: dict[str, Any] = {}
    for name in lists[ALL_POSITIVES]:
        metrics[name] = {
            view: {
                population: score_lists(
                    lists[view][name], truth.relevant[view], truth.users(view, population)
                )
                for population in POPULATIONS
            }
            for view in VIEWS
        }
    test_users = {
        f"{view}/{population}": len(truth.users(view, population))
        for view in VIEWS
        for population in POPULATIONS
    }
    result: dict[str, Any] = {
        "description": split.description,
        "cut": None if split.cut is None else split.cut.isoformat(),
        "as_of": split.as_of.isoformat(),
        "train_events": len(train),
        "train_positives": len(train_positive),
        "train_users": int(train["user_id"].nunique()),
        "train_items": int(data.items.size),
        "test_positives": int((~split.is_train(events) & positive).sum()),
        "test_users": test_users,
        "ease": {"lambda": lambdas, "validation_ndcg@10": tried, "validation": inner.description},
        "models": metrics,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
    }
    if served is not None:
        result["served"] = _coverage(served, truth)
        result["by_served_list"] = _by_served_list(served, truth, lists)
        result["served_minus"] = _served_minus(truth, lists)
        result["new_arrivals"] = new_arrival_hits(
            lists, truth, served.get("arrivals", []), slots, (SERVED, SERVED_WITHOUT, *BASELINES)
        )
    return result, lists


def _served_minus(truth: Truth, lists: dict[str, dict[str, dict[str, list[str]]]]) -> dict[str, Any]:
    """Served − each baseline, NDCG@10 per user: the mean and its 95 % bootstrap interval
    (``[mean, low, high]``) per view and population."""
    out: dict[str, Any] = {}
    for view in VIEWS:
        out[view] = {}
        for population in POPULATIONS:
            users = truth.users(view, population)
            served = ndcg_per_user(lists[view][SERVED], truth.relevant[view], users)
            out[view][population] = {
                name: paired_difference(served, ndcg_per_user(lists[view][name], truth.relevant[view], users))
                for name in BASELINES
            }
    return out


def _by_served_list(
    served: dict[str, Any], truth: Truth, lists: dict[str, dict[str, dict[str, list[str]]]]
) -> dict[str, dict[str, dict[str, float]]]:
    """NDCG@10 of every model over the returning users ``/recs`` gave a personal list, and over
    those it gave the fallback: are the personal lists good, and how much does coverage cost?"""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for group, kept in (("personal", True), ("fallback", False)):
        out[group] = {}
        for view in VIEWS:
            answers = served["discover"] if view == DISCOVERY and "discover" in served else served
            personal = {u for u, reason in answers["fallback"].items() if reason is None}
            users = [u for u in truth.users(view, "returning") if (u in personal) == kept]
            row = {"users": float(len(users))}
            for name, by_user in lists[view].items():
                row[name] = score_lists(by_user, truth.relevant[view], users)["ndcg@10"]
            out[group][view] = row
    return out


def _coverage(served: dict[str, Any], truth: Truth) -> dict[str, Any]:
    """Share of test users given a personal list, per population, and the fallback reasons."""
    fallback: dict[str, str | None] = served["fallback"]
    coverage = {}
    for population in POPULATIONS:
        users = sorted(set(truth.users(DISCOVERY, population)) | set(truth.users(ALL_POSITIVES, population)))
        personal = sum(fallback[u] is None for u in users)
        coverage[population] = {
            "users": len(users),
            "personal": personal,
            "share": personal / len(users) if users else math.nan,
        }
    reasons: dict[str, int] = {}
    for reason in fallback.values():
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    discover: dict[str, int] = {}
    for reason in served.get("discover", {}).get("fallback", {}).values():
        if reason is not None:
            discover[reason] = discover.get(reason, 0) + 1
    return {
        "coverage": coverage,
        "fallback_reasons": reasons,
        **({"discover_fallback_reasons": discover} if "discover" in served else {}),
        "model_versions": served["model_versions"],
        "timings_s": served["timings_s"],
        "train_home_rows": served["rows"],
        "command": served["command"],
        "pipeline_ndcg@10": served["pipeline_ndcg@10"],
        **({"policy": served["policy"]} if served.get("policy") else {}),
    }


def bars(dataset: str, splits: dict[str, Any]) -> list[dict[str, Any]]:
    """The bars of the issue on this dataset, per split and view, with the margin."""
    out = []
    kind = DATASETS[dataset].bar if dataset in DATASETS else "baselines"
    for split_name, result in splits.items():
        models = result["models"]
        if SERVED not in models:
            continue
        for view in VIEWS:
            if kind == "baselines":
                population = "returning"
                best = max(BASELINES, key=lambda m: _ndcg(models, m, view, population))
                target = BAR_RATIO * _ndcg(models, best, view, population)
                label = f"served ≥ {BAR_RATIO} × best baseline ({best})"
            else:
                population, best = "all", "popularity_30d"
                target = _ndcg(models, best, view, population)
                label = "served ≥ popularity of the last 30 days"
            value = _ndcg(models, SERVED, view, population)
            difference = result.get("served_minus", {}).get(view, {}).get(population, {}).get(best)
            out.append(
                {
                    "split": split_name,
                    "view": view,
                    "population": population,
                    "bar": label,
                    "served": value,
                    "target": target,
                    "ratio_to_reference": value / _ndcg(models, best, view, population)
                    if _ndcg(models, best, view, population)
                    else math.nan,
                    # no baseline found anything: nothing to beat, the bar says nothing
                    "passed": bool(value >= target) if target > 0 else None,
                    "served_minus_reference": difference,
                }
            )
    return out


def _ndcg(models: dict[str, Any], model: str, view: str, population: str) -> float:
    value = models[model][view][population]["ndcg@10"]
    return -1.0 if value is None or math.isnan(value) else float(value)


def run_dataset(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    example = args.example or REPO / "examples" / args.dataset
    data_dir = args.data or REALDATA / args.dataset
    default = DATASETS[args.dataset].splits if args.dataset in DATASETS else ("forward",)
    split_names = tuple(args.splits.split(",")) if args.splits else default
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vitrina-realdata-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "vitrina.log"
    try:
        full = work / "full"
        imported = import_home(full, example, data_dir, log)
        events = read_validated(full, "events")
        if events is None:
            raise SystemExit(f"{args.dataset}: the import wrote no events")
        events["user_id"] = events["user_id"].astype(str)
        events["product_id"] = events["product_id"].astype(str)
        if args.until is not None:
            events = events[events["ts"] < pd.Timestamp(args.until, tz="UTC")].reset_index(drop=True)
        splits: dict[str, Any] = {}
        for name in split_names:
            split = make_split(name, events)
            served = None
            if not args.no_served:
                served = _served(full, work / name, split, events, args, log)
            splits[name], _ = evaluate_split(events, split, served, args.seed)
            print(_split_markdown(args.dataset, name, splits[name]), file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "measured": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/realdata_recs.py", *sys.argv[1:]]),
        "machine": describe(),
        "example": str(example.relative_to(REPO)) if example.is_relative_to(REPO) else str(example),
        "data": str(data_dir),
        "import_s": {k: round(v, 1) for k, v in imported.items()},
        "events": len(events),
        "positives": int((events["event_type"] == POSITIVE).sum()),
        "users": int(events["user_id"].nunique()),
        "items": int(events["product_id"].nunique()),
        "until": None if args.until is None else args.until.isoformat(),
        "first_event": events["ts"].min().isoformat(),
        "last_event": events["ts"].max().isoformat(),
        "splits": splits,
        "bars": bars(args.dataset, splits),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _served(
    full: Path, home: Path, split: Split, events: pd.DataFrame, args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    rows = write_train_home(full, home, split)
    opted_in = {"VITRINA_RECS_SOURCE_RANKERS": "1"} if args.source_rankers else None
    timings = train_home(home, log, args.train, args.trials, opted_in)
    positive = events["event_type"] == POSITIVE
    truth = build_truth(events, split, positive)
    users = sorted(set(truth.users(DISCOVERY, "all")) | set(truth.users(ALL_POSITIVES, "all")))
    began = time.perf_counter()
    answers = served_lists(home, users)
    discover = served_lists(home, users, list_name="discover")
    timings["answer_s"] = time.perf_counter() - began
    command = f"vitrina train {args.train}" + (f" --trials {args.trials}" if args.trials else "")
    return {
        "lists": answers.lists,
        "fallback": answers.fallback,
        "model_versions": answers.model_versions,
        "discover": {"lists": discover.lists, "fallback": discover.fallback, "new_slots": discover.new_slots},
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "rows": rows,
        "command": command,
        "pipeline_ndcg@10": pipeline_ndcg(home),
        "policy": served_policy(home),
        "new_slots": answers.new_slots,
        "arrivals": arrival_products(read_validated(home, "catalog"), split.as_of),
    }


# --- report -------------------------------------------------------------------------------------

MODEL_LABELS = {
    "popularity": "popularity, all time",
    "popularity_7d": "popularity, last 7 days",
    "popularity_30d": "popularity, last 30 days",
    "buy_again": "buy-again (own items, ties by popularity 30 d; then popularity 30 d)",
    "item_knn": "item-kNN (cosine, 100 neighbours)",
    "ease": "EASE",
    "als": "ALS (implicit, 64 factors)",
    SERVED: "**vitrina served (`/recs`)**",
    SERVED_WITHOUT: "vitrina served, new-arrivals slot taken out",
}


def _cell(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _split_markdown(dataset: str, name: str, result: dict[str, Any]) -> str:
    tu = result["test_users"]
    lines = [
        f"### {dataset} · {name} split",
        "",
        f"{result['description']}. Train: {result['train_events']:,} events "
        f"({result['train_positives']:,} positives) of {result['train_users']:,} users on "
        f"{result['train_items']:,} items; test: {result['test_positives']:,} positives. Users scored "
        f"(returning / all): discovery {tu['discovery/returning']:,} / {tu['discovery/all']:,}, "
        f"all positives {tu['all_positives/returning']:,} / {tu['all_positives/all']:,}.",
        "",
        "| model | discovery NDCG@10 | R@20 | HR@10 | all positives NDCG@10 | R@20 | HR@10 "
        "| discovery NDCG@10, all users | all positives NDCG@10, all users |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, views in result["models"].items():
        d, a = views[DISCOVERY], views[ALL_POSITIVES]
        label = MODEL_LABELS.get(model, model)
        if model == "ease":
            lam = result["ease"]["lambda"]
            label += f" (λ {lam[DISCOVERY]:g} / {lam[ALL_POSITIVES]:g})"
        cells = [
            d["returning"]["ndcg@10"],
            d["returning"]["recall@20"],
            d["returning"]["hr@10"],
            a["returning"]["ndcg@10"],
            a["returning"]["recall@20"],
            a["returning"]["hr@10"],
            d["all"]["ndcg@10"],
            a["all"]["ndcg@10"],
        ]
        lines.append(f"| {label} | " + " | ".join(_cell(c) for c in cells) + " |")
    served = result.get("served")
    if served:
        cov = served["coverage"]
        reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(served["fallback_reasons"].items())) or "none"
        if "discover_fallback_reasons" in served:
            found = sorted(served["discover_fallback_reasons"].items())
            reasons += "; list=discover: " + (", ".join(f"{r} {n:,}" for r, n in found) or "none")
        t = served["timings_s"]
        lines += [
            "",
            f"Served: `{served['command']}` on a home holding the train side "
            f"({', '.join(f'{k} {v:,}' for k, v in served['train_home_rows'].items())} rows); "
            f"personal lists for {cov['returning']['personal']:,} of {cov['returning']['users']:,} "
            f"returning users ({cov['returning']['share']:.0%}) and {cov['all']['personal']:,} of "
            f"{cov['all']['users']:,} test users ({cov['all']['share']:.0%}); fallbacks: {reasons}. "
            f"Validate {t.get('validate_s', 0):.0f} s, train {t.get('train_s', 0):.0f} s, "
            f"answering {t.get('answer_s', 0):.0f} s.",
        ]
        if served.get("pipeline_ndcg@10"):
            seen = ", ".join(f"{m} {v:.4f}" for m, v in served["pipeline_ndcg@10"].items())
            lines += ["", f"NDCG@10 on the recs pipeline's own held-out window (what its gate read): {seen}."]
        if served.get("policy"):
            lines += ["", _policy_line(served["policy"])]
    for group, label in (("personal", "a personal list"), ("fallback", "the fallback")):
        views = result.get("by_served_list", {}).get(group)
        if not views:
            continue
        parts = []
        for view in VIEWS:
            row = views[view]
            if not row["users"]:
                continue
            best = max(BASELINES, key=lambda m: -1.0 if math.isnan(row[m]) else row[m])
            parts.append(
                f"{view} ({row['users']:.0f} users): served {_cell(row[SERVED])}, best baseline "
                f"{best} {_cell(row[best])}, popularity 30 d {_cell(row['popularity_30d'])}"
            )
        if parts:
            lines += ["", f"Returning users `/recs` gave {label}: " + "; ".join(parts) + "."]
    lines += arrivals_markdown(result)
    lines += [
        "",
        f"EASE λ chosen on the validation slice ({result['ease']['validation']}): "
        + "; ".join(
            f"{view}: " + ", ".join(f"{lam} → {v:.4f}" for lam, v in tried.items())
            for view, tried in result["ease"]["validation_ndcg@10"].items()
        )
        + ".",
    ]
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


def _interval(difference: list[float | None] | None) -> str:
    if not difference or any(v is None or math.isnan(v) for v in difference):
        return ""
    mean, low, high = difference
    return f"; served − reference {mean:+.4f}, 95 % interval {low:+.4f} … {high:+.4f}"


def render(report: dict[str, Any]) -> str:
    lines = [
        "# Recommendations on real shops' data: vitrina's served lists against baselines",
        "",
        "Each dataset is imported through its example (`examples/<name>`), split inside the data "
        "(forward: the last 28 days held out, the cut derived from the data; MovieLens also per user, "
        "each user's last 10 events held out) and scored in two views: **discovery** (items new to "
        "the user; every baseline's list leaves out the user's past items) and "
        "**all positives** (a re-purchase counts). *served* is scored as answered: in the discovery "
        "view the `discover` list (`GET /recs/{user}?list=discover`, chosen on the shop's validation "
        "window on discovery, never what the user bought), in the all-positives view the default "
        "list (`GET /recs/{user}`). NDCG@10 / Recall@20 / HR@10 with binary gains, "
        "over the same users for every model: *returning* users (an event before their cutoff) "
        "unless the column says *all users* (also those first seen in the test part). Baselines "
        "(`benchmarks/recs_baselines.py`) are reference implementations independent of vitrina's "
        "code, trained on the positives (purchases; ratings ≥ 4) of the train side, and pad short "
        "lists with the popularity of the last 30 days; buy-again breaks ties of count and time "
        "(items of one basket) by that same popularity, not by product id. *served* is what "
        "`GET /recs/{user}` answers "
        "after `vitrina train` with the defaults on a home holding only the train side, "
        "fallbacks included.",
        "",
    ]
    for dataset, entry in report.items():
        lines += [
            f"## {dataset}",
            "",
            f"Command: `{entry['command']}` · {entry['measured'][:10]} · {entry['seconds']:.0f} s in all",
            f"({summary(entry['machine'])} · load {entry['machine']['load_1m']}). "
            f"Example `{entry['example']}`; {entry['events']:,} events ({entry['positives']:,} positives) "
            f"of {entry['users']:,} users on {entry['items']:,} items, "
            f"{entry['first_event'][:10]} to {entry['last_event'][:10]}"
            + (f" (the data from {entry['until']} on held back)." if entry.get("until") else ".")
            + (f" {entry['note']}" if entry.get("note") else ""),
            "",
        ]
        for name, result in entry["splits"].items():
            lines += [_split_markdown(dataset, name, result), ""]
        if entry["bars"]:
            lines += ["Bars:", ""]
            for bar in entry["bars"]:
                verdict = {True: "**pass**", False: "**miss**", None: "not measurable"}[bar["passed"]]
                lines.append(
                    f"- {bar['split']} · {bar['view']} ({bar['population']} users): {bar['bar']}: "
                    f"{bar['served']:.4f} vs {bar['target']:.4f} → {verdict} "
                    f"(served / reference = {_ratio(bar['ratio_to_reference'])}"
                    + _interval(bar.get("served_minus_reference"))
                    + ")"
                )
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dataset", default="", help=" | ".join(DATASETS) + " (or a name with --example/--data)"
    )
    parser.add_argument(
        "--example", type=Path, help="folder with mapping.yaml and vitrina.yaml (default examples/<dataset>)"
    )
    parser.add_argument(
        "--data", type=Path, help="the dataset's files (default ../shared/realdata/<dataset>)"
    )
    parser.add_argument("--splits", help="forward,leave_last_out (default: the dataset's)")
    parser.add_argument("--train", choices=("all", "recs"), default="all", help="vitrina train all | recs")
    parser.add_argument("--trials", type=int, help="--trials of vitrina train (default: vitrina's)")
    parser.add_argument("--no-served", action="store_true", help="baselines only (no vitrina training)")
    parser.add_argument(
        "--source-rankers",
        action="store_true",
        help="train with VITRINA_RECS_SOURCE_RANKERS=1 (the source rankers challenge the choice, ADR-0035)",
    )
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        help="hold back the data from this day on (UTC) and split what is before it, as if the "
        "shop's data ended the day before: a forward split at an earlier time",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--note", help="a sentence recorded with the results (e.g. how loaded the machine was)"
    )
    parser.add_argument("--keep", help="work in this folder and keep it (homes, vitrina.log)")
    parser.add_argument("--out", type=Path, default=OUT, help="where realdata_recs.json/.md go")
    parser.add_argument(
        "--render-only", action="store_true", help="rewrite realdata_recs.md from the JSON, run nothing"
    )
    args = parser.parse_args()
    path = args.out / "realdata_recs.json"
    if args.render_only:
        report = json.loads(path.read_text())
        for name, entry in report.items():
            entry["bars"] = bars(name, entry["splits"])
        path.write_text(json.dumps(_finite(report), indent=2, allow_nan=False) + "\n")
        (args.out / "realdata_recs.md").write_text(render(report) + "\n")
        return
    if args.example is None and args.dataset not in DATASETS:
        parser.error(f"unknown dataset {args.dataset!r}: {', '.join(DATASETS)}, or give --example and --data")
    entry = run_dataset(args)
    if args.note:
        entry["note"] = args.note
    args.out.mkdir(parents=True, exist_ok=True)
    report = json.loads(path.read_text()) if path.exists() else {}
    report[args.dataset] = entry
    report = dict(sorted(report.items()))
    path.write_text(json.dumps(_finite(report), indent=2, allow_nan=False, default=_json_default) + "\n")
    (args.out / "realdata_recs.md").write_text(render(report) + "\n")
    print(render({args.dataset: entry}))


def _policy_line(policy: dict[str, Any]) -> str:
    """What the pipeline chose to serve, and the sources' settings it served them with."""
    settings = "; ".join(
        f"{source}: {', '.join(f'{k} {v}' for k, v in values.items() if v is not None)}"
        for source, values in policy.get("sources", {}).items()
        if any(v is not None for v in values.values())
    )
    return (
        f"The pipeline chose to serve **{policy.get('name')}** (discover list: {policy.get('discover')}); "
        f"the sources' settings (each chosen on the validation windows, or its default where they held "
        f"too few users: the pipeline's report says which): {settings or 'none'}."
    )


def _finite(value: Any) -> Any:
    """NaN (a metric over no users) as null, recursively."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json_default(value: object) -> object:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    raise TypeError(f"not JSON: {type(value)}")


if __name__ == "__main__":
    main()
