"""validate_lake under a shop file: the shop's vocabularies, value maps, earliest date, event
types and thresholds decide; what the file does not allow is still quarantined with its reason."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from test_contracts_factory import clean_rows, to_table, write_clean_lake, write_raw

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.config import Settings, get_settings
from vitrina.core.tables import TABLES
from vitrina.pipelines.validate import ContractViolation, ValidationReport, validate_lake

pytestmark = pytest.mark.unit
Rows = dict[str, list[dict[str, Any]]]

SHOP_FILE = """\
name: gift-shop
currency: GBP
contracts:
  vocabularies:
    users.segment: open
    users.age_range: open
    transactions.payment_method: open
  value_maps:
    events.device: {web: desktop}
    events.page: {basket: cart}
  earliest_date: 1995-01-01
  event_types: [purchase]
"""
IN_1997 = dt.datetime(1997, 3, 1, 12, tzinfo=dt.UTC)
IN_1994 = dt.datetime(1994, 12, 31, 12, tzinfo=dt.UTC)


def with_shop_file(settings: Settings, text: str) -> Settings:
    """The same home with ``text`` as its shop file (a new settings object reads it afresh)."""
    (settings.home / "vitrina.yaml").write_text(text, encoding="utf-8")
    return get_settings(home=settings.home)


def shop_rows() -> Rows:
    """A clean lake of an orders-only shop: every event a purchase, everything else as usual."""
    rows = clean_rows()
    for event in rows["events"]:
        event["event_type"] = "purchase"
    return rows


def the_shops_spellings(rows: Rows) -> None:
    """Rows the simulator's contract quarantines and the shop file allows."""
    rows["users"][1]["segment"] = "gold"  # open
    rows["users"][2]["age_range"] = "unknown"  # open
    rows["transactions"][1]["payment_method"] = "paypal"  # open
    rows["events"][2]["device"] = "web"  # mapped to desktop
    rows["events"][3]["device"] = "web"
    rows["events"][4]["page"] = "basket"  # mapped to cart
    rows["transactions"][2]["ts"] = IN_1997  # after the shop's earliest date


def quarantined(settings: Settings, name: str) -> list[dict[str, Any]]:
    return read_table(LakePaths(settings.lake), "quarantine", name).to_pylist()


def validated(settings: Settings, name: str) -> list[dict[str, Any]]:
    return read_table(LakePaths(settings.lake), "validated", name, schema=TABLES[name].schema).to_pylist()


def test_without_the_file_the_shops_spellings_are_quarantined(settings: Settings) -> None:
    rows = shop_rows()
    the_shops_spellings(rows)
    write_clean_lake(settings, rows)
    report = validate_lake(settings, max_invalid_share=1.0)
    assert report.tables["users"].reasons == {
        "segment: not an allowed value": 1,
        "age_range: not an allowed value": 1,
    }
    assert report.tables["events"].reasons["device: not an allowed value"] == 2
    assert report.tables["events"].reasons["page: not an allowed value"] == 1
    assert report.tables["transactions"].reasons["payment_method: not an allowed value"] == 1
    assert report.tables["transactions"].reasons["ts: before 2000-01-01"] == 1
    assert (report.shop, report.currency) == ("demo", "MXN")


def test_with_the_file_they_are_valid_and_the_mapped_values_counted(settings: Settings) -> None:
    rows = shop_rows()
    the_shops_spellings(rows)
    write_clean_lake(settings, rows)
    shop = with_shop_file(settings, SHOP_FILE)
    report = validate_lake(shop, max_invalid_share=0.0)
    for name, table_rows in rows.items():
        assert report.tables[name].quarantined_rows == 0, (name, report.tables[name].reasons)
        assert report.tables[name].valid_rows == len(table_rows)
    assert report.tables["events"].mapped == {"device": 2, "page": 1}
    assert report.tables["users"].mapped == {}
    devices = {e["event_id"]: e["device"] for e in validated(shop, "events")}
    assert (devices["e2"], devices["e3"]) == ("desktop", "desktop")
    assert {e["page"] for e in validated(shop, "events") if e["event_id"] == "e4"} == {"cart"}
    segments = {u["user_id"]: u["segment"] for u in validated(shop, "users")}
    assert segments["u1"] == "gold"
    assert (report.shop, report.currency, report.event_types) == ("gift-shop", "GBP", ("purchase",))
    assert report.earliest_date == dt.date(1995, 1, 1)
    saved = json.loads(Path(LakePaths(shop.lake).table("reports", "validation"), "latest.json").read_text())
    assert saved["tables"]["events"]["mapped"] == {"device": 2, "page": 1}
    assert (saved["shop"], saved["currency"]) == ("gift-shop", "GBP")


