"""The interleaving step's per-user outcomes from the logged answers and the raw events: only
answers with teams count, a click or a purchase carrying the request id is credited to the
team that drafted the product, an answer logged twice counts once."""

from __future__ import annotations

import pandas as pd
import pytest

from vitrina.pipelines.search.interleave import experiment, outcomes_of
from vitrina.serving.experiment_config import SearchExperiment

pytestmark = pytest.mark.unit

TEAMS = ["champion", "challenger", "champion", "challenger"]


def _answers() -> pd.DataFrame:
    ts = pd.Timestamp("2026-11-20T10:00", tz="UTC")
    rows = [
        ("r1", "u1", ["a", "b", "c", "d"], TEAMS),
        ("r1", "u1", ["a", "b", "c", "d"], TEAMS),  # logged twice
        ("r2", "u2", ["a", "b", "c", "d"], TEAMS),
        ("r3", "u3", ["a", "b", "c", "d"], None),  # the champion arm: no teams
        ("r4", "u4", ["a", "b", "c", "d"], TEAMS),
    ]
    return pd.DataFrame(
        [{"request_id": r, "user_id": u, "results_shown": s, "teams": t, "ts": ts} for r, u, s, t in rows]
    )


def _events() -> pd.DataFrame:
    rows = [
        ("e1", "r1", "b", "click"),
        ("e2", "r1", "d", "purchase"),
        ("e3", "r2", "a", "click"),
        ("e4", "r2", "b", "view"),  # not a click
        ("e5", "r3", "b", "click"),
    ]
    return pd.DataFrame(
        [{"event_id": e, "request_id": r, "product_id": p, "event_type": t} for e, r, p, t in rows]
    )


def test_outcomes_per_user_from_logged_answers_and_events() -> None:
    assert outcomes_of(_answers(), _events()) == {"u1": 1, "u2": -1, "u4": 0}


def test_the_experiment_is_a_registered_interleave_of_half_the_users() -> None:
    entry = experiment("interleave-search-v2", True)
    assert (entry["kind"], entry["challenger"], entry["challenger_weight"]) == (
        "interleave",
        "registered",
        50.0,
    )
    assert experiment("interleave-search-v2", False)["enabled"] is False
    assert SearchExperiment.model_validate(entry).kind == "interleave"  # what the API accepts
