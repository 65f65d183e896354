"""``vitrina data import`` end to end on small hand-made shops: counts that reconcile, derivations,
bad mappings that write nothing, idempotent and atomic writes, source formats."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.locks import lock_held_elsewhere
from typer.testing import CliRunner

from vitrina.adapters.home_lock import HomeLockedError
from vitrina.adapters.ingest import owned_files
from vitrina.adapters.ingest.mapping import MappingError
from vitrina.adapters.lake.paths import LakePaths
from vitrina.cli.main import app
from vitrina.config import Settings
from vitrina.pipelines.import_tables import ImportResult, import_mapping, report_url
from vitrina.pipelines.validate import validate_lake

pytestmark = pytest.mark.unit

TODAY = dt.date(2024, 4, 1)
ORDERS = """\
order,customer,sku,title,qty,price,when,country
A1,17850.0,P1,Red mug,2,3.5,2024-03-01 10:00:00,UK
A1,17850.0,P1,Red mug,1,3.5,2024-03-01 10:00:00,UK
A1,17850.0,P2,Blue mug,1,4.0,2024-03-01 10:00:00,UK
A1,17850.0,P2,Blue mug,1,4.0,2024-03-01 10:00:00,UK
CA2,17850.0,P1,Red mug,-1,3.5,2024-03-02 09:00:00,UK
A3,,P1,Red mug,1,3.5,2024-03-02 11:00:00,UK
A4,13047.0,POST,Postage,1,18.0,2024-03-02 12:00:00,FR
A4,13047.0,P3,Green mug,3,2.0,2024-03-02 12:00:00,FR
A5,13047.0,P2, Blue mug ,2,4.0,2024-03-02 12:20:00,FR
A6,13047.0,P3,Green mug,1,2.0,2024-03-03 08:00:00,FR
"""
MAPPING = """\
name: mugs
root: data
sources:
  lines:
    path: orders.csv
    types: {order: VARCHAR, customer: VARCHAR, when: VARCHAR}
tables:
  transactions:
    from: lines
    filters: &kept
      - {reason: no customer id, when: "customer IS NULL"}
      - {reason: cancellation, when: "starts_with(\\"order\\", 'C')"}
      - {reason: not a product, when: "sku = 'POST'"}
      - {reason: exact duplicate line, duplicates: true}
    group_by: ["\\"order\\"", sku]
    columns:
      order_id: {column: order}
      user_id: "any_value(CAST(CAST(customer AS DOUBLE) AS BIGINT))"
      product_id: sku
      quantity: "sum(qty)"
      amount: "sum(qty * price)"
      discount_pct: 0
      payment_method: {constant: tarjeta_credito}
      ts: {sql: "min(\\"when\\")", format: "%Y-%m-%d %H:%M:%S", timezone: Europe/London}
  events:
    from: transactions
    columns:
      event_id: "order_id || ':' || product_id"
      user_id: user_id
      product_id: product_id
      event_type: {constant: purchase}
      ts: ts
      device: {constant: desktop}
      page: {constant: cart}
    sessions: {gap_minutes: 30}
  users:
    from: lines
    filters: *kept
    group_by: [customer]
    columns:
      user_id: "CAST(CAST(customer AS DOUBLE) AS BIGINT)"
      signup_date: {sql: "min(\\"when\\")", format: "%Y-%m-%d %H:%M:%S"}
      age_range: {constant: 25-34}
      city: "mode(country)"
      segment: {constant: nuevo}
      lifetime_value: "sum(qty * price)"
  catalog:
    from: lines
    filters: *kept
    group_by: [sku]
    columns:
      product_id: sku
      title: "mode(trim(title))"
      category_l1: {constant: mugs}
      category_l2: {constant: mugs}
      category_l3: {constant: mugs}
      price: "median(price)"
      stock: 1
      seller_id: {constant: mugs}
      created_at: {sql: "min(\\"when\\")", format: "%Y-%m-%d %H:%M:%S"}
      updated_at: {sql: "max(\\"when\\")", format: "%Y-%m-%d %H:%M:%S"}
      is_sponsored: false
      is_reported: false
"""


def line_of(text: str, marker: str) -> int:
    found = [n for n, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(found) == 1, (marker, found)
    return found[0]


def shop(tmp_path: Path, mapping: str = MAPPING, files: dict[str, str | bytes] | None = None) -> Path:
    """A mapping file in ``tmp_path`` with its data folder; returns the mapping's path."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, content in (files if files is not None else {"orders.csv": ORDERS}).items():
        target = data / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    path = tmp_path / "mapping.yaml"
    path.write_text(mapping, encoding="utf-8")
    return path


