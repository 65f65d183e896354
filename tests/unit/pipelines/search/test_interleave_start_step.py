"""``loop · interleave start`` and ``search-interleave ... --scheduled`` (registry stubbed, the
lake real): a waiting challenger is started once with its numbers recorded; a busy search
surface, a version already interleaved or a challenger without an index is a skip, not a failure."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from vitrina.adapters.experiment_file import read_experiment_file
from vitrina.adapters.interleave_state import RUNNING, interleave_url, load_interleave
from vitrina.adapters.step_ledger import Ledger
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_json_atomic
from vitrina.pipelines.search import interleave, interleave_start
from vitrina.pipelines.search.interleave_start import START_STEP, step_start_interleave

pytestmark = pytest.mark.unit
QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the module


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Champion v1 and challenger v2 registered; the challenger's index is products-v3."""
    aliases = {"champion": 1, "challenger": 2}

    def get_version(settings: Settings, model: str, alias: str) -> Any:
        version = aliases.get(alias)
        return None if version is None else SimpleNamespace(version=version)

    for module in (interleave, interleave_start):
        monkeypatch.setattr(module, "get_version", get_version)
    monkeypatch.setattr(interleave, "serve_challenger_index", lambda settings: "products-v3")
    return get_settings(home=tmp_path / "home")


def _events(settings: Settings, run: str) -> list[Any]:
    ledger = Ledger(settings, "loop", run, QUIET)
    step_start_interleave(settings, ledger)
    return [e for e in ledger.events if e.step == START_STEP]


def test_a_waiting_challenger_is_started_once_and_recorded(settings: Settings) -> None:
    (first,) = _events(settings, "run-1")

    assert first.outcome == "ran"
    assert first.detail.startswith("interleaving v2 (products-v3) with the champion v1 starts")
    state = load_interleave(settings)
    assert state is not None
    assert (state["status"], state["champion"], state["challenger"], state["challenger_index"]) == (
        RUNNING, "v1", "v2", "products-v3"
    )  # fmt: skip
    assert read_experiment_file(settings.home)["search"]["kind"] == "interleave"
    record = Ledger(settings, "loop", "run-1", QUIET).last(START_STEP)
    assert record is not None
    assert record.outputs["experiment"] == "interleave-search-v2"

    (second,) = _events(settings, "run-2")
    assert (second.outcome, second.detail) == (
        "skipped",
        "an interleaving of search versions is already running",
    )


def test_a_version_whose_interleaving_ended_is_not_started_again(settings: Settings) -> None:
    write_json_atomic(
        {"challenger": "v2", "status": "stale", "started_at": "t", "looks": []}, interleave_url(settings)
    )
    (event,) = _events(settings, "run-1")
    assert (event.outcome, event.detail) == ("skipped", "v2 was interleaved already: not shown again")


def test_a_challenger_without_an_index_of_its_own_is_not_started_and_the_loop_goes_on(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interleave, "serve_challenger_index", lambda settings: None)
    (event,) = _events(settings, "run-1")
    assert event.outcome == "ran"
    assert event.detail == "not started: the vitrina-search challenger v2 has no index of its own"
    assert load_interleave(settings) is None


def test_the_scheduled_commands_start_by_the_rule_and_exit_0_when_there_is_nothing_to_do(
    settings: Settings,
) -> None:
    home = ["--home", str(settings.home)]
    runner = CliRunner()
    look = runner.invoke(app, ["experiment", "search-interleave", "step", "--scheduled", *home])
    assert look.exit_code == 0, look.output
    assert interleave.NO_INTERLEAVE in look.output
    started = runner.invoke(app, ["experiment", "search-interleave", "start", "--scheduled", *home])
    assert started.exit_code == 0, started.output
    assert "interleaving v2 (products-v3) with v1" in started.output
    again = runner.invoke(app, ["experiment", "search-interleave", "start", "--scheduled", *home])
    assert again.exit_code == 0, again.output
    assert "no interleaving started: an interleaving of search versions is already running" in again.output
