"""`vitrina simulate live`: two days of a live shop on a served ci home, nobody at the keys.

New products and customers arrive every day through ``raw/``, shoppers browse and search
through the API and post their events, the loop runs after every day, and a deliberately bad
challenger is injected on the first day: the report must show no failed step, new products
found by search within a day of their arrival, and the bad challenger rolled back by the
canary's guardrails. One run serves every test of the module.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from vitrina.cli.main import app
from vitrina.config import get_settings
from vitrina.pipelines.live_simulation.search_versions import MAX_SEARCHES
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAYS = 2


@pytest.fixture(scope="module")
def live_home(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live") / "home"


@pytest.fixture(scope="module")
def report(served_home: Path, live_home: Path) -> dict[str, Any]:
    home = live_home
    shutil.copytree(served_home, home)
    result = CliRunner().invoke(
        app,
        ["simulate", "live", "--days", str(DAYS), "--scale", "ci", "--seed", "3", "--drift-day", "1",
         "--bad-challenger-day", "0", "--home", str(home)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    latest = home / "lake" / "reports" / "live" / "latest"
    assert (latest / "report.md").is_file()
    payload: dict[str, Any] = json.loads((latest / "metrics.json").read_text())
    assert (latest.parent / payload["run_id"] / "metrics.json").is_file()
    return payload


def _within_a_day(report: dict[str, Any], key: str) -> list[str]:
    return [
        p["product_id"]
        for p in report["new_products"]
        if p[key] is not None and 0 <= p[key] - p["day_added"] <= 1
    ]


def test_two_days_without_a_failed_step_and_the_bad_challenger_rolled_back(report: dict[str, Any]) -> None:
    assert report["days"] == DAYS
    assert report["failed_steps"] == []
    assert len(report["per_day"]) == DAYS
    assert _within_a_day(report, "first_day_found"), report["new_products"]
    experiments = [e for d in report["per_day"] for e in d["experiments"]]
    bad = [e["challenger"] for e in experiments if "bad challenger" in e["summary"]]
    assert bad, experiments
    assert bad[0] in {r["version"] for r in report["rollbacks"]}, report["rollbacks"]


def test_the_report_judges_each_registered_search_version_by_the_truth(report: dict[str, Any]) -> None:
    """Section "Search versions on held-out live searches": every pair on a bounded sample of
    the live searches after the later version's cut (none when the run registered one version)."""
    section = report["search_versions"]
    assert section["max_searches"] == MAX_SEARCHES
    assert section["pairs"] or "skipped" in section, section
    for pair in section["pairs"]:
        assert pair["relation"] in {"previous", "first"}
        if "skipped" in pair:
            continue
        assert 2 <= pair["n_searches"] <= min(MAX_SEARCHES, pair["with_intent"])
        assert pair["with_intent"] <= pair["after_cut"]
        assert pair["verdict"] in {"better", "tied", "worse"}


def test_a_new_product_is_recommended_within_a_day(report: dict[str, Any]) -> None:
    recommended = set(_within_a_day(report, "first_day_recommended"))
    assert recommended & set(_within_a_day(report, "first_day_found")), report["new_products"]


def test_every_servable_new_product_is_reachable_within_one_cycle(report: dict[str, Any]) -> None:
    """The probes after each cycle: in a published list and found by its title, whether or not
    a shopper asked for it; the last day's arrivals by the probe after the last cycle."""
    servable = [p for p in report["new_products"] if p["servable"]]
    assert servable, report["new_products"]
    for key in ("first_day_reachable_recs", "first_day_reachable_search"):
        late = [p for p in servable if p[key] != p["day_added"] + 1]
        assert not late, (key, late)
    summary = report["new_products_summary"]
    assert summary["reachable_recs"]["within_one_day"] == len(servable)


def test_the_console_shows_the_run(report: dict[str, Any], live_home: Path) -> None:
    """The Live shop page reads the report the run wrote: its id, every new product."""
    token = "live-console-token"
    with TestClient(create_app(get_settings(home=live_home, console_token=token))) as api:
        assert api.get("/console", params={"token": token}).status_code == 200
        html = api.get("/console/live", params={"lang": "en"}).text
    assert report["run_id"] in html
    assert all(p["product_id"] in html for p in report["new_products"])