def run(settings: Settings, path: Path, **kwargs: Any) -> ImportResult:
    return import_mapping(settings, path, today=TODAY, **kwargs)


def raw_files(settings: Settings) -> dict[str, float]:
    """Every file under raw/ (hidden ones too) with its modification time."""
    root = Path(settings.lake) / "raw"
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def read_raw(settings: Settings, table: str) -> pa.Table:
    root = Path(settings.lake) / "raw" / table
    parts = [pq.read_table(p) for p in sorted(root.glob("dt=*/*.parquet"))]
    return pa.concat_tables(parts, promote_options="permissive")


# -- counts and derivations ------------------------------------------------------------------


def test_every_row_is_written_filtered_by_its_reason_or_merged(tmp_path: Path, settings: Settings) -> None:
    result = run(settings, shop(tmp_path))
    counts = {t.name: t.counts for t in result.tables}
    assert [t.name for t in result.tables] == ["transactions", "events", "users", "catalog"]
    transactions = counts["transactions"]
    assert (transactions.read, transactions.written, transactions.merged) == (10, 5, 1)
    assert transactions.filtered == {
        "no customer id": 1,
        "cancellation": 1,
        "not a product": 1,
        "exact duplicate line": 1,
    }
    assert transactions.merged_label == 'merged (same "order", sku)'
    assert all(c.reconciles for c in counts.values())
    assert (counts["events"].read, counts["events"].written) == (5, 5)
    assert (counts["users"].written, counts["users"].merged) == (2, 4)
    assert (counts["catalog"].written, counts["catalog"].merged) == (3, 3)

    rows = read_raw(settings, "transactions").sort_by(
        [("order_id", "ascending"), ("product_id", "ascending")]
    )
    assert rows.column("order_id").to_pylist() == ["A1", "A1", "A4", "A5", "A6"]
    assert rows.column("user_id").to_pylist() == ["17850", "17850", "13047", "13047", "13047"]
    assert rows.column("quantity").to_pylist() == [3, 1, 3, 2, 1]  # A1/P1: two lines merged
    assert rows.column("amount").to_pylist() == [10.5, 4.0, 6.0, 8.0, 2.0]
    # London local time (GMT in March) is UTC; the type is the canonical one
    assert rows.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert rows.column("ts")[0].as_py() == dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)


def test_sessions_are_cut_where_a_users_next_row_comes_after_the_gap(
    tmp_path: Path, settings: Settings
) -> None:
    run(settings, shop(tmp_path))
    events = read_raw(settings, "events").to_pandas().sort_values("event_id")
    sessions = dict(zip(events["event_id"], events["session_id"], strict=True))
    assert sessions == {
        "A1:P1": "17850:1",
        "A1:P2": "17850:1",
        "A4:P3": "13047:1",
        "A5:P2": "13047:1",  # 20 minutes later: same session
        "A6:P3": "13047:2",  # the next morning: a new one
    }
    assert set(events["event_type"]) == {"purchase"}
    assert events["position"].isna().all()
    assert events["request_id"].isna().all()


def test_users_and_catalog_are_derived_from_the_order_lines(tmp_path: Path, settings: Settings) -> None:
    result = run(settings, shop(tmp_path))
    users = read_raw(settings, "users").to_pandas().set_index("user_id")
    assert users.loc["13047", "city"] == "FR"
    assert users.loc["13047", "lifetime_value"] == pytest.approx(6.0 + 8.0 + 2.0)
    assert str(users.loc["17850", "signup_date"]) == "2024-03-01"
    catalog = read_raw(settings, "catalog").to_pandas().set_index("product_id")
    assert catalog.loc["P2", "title"] == "Blue mug"  # trimmed, most frequent
    assert catalog.loc["P1", "price"] == 3.5
    assert catalog["description"].isna().all()
    assert result.table("catalog").null_columns == ("description", "brand", "cost")
    # snapshots lie in the partition of the day they were written
    assert sorted(p.parent.name for p in (Path(settings.lake) / "raw" / "catalog").rglob("*.parquet")) == [
        f"dt={TODAY.isoformat()}"
    ]


