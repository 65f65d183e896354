"""Registration reads the canary state: a running canary of a surface holds its model's
challenger alias (ADR-0028), as a running interleaving of search versions holds the search model's (ADR-0036);
an ended one, or another surface's, does not."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from vitrina.adapters.canary_state import registration_hold, state_url
from vitrina.adapters.interleave_state import interleave_url
from vitrina.adapters.registry.mlflow_client import RECS_MODEL, SEARCH_MODEL
from vitrina.config import get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.core.experiments.canary import start

pytestmark = pytest.mark.unit
AT = "2026-11-22T00:00:00+00:00"


def test_a_running_canary_holds_its_model_only(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    assert registration_hold(settings, RECS_MODEL) is None
    state = start("recs", "v2", AT)
    write_json_atomic(state.to_dict(), state_url(settings, "recs"))
    hold = registration_hold(settings, RECS_MODEL)
    assert hold is not None
    assert "v2" in hold
    assert "recs" in hold
    assert registration_hold(settings, SEARCH_MODEL) is None
    write_json_atomic(replace(state, status="rolled_back").to_dict(), state_url(settings, "recs"))
    assert registration_hold(settings, RECS_MODEL) is None


def test_a_running_search_interleaving_holds_the_search_model_only(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path)
    write_json_atomic({"challenger": "v3", "status": "running", "looks": []}, interleave_url(settings))
    assert registration_hold(settings, SEARCH_MODEL) == "v3 is being interleaved with the champion on search"
    assert registration_hold(settings, RECS_MODEL) is None
    write_json_atomic({"challenger": "v3", "status": "withdrawn", "looks": []}, interleave_url(settings))
    assert registration_hold(settings, SEARCH_MODEL) is None
