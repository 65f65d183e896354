"""`vitrina simulate live`: three days of a live shop on a served ci home, nobody at the keys.

New products and customers arrive every day through ``raw/``, shoppers browse and search
through the API and post their events, the loop runs after every day, and a deliberately bad
challenger is injected on the first day: the report must show no failed step, new products
recommended and found within a day of their arrival, and the bad challenger rolled back by
the canary's guardrails.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vitrina.cli.main import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAYS = 3


def test_live_shop_three_days(served_home: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    result = CliRunner().invoke(
        app,
        ["simulate", "live", "--days", str(DAYS), "--scale", "ci", "--seed", "3", "--drift-day", "2",
         "--bad-challenger-day", "0", "--home", str(home)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    latest = home / "lake" / "reports" / "live" / "latest"
    assert (latest / "report.md").is_file()
    report = json.loads((latest / "metrics.json").read_text())
    run_folder = latest.parent / report["run_id"]
    assert (run_folder / "metrics.json").is_file()
    assert report["days"] == DAYS
    assert report["failed_steps"] == []
    on_time = [
        p
        for p in report["new_products"]
        if p["first_day_recommended"] is not None
        and p["first_day_found"] is not None
        and p["first_day_recommended"] - p["day_added"] <= 1
        and p["first_day_found"] - p["day_added"] <= 1
    ]
    assert on_time, report["new_products"]
    bad = [
        e["challenger"]
        for d in report["per_day"]
        for e in d["experiments"]
        if "bad challenger" in e["summary"]
    ]
    assert bad, report["per_day"]
    assert bad[0] in {r["version"] for r in report["rollbacks"]}, report["rollbacks"]