def test_the_report_is_kept_as_json(tmp_path: Path, settings: Settings) -> None:
    run(settings, shop(tmp_path))
    report = json.loads(Path(report_url(LakePaths(settings.lake), "mugs")).read_text())
    transactions = report["tables"]["transactions"]
    assert (transactions["read"], transactions["written"], transactions["merged"]) == (10, 5, 1)
    assert [f["reason"] for f in transactions["filtered"]] == [
        "no customer id",
        "cancellation",
        "not a product",
        "exact duplicate line",
    ]
    assert report["sources"][0]["rows"] == 10


def test_duplicates_on_listed_columns_keep_the_first_row_no_earlier_filter_dropped(
    tmp_path: Path, settings: Settings
) -> None:
    text = """\
name: grades
root: data
sources:
  marks: {path: marks.csv}
tables:
  judgments:
    from: marks
    filters:
      - {reason: ungraded, when: "g IS NULL"}
      - {reason: second mark of a pair, duplicates: [q, p]}
    columns: {query: q, product_id: p, grade: g}
"""
    marks = "q,p,g\nmug,P1,\nmug,P1,2\nmug,P1,1\ncup,P2,0\n"
    result = run(settings, shop(tmp_path, text, {"marks.csv": marks}))
    assert result.table("judgments").counts.filtered == {"ungraded": 1, "second mark of a pair": 1}
    rows = read_raw(settings, "judgments").sort_by("query").to_pylist()
    assert [(r["query"], r["grade"]) for r in rows] == [("cup", 0.0), ("mug", 2.0)]


# -- a bad mapping fails on its line and writes nothing --------------------------------------


BAD = [
    # (what is replaced, by what, the marker of the line named, a phrase of the message)
    ("product_id: sku\n", "product_id: skuu\n", "skuu", "unknown column 'skuu'"),
    (
        'quantity: "sum(qty)"',
        'quantity: "sum(qty"',
        'quantity: "sum(qty"',
        "quantity: not a valid SQL expression",
    ),
    (
        'quantity: "sum(qty)"',
        'quantity: "sum(qty) *"',
        'quantity: "sum(qty) *"',
        'syntax error at or near "*"',
    ),
    (
        "when: \"sku = 'POST'\"",
        'when: "sku = \'POST"',
        "sku = 'POST\"",
        "filter 'not a product': not a valid",
    ),
    (
        'format: "%Y-%m-%d %H:%M:%S", timezone',
        'format: "%d/%m/%Y %H:%M", timezone',
        "%d/%m/%Y",
        "reads none of the 5 values",
    ),
    ("path: orders.csv", "path: missing.csv", "missing.csv", "no such file"),
    ("path: orders.csv", "path: orders-*.csv", "orders-*.csv", "no file matches"),
    ("    group_by: [customer]", "    groupby: [customer]", "groupby", "unknown key 'groupby'"),
    ('      title: "mode(trim(title))"', '     title: "mode(trim(title))"', "mode(trim(title))", "YAML"),
    ("group_by: [customer]", "group_by: [customer", "group_by: [customer", "YAML"),
    (
        "when: \"sku = 'POST'\"",
        'when: "CAST(sku AS INTEGER) > 0"',
        "CAST(sku AS INTEGER)",
        "Could not convert",
    ),
    (
        'city: "mode(country)"',
        "city: country",
        "city: country",
        "neither in group_by nor inside an aggregate",
    ),
    ('quantity: "sum(qty)"', "quantity: qty", "quantity: qty", "neither in group_by"),
    ("timezone: Europe/London", "timezone: Europe/Londres", "Europe/Londres", "unknown time zone"),
    ("when: VARCHAR}", "when: VARCHAR, wen: VARCHAR}", "wen: VARCHAR", "the files have no column 'wen'"),
    ("      stock: 1\n", "", "# catalog columns", "no mapping for the canonical column stock"),
    ("      stock: 1\n", "      stock: 1\n      stok: 1\n", "stok", "not a canonical column of catalog"),
    (
        "event_id: \"order_id || ':' || product_id\"",
        "event_id: \"order_id || ':' || sku\"",
        "|| sku",
        "unknown column 'sku'",
    ),
    (
        "    from: transactions",
        "    from: transaction",
        "from: transaction",
        "neither a source nor an earlier table",
    ),
]


