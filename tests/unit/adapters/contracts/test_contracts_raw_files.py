"""Raw files validation cannot use: an unreadable one is quarantined as a file (raw untouched)
and everything else validates with exact counts; a file of an unsupported type is reported, not
ignored; the lake's own hidden files stay ignored; the CLI names each file with its error on one
line; a second run gives the same result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_contracts_factory import clean_rows, write_clean_lake
from typer.testing import CliRunner

from vitrina.adapters.lake.digest import table_digest
from vitrina.adapters.lake.io import list_parquet_files, read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.cli.main import app
from vitrina.config import Settings
from vitrina.pipelines.validate import ValidationReport, validate_lake

pytestmark = pytest.mark.unit
Rows = dict[str, list[dict[str, Any]]]


def _a_real_parquet_file(raw: Path) -> Path:
    return sorted(raw.glob("events/dt=*/*.parquet"))[0]


def _broken(kind: str, raw: Path) -> bytes:
    if kind == "zero bytes":
        return b""
    if kind == "truncated":
        whole = _a_real_parquet_file(raw).read_bytes()
        return whole[: len(whole) // 2]
    return b"PAR1 this is not a parquet file \x00\xff" * 40


def _lake(settings: Settings) -> tuple[Rows, Path]:
    rows = clean_rows()
    write_clean_lake(settings, rows)
    return rows, Path(settings.lake) / "raw"


def _assert_everything_validated(report: ValidationReport, rows: Rows) -> None:
    for name, table_rows in rows.items():
        outcome = report.tables[name]
        counts = (outcome.input_rows, outcome.valid_rows, outcome.quarantined_rows)
        assert counts == (len(table_rows), len(table_rows), 0), name


@pytest.mark.parametrize("kind", ["zero bytes", "truncated", "garbage"])
def test_an_unreadable_file_is_quarantined_as_a_file_and_the_rest_validates(
    settings: Settings, kind: str
) -> None:
    rows, raw = _lake(settings)
    bad = raw / "events" / "dt=2026-01-01" / "part-broken.parquet"
    bad.parent.mkdir(parents=True)
    payload = _broken(kind, raw)
    bad.write_bytes(payload)

    report = validate_lake(settings, max_invalid_share=0.0)

    _assert_everything_validated(report, rows)  # the other files of events, and every other table
    assert report.ok
    assert report.tables["events"].unreadable_files == 1
    (issue,) = report.unreadable
    assert (issue.table, issue.path, issue.problem) == ("events", str(bad), "unreadable")
    error_class = issue.error.split(":")[0]
    assert error_class in {"ArrowInvalid", "OSError", "ArrowIOError"}, issue.error
    copy = Path(settings.lake) / "quarantine" / "events" / "_files" / "dt=2026-01-01" / "part-broken.parquet"
    assert issue.copy == str(copy)
    assert copy.read_bytes() == payload
    assert bad.read_bytes() == payload  # raw is left as received
    record = json.loads(Path(f"{copy}.reason.json").read_text())
    assert record["source"] == str(bad)
    assert record["error"] == issue.error
    assert record["bytes"] == len(payload)
    # the copy is not part of the quarantine table (rows) that readers load
    assert read_table(LakePaths(settings.lake), "quarantine", "events").num_rows == 0
    saved = json.loads((Path(settings.lake) / "reports" / "validation" / "latest.json").read_text())
    assert saved["files"][0]["path"] == str(bad)
    assert saved["tables"]["events"]["unreadable_files"] == 1


def test_a_table_whose_only_file_is_unreadable_counts_as_missing(settings: Settings) -> None:
    _, raw = _lake(settings)
    (only,) = raw.glob("users/dt=*/*.parquet")
    only.write_bytes(b"")
    report = validate_lake(settings, max_invalid_share=1.0)
    assert "users" in report.missing
    assert [issue.path for issue in report.unreadable] == [str(only)]
    assert report.tables["catalog"].quarantined_rows == 0


def test_unsupported_files_are_reported_and_the_lakes_own_hidden_files_ignored(settings: Settings) -> None:
    rows, raw = _lake(settings)
    day = sorted((raw / "events").glob("dt=*"))[0]
    stray = [
        raw / "events" / "export.csv",
        day / "notes.txt",
        raw / "events" / "more" / "batch.json",
        raw / "orders.csv",  # not a table's folder
    ]
    hidden = [
        day / ".part-x.parquet.0123.tmp",  # an atomic write in progress
        raw / "events" / "_staging" / "part-y.csv",
        raw / ".DS_Store",
    ]
    for path in stray + hidden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("event_id,user_id\ne1,u1\n")

    report = validate_lake(settings, max_invalid_share=0.0)

    _assert_everything_validated(report, rows)
    assert sorted(issue.path for issue in report.unsupported) == sorted(str(p) for p in stray)
    assert not report.unreadable
    assert report.tables["events"].unsupported_files == 3
    by_path = {issue.path: issue for issue in report.unsupported}
    assert by_path[str(raw / "orders.csv")].table is None
    assert "is not a table's folder" in by_path[str(raw / "orders.csv")].error
    assert "raw/events is read from .parquet files" in by_path[str(raw / "events" / "export.csv")].error


def test_the_cli_names_each_file_and_its_error_on_one_line_and_a_rerun_is_the_same(
    settings: Settings,
) -> None:
    rows, raw = _lake(settings)
    bad = raw / "transactions" / "dt=2026-01-02" / "part-empty.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"")
    csv = raw / "events" / "dropped.csv"
    csv.write_text("event_id\ne1\n")

    latest = Path(settings.lake) / "reports" / "validation" / "latest.json"
    outputs, reported = [], []
    for _ in range(2):
        result = CliRunner().invoke(app, ["data", "validate", "--home", str(settings.home)])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        saved = json.loads(latest.read_text())
        reported.append((saved["files"], {n: t["valid_rows"] for n, t in saved["tables"].items()}))
    for output in outputs:
        lines = output.splitlines()
        (bad_line,) = [line for line in lines if str(bad) in line]
        assert bad_line.startswith(f"error: unreadable raw file {bad}: ArrowInvalid: ")
        assert "→ copied to " in bad_line
        (csv_line,) = [line for line in lines if str(csv) in line]
        assert csv_line.startswith(f"warning: unsupported raw file {csv}: not read")
        assert "1 unreadable file(s) quarantined" in output
        assert "1 unsupported file(s) not read" in output

    assert reported[0] == reported[1]  # same files, errors and copies; same valid rows
    assert reported[0][1] == {name: len(table_rows) for name, table_rows in rows.items()}
    quarantine = Path(settings.lake) / "quarantine"
    copies = sorted(
        str(p.relative_to(quarantine)) for p in quarantine.rglob("*") if "_files" in p.parts and p.is_file()
    )
    assert copies == [
        "transactions/_files/dt=2026-01-02/part-empty.parquet",
        "transactions/_files/dt=2026-01-02/part-empty.parquet.reason.json",
    ]


def test_the_raw_digest_of_run_all_hashes_an_unreadable_file_instead_of_failing(settings: Settings) -> None:
    _, raw = _lake(settings)
    lake = LakePaths(settings.lake)
    before = table_digest(lake, "raw", "events")
    bad = raw / "events" / "dt=2026-01-01" / "part-broken.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"")
    after = table_digest(lake, "raw", "events")
    assert after.digest != before.digest
    assert after.rows == before.rows
    assert after.files == len(list_parquet_files(lake, "raw", "events"))


def test_an_unreadable_validated_file_still_fails_its_digest(settings: Settings) -> None:
    _lake(settings)
    validate_lake(settings, max_invalid_share=0.0)
    lake = LakePaths(settings.lake)
    Path(list_parquet_files(lake, "validated", "events")[0]).write_bytes(b"")
    with pytest.raises(pa.ArrowInvalid):
        table_digest(lake, "validated", "events")
