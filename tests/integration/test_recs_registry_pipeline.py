"""`vitrina train recs` with the registry on ci data: the first passing version becomes champion
and is published, a later one only challenges, and `vitrina models promote` / `vitrina models rollback`
change what `vitrina query recs USER` shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from vitrina.adapters.registry.mlflow_client import RECS_MODEL, mlflow_client
from vitrina.adapters.registry.models import get_version, resolve
from vitrina.bootstrap import open_store
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.promotion.alias_plans import CHALLENGER, CHAMPION
from vitrina.pipelines.data_clock import DATA_END_TAG, latest_event_time
from vitrina.pipelines.recs.run import RecsConfig, run_recs

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.quality]
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module


def served(settings: Settings, user: str) -> tuple[str, list[str]]:
    with open_store(settings) as store:
        record = store.get(user)
    assert record is not None
    return record.model_version, [item.product_id for item in record.items]


def test_registry_drives_what_is_published(
    ci_settings: Settings, mlflow_template: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    shutil.copytree(ci_settings.home, home)
    shutil.copy(mlflow_template, home / mlflow_template.name)
    # the lifecycle is under test here, not the threshold: a different seed may score lower
    settings = get_settings(home=home, gate_max_ndcg_drop=1.0)

    first = run_recs(settings, RecsConfig(n_trials=1), QUIET)
    assert first.registration is not None
    assert first.registration.decision.passed, first.registration.decision.summary()
    assert first.registration.version == 1
    champion = resolve(settings, RECS_MODEL)
    assert champion.tags["pipeline_run_id"] == first.run_id
    # the data it has seen, for the data clock of the scheduled retrain (ADR-0040)
    assert champion.tags[DATA_END_TAG] == latest_event_time(settings).isoformat()  # type: ignore[union-attr]
    assert {p.name for p in champion.path.iterdir()} >= {"item2vec", "two_tower", "ranker", "vocabulary.json"}
    run = mlflow_client(settings).get_run(first.registration.mlflow_run_id)
    assert {d.dataset.name for d in run.inputs.dataset_inputs} == {
        "catalog",
        "users",
        "events",
        "transactions",
    }
    assert run.data.tags["gate.behaviour.no_out_of_stock"] == "pass"
    assert run.data.tags["gate.behaviour.cold_start_non_empty"] == "pass"
    assert run.data.metrics["ndcg_at_10"] == first.metrics["all_positives"]["served"]["ndcg@10"]
    card = home / "docs" / "model_cards" / "vitrina-recs-v1.md"
    assert card.is_file()
    assert (home / "docs" / "model_cards" / "vitrina-recs-v1" / "shap_importance.png").is_file()
    user = first.sample_user
    assert user is not None
    version_1, list_1 = served(settings, user)
    assert version_1 == f"recs-{first.run_id}"

    second = run_recs(settings, RecsConfig(n_trials=1, seed=7), QUIET)
    assert second.registration is not None
    assert second.registration.version == 2
    challenger = get_version(settings, RECS_MODEL, CHALLENGER)
    assert challenger is not None
    assert challenger.version == 2
    # same champion, same data: the publish step is reused (the challenger does not serve), and
    # the challenger's re-publish is skipped: no challenger lists were published (ADR-0032)
    assert second.batch is None
    assert [(e.step, e.outcome) for e in second.steps] == [
        ("train", "ran"),
        ("publish", "reused"),
        ("publish challenger", "skipped"),
    ]
    assert served(settings, user) == (version_1, list_1)

    runner = CliRunner()
    promoted = runner.invoke(app, ["models", "promote", RECS_MODEL, "--reason", "test", "--home", str(home)])
    assert promoted.exit_code == 0, promoted.output
    version_2, list_2 = served(settings, user)
    assert version_2 == f"recs-{second.run_id}"
    # both runs may choose the same policy of seed-independent sources (an ALS blend on this
    # data), so the lists may coincide: the version says which run serves them
    assert len(list_2) == len(list_1) == 20
    shown = runner.invoke(app, ["query", "recs", user, "--home", str(home)])
    assert f"recs-{second.run_id}" in shown.output

    rolled = runner.invoke(app, ["models", "rollback", RECS_MODEL, "--reason", "test", "--home", str(home)])
    assert rolled.exit_code == 0, rolled.output
    assert served(settings, user) == (version_1, list_1)
    back = get_version(settings, RECS_MODEL, CHAMPION)
    assert back is not None
    assert back.version == 1