@pytest.mark.parametrize(("old", "new", "marker", "phrase"), BAD)
def test_a_bad_mapping_fails_at_once_on_its_line_and_writes_nothing(
    tmp_path: Path, settings: Settings, old: str, new: str, marker: str, phrase: str
) -> None:
    assert old in MAPPING, old
    text = MAPPING.replace(old, new, 1).replace(
        "    group_by: [sku]\n    columns:", "    group_by: [sku]\n    columns:  # catalog columns"
    )
    with pytest.raises(MappingError) as caught:
        run(settings, shop(tmp_path, text))
    error = caught.value
    assert error.line == line_of(text, marker), str(error)
    assert phrase in str(error), str(error)
    assert str(error).startswith(f"{tmp_path / 'mapping.yaml'}:{error.line}: ")
    assert "\n" not in str(error)
    assert not Path(settings.lake).exists() or not any(Path(settings.lake).rglob("*.*"))


def test_a_bad_mapping_leaves_the_previous_import_as_it_was(tmp_path: Path, settings: Settings) -> None:
    path = shop(tmp_path)
    run(settings, path)
    before = raw_files(settings)
    path.write_text(MAPPING.replace("product_id: sku\n", "product_id: skuu\n"), encoding="utf-8")
    with pytest.raises(MappingError):
        run(settings, path)
    assert raw_files(settings) == before


def test_the_command_prints_the_counts_or_the_line_and_exits_1(tmp_path: Path, settings: Settings) -> None:
    path = shop(tmp_path)
    runner = CliRunner()
    good = runner.invoke(
        app, ["data", "import", str(path), "--home", str(settings.home)], env={"COLUMNS": "200"}
    )
    assert good.exit_code == 0, good.output
    assert "exact duplicate line" in good.output
    assert "merged (same" in good.output
    text = MAPPING.replace("product_id: sku\n", "product_id: skuu\n", 1)
    path.write_text(text, encoding="utf-8")
    bad = runner.invoke(
        app, ["data", "import", str(path), "--home", str(settings.home)], env={"COLUMNS": "400"}
    )
    assert bad.exit_code == 1
    assert (
        f"mapping.yaml:{line_of(text, 'skuu')}: transactions.product_id: unknown column 'skuu'" in bad.output
    )
    assert "nothing written" in bad.output


def test_an_import_waits_for_no_one_when_another_run_holds_the_home(
    tmp_path: Path, settings: Settings
) -> None:
    settings.home.mkdir(parents=True)
    with lock_held_elsewhere(settings.home), pytest.raises(HomeLockedError):
        run(settings, shop(tmp_path))


# -- idempotent, replaced as a set, atomic ---------------------------------------------------


def test_importing_the_same_inputs_again_rewrites_nothing(tmp_path: Path, settings: Settings) -> None:
    path = shop(tmp_path)
    first = run(settings, path)
    assert first.changed
    before = raw_files(settings)
    again = import_mapping(settings, path, today=TODAY + dt.timedelta(days=3))  # another day, same data
    assert not again.changed
    assert all(not t.files.written and not t.files.removed for t in again.tables)
    assert raw_files(settings) == before  # not even rewritten in place
    # without the manifest the bytes are compared: still nothing rewritten
    Path(owned_files.manifest_url(LakePaths(settings.lake), "mugs")).unlink()
    assert not run(settings, path).changed
    assert raw_files(settings) == before


def test_more_inputs_replace_the_imports_files_as_a_whole_and_drop_ins_stay(
    tmp_path: Path, settings: Settings
) -> None:
    header = "order,customer,sku,title,qty,price,when,country\n"
    days = {
        "days/2024-03-01.csv": header + "A1,1.0,P1,Mug,1,2.0,2024-03-01 10:00:00,UK\n",
        "days/2024-03-02.csv": header + "A2,2.0,P2,Cup,1,3.0,2024-03-02 10:00:00,UK\n",
    }
    text = MAPPING.replace("path: orders.csv", "path: days/*.csv")
    path = shop(tmp_path, text, days)
    run(settings, path)
    raw = Path(settings.lake) / "raw" / "transactions"
    drop_in = raw / "dt=2024-03-01" / "part-by-hand.parquet"
    pq.write_table(pa.table({"order_id": ["H1"]}), drop_in)
    assert sorted(p.parent.name for p in raw.rglob("import-mugs.parquet")) == [
        "dt=2024-03-01",
        "dt=2024-03-02",
    ]

    (tmp_path / "data" / "days" / "2024-03-01.csv").unlink()
    shop(tmp_path, text, {"days/2024-03-03.csv": header + "A3,1.0,P1,Mug,2,2.0,2024-03-03 10:00:00,UK\n"})
    result = run(settings, path)
    changes = result.table("transactions").files
    assert (sorted(changes.written), changes.removed, changes.unchanged) == (
        ["dt=2024-03-03/import-mugs.parquet"],
        ["dt=2024-03-01/import-mugs.parquet"],
        ["dt=2024-03-02/import-mugs.parquet"],
    )
    assert sorted(p.parent.name for p in raw.rglob("import-mugs.parquet")) == [
        "dt=2024-03-02",
        "dt=2024-03-03",
    ]
    assert drop_in.exists()
    assert sorted(read_raw(settings, "transactions").column("order_id").to_pylist()) == ["A2", "A3", "H1"]


