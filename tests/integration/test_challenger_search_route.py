"""`GET /search` with a registered challenger's index version loaded beside the champion's (a
copy of the served version under the next name): the treatment arm is answered from it, each
request of the experiment is in the request log with its arm, and shadow mode logs the
comparison of the challenger's answer with the shown one."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vitrina.adapters.experiment_file import write_surface
from vitrina.adapters.experiment_logs import REQUESTS, SHADOW, read_log
from vitrina.adapters.models.index_versions import (
    current_version,
    next_version,
    set_challenger,
    version_folder,
)
from vitrina.config import get_settings
from vitrina.core.experiments.assignment import Assignment
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USERS = [f"shopper-{i}" for i in range(40)]


def test_search_serves_and_shadows_the_challenger_index(tmp_path: Path, served_home: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home)
    served = current_version(settings)
    assert served is not None
    challenger = next_version(settings)
    shutil.copytree(version_folder(settings, served), version_folder(settings, challenger))
    set_challenger(settings, challenger, reason="test")
    config = {"enabled": True, "name": "idx", "salt": "idx", "champion_weight": 50, "challenger_weight": 50,
              "challenger": "registered"}  # fmt: skip
    (home / "serving").mkdir(exist_ok=True)
    (home / "serving" / "experiment.json").write_text(json.dumps({"search": config}))
    split = Assignment.from_weights("idx", {"champion": 50, "challenger": 50})
    with TestClient(create_app(settings)) as api:
        state = api.app.state.serving  # type: ignore[attr-defined]
        assert state.search.challenger is not None
        assert state.search.challenger.index_version == challenger
        for user in USERS:
            body = api.get("/search", params={"q": "zapatillas", "user_id": user}).json()
            assert body["arm"] == split.assign(user)
            assert body["index_version"] == (challenger if body["arm"] == "challenger" else served)
        state.request_log.flush()
        rows = list(read_log(home, REQUESTS))
        assert {r["user_id"]: r["arm"] for r in rows} == {u: split.assign(u) for u in USERS}
        assert {(r["surface"], r["status"], r["degraded"]) for r in rows} == {("search", 200, False)}
        write_surface(home, "search", {**config, "shadow": True})  # and bumps the reload counter
        deadline = time.monotonic() + 10
        while not state.experiment.search.shadow and time.monotonic() < deadline:
            time.sleep(0.1)
        for user in USERS:
            body = api.get("/search", params={"q": "zapatillas", "user_id": user}).json()
            assert (body["arm"], body["index_version"]) == ("champion", served)
        state.search.wait_for_shadows()
        state.search.shadow_log.flush()
        shadows = list(read_log(home, SHADOW))
        assert sorted(r["user_id"] for r in shadows) == sorted(
            u for u in USERS if split.assign(u) == "challenger"
        )
        assert all(r["challenger_model"].endswith(f"@{challenger}") for r in shadows)
        assert all(r["overlap"] == 1.0 for r in shadows), "a copy of the served index ranks the same"


def test_search_interleaves_the_champion_and_challenger_versions_and_logs_the_teams(
    tmp_path: Path, served_home: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home)
    served = current_version(settings)
    assert served is not None
    challenger = next_version(settings)
    shutil.copytree(version_folder(settings, served), version_folder(settings, challenger))
    set_challenger(settings, challenger, reason="test")
    config = {"enabled": True, "name": "il", "salt": "il", "champion_weight": 50, "challenger_weight": 50,
              "challenger": "registered", "kind": "interleave"}  # fmt: skip
    (home / "serving").mkdir(exist_ok=True)
    (home / "serving" / "experiment.json").write_text(json.dumps({"search": config}))
    split = Assignment.from_weights("il", {"champion": 50, "challenger": 50})
    with TestClient(create_app(settings)) as api:
        state = api.app.state.serving  # type: ignore[attr-defined]
        assert state.experiment.search.kind == "interleave"
        bodies = {
            user: api.get("/search", params={"q": "zapatillas", "user_id": user}).json() for user in USERS
        }
        assert state.answers is not None
        assert state.answers.drain()
        logged = {b.event.request_id: b.event for b in state.answers.buffer.read(1000)}
    leads = set()
    for user, body in bodies.items():
        teams = [item["team"] for item in body["items"]]
        assert body["arm"] == split.assign(user)
        assert body["index_version"] == served
        record = logged[body["request_id"]]
        if body["arm"] == "champion":
            assert set(teams) == {None}
            assert record.teams == ()
            continue
        assert body["mode"].endswith(f"+registered:{challenger}")
        assert set(teams) == {"champion", "challenger"}
        assert abs(teams.count("champion") - teams.count("challenger")) <= 1
        leads.add(teams[0])
        assert list(record.teams) == teams
        assert list(record.results_shown) == [item["product_id"] for item in body["items"]]
        assert record.experiment == "il"
    assert leads == {"champion", "challenger"}
