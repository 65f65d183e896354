"""The benchmarks' generated worlds end on a fixed day, the tests' own, unless told otherwise."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

import pytest
from support.fixed_calendar import WORLD_END as TEST_WORLD_END
from support.paths import REPO

pytestmark = pytest.mark.unit

sys.path.insert(0, str(REPO / "benchmarks"))

from world_end import WORLD_END, add_world_end  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_world_end(parser)
    return parser


def test_a_benchmark_world_ends_on_the_fixed_day_by_default() -> None:
    assert _parser().parse_args([]).world_end == WORLD_END
    assert WORLD_END.strftime("%A") == "Sunday"


def test_the_fixed_day_is_the_tests_unless_a_weekday_run_moves_theirs() -> None:
    if "VITRINA_TEST_WORLD_END" in os.environ:
        pytest.skip("VITRINA_TEST_WORLD_END moves the tests' world end for a weekday run")
    assert WORLD_END == TEST_WORLD_END


def test_another_world_end_is_read_as_a_date() -> None:
    assert _parser().parse_args(["--world-end", "2026-11-22"]).world_end == dt.date(2026, 11, 22)


def test_a_malformed_world_end_is_refused() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--world-end", "last sunday"])