def test_tables_the_mapping_no_longer_lists_lose_the_imports_files(
    tmp_path: Path, settings: Settings
) -> None:
    path = shop(tmp_path)
    run(settings, path)
    catalog = MAPPING.index("  catalog:\n")
    path.write_text(MAPPING[:catalog], encoding="utf-8")
    result = run(settings, path)
    assert result.removed_tables == ("catalog",)
    assert not list((Path(settings.lake) / "raw" / "catalog").rglob("*.parquet"))


def test_a_crash_after_the_commit_is_finished_before_raw_is_read(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shop(tmp_path)
    run(settings, path)
    old = sorted(raw_files(settings))
    path.write_text(MAPPING.replace("      stock: 1\n", "      stock: 5\n"), encoding="utf-8")

    def crash(*_: Any) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(owned_files, "_apply", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            run(settings, path)
    visible = [
        f for f in raw_files(settings) if not any(part.startswith(("_", ".")) for part in f.split("/"))
    ]
    assert sorted(visible) == old  # nothing of the new set is visible yet; it waits, staged
    assert Path(owned_files.journal_url(LakePaths(settings.lake), "mugs")).exists()
    validate_lake(settings, max_invalid_share=1.0)  # a reader first completes the import
    assert not Path(owned_files.journal_url(LakePaths(settings.lake), "mugs")).exists()
    assert set(read_raw(settings, "catalog").column("stock").to_pylist()) == {5}
    assert not list((Path(settings.lake) / "raw").rglob("_import-*"))


def test_a_crash_before_the_commit_leaves_the_old_set_and_its_staging_is_cleaned(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shop(tmp_path)
    run(settings, path)
    old = read_raw(settings, "catalog")
    path.write_text(MAPPING.replace("      stock: 1\n", "      stock: 5\n"), encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(
            owned_files, "write_json_atomic", lambda *_: (_ for _ in ()).throw(OSError("disk full"))
        )
        with pytest.raises(OSError, match="disk full"):
            run(settings, path)
    assert read_raw(settings, "catalog").equals(old)
    assert list((Path(settings.lake) / "raw").rglob("_import-*"))  # staged, hidden, not committed
    run(settings, path)
    assert set(read_raw(settings, "catalog").column("stock").to_pylist()) == {5}
    assert not list((Path(settings.lake) / "raw").rglob("_import-*"))


# -- values that convert only in some rows ---------------------------------------------------

PRODUCTS = """\
sku,title,price,added
P1,Mug,2.5,2024-03-01
P2,Cup,3.0,someday
P3,Bowl,abc,2024-03-02
"""
CATALOG_MAPPING = """\
name: products
sources:
  products: {path: products.csv, types: {price: VARCHAR}}
tables:
  catalog:
    from: products
    columns:
      product_id: sku
      title: title
      category_l1: {constant: kitchen}
      category_l2: {constant: kitchen}
      category_l3: {constant: kitchen}
      price: price
      stock: 1
      seller_id: {constant: shop}
      created_at: {column: added, format: "%Y-%m-%d"}
      updated_at: {column: added, format: "%Y-%m-%d"}
      is_sponsored: false
      is_reported: false
"""


def test_values_that_convert_in_some_rows_only_are_kept_as_text_for_validation_to_quarantine(
    tmp_path: Path, settings: Settings
) -> None:
    result = run(
        settings,
        shop(
            tmp_path,
            CATALOG_MAPPING.replace("name: products\n", "name: products\nroot: data\n"),
            {"products.csv": PRODUCTS},
        ),
    )
    assert result.table("catalog").kept_as_text == {"price": 1, "created_at": 1, "updated_at": 1}
    rows = read_raw(settings, "catalog").sort_by("product_id")
    assert rows.column("created_at").to_pylist() == [
        "2024-03-01 00:00:00.000000Z",
        "someday",
        "2024-03-02 00:00:00.000000Z",
    ]
    assert rows.column("price").to_pylist() == ["2.5", "3", "abc"]
    report = validate_lake(settings, max_invalid_share=1.0)
    catalog = report.tables["catalog"]
    assert (catalog.valid_rows, catalog.quarantined_rows) == (1, 2)
    assert catalog.reasons["created_at: not a timestamp"] == 1
    assert catalog.reasons["price: not a float"] == 1


# -- sources ---------------------------------------------------------------------------------

JUDGMENTS = """\
name: grades
root: data
sources:
  marks: {path: marks.csv, format: csv}
tables:
  judgments:
    from: marks
    columns: {query: query, product_id: product, grade: grade}
"""


@pytest.mark.parametrize(
    ("payload", "options", "query", "grade"),
    [
        (b"query;product;grade\nred mug;P1;2,5\n", "delimiter: ';', decimal: ','", "red mug", 2.5),
        ("query,product,grade\ncafé,P1,1\n".encode("latin-1"), "encoding: latin-1", "café", 1.0),
        ("query,product,grade\n€uro mug,P1,1\n".encode("cp1252"), "encoding: cp1252", "€uro mug", 1.0),
        (b"\xef\xbb\xbfquery,product,grade\nmug,P1,0\n", "encoding: utf-8", "mug", 0.0),
        (b"query\tproduct\tgrade\nmug\tP1\t1\n", 'delimiter: "\\t"', "mug", 1.0),
    ],
)
def test_csv_options(
    tmp_path: Path, settings: Settings, payload: bytes, options: str, query: str, grade: float
) -> None:
    text = JUDGMENTS.replace("format: csv}", f"format: csv, {options}}}")
    run(settings, shop(tmp_path, text, {"marks.csv": payload}))
    rows = read_raw(settings, "judgments").to_pylist()
    assert rows == [{"query": query, "product_id": "P1", "grade": grade, "source": None}]


def test_json_lines_and_parquet_sources(tmp_path: Path, settings: Settings) -> None:
    lines = '{"query": "mug", "product": 1, "grade": 2}\n{"query": "cup", "product": 2, "grade": 0}\n'
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.table({"query": ["bowl"], "product": [3], "grade": [1.0]}), data / "more.parquet")
    text = JUDGMENTS.replace(
        "  marks: {path: marks.csv, format: csv}",
        "  marks: {path: marks.jsonl}\n  more: {path: more.parquet}",
    ).replace("    from: marks\n", "    sql: SELECT * FROM marks UNION ALL SELECT * FROM more\n")
    result = run(settings, shop(tmp_path, text, {"marks.jsonl": lines}))
    assert [s.rows for s in result.sources] == [2, 1]
    rows = read_raw(settings, "judgments").sort_by("query").to_pylist()
    assert [(r["query"], r["product_id"], r["grade"]) for r in rows] == [
        ("bowl", "3", 1.0),
        ("cup", "2", 0.0),
        ("mug", "1", 2.0),
    ]


def test_a_glob_reads_its_files_in_name_order_and_by_name_when_asked(
    tmp_path: Path, settings: Settings
) -> None:
    files = {"marks/b.csv": "query,product\nmug,P1\n", "marks/a.csv": "query,product,grade\ncup,P2,1\n"}
    text = JUDGMENTS.replace("{path: marks.csv, format: csv}", "{path: marks/*.csv, format: csv}")
    path = shop(tmp_path, text, files)
    with pytest.raises(MappingError, match="Schema mismatch") as caught:
        run(settings, path)
    assert caught.value.line == line_of(text, "marks/*.csv")
    path.write_text(text.replace("format: csv}", "format: csv, union_by_name: true}"), encoding="utf-8")
    result = run(settings, path)
    assert result.sources[0].origin == ("marks/a.csv", "marks/b.csv")
    rows = read_raw(settings, "judgments").sort_by("query").to_pylist()
    assert [(r["query"], r["grade"]) for r in rows] == [("cup", 1.0), ("mug", None)]
