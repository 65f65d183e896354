"""The README's main job on ci scale: generate → PostgreSQL → ingest → validate → recommendations."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fixed_calendar import WORLD_END
from typer.testing import CliRunner

from vitrina.adapters.models.index_versions import current_version
from vitrina.bootstrap import open_store
from vitrina.cli.main import app
from vitrina.config import get_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.quality
def test_demo_runs_the_whole_loop(
    tmp_path: Path, postgres_url: str, pg_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VITRINA_CATALOG_TABLE", pg_table)
    home = tmp_path / "demo-home"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            *("--scale", "ci", "--seed", "11", "--end-date", WORLD_END.isoformat()),
            *("--postgres", postgres_url, "--home", str(home)),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "new or changed products" in result.output  # the catalog came through PostgreSQL
    assert "Para ti" in result.output  # a user's served list was printed
    with open_store(get_settings(home=home)) as store:
        assert store.current_version() is not None
    assert "celular samsung" in result.output  # the demo's typo query was corrected and searched
    assert current_version(get_settings(home=home)) is not None  # an index version is served
