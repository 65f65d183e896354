"""Atomic single-file writes and reads at an fsspec URL (vitrina.core.artifacts.files)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vitrina.core.artifacts import files

pytestmark = pytest.mark.unit

UTC = dt.UTC
SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("x", pa.int64())])


def _rows(stamps: list[dt.datetime]) -> pa.Table:
    return pa.table(
        {"id": [f"r{i}" for i in range(len(stamps))], "ts": stamps, "x": list(range(len(stamps)))},
        schema=SCHEMA,
    )


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class _DiskFullError(RuntimeError):
    pass


def test_atomic_write_leaves_only_the_target_file(tmp_path: Path) -> None:
    target = tmp_path / "t" / "part-a.parquet"
    files.write_parquet_atomic(_rows([dt.datetime(2024, 1, 1, tzinfo=UTC)]), str(target))
    assert _all_files(tmp_path) == ["t/part-a.parquet"]
    assert pq.read_table(target).num_rows == 1


def test_failing_write_keeps_the_previous_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t" / "part-a.parquet"
    before = _rows([dt.datetime(2024, 1, 1, tzinfo=UTC)] * 3)
    files.write_parquet_atomic(before, str(target))

    def half_write(table: pa.Table, where: Any, **_: Any) -> None:
        where.write(b"PAR1 half a file")  # bytes reach the temporary file, then the writer dies
        raise _DiskFullError("disk full")

    monkeypatch.setattr(pq, "write_table", half_write)
    with pytest.raises(_DiskFullError):
        files.write_parquet_atomic(_rows([dt.datetime(2024, 1, 2, tzinfo=UTC)]), str(target))
    monkeypatch.undo()
    assert _all_files(tmp_path) == ["t/part-a.parquet"]
    assert pq.read_table(target).equals(before)


def test_json_round_trip_and_missing_file(tmp_path: Path) -> None:
    url = str(tmp_path / "state" / "w.json")
    assert files.read_json(url) is None
    files.write_json_atomic({"watermark": dt.datetime(2024, 1, 1, tzinfo=UTC), "n": 3}, url)
    assert files.read_json(url) == {"n": 3, "watermark": "2024-01-01 00:00:00+00:00"}
    files.write_json_atomic({"n": 4}, url)
    assert files.read_json(url) == {"n": 4}
    assert _all_files(tmp_path) == ["state/w.json"]


def test_failing_json_write_keeps_previous_state_and_no_temporary(tmp_path: Path) -> None:
    url = str(tmp_path / "w.json")
    files.write_json_atomic({"n": 1}, url)
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular"):
        files.write_json_atomic({"bad": circular}, url)
    assert json.loads(Path(url).read_text()) == {"n": 1}
    assert _all_files(tmp_path) == ["w.json"]
