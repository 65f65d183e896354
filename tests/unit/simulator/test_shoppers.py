"""The experiment driver against an in-memory API and market with a known answer.

The fake API assigns arms with the real experiment models (sticky salted hash) and serves
"good" products to the champion and "poor" ones to the challenger; the fake market clicks good
products far more often. So the popularity-like challenger must lose, an A/A split must not
differ, and interleaving must prefer the champion.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from vitrina.core.experiments.interleaving import team_draft
from vitrina.core.experiments.run_config import DriverConfig
from vitrina.serving.api_client import ApiClient, ApiError, Served
from vitrina.serving.experiment_config import CHALLENGER, ExperimentConfig
from vitrina.simulator.shoppers import Driver, Population

pytestmark = pytest.mark.unit

GOOD = tuple(f"good{i:02d}" for i in range(20))
POOR = tuple(f"poor{i:02d}" for i in range(20))
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


class FakeApi:
    """Serves lists by arm from the experiment config it was given; records what it saw."""

    def __init__(self) -> None:
        self.config = ExperimentConfig()
        self.puts: list[dict[str, Any]] = []
        self.events: list[Mapping[str, Any]] = []

    def get_experiment(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def put_experiment(self, config: Mapping[str, Any]) -> None:
        self.config = ExperimentConfig.model_validate(config)
        self.puts.append(dict(config))

    def recs(self, user_id: str, *, k: int, request_id: str) -> Served:
        exp = self.config.recs
        arm = exp.arm(user_id)
        poor = arm == CHALLENGER and exp.challenger == "popularity"
        items = (POOR if poor else GOOD)[:k]
        return Served(arm, exp.name if exp.enabled else None, items, (None,) * len(items))

    def search(self, query: str, *, user_id: str, k: int, request_id: str) -> Served:
        exp = self.config.search
        arm = exp.arm(user_id)
        name = exp.name if exp.enabled else None
        if arm == CHALLENGER and exp.kind == "interleave":
            mixed = team_draft(GOOD, POOR, k, zlib.crc32(request_id.encode()))  # stable across processes
            teams = tuple("champion" if t == 0 else "challenger" for t in mixed.teams)
            return Served(arm, name, mixed.items, teams, "interleave")
        poor = arm == CHALLENGER and exp.challenger != "hybrid_ltr"
        mode = exp.challenger if poor else "hybrid_ltr"
        return Served(arm, name, (POOR if poor else GOOD)[:k], (None,) * k, mode)

    def post_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        assert 0 < len(events) <= 1000
        self.events.extend(events)


class FakeMarket:
    """Clicks good products with 30 % / position, poor ones with 3 %; a click buys 20 % of the time."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def respond(
        self, user_id: str, shown_product_ids: Sequence[str], context: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        self.calls += 1
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.calls)
        events = []
        for position, product in enumerate(shown_product_ids, start=1):
            rate = (0.3 if product.startswith("good") else 0.03) / position
            kinds = ["impression"]
            if self.rng.random() < rate:
                kinds.append("click")
                if self.rng.random() < 0.2:
                    kinds.append("purchase")
            for offset, kind in enumerate(kinds):
                events.append(
                    {
                        "event_id": f"e{self.calls}-{position}-{kind}",
                        "user_id": user_id,
                        "product_id": product,
                        "event_type": kind,
                        "ts": start + dt.timedelta(seconds=offset * 30),
                        "session_id": context["session_id"],
                        "device": "mobile",
                        "page": context.get("page", "recs"),
                        "position": position,
                        "request_id": context["request_id"],
                    }
                )
        return events


def population() -> Population:
    prices = dict.fromkeys(GOOD + POOR, 10.0)
    queries = ("celular", "zapatillas", "mochila")
    return Population(
        users=tuple(f"u{i:07d}" for i in range(3000)),
        prices=prices,
        queries=queries,
        query_ids=("q1", "q2", "q3"),
        query_weights=(3.0, 2.0, 1.0),
    )


def run(config: DriverConfig, api: FakeApi | None = None) -> tuple[dict[str, Any], FakeApi]:
    api = api or FakeApi()
    result = Driver(api, FakeMarket(config.seed), population(), config, now=lambda: NOW).run()
    return result.to_dict(), api


def test_ab_detects_the_poor_challenger_posts_retimed_events_and_restores_the_config() -> None:
    api = FakeApi()
    before = api.get_experiment()
    report, _ = run(DriverConfig(kind="ab", sessions=600, seed=3, run_id="ab-test"), api)
    ab = report["ab"]
    assert ab["decision"]["verdict"] == "rollback"
    assert ab["comparisons"]["ctr"]["direction"] == "worse"
    assert ab["srm"]["mismatch"] is False
    sessions = ab["comparisons"]["ctr"]["n_control"] + ab["comparisons"]["ctr"]["n_treatment"]
    assert sessions == 600
    configured = api.puts[0]["recs"]
    assert configured["enabled"]
    assert configured["challenger"] == "popularity"
    assert configured["champion_weight"] == configured["challenger_weight"]
    assert api.get_experiment() == before  # put back
    ids = [e["event_id"] for e in api.events]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("ab-test-") for i in ids)
    stamps = [dt.datetime.fromisoformat(e["ts"]) for e in api.events]
    assert max(stamps) == NOW
    assert min(stamps) >= NOW - dt.timedelta(minutes=2)
    assert {e["session_id"] for e in api.events} <= {f"ab-test-s{i:07d}" for i in range(1, 601)}


