"""The selection step: score every contender on the validation window, choose the policy the
shop serves (:mod:`vitrina.core.recs.selection`), and rebuild it at later cutoffs.

Who is scored on what, so that no number has seen its own answers:

* every source is fitted on ``train`` and scored on the ``valid`` window, in both views
  (all positives; discovery), on every user with a held-out choice;
* the full model's ranker learnt from ``valid``: it is scored only on the validation users it
  did not fit on (its early-stopping share), side by side with the best other contender on
  those same users, and replaces it only if it beats it there. Without a ranker the full
  model is two-tower retrieval with MMR and cold start, trained on ``train`` only, and it
  competes like any source.

The chosen policy is then refitted on ``train`` + ``valid`` and scored on ``test``
(:func:`served_model`), which is what the gate reads.

The discover list's policy is chosen the same way from the same table, on the discovery view,
among the contenders without buy-again-like parts
(:func:`~vitrina.core.recs.selection.discovery_contenders`); the full model replaces it under
the same paired rule. :func:`discover_model` serves it without each user's purchases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from vitrina.core.ranking.interactions import FloatArray, IntArray, Interactions
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.discover import NewToUser
from vitrina.core.recs.full import FullRecommender
from vitrina.core.recs.policy import (
    FILL,
    FULL,
    SOURCES,
    TWO_TOWER,
    Policy,
    PolicyModel,
    SourceSettings,
    build_policy,
    make_source,
)
from vitrina.core.recs.recommender import Recommender
from vitrina.core.recs.selection import (
    ALL_POSITIVES,
    DISCOVERY,
    MIN_PAIRED_USERS,
    VIEWS,
    choose,
    choose_discover,
    contenders,
    discovery_contenders,
    full_or,
)
from vitrina.core.recs.user_items import UserItems
from vitrina.pipelines.recs.ease_lambda import EaseLambda, choose_ease_lambda
from vitrina.pipelines.recs.evaluation import (
    EvaluationSet,
    build_evaluation_set,
    history_before,
    rank_users,
    score_lists,
)

GATE_SECTIONS = {ALL_POSITIVES: "all_positives", DISCOVERY: "models"}
"""The test-metrics section of each view (``models`` is the evaluation's default protocol)."""
Table = dict[str, dict[str, float]]


@dataclass
class Selection:
    """The choice and the validation numbers it rests on."""

    policy: Policy
    view: str
    table: Table  # contender → {view: NDCG@10} on every validation user
    users: int
    paired: Table = field(default_factory=dict)  # full vs the best other, on the ranker's held-out users
    paired_users: int = 0
    fallback: str | None = None  # why the served policy is not the validation's choice
    validated: str = field(init=False)  # the validation's choice, kept when a fallback serves
    discover: Policy | None = None  # the discover list's choice (discovery view, no buy-again)
    ease: EaseLambda | None = None  # EASE's λ, chosen before the contenders are scored

    def settings(self) -> dict[str, dict[str, Any]]:
        """The sources' settings chosen on validation, refitted with at test and every publish."""
        return self.ease.settings() if self.ease else {}

    def __post_init__(self) -> None:
        self.validated = self.policy.name

    def record(self) -> dict[str, Any]:
        """MLflow tags of the choice (names can be long: tags, not params)."""
        return {
            "selection.chosen": self.policy.name,
            "selection.validation_choice": self.validated,
            "selection.view": self.view,
            "selection.validation_users": str(self.users),
            "selection.ranker_heldout_users": str(self.paired_users),
            **({"selection.fallback": self.fallback} if self.fallback else {}),
            **({"selection.discover": self.discover.name} if self.discover else {}),
            **({"selection.discover_view": DISCOVERY} if self.discover else {}),
            **(self.ease.record() if self.ease else {}),
        }

    def params(self) -> dict[str, str]:
        """MLflow params of the two lists' choices (the served one as finally served)."""
        return {
            "selection.served": self.policy.name,
            **({"selection.discover": self.discover.name} if self.discover else {}),
            **({"selection.ease_lambda_scale": f"{self.ease.scale:g}"} if self.ease else {}),
        }

    def metrics(self) -> dict[str, dict[str, dict[str, float]]]:
        """The validation numbers as metric sections (MLflow and the model card)."""

        def rows(table: Table) -> dict[str, dict[str, float]]:
            return {name: {f"ndcg@10 {view}": row[view] for view in VIEWS} for name, row in table.items()}

        sections = {"validation": rows(self.table)}
        if self.paired:
            sections["validation_ranker_heldout"] = rows(self.paired)
        # each list's choice by its validation numbers (every user; the full model: its paired users)
        chosen = {"served": self.validated, **({"discover": self.discover.name} if self.discover else {})}
        found = {name: self.table.get(name) or self.paired.get(name) for name in chosen.values()}
        sections["validation_chosen"] = rows(
            {list_: row for list_, name in chosen.items() if (row := found[name]) is not None}
        )
        return sections | (self.ease.metrics() if self.ease else {})

    def note(self) -> str:
        """A paragraph for the report: what was chosen, on what, against what."""
        best = sorted(self.table.items(), key=lambda kv: -kv[1][self.view])[:5]
        shown = "; ".join(f"{n} {r[ALL_POSITIVES]:.4f} / {r[DISCOVERY]:.4f}" for n, r in best)
        text = (
            f"Chosen on validation: **{self.validated}**, the best NDCG@10 on {self.view.replace('_', ' ')} "
            f"of {len(self.table)} contenders on {self.users:,} validation users (all positives / "
            f"discovery, best five: {shown})."
        )
        if self.paired:
            pair = "; ".join(
                f"{n} {r[ALL_POSITIVES]:.4f} / {r[DISCOVERY]:.4f}" for n, r in self.paired.items()
            )
            text += f" On the {self.paired_users:,} users the ranker never fitted on: {pair}"
            few = self.paired_users < MIN_PAIRED_USERS
            text += " (too few to choose the full model on)." if few else "."
        if self.discover is not None:
            row = self.table.get(self.discover.name) or self.paired.get(self.discover.name)
            number = f" ({row[DISCOVERY]:.4f} on discovery)" if row else ""
            why = (
                "which beat the best other contender on discovery on the users the ranker never fitted on"
                if self.discover.name == FULL and FULL not in self.table
                else "the best on discovery of the contenders without buy-again"
            )
            text += (
                f" The discover list (never what the user bought) serves **{self.discover.name}**{number}, "
                f"{why}."
            )
        if self.ease is not None:
            text += f" {self.ease.note()}"
        if self.fallback:
            text += f" {self.fallback}"
        return text


class _Memo:
    """A fitted part's lists, computed once per batch of users at a generous depth and cut to
    each request: every contender built on a part asks it for the same users, and a top-``k``
    list is the prefix of a deeper one (true of every source; the full model, whose MMR head
    depends on ``k``, is not memoised)."""

    DEPTH = 300
    BATCHES = 6  # user batches kept: both views of a validation window of up to 6,000 users

    def __init__(self, model: Recommender) -> None:
        self.model = model
        self.name = model.name
        self._lists: dict[tuple[bytes, bytes], tuple[IntArray, FloatArray]] = {}

    def fit(self, data: RecsData, history: Interactions) -> _Memo:
        return self

    def recommend(
        self, users: IntArray, k: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> tuple[IntArray, FloatArray]:
        key = (np.asarray(users).tobytes(), b"" if exclude is None else np.packbits(exclude).tobytes())
        if key not in self._lists or self._lists[key][0].shape[1] < k:
            if len(self._lists) >= self.BATCHES:
                self._lists.pop(next(iter(self._lists)))
            items, scores = self.model.recommend(users, max(k, self.DEPTH), exclude)
            self._lists[key] = (np.asarray(items), np.asarray(scores, dtype=np.float64))
        items, scores = self._lists[key]
        return items[:, :k], scores[:, :k]


def _two_tower_alone(full: FullRecommender) -> FullRecommender:
    """The full model's retrieval stage alone (no ALS, ranker, MMR or cold start)."""
    return replace(full, ranker=None, als=None, cold_start=None, mmr_lambda=None, name=TWO_TOWER)


def trained_parts(full: FullRecommender) -> dict[str, Recommender]:
    """The run's trained models as policy parts, at the cutoff ``full`` was assembled at."""
    return {FULL: full, TWO_TOWER: _two_tower_alone(full)}


def fitted_sources(
    data: RecsData,
    history: Interactions,
    settings: SourceSettings | None = None,
    reuse: Recommender | None = None,
) -> dict[str, Recommender]:
    """Every refittable source of :data:`~vitrina.core.recs.policy.SOURCES` fitted on ``history``
    with its chosen ``settings``; ``reuse``: one already fitted so (on that very history), by
    its name."""
    kept = {reuse.name: reuse} if reuse is not None else {}
    return kept | {
        name: make_source(name, settings).fit(data, history) for name in SOURCES if name not in kept
    }


def _views(data: RecsData, users: IntArray | None) -> dict[str, EvaluationSet]:
    """The ``valid`` evaluation in both views (``users``: only those users)."""
    return {
        view: build_evaluation_set(data, part="valid", repeats=view == ALL_POSITIVES, users=users)
        for view in VIEWS
    }


def _score(model: Recommender, views: Mapping[str, EvaluationSet]) -> dict[str, float]:
    """NDCG@10 of ``model`` in each view."""
    return {
        view: float(score_lists(rank_users(model, evaluation), evaluation)["heldout"]["ndcg@10"])
        for view, evaluation in views.items()
    }


def choose_lists(
    data: RecsData, parts: Mapping[str, Recommender], view: str = ALL_POSITIVES
) -> tuple[Selection, dict[str, Policy]]:
    """Every contender over ``parts`` (fitted on the history before ``valid``) scored on
    ``valid`` in both views; the served list's choice on ``view`` and the discover list's on
    discovery among the contenders without buy-again. Also the contenders by name."""
    everyone = _views(data, None)
    by_name = {policy.name: policy for policy in contenders(parts)}
    fill = parts[FILL]
    table = {name: _score(PolicyModel(policy, parts, fill), everyone) for name, policy in by_name.items()}
    new = {policy.name: table[policy.name] for policy in discovery_contenders(by_name.values())}
    selection = Selection(by_name[choose(table, view)], view, table, int(everyone[ALL_POSITIVES].users.size))
    measured = any(math.isfinite(row[DISCOVERY]) for row in new.values())
    # no validation user chose anything new (only repeats): recent popularity, the filler
    selection.discover = by_name[choose_discover(new)] if measured else by_name[FILL]
    return selection, by_name


def select_policy(
    data: RecsData,
    at_train_end: FullRecommender,
    ranker: LambdaRanker | None,
    heldout_users: IntArray,
    view: str = ALL_POSITIVES,
) -> Selection:
    """Score the contenders on ``valid`` and choose (see the module docstring).
    ``at_train_end`` is the full model assembled at ``train_end`` without a ranker;
    ``heldout_users`` are the validation users the ranker did not fit on. EASE's λ is chosen
    first (:func:`~vitrina.pipelines.recs.ease_lambda.choose_ease_lambda`), so its contenders
    are scored as they would be served."""
    ease = choose_ease_lambda(data)
    sources = fitted_sources(data, history_before(data, "valid"), ease.settings(), reuse=ease.model)
    ease.model = None  # in the sources now; the selection, kept to the end of the run, need not hold it
    fitted = {
        **sources,
        TWO_TOWER: _two_tower_alone(at_train_end),
    }
    parts: dict[str, Recommender] = {name: _Memo(model) for name, model in fitted.items()}
    if ranker is None:  # nothing learnt from valid: the full model competes like a source
        parts[FULL] = at_train_end
    selection, by_name = choose_lists(data, parts, view)
    selection.ease = ease
    assert selection.discover is not None  # choose_lists always makes both choices
    best, discover = selection.policy.name, selection.discover.name
    fill = parts[FILL]
    if ranker is not None and heldout_users.size:
        heldout = _views(data, heldout_users)
        paired = {
            name: _score(PolicyModel(by_name[name], parts, fill), heldout)
            for name in dict.fromkeys((best, discover))
        }
        paired[FULL] = _score(replace(at_train_end, ranker=ranker), heldout)
        selection.paired, selection.paired_users = paired, int(heldout[ALL_POSITIVES].users.size)
        if full_or(best, paired, view, selection.paired_users) == FULL:
            selection.policy = Policy("single", (FULL,))
            selection.validated = FULL
        if full_or(discover, paired, DISCOVERY, selection.paired_users, by_other=False) == FULL:
            selection.discover = Policy("single", (FULL,))
    return selection


def served_model(
    policy: Policy,
    data: RecsData,
    history_end_us: int,
    full: FullRecommender,
    settings: SourceSettings | None = None,
) -> PolicyModel:
    """``policy`` as of ``history_end_us``: its sources refitted on the history before it with
    their chosen ``settings``, its trained parts from ``full`` (assembled at that same instant by
    the caller)."""
    history = data.interactions.before(history_end_us)
    served = build_policy(policy, data, history, trained_parts(full), settings=settings)
    served.content = np.asarray(full.candidates.item_embeddings(), dtype=np.float32)
    return served


def discover_model(
    policy: Policy,
    data: RecsData,
    history_end_us: int,
    full: FullRecommender,
    settings: SourceSettings | None = None,
) -> NewToUser:
    """The discover list as of ``history_end_us``: ``policy`` built like :func:`served_model`,
    each user's purchases before that instant removed from their list."""
    history = data.interactions.before(history_end_us)
    return NewToUser(
        served_model(policy, data, history_end_us, full, settings),
        UserItems.purchases(history, len(data.items)),
    )


FALLBACK = Policy("single", ("popularity_recent",))
"""What a shop's first version serves when its choice loses to popularity on ``test``: the
gate's own baseline (recent popularity, purchases kept), so the gate can pass it."""


def first_version_fallback(selection: Selection, metrics: dict[str, Any], ratio: float) -> bool:
    """For a shop without a champion: if the chosen policy scored below ``ratio`` × popularity
    on ``test`` in the gate's section, serve :data:`FALLBACK` instead, copy popularity's numbers
    to the ``served`` rows and say why. True when it did. A shop is never left without lists
    because its validation window and its test window disagree."""
    section = GATE_SECTIONS[selection.view]
    rows = metrics.get(section, {})
    served = rows.get("served", {}).get("ndcg@10")
    popular = rows.get("popularity", {}).get("ndcg@10")
    if served is None or popular is None or not math.isfinite(popular) or selection.policy == FALLBACK:
        return False
    if math.isfinite(served) and served >= ratio * popular:
        return False
    selection.fallback = (
        f"No champion yet and {selection.policy.name} scored NDCG@10 {served:.4f} on the test window, "
        f"under popularity's {popular:.4f}: this first version serves {FALLBACK.name}, so the shop has lists."
    )
    selection.policy = FALLBACK
    for values in metrics.values():
        if isinstance(values, dict) and "popularity" in values:
            values["served"] = dict(values["popularity"])
    return True
