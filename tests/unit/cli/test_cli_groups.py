"""The command tree: every command's help, the old spellings (hidden, working, with their note on
stderr) and the options that must mean the same everywhere (``--trials``, ``--seed``, ``--home``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from support.locks import lock_held_elsewhere
from typer.testing import CliRunner

from vitrina.adapters.home_lock import BUSY_EXIT_CODE
from vitrina.cli.common import DEFAULT_SEED, DEFAULT_TRIALS
from vitrina.cli.main import app

pytestmark = pytest.mark.unit

GROUPS = [
    "data",
    "data ingest",
    "train",
    "models",
    "query",
    "experiment",
    "experiment canary",
    "experiment search-interleave",
    "simulate",
]
COMMANDS = [
    "demo",
    "serve",
    "data generate",
    "data import",
    "data validate",
    "data ingest catalog",
    "data ingest events",
    "train recs",
    "train search",
    "train all",
    "drift",
    "models list",
    "models promote",
    "models rollback",
    "models publish",
    "query recs",
    "query search",
    "experiment ab",
    "experiment aa",
    "experiment interleave",
    "experiment publish-challenger",
    "experiment shadow-report",
    "experiment canary start",
    "experiment canary step",
    "experiment canary status",
    "experiment search-interleave start",
    "experiment search-interleave step",
    "experiment search-interleave status",
    "simulate live",
]
TOP_LEVEL = ["demo", "serve", "data", "train", "drift", "models", "query", "experiment", "simulate"]
OLD_TOP_LEVEL = ["generate", "validate", "ingest", "run", "promote", "rollback", "recs", "search"]

# old spelling → (its arguments, the new spelling), for aliases that stop at once on a home
# another run holds
LOCKED_ALIASES = {
    "generate": (["--scale", "ci"], "data generate"),
    "validate": ([], "data validate"),
    "run recs": ([], "train recs"),
    "run search": ([], "train search"),
    "run all": (["--quick"], "train all"),
    "run drift": ([], "drift"),
    "promote": (["vitrina-recs"], "models promote"),
    "rollback": (["vitrina-recs"], "models rollback"),
}
# … and aliases that fail fast on an empty home for a reason of their own: old spelling → (its
# arguments after the home, the new spelling, the exit code)
FAST_ALIASES = {
    "recs": (["u0000001"], "query recs", 1),  # nothing published
    "search": (["phone"], "query search", 1),  # no index
    "ingest catalog": ([], "data ingest catalog", 2),  # no source given
    "ingest events": ([], "data ingest events", 0),  # nothing buffered
    "experiment run": (["--kind", "aa"], "experiment aa", 2),  # no admin key
    "models": (["--limit"], "models list", 2),  # `models list --limit` without its value
}


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def listed(help_text: str) -> list[str]:
    """Command names in a help's Commands panel (the first word of each row)."""
    panel = help_text.split("Commands", 1)[1]
    return re.findall(r"^│ (\S+) {2,}", panel, flags=re.MULTILINE)


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the tree (hidden ones included) with its path."""
    children = getattr(command, "commands", None)
    if children is None:
        yield path, command
        return
    for name, child in children.items():
        yield from walk(child, (*path, name))


LEAVES = dict(walk(typer.main.get_command(app)))


@pytest.fixture
def held_home(tmp_path: Path) -> Iterator[Path]:
    """A home whose run lock another thread holds (as a running pipeline would)."""
    with lock_held_elsewhere(tmp_path) as home:
        yield home


@pytest.mark.parametrize("command", [*GROUPS, *COMMANDS])
def test_every_command_has_a_current_help(command: str) -> None:
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "deprecated" not in result.output.lower()
    assert "SPEC" not in result.output


def test_the_top_level_help_lists_the_groups_in_order_and_hides_the_old_spellings() -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    assert listed(result.output) == TOP_LEVEL
    root = typer.main.get_command(app)
    assert all(root.commands[name].hidden for name in OLD_TOP_LEVEL)  # type: ignore[attr-defined]
    experiment = listed(invoke("experiment", "--help").output)
    assert experiment == [
        "ab",
        "aa",
        "interleave",
        "publish-challenger",
        "shadow-report",
        "canary",
        "search-interleave",
    ]  # not `run`
    assert listed(invoke("models", "--help").output) == ["list", "promote", "rollback", "publish"]


@pytest.mark.parametrize(("old", "expected"), LOCKED_ALIASES.items())
def test_an_old_spelling_runs_the_new_command_after_a_note(
    held_home: Path, old: str, expected: tuple[list[str], str]
) -> None:
    rest, new = expected
    result = invoke(*old.split(), *rest, "--home", str(held_home))
    assert result.exit_code == BUSY_EXIT_CODE, result.output  # the new command ran: it met the lock
    assert result.stderr.splitlines() == [_note(old, new)]  # one line, on stderr only
    assert "deprecated" not in result.stdout


@pytest.mark.parametrize(("old", "expected"), FAST_ALIASES.items())
def test_an_old_spelling_that_fails_fast_still_says_what_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, expected: tuple[list[str], str, int]
) -> None:
    monkeypatch.delenv("VITRINA_CATALOG_URL", raising=False)
    monkeypatch.delenv("VITRINA_ADMIN_API_KEY", raising=False)
    rest, new, code = expected
    result = invoke(*old.split(), "--home", str(tmp_path / "home"), *rest)
    assert result.exit_code == code, result.output
    assert result.stderr.splitlines()[0] == _note(old, new), result.stderr


@pytest.mark.slow
def test_bare_models_still_lists_the_registry(tmp_path: Path) -> None:
    result = invoke("models", "--home", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert _note("models", "models list") in result.stderr
    assert "vitrina-recs: registered versions" in result.stdout


def test_trials_and_seed_mean_one_thing_everywhere() -> None:
    trials = {path: _default(command, "trials") for path, command in LEAVES.items()}
    with_trials = {" ".join(path) for path, value in trials.items() if value is not None}
    assert {"train recs", "train search", "train all", "run recs", "run search", "run all"} == with_trials
    assert {value for value in trials.values() if value is not None} == {DEFAULT_TRIALS}
    seeds = {_default(command, "seed") for command in LEAVES.values()} - {None}
    assert seeds == {DEFAULT_SEED}


def test_every_command_takes_home() -> None:
    without = [" ".join(path) for path, command in LEAVES.items() if _option(command, "home") is None]
    assert without == []
    helps = {_option(command, "home").help for command in LEAVES.values()}  # type: ignore[union-attr]
    assert len(helps) == 1


def _note(old: str, new: str) -> str:
    return f"note: `vitrina {old}` is deprecated and goes in the next release; use `vitrina {new}`"


def _option(command: Any, name: str) -> Any:
    return next((p for p in command.params if p.name == name), None)


def _default(command: Any, name: str) -> Any:
    option = _option(command, name)
    return None if option is None else option.default
