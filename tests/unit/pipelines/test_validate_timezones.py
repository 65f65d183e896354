"""Timestamps keep their instant whatever the libraries imported alongside (regression)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

PROBE = """
import datetime as dt
import pyarrow as pa
import vitrina.pipelines.validate  # imports pandera, which used to flip PYARROW_IGNORE_TIMEZONE
lima = dt.timezone(dt.timedelta(hours=-5))
value = pa.array([dt.datetime(2024, 1, 1, 20, 30, tzinfo=lima)], pa.timestamp("us", tz="UTC"))[0]
print(value.as_py().isoformat())
"""


@pytest.mark.unit
def test_pandera_import_does_not_make_pyarrow_ignore_timezones() -> None:
    # a fresh interpreter: the bug depends on import order, which this test process can't reset
    env = {k: v for k, v in os.environ.items() if k != "PYARROW_IGNORE_TIMEZONE"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    ).stdout.strip()
    assert dt.datetime.fromisoformat(out) == dt.datetime(2024, 1, 2, 1, 30, tzinfo=dt.UTC)