def test_what_the_file_does_not_allow_is_still_quarantined_with_its_reason(settings: Settings) -> None:
    rows = shop_rows()
    rows["events"][5]["device"] = "tv"  # closed vocabulary, not mapped
    rows["events"][6]["device"] = "Web"  # a map is exact
    rows["events"][7]["event_type"] = "view"  # canonical, but this shop does not log views
    rows["events"][8]["event_type"] = "like"  # no shop logs this
    rows["events"][9]["ts"] = IN_1994  # before the shop's earliest date
    write_clean_lake(settings, rows)
    shop = with_shop_file(settings, SHOP_FILE)
    report = validate_lake(shop, max_invalid_share=1.0)
    assert report.tables["events"].reasons == {
        "device: not an allowed value": 2,
        "event_type: not logged by this shop": 1,
        "event_type: not an allowed value": 1,
        "ts: before 1995-01-01": 1,
    }
    reasons = {row["event_id"]: row["_reason"] for row in quarantined(shop, "events")}
    assert reasons["e5"] == "device: not an allowed value ('tv')"
    assert reasons["e6"] == "device: not an allowed value ('Web')"
    assert reasons["e7"] == "event_type: not logged by this shop ('view')"
    assert reasons["e8"] == "event_type: not an allowed value ('like')"
    assert reasons["e9"].startswith("ts: before 1995-01-01")
    # events of the quarantined user follow it, as always
    assert report.tables["events"].valid_rows + report.tables["events"].quarantined_rows == len(
        rows["events"]
    )


def test_the_quarantine_keeps_the_shops_own_spelling(settings: Settings) -> None:
    rows = shop_rows()
    rows["events"][2]["device"] = "web"
    rows["events"][2]["position"] = 0  # quarantined for another reason
    write_clean_lake(settings, rows)
    shop = with_shop_file(settings, SHOP_FILE)
    report = validate_lake(shop, max_invalid_share=1.0)
    assert report.tables["events"].reasons == {"position: must be >= 1": 1}
    [row] = quarantined(shop, "events")
    assert (row["event_id"], row["device"]) == ("e2", "web")


def _render(report: ValidationReport) -> str:
    from rich.console import Console

    console = Console(width=400, record=True)
    console.print(report.render(), soft_wrap=True)
    return console.export_text()


def test_an_orders_only_shop_is_valid_and_the_report_says_what_it_lacks(settings: Settings) -> None:
    rows = shop_rows()
    write_clean_lake(
        settings, {k: v for k, v in rows.items() if k in ("catalog", "users", "events", "transactions")}
    )
    shop = with_shop_file(settings, SHOP_FILE)
    report = validate_lake(shop, max_invalid_share=0.0)
    assert report.ok
    assert report.missing == ("search_logs", "synonyms", "judgments")
    assert not report.warnings
    text = _render(report)
    assert "shop gift-shop · currency GBP" in text
    assert "not logged by this shop (contracts.event_types): view, click, add_to_cart" in text
    assert "not provided (no raw files): search_logs, synonyms, judgments" in text
    assert "values mapped by the shop file" not in text


def test_the_shop_files_thresholds_apply_and_an_explicit_one_wins(settings: Settings) -> None:
    rows = shop_rows()
    rows["events"][0]["device"] = "tv"  # 1 of 24 events: 4.2 %
    write_clean_lake(settings, rows)
    strict = with_shop_file(settings, SHOP_FILE + "  max_invalid_share: 0.01\n")
    with pytest.raises(ContractViolation, match=re.escape("exceed the 1.0% limit in events 4.2%")):
        validate_lake(strict)
    assert validate_lake(strict, max_invalid_share=0.05).ok  # the CLI flag wins over the file
    lenient = with_shop_file(settings, SHOP_FILE + "  max_invalid_share: 0.10\n")
    assert validate_lake(lenient).max_invalid_share == 0.10
    assert validate_lake(with_shop_file(settings, SHOP_FILE)).max_invalid_share == settings.max_invalid_share

    from typer.testing import CliRunner

    from vitrina.cli.main import app

    (settings.home / "vitrina.yaml").write_text(SHOP_FILE + "  max_invalid_share: 0.01\n", encoding="utf-8")
    home = ["--home", str(settings.home)]
    assert CliRunner().invoke(app, ["data", "validate", *home]).exit_code == 1
    result = CliRunner().invoke(app, ["data", "validate", "--max-invalid-share", "0.05", *home])
    assert result.exit_code == 0, result.output


