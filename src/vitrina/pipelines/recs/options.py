"""The knobs of one recommendations run (:mod:`vitrina.pipelines.recs.run`), apart so that the
training and publishing modules share them without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.core.recs.exposure import DEFAULT_ETA


@dataclass(frozen=True)
class RecsConfig:
    """Knobs of one run; defaults sized for the demo on 2 cores.

    ``ranker_objective`` and ``ips_eta``: see :mod:`vitrina.core.ranking.lambdarank` and
    :mod:`vitrina.core.recs.exposure` (ADR-0012). ``cold_below``: users with fewer positive
    events go to cold start; on the demo, users with 1–4 got better lists from the ranker
    (NDCG@10 0.039 held-out / 0.055 truth) than from cold start (0.022 / 0.043).
    ``mmr_keep``: slots above the MMR-diversified part of the head. ``select_on``: the view the
    served policy is chosen on (:mod:`vitrina.core.recs.selection`, docs/adr/0017). ``active_days``: publish
    only users with an event in that many last days; None (the default) publishes every user
    with history — on a real shop 59 % of returning customers were older than 28 days and got
    the popularity fallback instead of a list of their own.

    ``max_eval_users``: the most users any validation window, view or the test evaluation scores
    (a seeded sample of those with a held-out choice, :mod:`vitrina.core.recs.budget`).
    Their cost grows with the users scored and every contender is scored on each of them, while
    a mean NDCG@10 over 10,000 users has a standard error near 0.002 (per-user values spread
    about 0.2), and a paired difference between contenders on the same users less: the demo
    world's windows (7,515 validation and 7,731 test users) are scored whole, the large world's
    (about 55,000 each) are sampled. The notes and the MLflow run say when a sample was scored.
    None scores every user.

    ``max_ranker_users``: the most validation users whose candidate lists the ranker learns
    from (a seeded sample; the early-stopping share is kept whole). Its training frame holds
    ``n_candidates`` rows per user and every Optuna trial passes over it: the demo world fits on
    under 6,000 users (unsampled), the large world's 33,172 would make a frame of 3.3 M rows.
    """

    seed: int = 42
    n_trials: int = 4
    n_candidates: int = 100
    mmr_lambda: float = 0.7
    mmr_keep: int = 3
    ranker_objective: str = "binary"
    ips_eta: float = DEFAULT_ETA
    cold_below: int = 1
    top_k: int = 20
    active_days: int | None = None
    product_lists: bool = True  # similar, bought-together and buy-again lists in the batch
    ranker_valid_share: float = 0.2
    select_on: str = "all_positives"
    max_eval_users: int | None = 10_000
    max_ranker_users: int | None = 10_000
    evaluate: bool = True
    publish: bool = True
