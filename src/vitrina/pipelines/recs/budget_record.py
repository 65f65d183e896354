"""What the recs run's compute budgets took out of what there was, for the MLflow run and the
report: a capped, seeded sample is a choice the run must record, so that a result measured on a
sample is never read as one measured on everything."""

from __future__ import annotations

from collections.abc import Mapping

from vitrina.core.recs.item2vec import Item2Vec
from vitrina.core.recs.selection import DISCOVERY
from vitrina.core.recs.two_tower.model import TwoTower
from vitrina.pipelines.recs.evaluation import EvaluationSet


def budget_record(
    item2vec: Item2Vec,
    two_tower: TwoTower,
    views: Mapping[str, EvaluationSet],
    ranker_users: tuple[int, int] = (0, 0),
) -> tuple[dict[str, str], str | None]:
    """The compute budgets' MLflow tags (what each trainer and the test evaluation took out of
    what there was; ``ranker_users``: the users the ranker fitted on, of those it could) and a
    note for the report when one of them bound, else None."""
    tower, words = two_tower.budget, item2vec.budget
    test = views.get(DISCOVERY)
    taken = {
        "ranker users": ranker_users,
        "two-tower training pairs per epoch": (tower.get("pairs_per_epoch", 0), tower.get("pairs", 0)),
        "two-tower early-stopping users": (tower.get("valid_users_scored", 0), tower.get("valid_users", 0)),
        "item2vec sessions": (words.get("sessions_trained", 0), words.get("sessions", 0)),
    }
    if test is not None:
        taken["test users"] = (int(test.users.size), test.sampled_from or int(test.users.size))
    tags = {f"budget.{name.replace(' ', '_')}": f"{int(a)} of {int(b)}" for name, (a, b) in taken.items()}
    bound = [f"{name} {int(a):,} of {int(b):,}" for name, (a, b) in taken.items() if a < b]
    note = (
        "Compute budgets (seeded samples, RecsConfig / TwoTowerConfig / Item2VecConfig): "
        + "; ".join(bound)
        + "."
        if bound
        else None
    )
    return tags, note