def test_a_historical_export_is_a_warning_not_a_failure(settings: Settings) -> None:
    rows = shop_rows()
    for table in ("events", "transactions", "search_logs"):
        for row in rows[table]:
            row["ts"] = row["ts"].replace(year=2011)
    write_clean_lake(settings, rows)
    shop = with_shop_file(settings, SHOP_FILE)
    report = validate_lake(shop, max_invalid_share=0.0)
    assert report.ok
    assert {t for t, r in report.tables.items() if r.stale} == {"events", "transactions", "search_logs"}
    warning = next(w for w in report.warnings if w.startswith("events is stale"))
    assert "days old" in warning
    assert "a warning only" in warning
    with pytest.raises(ContractViolation, match="events, transactions, search_logs are older than 48 h"):
        validate_lake(shop, max_invalid_share=0.0, fail_on_stale=True)
    # the shop's own freshness limit: a history that is old enough passes even that
    patient = with_shop_file(settings, SHOP_FILE + "  freshness_max_age_hours: 1.0e+6\n")
    report = validate_lake(patient, max_invalid_share=0.0, fail_on_stale=True)
    assert report.freshness_max_age_hours == 1.0e6
    assert not report.warnings


JUDGMENTS = [
    {"query": "red mug", "product_id": "p1", "grade": 3.0, "source": "panel"},
    {"query": "red mug", "product_id": "p2", "grade": 0.0, "source": None},
    {"query": "lamp", "product_id": "p3", "grade": 2.5, "source": "panel"},
]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"grade": -1.0}, "grade: must be >= 0 (-1.0)"),
        ({"query": ""}, "query: empty ('')"),
        ({"query": "   "}, "query: empty ('   ')"),
        ({"query": None}, "query: null"),
        ({"product_id": "p999"}, "product_id: unknown product ('p999')"),
        ({"query": "lamp", "product_id": "p3"}, "duplicate (query, product_id)"),
    ],
)
def test_judgments_are_checked(settings: Settings, change: dict[str, Any], reason: str) -> None:
    write_clean_lake(settings)
    judgments = [
        *JUDGMENTS,
        {"query": "blue mug", "product_id": "p4", "grade": 1.0, "source": None, **change},
    ]
    write_raw(settings, "judgments", to_table("judgments", judgments))
    report = validate_lake(settings, max_invalid_share=1.0)
    assert report.tables["judgments"].quarantined_rows == 1
    assert report.tables["judgments"].valid_rows == len(JUDGMENTS)
    [row] = quarantined(settings, "judgments")
    assert row["_reason"] == reason


def test_judgments_may_be_dropped_in_as_csv(settings: Settings) -> None:
    write_clean_lake(settings)
    folder = Path(settings.lake) / "raw" / "judgments"
    folder.mkdir(parents=True)
    (folder / "graded.csv").write_text(
        "\ufeffquery,product_id,grade,source\nred mug,p1,3,panel\nred mug,p2,0,\nlamp,p3,high,panel\n",
        encoding="utf-8",
    )
    report = validate_lake(settings, max_invalid_share=1.0)
    assert report.tables["judgments"].reasons == {"grade: not a float": 1}
    good = sorted(validated(settings, "judgments"), key=lambda r: r["product_id"])
    assert good == [
        {"query": "red mug", "product_id": "p1", "grade": 3.0, "source": "panel"},
        {"query": "red mug", "product_id": "p2", "grade": 0.0, "source": None},
    ]


def test_the_simulators_lake_validates_the_same_with_an_empty_shop_file(settings: Settings) -> None:
    rows = clean_rows()
    rows["events"][0]["device"] = "tv"
    rows["users"][1]["segment"] = "gold"
    write_clean_lake(settings, rows)
    without = validate_lake(settings, max_invalid_share=1.0)
    empty = validate_lake(with_shop_file(settings, "{}\n"), max_invalid_share=1.0)
    for name in rows:
        assert empty.tables[name].reasons == without.tables[name].reasons
        assert empty.tables[name].valid_rows == without.tables[name].valid_rows
    assert (
        pa.Table.from_pylist(quarantined(settings, "events")).num_rows
        == without.tables["events"].quarantined_rows
    )
