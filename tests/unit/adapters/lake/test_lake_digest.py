"""Table content hashes: stable for the same files, sensitive to any change, blind to hidden
temporaries; the dataset version does not depend on the order tables are listed."""

from __future__ import annotations

import datetime as dt
import hashlib

import pyarrow as pa
import pytest

from vitrina.adapters.lake.digest import dataset_version, table_digest, table_digests
from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths

pytestmark = pytest.mark.unit
DAY = dt.date(2026, 11, 1)


def write(lake: LakePaths, name: str, values: list[int], day: dt.date = DAY, part: str = "a") -> None:
    write_table(lake, "validated", name, pa.table({"x": values}), None, snapshot_day=day, part=part)


def test_digest_is_a_content_hash_with_shape(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = LakePaths(str(tmp_path))
    write(lake, "t", [1, 2, 3])
    write(lake, "t", [4], day=DAY + dt.timedelta(days=1))
    first = table_digest(lake, "validated", "t")
    assert (first.rows, first.files, first.columns) == (4, 2, ("x",))
    assert len(first.digest) == 64
    assert first.digest == table_digest(lake, "validated", "t").digest
    (tmp_path / "validated" / "t" / f"dt={DAY}" / ".part-tmp.parquet").write_bytes(b"half written")
    assert table_digest(lake, "validated", "t").digest == first.digest  # hidden files ignored
    write(lake, "t", [1, 2, 5])  # same file name, other content
    assert table_digest(lake, "validated", "t").digest != first.digest


def test_digest_covers_file_names_and_bytes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = LakePaths(str(tmp_path))
    write(lake, "t", [7])
    path = next((tmp_path / "validated" / "t").rglob("*.parquet"))
    expected = hashlib.sha256(f"dt={DAY}/{path.name}".encode() + b"\0" + path.read_bytes()).hexdigest()
    assert table_digest(lake, "validated", "t").digest == expected


def test_missing_tables_raise_or_are_skipped(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = LakePaths(str(tmp_path))
    write(lake, "a", [1])
    with pytest.raises(FileNotFoundError, match="nothing to hash"):
        table_digest(lake, "validated", "absent")
    assert [d.name for d in table_digests(lake, "validated", ["a", "absent"])] == ["a"]


def test_dataset_version_is_order_free_and_content_sensitive(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lake = LakePaths(str(tmp_path))
    write(lake, "a", [1])
    write(lake, "b", [2])
    a, b = table_digests(lake, "validated", ["a", "b"])
    assert dataset_version([a, b]) == dataset_version([b, a])
    assert len(dataset_version([a, b])) == 16
    write(lake, "b", [3])
    assert dataset_version([a, table_digest(lake, "validated", "b")]) != dataset_version([a, b])
    with pytest.raises(ValueError, match="at least one"):
        dataset_version([])
