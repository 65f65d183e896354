"""Events validated a group of raw files at a time give what the whole-table check gives, and
publish atomically: a run over the limit leaves the last good table and no staged parts."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from vitrina.adapters.contracts.storage import STAGING_PREFIX
from vitrina.adapters.lake.io import list_parquet_files, read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings
from vitrina.core.tables import TABLES
from vitrina.pipelines.validate import ContractViolation, ValidationReport, validate_lake
from vitrina.pipelines.validate_groups import file_groups

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "contracts"))
from test_contracts_factory import clean_rows, to_table, write_raw

pytestmark = pytest.mark.unit

PARTS = 6


def _raw_lake(home: Path) -> None:
    """Clean tables, events in six raw parts (two days each: twelve files) with invalid rows, a
    key repeated inside one file and keys repeated in files of later groups."""
    settings = get_settings(home=home)
    rows = clean_rows(n_events=60)
    events = rows.pop("events")
    for name, table_rows in rows.items():
        write_raw(settings, name, to_table(name, table_rows))
    events[4]["user_id"] = "nobody"  # unknown user
    events[9]["event_type"] = "teleport"  # not an event type
    events[13]["event_id"] = None  # no key
    extra = {
        0: [dict(events[2])],  # the same key twice in one file
        3: [{**events[25], "page": "home"}],  # a key of the third part again
        # keys of the first part again, in a later group (one row also invalid otherwise)
        PARTS - 1: [dict(events[1]), dict(events[7]), {**events[3], "user_id": "nobody"}],
    }
    for part in range(PARTS):
        chunk = events[part * 10 : (part + 1) * 10] + extra.get(part, [])
        write_raw(settings, "events", to_table("events", chunk), part=f"p{part}")


def _validate(home: Path, group_files: int, threshold: float = 1.0) -> ValidationReport:
    settings = get_settings(home=home, validate_group_files=group_files)
    return validate_lake(settings, max_invalid_share=threshold)


def _rows(settings: Settings, layer: str, name: str) -> list[dict[str, Any]]:
    schema = TABLES[name].schema if layer == "validated" else None
    table = read_table(LakePaths(settings.lake), layer, name, schema=schema)  # type: ignore[arg-type]
    if "_validated_at" in table.column_names:
        table = table.drop_columns(["_validated_at"])
    rows = table.to_pylist()
    for row in rows:  # the raw file's path below the home (the two homes differ)
        if "_source_file" in row:
            row["_source_file"] = row["_source_file"].split("/lake/", 1)[1]
    return sorted(rows, key=lambda row: sorted((k, str(v)) for k, v in row.items()))


def test_groups_and_one_piece_give_the_same_valid_rows_quarantine_and_counts(tmp_path: Path) -> None:
    whole, grouped = tmp_path / "whole", tmp_path / "grouped"
    _raw_lake(whole)
    shutil.copytree(whole, grouped)
    one = _validate(whole, 0).tables["events"]
    many = _validate(grouped, 2).tables["events"]
    raw = list_parquet_files(LakePaths(get_settings(home=grouped).lake), "raw", "events")
    assert len(file_groups(raw, 2)) >= PARTS // 2  # at least a file per part
    assert one.reasons["duplicate event_id"] == 5  # two copies in one file, four in later groups
    for field in ("files", "input_rows", "valid_rows", "quarantined_rows", "newest", "reasons"):
        assert getattr(many, field) == getattr(one, field), field
    for layer in ("validated", "quarantine"):
        assert _rows(get_settings(home=grouped), layer, "events") == _rows(
            get_settings(home=whole), layer, "events"
        ), layer
    assert not any(STAGING_PREFIX in url for url in _listing(grouped))


def _listing(home: Path) -> list[str]:
    return [str(p) for p in (home / "lake" / "validated" / "events").rglob("*")]


def test_a_run_over_the_limit_keeps_the_last_good_table_and_drops_its_staged_parts(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _raw_lake(home)
    _validate(home, 2)
    settings = get_settings(home=home)
    before = _rows(settings, "validated", "events")
    files = sorted(list_parquet_files(LakePaths(settings.lake), "validated", "events"))
    # a new batch of raw events, all of unknown users: the table is over any sane limit
    bad = [{**row, "event_id": f"x{i}", "user_id": "nobody"} for i, row in enumerate(clean_rows()["events"])]
    write_raw(settings, "events", to_table("events", bad * 5), part="bad")
    with pytest.raises(ContractViolation, match="events"):
        _validate(home, 2, threshold=0.05)
    assert _rows(settings, "validated", "events") == before
    assert sorted(list_parquet_files(LakePaths(settings.lake), "validated", "events")) == files
    assert not any(STAGING_PREFIX in url for url in _listing(home))
