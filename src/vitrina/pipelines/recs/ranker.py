"""The ranker of the full model: what it learns from and when there is nothing to learn.

It learns from what users did in ``valid`` to the candidates retrieved as of ``train_end``
(features as of then too), each positive weighted by the inverse of its item's exposure in
``valid`` (:mod:`vitrina.core.recs.exposure`). A share of those users is held out for early
stopping; the selection step (:mod:`vitrina.pipelines.recs.selection`) scores the full model
on them only, the users it never fitted on.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd

from vitrina.core.ranking.interactions import IntArray
from vitrina.core.ranking.lambdarank import LambdaRanker
from vitrina.core.ranking.training_set import build_ranking_frame
from vitrina.core.recs.budget import seeded_sample
from vitrina.core.recs.cold_start import ColdStartRecommender
from vitrina.core.recs.dataset import RecsData
from vitrina.core.recs.exposure import ips_weights, item_propensity
from vitrina.core.recs.full import FullRecommender
from vitrina.pipelines.recs.options import RecsConfig


def ranker_users(
    data: RecsData, cold: ColdStartRecommender, share: float, seed: int
) -> tuple[IntArray, IntArray]:
    """Warm users with a positive in ``valid``, split into ranker-train and early-stopping sets
    (cold users are served by cold start, so the ranker never sees them)."""
    users = np.unique(data.part("valid").positives().user)
    users = users[~cold.is_cold(users)]
    salt = np.frombuffer(hashlib.sha256(str(seed).encode()).digest()[:8], dtype=np.uint64)[0]
    held = ((users.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + salt) % np.uint64(1000)) < share * 1000
    return users[~held], users[held]


def fit_ranker(
    data: RecsData, full: FullRecommender, cold: ColdStartRecommender, config: RecsConfig
) -> tuple[LambdaRanker | None, str | None]:
    """The ranker on what users did in ``valid`` to the candidates ``full`` retrieves as of
    ``train_end`` (``full`` must be assembled at that cutoff, without a ranker); positives
    weighted by inverse exposure propensity in ``valid``. It learns from at most
    ``config.max_ranker_users`` of the users it may fit on (a seeded sample, the budget).

    ``(None, why)`` when there is nothing to learn from: no warm user chose anything in
    ``valid`` (a shop of one-time buyers), or none of them chose a candidate the retrieval
    offered them. Such a run serves candidates in their retrieval order, and says so."""
    fit_users, stop_users = ranker_users(data, cold, config.ranker_valid_share, config.seed)
    fit_users = seeded_sample(fit_users, config.max_ranker_users, config.seed)
    if fit_users.size == 0 or stop_users.size == 0:
        return None, (
            f"no ranker: {fit_users.size + stop_users.size} users with history chose something in the "
            f"validation window, too few to fit ({fit_users.size}) and early-stop ({stop_users.size}) "
            "one; candidates keep their retrieval order"
        )
    horizon = data.valid_end_us - data.train_end_us
    propensity = item_propensity(data.part("valid"), len(data.items), config.ips_eta)
    frames = []
    for role, users in (("fit", fit_users), ("early-stopping", stop_users)):
        items, scores = full.candidate_matrix(users, config.n_candidates, ~data.servable)
        frame = build_ranking_frame(
            users,
            items,
            scores,
            data.interactions,
            data.train_end_us,
            horizon,
            user_features=full.features.user if full.features else pd.DataFrame(),
            item_features=full.features.item if full.features else pd.DataFrame(),
            cross=full.cross,
        )
        if len(frame) == 0 or not (frame.labels > 0).any():
            return None, (
                f"no ranker: none of the {users.size} {role} users chose one of their retrieved "
                "candidates in the validation window; candidates keep their retrieval order"
            )
        frames.append(
            replace(
                frame,
                features=full.with_list_features(frame.groups, frame.features),
                weights=ips_weights(frame.labels, frame.items, propensity),
            )
        )
    ranker = LambdaRanker(num_threads=1, objective=config.ranker_objective, name=config.ranker_objective)
    return ranker.fit(frames[0], frames[1], n_trials=config.n_trials, seed=config.seed), None
