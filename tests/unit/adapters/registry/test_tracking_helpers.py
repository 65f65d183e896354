"""Pure helpers of the tracking module: metric flattening and the git SHA."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from vitrina.adapters.registry.mlflow_client import artifact_location, tracking_uri
from vitrina.adapters.registry.tracking import flatten_metrics, git_sha
from vitrina.config import get_settings

pytestmark = pytest.mark.unit


def test_flatten_metrics_joins_with_slashes_and_drops_missing_values() -> None:
    nested = {"models": {"full": {"ndcg@10": 0.06, "mrr": None, "coverage": math.nan}}, "truth": {}, "n": 3}
    assert flatten_metrics(nested) == {"models/full/ndcg_at_10": 0.06, "n": 3.0}


def test_flatten_metrics_makes_every_name_mlflow_safe() -> None:
    nested = {"models": {"hybrid+ltr": {"by_query_type": {"categoría": {"p@5": 0.5}}}}}
    assert flatten_metrics(nested) == {"models/hybrid_ltr/by_query_type/categor_a/p_at_5": 0.5}


def test_flatten_metrics_ignores_non_numbers() -> None:
    assert flatten_metrics({"a": "text", "b": True, "c": [1, 2], "d": 1.5}) == {"d": 1.5}


def test_git_sha_inside_and_outside_a_checkout(tmp_path: Path) -> None:
    sha, _ = git_sha(Path(__file__).resolve().parent)
    assert re.fullmatch(r"[0-9a-f]{40}", sha)
    assert git_sha(tmp_path) == ("unknown", False)


def test_default_store_lives_in_the_home(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    assert tracking_uri(settings) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert artifact_location(settings, "vitrina-recs") == (tmp_path / "mlartifacts" / "vitrina-recs").as_uri()
    remote = get_settings(home=tmp_path, mlflow_uri="http://mlflow:5000")
    assert tracking_uri(remote) == "http://mlflow:5000"
    assert artifact_location(remote, "vitrina-recs") is None
