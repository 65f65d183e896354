"""`vitrina experiment publish-challenger` on a trained home: the registered challenger's bundle
scores every known user and its batch lands beside the champion's, which keeps serving."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import get_version, register_version
from vitrina.adapters.stores.base import CHALLENGER
from vitrina.bootstrap import open_store
from vitrina.cli.main import app as cli_app
from vitrina.config import get_settings
from vitrina.core.promotion.alias_plans import CHAMPION

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_publish_challenger_writes_its_batch_beside_the_champions(tmp_path: Path, served_home: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(served_home, home)
    settings = get_settings(home=home)
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["experiment", "publish-challenger", "--home", str(home)])
    assert refused.exit_code == 1
    assert "has no challenger" in refused.output
    champion = get_version(settings, RECS_MODEL, CHAMPION)
    assert champion is not None
    assert champion.run_id is not None
    with open_store(settings) as store:
        current = store.current_version()
    challenger, _ = register_version(settings, RECS_MODEL, champion.run_id, tags=dict(champion.tags))
    assert challenger.aliases == (CHALLENGER,)
    result = runner.invoke(cli_app, ["experiment", "publish-challenger", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "published recommendations version challenger-" in result.output
    with open_store(settings) as store:
        assert store.current_version() == current, "the champion's batch keeps serving"
        published = store.challenger_version()
        assert published is not None
        assert published.startswith("challenger-")
        info = {i.version: i for i in store.versions()}
        assert info[published].users == info[current].users  # type: ignore[index]
        audit = list_parquet_files(LakePaths(settings.lake), "predictions", "recs")
        user = str(pq.read_table(audit[-1]).column("user_id")[0])
        mine, theirs = store.get(user), store.get(user, CHALLENGER)
        assert mine is not None
        assert theirs is not None
        assert theirs.version == published
        assert theirs.model_version == mine.model_version  # the same run, registered twice
        assert [i.product_id for i in theirs.items] == [i.product_id for i in mine.items]
