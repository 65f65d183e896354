"""validate_lake on tiny hand-made lakes: each contract check, the outputs and their guarantees."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from test_contracts_factory import clean_rows, recent, to_table, write_clean_lake, write_raw

from vitrina.adapters.lake.io import list_parquet_files, read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings
from vitrina.core.tables import TABLES
from vitrina.pipelines.validate import ContractViolation, ValidationReport, validate_lake

pytestmark = pytest.mark.unit
Rows = dict[str, list[dict[str, Any]]]


def lake(settings: Settings) -> LakePaths:
    return LakePaths(settings.lake)


def validated(settings: Settings, name: str) -> pa.Table:
    return read_table(lake(settings), "validated", name, schema=TABLES[name].schema)


def quarantined(settings: Settings, name: str) -> pa.Table:
    return read_table(lake(settings), "quarantine", name)


def run(settings: Settings, threshold: float = 1.0) -> ValidationReport:
    return validate_lake(settings, max_invalid_share=threshold)


def sort_by_key(table: pa.Table, name: str) -> list[dict[str, Any]]:
    return table.sort_by([(k, "ascending") for k in TABLES[name].key]).to_pylist()


def test_clean_lake_passes_untouched(settings: Settings) -> None:
    rows = clean_rows()
    write_clean_lake(settings, rows)
    report = run(settings, threshold=0.0)
    for name, table_rows in rows.items():
        outcome = report.tables[name]
        assert (outcome.input_rows, outcome.valid_rows, outcome.quarantined_rows) == (
            len(table_rows),
            len(table_rows),
            0,
        )
        assert sort_by_key(validated(settings, name), name) == sort_by_key(to_table(name, table_rows), name)
        assert quarantined(settings, name).num_rows == 0
    assert report.ok
    assert not report.warnings


def _set(table: str, index: int, column: str, value: Any) -> Callable[[Rows], None]:
    def mutate(rows: Rows) -> None:
        rows[table][index][column] = value

    return mutate


def _duplicate(table: str, index: int) -> Callable[[Rows], None]:
    def mutate(rows: Rows) -> None:
        rows[table].append(dict(rows[table][index]))

    return mutate


FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
OLD = dt.datetime(1999, 12, 31, tzinfo=dt.UTC)

CASCADES = {
    "product_id: product was quarantined",
    "user_id: user was quarantined",
    "results_shown: unknown or quarantined product",
}
CORRUPTIONS: list[tuple[str, Callable[[Rows], None], str, str]] = [
    ("catalog", _set("catalog", 2, "price", -5.0), "price: must be > 0", "price: must be > 0 (-5.0)"),
    ("catalog", _set("catalog", 2, "price", 0.0), "price: must be > 0", "price: must be > 0 (0.0)"),
    ("catalog", _set("catalog", 3, "stock", -1), "stock: must be >= 0", "stock: must be >= 0 (-1)"),
    ("catalog", _set("catalog", 3, "cost", -0.5), "cost: must be >= 0", "cost: must be >= 0 (-0.5)"),
    ("catalog", _set("catalog", 1, "title", None), "title: null", "title: null"),
    ("catalog", _set("catalog", 4, "updated_at", recent(24 * 60)), "updated_at: before created_at", None),
    ("catalog", _set("catalog", 4, "created_at", OLD), "created_at: before 2000-01-01", None),
    ("catalog", _set("catalog", 4, "updated_at", FUTURE), "updated_at: in the future", None),
    ("users", _set("users", 1, "segment", "gold"), "segment: not an allowed value", "('gold')"),
    ("users", _set("users", 1, "age_range", "12-17"), "age_range: not an allowed value", None),
    ("users", _set("users", 2, "signup_date", FUTURE.date()), "signup_date: in the future", None),
    ("users", _set("users", 2, "lifetime_value", -1.0), "lifetime_value: must be >= 0", None),
    ("events", _set("events", 5, "event_type", "like"), "event_type: not an allowed value", "('like')"),
    ("events", _set("events", 5, "page", "checkout"), "page: not an allowed value", None),
    ("events", _set("events", 5, "device", "tv"), "device: not an allowed value", None),
    ("events", _set("events", 4, "position", 0), "position: must be >= 1", None),
    ("events", _set("events", 7, "ts", FUTURE), "ts: in the future", None),
    ("events", _set("events", 7, "ts", OLD), "ts: before 2000-01-01", None),
    ("events", _set("events", 8, "user_id", None), "user_id: null", None),
    ("events", _set("events", 8, "event_id", ""), "event_id: empty", None),
    ("events", _set("events", 9, "product_id", "p999"), "product_id: unknown product", "('p999')"),
    ("events", _set("events", 9, "user_id", "u999"), "user_id: unknown user", "('u999')"),
    ("events", _duplicate("events", 3), "duplicate event_id", "duplicate event_id ('e3')"),
    ("transactions", _set("transactions", 1, "quantity", 0), "quantity: must be >= 1", None),
    ("transactions", _set("transactions", 1, "amount", -3.0), "amount: must be >= 0", None),
    (
        "transactions",
        _set("transactions", 2, "discount_pct", 150.0),
        "discount_pct: must be in [0, 100]",
        None,
    ),
    (
        "transactions",
        _set("transactions", 2, "payment_method", "cheque"),
        "payment_method: not an allowed value",
        None,
    ),
    ("transactions", _set("transactions", 3, "product_id", "p999"), "product_id: unknown product", None),
    ("transactions", _duplicate("transactions", 4), "duplicate (order_id, product_id)", None),
    ("search_logs", _set("search_logs", 1, "user_id", "u999"), "user_id: unknown user", None),
    ("search_logs", _set("search_logs", 1, "query", None), "query: null", None),
    (
        "search_logs",
        _set("search_logs", 2, "results_shown", ["p1", "p404"]),
        "results_shown: unknown or quarantined product",
        "('p404')",
    ),
    (
        "search_logs",
        _set("search_logs", 3, "results_clicked", ["p5", "p77"]),
        "results_clicked: not in results_shown",
        "('p77')",
    ),
    (
        "search_logs",
        _set("search_logs", 3, "results_purchased", ["p0"]),
        "results_purchased: not in results_clicked",
        "('p0')",
    ),
    ("synonyms", _duplicate("synonyms", 1), "duplicate (term, category_scope)", None),
    ("synonyms", _set("synonyms", 0, "synonyms", None), "synonyms: null", None),
]


@pytest.mark.parametrize(
    ("table", "mutate", "code", "text"), CORRUPTIONS, ids=[f"{c[0]}:{c[2]}" for c in CORRUPTIONS]
)
def test_each_corruption_quarantines_exactly_that_row(
    settings: Settings, table: str, mutate: Callable[[Rows], None], code: str, text: str | None
) -> None:
    rows = clean_rows()
    mutate(rows)
    write_clean_lake(settings, rows)
    report = run(settings)
    assert report.tables[table].reasons == {code: 1}
    bad = quarantined(settings, table)
    assert bad.num_rows == 1
    reason = bad["_reason"][0].as_py()
    assert reason.startswith(code)
    if text is not None:
        assert text in reason
    assert bad["_source_file"][0].as_py().endswith(".parquet")
    for name, outcome in report.tables.items():
        assert outcome.valid_rows + outcome.quarantined_rows == outcome.input_rows
        if name == table:
            continue
        if table in {"catalog", "users"}:  # rows pointing at the quarantined row follow it
            assert set(outcome.reasons) <= CASCADES, name
        else:
            assert outcome.quarantined_rows == 0, name


def test_reference_to_a_quarantined_product_says_so(settings: Settings) -> None:
    rows = clean_rows()
    rows["catalog"][1]["price"] = -1.0
    write_clean_lake(settings, rows)
    report = run(settings)
    referencing = sum(1 for e in rows["events"] if e["product_id"] == "p1")
    assert report.tables["events"].reasons == {"product_id: product was quarantined": referencing}
    assert report.tables["transactions"].reasons == {
        "product_id: product was quarantined": sum(1 for t in rows["transactions"] if t["product_id"] == "p1")
    }
    assert report.tables["search_logs"].quarantined_rows == len(rows["search_logs"])


def test_every_reason_of_a_row_is_kept(settings: Settings) -> None:
    rows = clean_rows()
    rows["events"][6].update(event_type="like", position=-2, product_id="p999")
    write_clean_lake(settings, rows)
    report = run(settings)
    assert report.tables["events"].quarantined_rows == 1
    reason = quarantined(settings, "events")["_reason"][0].as_py()
    assert reason.split("; ") == [
        "event_type: not an allowed value ('like')",
        "position: must be >= 1 (-2)",
        "product_id: unknown product ('p999')",
    ]


def test_wrong_types_are_coerced_or_quarantined_with_the_original_text(settings: Settings) -> None:
    rows = clean_rows()
    write_clean_lake(settings, {k: v for k, v in rows.items() if k != "catalog"})
    catalog = to_table("catalog", rows["catalog"])
    prices = [str(p) for p in catalog["price"].to_pylist()]
    prices[2] = "abc"
    stamps = [t.isoformat() for t in catalog["updated_at"].to_pylist()]
    stamps[4] = "ayer"
    broken = (
        catalog.set_column(7, "price", pa.array(prices))
        .set_column(12, "updated_at", pa.array(stamps))
        .set_column(9, "stock", pc.cast(catalog["stock"], pa.float64()))
    )
    write_raw(settings, "catalog", broken)
    report = run(settings)
    assert report.tables["catalog"].reasons == {"price: not a float": 1, "updated_at: not a timestamp": 1}
    bad = quarantined(settings, "catalog").sort_by("product_id")
    assert bad["product_id"].to_pylist() == ["p2", "p4"]
    assert bad["_reason"].to_pylist() == [
        "price: not a float ('abc')",
        "updated_at: not a timestamp ('ayer')",
    ]
    assert bad["price"][0].as_py() == "abc"
    expected = [r for r in rows["catalog"] if r["product_id"] not in {"p2", "p4"}]
    assert sort_by_key(validated(settings, "catalog"), "catalog") == sort_by_key(
        to_table("catalog", expected), "catalog"
    )


def test_integer_ids_are_coerced_to_strings(settings: Settings) -> None:
    rows = clean_rows()
    for user in rows["users"]:
        user["user_id"] = user["user_id"][1:]
    for event in rows["events"]:
        event["user_id"] = event["user_id"][1:]
    rows["search_logs"] = [dict(s, user_id=None) for s in rows["search_logs"]]
    rows["transactions"] = [dict(t, user_id=t["user_id"][1:]) for t in rows["transactions"]]
    write_clean_lake(settings, {k: v for k, v in rows.items() if k != "users"})
    users = to_table("users", rows["users"])
    write_raw(settings, "users", users.set_column(0, "user_id", pc.cast(users["user_id"], pa.int64())))
    report = run(settings, threshold=0.0)
    assert report.tables["users"].quarantined_rows == 0
    assert report.tables["events"].quarantined_rows == 0
    assert sorted(validated(settings, "users")["user_id"].to_pylist()) == sorted(
        u["user_id"] for u in rows["users"]
    )


def test_missing_column_quarantines_the_whole_file_and_extra_columns_stay_in_quarantine(
    settings: Settings,
) -> None:
    rows = clean_rows()
    write_clean_lake(settings, rows)
    extra_events = to_table("events", rows["events"][:3]).drop_columns(["device"])
    extra_events = extra_events.append_column("browser", pa.array(["firefox"] * 3))
    extra_events = extra_events.set_column(0, "event_id", pa.array(["x1", "x2", "x3"]))
    write_raw(settings, "events", extra_events, part="extra")
    report = run(settings)
    assert report.tables["events"].reasons == {"device: missing column": 3}
    bad = quarantined(settings, "events")
    assert sorted(bad["event_id"].to_pylist()) == ["x1", "x2", "x3"]
    assert bad["browser"].to_pylist() == ["firefox"] * 3
    assert bad["device"].null_count == 3
    assert "browser" not in validated(settings, "events").column_names


def test_catalog_change_log_keeps_latest_version_and_quarantines_conflicts(settings: Settings) -> None:
    rows = clean_rows()
    write_clean_lake(settings, rows)
    catalog = rows["catalog"]
    later = catalog[0]["updated_at"] + dt.timedelta(hours=5)
    changes = [
        dict(catalog[0], price=80.0, updated_at=later),  # a real change: wins
        dict(catalog[1]),  # the same change read twice: superseded, not a conflict
        dict(catalog[2], title="Otro título"),  # same updated_at, different content: conflict
    ]
    write_raw(settings, "catalog", to_table("catalog", changes), part="cdc")
    report = run(settings)
    outcome = report.tables["catalog"]
    assert outcome.superseded_rows == 2
    assert outcome.input_rows == len(catalog) + 1
    assert outcome.reasons == {"product_id: conflicting versions with the same updated_at": 1}
    served = {r["product_id"]: r for r in validated(settings, "catalog").to_pylist()}
    assert served["p0"]["price"] == 80.0
    assert served["p2"]["title"] == catalog[2]["title"]
    assert quarantined(settings, "catalog")["title"].to_pylist() == ["Otro título"]


def test_synonyms_csv_is_read_with_pipe_separated_lists(settings: Settings) -> None:
    folder = Path(settings.lake) / "raw" / "synonyms"
    folder.mkdir(parents=True)
    (folder / "curated.csv").write_text(
        "term,synonyms,category_scope\n"
        "celular,smartphone|teléfono móvil,Celulares\ntele,,\nzapatilla,tenis,\n",
        encoding="utf-8",
    )
    report = run(settings)
    assert report.tables["synonyms"].reasons == {"synonyms: null": 1}
    good = validated(settings, "synonyms").sort_by("term").to_pylist()
    assert good == [
        {"term": "celular", "synonyms": ["smartphone", "teléfono móvil"], "category_scope": "Celulares"},
        {"term": "zapatilla", "synonyms": ["tenis"], "category_scope": None},
    ]


def test_threshold_exceeded_keeps_last_good_data_and_writes_quarantine(settings: Settings) -> None:
    rows = clean_rows()
    write_clean_lake(settings, rows)
    run(settings, threshold=0.05)
    before = {f: Path(f).read_bytes() for f in list_parquet_files(lake(settings), "validated", "events")}
    for event in rows["events"][:5]:
        event["event_type"] = "like"
    write_clean_lake(settings, {"events": rows["events"]})
    with pytest.raises(ContractViolation) as raised:
        run(settings, threshold=0.05)
    message = str(raised.value)
    assert "events 20.8%" in message
    assert "5.0%" in message
    report = raised.value.report
    assert report.failed == ("events",)
    assert not report.tables["events"].published
    after = {f: Path(f).read_bytes() for f in list_parquet_files(lake(settings), "validated", "events")}
    assert after == before
    assert quarantined(settings, "events").num_rows == 5
    assert report.tables["catalog"].published


def test_rerun_replaces_outputs(settings: Settings) -> None:
    rows = clean_rows()
    rows["events"][0]["event_type"] = "like"
    write_clean_lake(settings, rows)
    first = run(settings)
    second = run(settings)
    for name in rows:
        assert second.tables[name].valid_rows == first.tables[name].valid_rows
        assert validated(settings, name).num_rows == second.tables[name].valid_rows
        assert quarantined(settings, name).num_rows == second.tables[name].quarantined_rows
    assert quarantined(settings, "events").num_rows == 1
    files = list_parquet_files(lake(settings), "validated", "events")
    assert all(second.run_id in f for f in files)


def test_stale_table_is_a_warning_or_a_failure_but_never_quarantines(settings: Settings) -> None:
    rows = clean_rows()
    for event in rows["events"]:
        event["ts"] = event["ts"] - dt.timedelta(days=5)
    write_clean_lake(settings, rows)
    report = run(settings)
    assert report.tables["events"].stale
    assert report.tables["events"].quarantined_rows == 0
    assert any(w.startswith("events is stale") for w in report.warnings)
    assert not report.tables["transactions"].stale
    with pytest.raises(ContractViolation, match="events is older than 48 h"):
        validate_lake(settings, max_invalid_share=1.0, fail_on_stale=True)
    # the same switch from the environment, through the CLI: exit 1 with the one clear message
    from typer.testing import CliRunner

    from vitrina.cli.main import app

    env = {"VITRINA_FAIL_ON_STALE": "true", "VITRINA_MAX_INVALID_SHARE": "1.0"}
    result = CliRunner().invoke(app, ["data", "validate", "--home", str(settings.home)], env=env)
    assert result.exit_code == 1
    assert "events is older than 48 h" in result.output


def test_missing_referenced_table_falls_back_to_published_data(settings: Settings) -> None:
    write_clean_lake(settings)
    run(settings, threshold=0.0)
    shutil.rmtree(lake(settings).table("raw", "catalog"))
    report = run(settings, threshold=0.0)
    assert "catalog" in report.missing
    assert report.tables["events"].quarantined_rows == 0


def test_products_without_brand_cost_or_description_stay_valid(settings: Settings) -> None:
    rows = clean_rows()
    for column in ("brand", "cost", "description"):
        rows["catalog"][1][column] = None
    write_clean_lake(settings, rows)
    report = run(settings, threshold=0.0)
    assert report.tables["catalog"].quarantined_rows == 0
    kept = {r["product_id"]: r for r in validated(settings, "catalog").to_pylist()}
    product = rows["catalog"][1]["product_id"]
    assert (kept[product]["brand"], kept[product]["cost"], kept[product]["description"]) == (None, None, None)
