"""Search versions on held-out live searches, judged by the simulated world's truth.

For every search version a pipeline run registered after the first one, against the version
registered just before it and against the first (learnt from the history only)
(:func:`vitrina.core.evaluation.version_pairs.comparison_pairs`): the searches the shop's API
logged from the later version's held-out cut on (``t_eval``, the start of its run's held-out
window: nothing either version learnt from) to the end of the logs, at most ``max_searches``
of them (a seeded sample). Each version ranks them as it serves — the later one from the index
its run built, the earlier one from the last index of its models built before that —, both
with their behavioural signals as of the cut (:func:`vitrina.pipelines.search.live_champion.
served_engine`, as ADR-0033 compares a version with the served one).

Each list is judged by the world's truth through :class:`.protocol.SearchJudge`: NDCG@10 with
the truth's grades of the query the shopper meant (exponential gains; the ideal list is drawn
from the products any version compared at that cut indexes) and the clicks the market's click
model expects on the page the shop asked for. A text several of the world's queries share is
judged by each, weighted by the probability the shopper meant it; searches whose text is none
of the world's queries are not judged. The paired differences and tests are
:func:`vitrina.core.evaluation.version_pairs.paired_difference`; the verdict reads truth NDCG@10.

The cut of a version is derived from the index its run built: the end of the logs it read
(its signals' time) and the pipeline's ``eval_days``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vitrina.adapters.models.index_versions import complete_versions, read_version_meta
from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL
from vitrina.adapters.registry.models import list_versions
from vitrina.adapters.reports import LATEST, LIVE_REPORTS, report_folder
from vitrina.config import Settings
from vitrina.core.artifacts.files import read_json, write_json_atomic, write_text_atomic
from vitrina.core.evaluation.live_champion import HeldOutSearches, score
from vitrina.core.evaluation.live_report import render_markdown
from vitrina.core.evaluation.version_pairs import (
    CLICKS,
    NDCG,
    comparison_pairs,
    paired_difference,
    sample_positions,
)
from vitrina.core.search.engine import SearchEngine
from vitrina.pipelines.live_simulation.protocol import SearchJudge
from vitrina.pipelines.search.live_champion import ranked_ids, served_engine
from vitrina.pipelines.search.live_logs import live_search_ids
from vitrina.pipelines.search.logs import held_out_start, read_search_logs

MAX_SEARCHES = 600
"""Searches judged per later version (both of its pairs): a seeded sample when more were logged."""
SEED = 0
JUDGED_BY = (
    "the simulator's truth: NDCG@10 graded by the query the shopper meant, expected clicks by the "
    "market's click model; both versions as served, signals as of the later version's cut"
)
_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class SearchVersion:
    """A registered search version: its registry number, its models' name, every index version
    built with them (oldest first: the first is its run's), and its held-out cut."""

    number: int
    model_version: str
    indexes: tuple[str, ...]
    cut: pd.Timestamp | None

    @property
    def label(self) -> str:
        return f"v{self.number}"

    def index_before(self, index: str) -> str:
        """The last index of these models built before ``index`` (else its run's)."""
        bound = _index_number(index)
        earlier = [i for i in self.indexes if _index_number(i) < bound]
        return earlier[-1] if earlier else self.indexes[0]


def _index_number(name: str) -> int:
    found = _NUMBER.search(name)
    return int(found.group(1)) if found else -1


def registered_search_versions(settings: Settings, eval_days: int) -> list[SearchVersion]:
    """The registry's search versions from a pipeline run whose index is on disk, oldest first."""
    by_model: dict[str, list[str]] = {}
    meta: dict[str, dict[str, Any]] = {}
    for name in complete_versions(settings):
        meta[name] = read_version_meta(settings, name)
        by_model.setdefault(str(meta[name].get("model_version")), []).append(name)
    out = []
    for info in sorted(list_versions(settings, SEARCH_MODEL, limit=10_000), key=lambda v: v.version):
        run = info.tags.get("pipeline_run_id")
        model_version = f"search-{run}"
        indexes = by_model.get(model_version)
        if not run or not indexes:
            continue
        cut = version_cut(meta[indexes[0]], eval_days)
        out.append(SearchVersion(info.version, model_version, tuple(indexes), cut))
    return out


def version_cut(meta: Mapping[str, Any], eval_days: int) -> pd.Timestamp | None:
    """The held-out cut (``t_eval``) of the run that built an index version (its
    ``version.json``): its signals are as of the end of the logs it read plus a microsecond."""
    as_of = meta.get("signals_as_of")
    if not as_of:
        return None
    end = pd.Timestamp(as_of)
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    return held_out_start(end - pd.Timedelta(microseconds=1), eval_days)


@dataclass(frozen=True)
class _Judged:
    """The sampled searches after one cut, each with its intents and its page length."""

    texts: list[str]
    users: list[str]
    ts: list[dt.datetime]
    page: list[int]
    intents: list[list[tuple[str, float]]]


def _searches(
    logs: pd.DataFrame, judge: SearchJudge, cut: pd.Timestamp, max_searches: int, seed: int
) -> tuple[_Judged, dict[str, int]]:
    after = logs[pd.to_datetime(logs["ts"], utc=True) >= cut]
    texts, users, ts, page, intents = [], [], [], [], []
    for text, user, at, shown in zip(
        after["query"], after["user_id"], after["ts"], after["results_shown"], strict=True
    ):
        meant = judge.intents(str(text), pd.Timestamp(at).to_pydatetime())
        if not meant or user is None:  # the click model needs the shopper
            continue
        texts.append(str(text))
        users.append(str(user))
        ts.append(pd.Timestamp(at).to_pydatetime())
        page.append(max(len(shown), 1))
        intents.append(meant)
    keep = sample_positions(len(texts), max_searches, seed)
    judged = _Judged(
        [texts[i] for i in keep],
        [users[i] for i in keep],
        [ts[i] for i in keep],
        [page[i] for i in keep],
        [intents[i] for i in keep],
    )
    return judged, {"after_cut": len(after), "with_intent": len(texts)}


def _truth_scores(
    judge: SearchJudge,
    searches: _Judged,
    rankings: Sequence[Sequence[str]],
    candidates: Sequence[str],
    graded: dict[str, tuple[list[str], npt.NDArray[np.float64]]],
) -> dict[str, npt.NDArray[np.float64]]:
    """Per search: NDCG@10 by the truth's grades over ``candidates`` and the expected clicks
    of the page, each averaged over the search's intents by their probabilities; ``graded``
    keeps each query's relevant candidates and grades across calls."""
    owner, weight, relevant, gains, lists = [], [], [], [], []
    clicks = np.zeros(len(searches.texts), dtype=np.float64)
    for i, meant in enumerate(searches.intents):
        page = list(rankings[i][: searches.page[i]])
        for query_id, share in meant:
            if query_id not in graded:
                grades = judge.grades(query_id, candidates).astype(np.float64)
                hit = np.flatnonzero(grades > 0)
                graded[query_id] = ([str(candidates[int(j)]) for j in hit], grades[hit])
            owner.append(i)
            weight.append(share)
            relevant.append(graded[query_id][0])
            gains.append(graded[query_id][1])
            lists.append(list(rankings[i]))
            clicks[i] += share * judge.expected_clicks(searches.users[i], page, query_id, searches.ts[i])
    n = len(owner)
    rows = HeldOutSearches(
        search_ids=[""] * n,
        texts=[""] * n,
        user_ids=[None] * n,
        relevant=relevant,
        gains=gains,
        shown=[[] for _ in range(n)],
        ips=[np.ones(len(r)) for r in relevant],
    )
    per_intent = np.nan_to_num(score(rows, lists).values["ndcg@10"]) * np.asarray(weight)
    ndcg = np.zeros(len(searches.texts), dtype=np.float64)
    np.add.at(ndcg, np.asarray(owner, dtype=np.int64), per_intent)
    return {NDCG: ndcg, CLICKS: clicks}


def judge_search_versions(
    settings: Settings,
    judge: SearchJudge,
    *,
    eval_days: int,
    max_searches: int = MAX_SEARCHES,
    seed: int = SEED,
    log: Any = None,
) -> dict[str, Any]:
    """The report's ``search_versions`` section (module docstring); ``log``: a callable for
    progress lines (e.g. ``console.print``)."""
    section = judge_versions(
        settings,
        judge,
        registered_search_versions(settings, eval_days),
        max_searches=max_searches,
        seed=seed,
        log=log,
    )
    return {**section, "eval_days": eval_days}


def judge_versions(
    settings: Settings,
    judge: SearchJudge,
    registered: Sequence[SearchVersion],
    *,
    max_searches: int = MAX_SEARCHES,
    seed: int = SEED,
    log: Any = None,
) -> dict[str, Any]:
    """The pairs of ``registered`` judged (see :func:`judge_search_versions`)."""
    section: dict[str, Any] = {
        "max_searches": max_searches,
        "seed": seed,
        "judged_by": JUDGED_BY,
        "pairs": [],
    }
    versions = {v.number: v for v in registered}
    pairs = comparison_pairs(list(versions))
    if not pairs:
        section["skipped"] = (
            f"{len(versions)} registered search version(s) from a pipeline run: nothing to compare"
        )
        return section
    live = live_search_ids(settings)
    logs = read_search_logs(settings)
    logs = logs[logs["search_id"].isin(live)] if live else logs.iloc[:0]
    for later_number in sorted({later for later, _, _ in pairs}):
        later = versions[later_number]
        against = [(versions[e], relation) for l_, e, relation in pairs if l_ == later_number]
        base = {
            "version": later.label,
            "index": later.indexes[0],
            "cut": None if later.cut is None else later.cut.isoformat(),
        }
        if later.cut is None:
            section["pairs"] += [
                {**base, "against": e.label, "relation": r, "skipped": "no held-out cut"} for e, r in against
            ]
            continue
        searches, counts = _searches(logs, judge, later.cut, max_searches, seed)
        if len(searches.texts) < 2:
            section["pairs"] += [
                {
                    **base,
                    "against": e.label,
                    "relation": r,
                    **counts,
                    "skipped": "fewer than 2 judged live searches after the cut",
                }
                for e, r in against
            ]
            continue
        indexes = {later.label: later.indexes[0]} | {
            e.label: e.index_before(later.indexes[0]) for e, _ in against
        }
        rankings: dict[str, list[list[str]]] = {}
        catalog: set[str] = set()
        for label, index in indexes.items():
            engine: SearchEngine = served_engine(settings, index, later.cut)
            try:
                k = max(10, *searches.page)
                rankings[label] = ranked_ids(engine, searches.texts, searches.users, k)
                catalog |= {str(p) for p in engine.products.product_ids}
            finally:
                engine.close()
        candidates = sorted(catalog)
        graded: dict[str, tuple[list[str], npt.NDArray[np.float64]]] = {}
        scores = {
            label: _truth_scores(judge, searches, r, candidates, graded) for label, r in rankings.items()
        }
        for earlier, relation in against:
            measured = {
                metric: paired_difference(
                    scores[later.label][metric], scores[earlier.label][metric]
                ).to_dict()
                for metric in (NDCG, CLICKS)
            }
            row = {
                **base,
                "against": earlier.label,
                "against_index": indexes[earlier.label],
                "relation": relation,
                **counts,
                "n_searches": len(searches.texts),
                "metrics": measured,
                "verdict": measured[NDCG]["verdict"],
            }
            section["pairs"].append(row)
            if log is not None:
                m = measured[NDCG]
                log(
                    f"search {later.label} vs {earlier.label} on {len(searches.texts)} live searches after "
                    f"{later.cut.date()}: truth NDCG@10 {m['mean_b']:.4f} vs {m['mean_a']:.4f} "
                    f"({m['difference']:+.4f} ± {m['standard_error']:.4f}, p {m['p_better']:.3g}): "
                    f"{m['verdict']}"
                )
    return section


def add_to_live_report(settings: Settings, section: Mapping[str, Any], run_id: str = LATEST) -> list[str]:
    """Put ``section`` into the live run's report (``run_id``, default the latest; the run's own
    folder and ``latest`` when they are the same run): ``metrics.json`` and ``report.md``
    rewritten. Returns the folders written."""
    folder = report_folder(settings, LIVE_REPORTS, run_id)
    report = read_json(f"{folder}/metrics.json")
    if report is None:
        raise FileNotFoundError(f"no live report at {folder}: run `vitrina simulate live` first")
    report = {**report, "search_versions": dict(section)}
    folders = [report_folder(settings, LIVE_REPORTS, str(report["run_id"]))]
    latest = read_json(f"{report_folder(settings, LIVE_REPORTS, LATEST)}/metrics.json") or {}
    if latest.get("run_id") == report["run_id"]:
        folders.append(report_folder(settings, LIVE_REPORTS, LATEST))
    markdown = render_markdown(report)
    for target in folders:
        write_json_atomic(report, f"{target}/metrics.json")
        write_text_atomic(markdown, f"{target}/report.md")
    return folders