def test_the_same_seed_replays_the_same_sessions_and_verdict() -> None:
    config = DriverConfig(kind="ab", sessions=300, seed=11, run_id="replay")
    first, api_one = run(config)
    second, api_two = run(config)
    assert first == second
    assert api_one.events == api_two.events
    other, _ = run(DriverConfig(kind="ab", sessions=300, seed=12, run_id="replay"))
    assert other["ab"]["comparisons"]["ctr"] != first["ab"]["comparisons"]["ctr"]


def test_users_do_not_repeat_before_the_population_is_exhausted() -> None:
    _, api = run(DriverConfig(kind="ab", sessions=900, seed=5, post_events=True))
    users_by_session: dict[str, str] = {e["session_id"]: e["user_id"] for e in api.events}
    assert len(set(users_by_session.values())) == len(users_by_session) == 900


def test_aa_runs_use_a_new_salt_each_and_report_rates_with_intervals() -> None:
    report, api = run(DriverConfig(kind="aa", sessions=200, runs=12, seed=2, post_events=False))
    assert not api.events
    salts = [put["recs"]["salt"] for put in api.puts[:-1]]
    assert len(set(salts)) == 12
    assert all(put["recs"]["challenger"] == "champion" for put in api.puts[:-1])
    for check in report["false_positives"].values():
        assert check["runs"] == 12
        assert len(check["p_values"]) == 12
        assert 0.0 <= check["ci_low"] <= check["rate"] <= check["ci_high"] <= 1.0
    # both arms see the same system: CTR rarely differs (a fixed 12-run draw: at most 2 fire)
    assert report["false_positives"]["ctr"]["false_positives"] <= 2


def test_aa_on_search_uses_the_champions_mode_as_challenger() -> None:
    _, api = run(DriverConfig(kind="aa", surface="search", sessions=50, runs=2, post_events=False))
    assert [put["search"].get("challenger") for put in api.puts[1:-1]] == ["hybrid_ltr", "hybrid_ltr"]


def test_interleaving_prefers_the_champion_and_reports_both_session_counts() -> None:
    config = DriverConfig(kind="interleave", surface="search", sessions=2000, block=50, repeats=2, seed=4)
    report, api = run(config)
    counts = report["sessions_to_decision"]
    assert len(counts["ab"]) == len(counts["interleaving"]) == 2
    assert all(r["decided"] and r["winner"] == "control" for r in counts["ab"] + counts["interleaving"])
    assert counts["median_interleaving"] <= counts["median_ab"]
    assert report["interleaving"]["winner_arm"] == "champion"
    assert report["ab"]["comparisons"]["ctr"]["direction"] == "worse"
    kinds = {put["search"].get("kind") for put in api.puts[:-1]}
    assert kinds == {"ab", "interleave"}
    assert {e["page"] for e in api.events} == {"search"}


def test_config_rejects_interleaving_on_recs_and_empty_sizes() -> None:
    with pytest.raises(ValueError, match="surface search"):
        DriverConfig(kind="interleave", surface="recs")
    with pytest.raises(ValueError, match="> 0"):
        DriverConfig(kind="aa", runs=0)
    with pytest.raises(ValueError, match="queries"):
        Driver(FakeApi(), FakeMarket(1), Population(("u1",), {}), DriverConfig(kind="ab", surface="search"))


class FakeResponse:
    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code = status_code
        self.body = body

    def json(self) -> Any:
        return self.body


class FakeHttp:
    def __init__(self, *responses: FakeResponse) -> None:
        self.responses = list(responses)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append((method, url, kwargs))
        return self.responses.pop(0)


def test_api_client_strips_the_envelope_sends_the_key_and_raises_with_the_detail() -> None:
    envelope = {"request_id": "r", "model_version": "v", "arm": "champion"}
    http = FakeHttp(
        FakeResponse(200, {**envelope, "recs": {"enabled": False}, "search": {"enabled": False}}),
        FakeResponse(200, {**envelope, "items": [{"product_id": "p1", "team": "challenger"}], "mode": "m"}),
        FakeResponse(403, {**envelope, "detail": "invalid API key"}),
    )
    client = ApiClient(http, api_key="k")
    assert client.get_experiment() == {"recs": {"enabled": False}, "search": {"enabled": False}}
    assert http.calls[0][2]["headers"] == {"X-API-Key": "k"}
    served = client.search("q", user_id="u", k=5, request_id="req-1")
    assert served == Served("champion", None, ("p1",), ("challenger",), "m")
    assert http.calls[1][2]["headers"] == {"X-Request-ID": "req-1"}
    with pytest.raises(ApiError, match="403: invalid API key"):
        client.put_experiment({})


def test_cli_refuses_without_an_admin_key_and_names_a_bad_surface(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from vitrina.cli.main import app

    monkeypatch.delenv("VITRINA_ADMIN_API_KEY", raising=False)
    runner = CliRunner()
    keyless = runner.invoke(app, ["experiment", "ab", "--home", str(tmp_path)])
    assert keyless.exit_code == 2
    assert "VITRINA_ADMIN_API_KEY" in keyless.output
    monkeypatch.setenv("VITRINA_ADMIN_API_KEY", "k")
    bad = runner.invoke(app, ["experiment", "aa", "--surface", "shop", "--home", str(tmp_path)])
    assert bad.exit_code == 2
    assert "surface one of" in bad.output
