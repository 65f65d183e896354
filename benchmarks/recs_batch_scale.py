"""Batch inference of both lists (served and discover) on a scale's home, with a policy over ALS.

Batch inference is the part of ``recs-publish`` that grows with the users and, where the policy
holds ALS, with the catalog: every user is scored against every product, once per list. This
measures it without a trained champion — the policy ALS·0.75 + recent popularity·0.25 for both
lists (what the ci world's champion serves), its sources fitted on the home's whole history — on
every user with history: the two lists with their new-arrival slots, the reasons, and the checks
and the store write of the users' and discover lists. With ``--before SRC`` (the ``src`` folder of
another commit, e.g. ``git archive <commit> src | tar -x -C /tmp/before``) it first scores
``--before-users`` of them with that commit's ALS and new-arrival slots, each list alone as that
code did, and says whether the lists and scores are the same.

    python benchmarks/recs_batch_scale.py --home /tmp/scale-large --before /tmp/before/src

Prints wall and CPU seconds per phase and the users/s; the numbers in ``docs/benchmarks/scale.md``
say the machine's load.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import open_store
from vitrina.config import get_settings
from vitrina.core.recs.block_memo import shared_for_a_batch
from vitrina.core.recs.discover import NewToUser
from vitrina.core.recs.full import explain
from vitrina.core.recs.policy import FILL, Policy, build_policy, make_source
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs import engine, publish
from vitrina.pipelines.recs.batch import publish_recommendations
from vitrina.pipelines.recs.dataset import load_recs_data
from vitrina.pipelines.recs.options import RecsConfig

POLICY = Policy("score", ("als", FILL), 0.75)


def _timed(what: str, users: int | None = None) -> Any:
    """A context that prints ``what``'s wall and CPU seconds (and the users/s) when it ends."""

    class _Clock:
        def __enter__(self) -> None:
            self.wall, self.cpu = time.perf_counter(), time.process_time()

        def __exit__(self, *_: object) -> None:
            wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
            rate = f" = {users / wall:,.0f} users/s, {cpu / users * 1000:.3f} ms CPU a user" if users else ""
            print(f"{what}: {wall:.1f} s wall, {cpu:.1f} s CPU{rate}", flush=True)

    return _Clock()


def _module(name: str, path: Path) -> ModuleType:
    """A module of another commit's source tree, loaded beside this one's."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"no module at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument(
        "--users", type=int, default=None, help="a seeded sample (default: every user with history)"
    )
    parser.add_argument("--before", type=Path, help="another commit's src folder to compare with")
    parser.add_argument("--before-users", type=int, default=2_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("vitrina.pipelines.recs.publish").setLevel(logging.INFO)  # users done, every minute
    settings, config = get_settings(home=args.home), RecsConfig(seed=42)
    with _timed("load"):
        data = load_recs_data(settings)
    history = data.interactions
    with _timed("ALS fit"):
        als = make_source("als").fit(data, history)
    bought = UserItems.purchases(history, len(data.items))
    rule = settings.shop.new_arrivals.rule()

    def models(sources: dict[str, Any]) -> tuple[Any, Any]:
        served = build_policy(POLICY, data, history, sources)
        return publish.with_new_arrivals(
            data, rule, served, NewToUser(build_policy(POLICY, data, history, sources), bought)
        )

    exclude = ~data.servable
    active = publish.published_users(history, config.active_days)
    rng = np.random.default_rng(0)
    print(f"users with history {active.size:,}; items {len(data.items):,}", flush=True)
    before = None
    if args.before is not None:
        old_slots = _module("before_new_arrivals", args.before / "vitrina/core/recs/new_arrivals.py")
        old_als = _module("before_als", args.before / "vitrina/core/recs/als.py").ALSRecommender()
        for name in ("user_factors", "item_factors", "known", "liked", "fallback"):
            setattr(old_als, name, getattr(als, name))
        served, discover = (
            old_slots.NewArrivalSlots(m.model, m.matcher, m.rule, m.bought) for m in models({"als": old_als})
        )
        sample = np.sort(rng.choice(active, size=args.before_users, replace=False))
        with _timed("before: both lists, each alone", sample.size):
            main = engine.score_users(settings, served, sample, config.top_k, exclude)
            other = publish._stacked(discover, sample, config.top_k, exclude, publish.DISCOVER_BLOCK)
        before = sample, main, other
    served, discover = models(shared_for_a_batch({"als": als}))
    print(f"{served.matcher.arrivals.size:,} new arrivals", flush=True)
    users = active if args.users is None else np.sort(rng.choice(active, size=args.users, replace=False))
    if before is not None:
        users = np.union1d(users, before[0])
    with _timed("both lists, block by block", users.size):
        (items, scores, cold), found = publish.score_lists(
            settings, served, discover, users, config.top_k, exclude
        )
    assert found is not None
    with _timed("reasons of both lists"):
        reasons = explain(data, history, users, items, cold)
        lists = [publish.discover_list(data, history, users, found)]
    if before is not None:
        rows = np.searchsorted(users, before[0])
        same = [
            np.array_equal(a[rows], b)
            for a, b in zip((items, scores, cold, *found), (*before[1], *before[2]), strict=True)
        ]
        print(
            "the same as before (items, scores, cold reasons; discover items, scores, reasons):",
            same,
            flush=True,
        )
    popular, _ = served.model.popular.recommend(np.zeros(1, dtype=np.int64), config.top_k, exclude)
    with _timed("checks and store write"), open_store(settings) as store:
        report = publish_recommendations(
            store,
            user_ids=data.users.ids[users],
            items=items,
            scores=np.where(np.isfinite(scores), scores, 0.0),
            reasons=reasons,
            model_version="bench",
            lake=LakePaths(settings.lake),
            run_id="bench-" + time.strftime("%Y%m%dT%H%M%S"),
            servable=data.servable,
            popular=popular[0][popular[0] >= 0],
            vocab=data.items,
            k=config.top_k,
            lists=lists,
        )
    print({name: round(seconds, 1) for name, seconds in report.phases.items()}, flush=True)


if __name__ == "__main__":
    main()
