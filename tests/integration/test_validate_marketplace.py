"""The must-show: simulated data validates clean; a corrupted copy quarantines exactly the bad rows.

The corrupted copy has, in known numbers: the catalog's ``price`` written as text (two
values are not numbers, three are negative), a ``position`` column written as text with
twenty unparsable values and ``ts`` written as ISO text in one events file, duplicated
event ids, events for unknown products and events in the future. Rows that point at a
quarantined product follow it into quarantine; everything else must come out exactly as
in the clean run.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from support.fixed_calendar import WORLD_END
from typer.testing import CliRunner

from vitrina.adapters.lake.io import read_table, remove_table, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.cli.main import app
from vitrina.config import Settings, get_settings
from vitrina.core.artifacts.files import write_parquet_atomic
from vitrina.core.tables import TABLES
from vitrina.pipelines.validate import ContractViolation, ValidationReport, validate_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_NOT_A_NUMBER, N_NEGATIVE = 2, 3
N_DUPLICATE, N_UNKNOWN, N_FUTURE, N_BAD_POSITION = 50, 40, 30, 20


@pytest.fixture(scope="module")
def clean_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ci-scale marketplace, generated once for this module (tests copy it before writing)."""
    generate = pytest.importorskip("vitrina.simulator.generate")
    home = tmp_path_factory.mktemp("clean") / "home"
    generate.generate_marketplace(
        get_settings(home=home), scale="ci", seed=7, drift=None, end_date=WORLD_END, catalog_to=None
    )
    return home


def copy_home(source: Path, target: Path) -> Settings:
    shutil.copytree(source / "lake" / "raw", target / "lake" / "raw")
    return get_settings(home=target)


def valid(settings: Settings, name: str) -> pa.Table:
    return read_table(LakePaths(settings.lake), "validated", name, schema=TABLES[name].schema)


def corrupt_catalog(lake: LakePaths, catalog: pa.Table, rng: np.random.Generator) -> set[str]:
    """Price as text everywhere; some values unparsable, some negative. Returns the bad ids."""
    prices = [repr(p) for p in catalog["price"].to_pylist()]
    bad = rng.choice(catalog.num_rows, N_NOT_A_NUMBER + N_NEGATIVE, replace=False)
    for i in bad[:N_NOT_A_NUMBER]:
        prices[i] = "consultar"
    for i in bad[N_NOT_A_NUMBER:]:
        prices[i] = repr(-catalog["price"][int(i)].as_py())
    price_at = catalog.schema.get_field_index("price")
    remove_table(lake, "raw", "catalog")
    write_table(lake, "raw", "catalog", catalog.set_column(price_at, "price", pa.array(prices)), None)
    return set(catalog["product_id"].take(pa.array(bad)).to_pylist())


def corrupt_events(
    lake: LakePaths, events: pa.Table, bad_products: set[str], rng: np.random.Generator
) -> dict[str, set[str]]:
    """Rewrite raw/events with known corruptions; returns the corrupted event ids per reason."""
    touches_bad = pc.is_in(events["product_id"], value_set=pa.array(sorted(bad_products))).to_numpy(
        zero_copy_only=False
    )
    days = pc.cast(events["ts"], pa.date32()).to_numpy(zero_copy_only=False)
    first_day = days.min()
    in_text_file = days == first_day
    others = np.flatnonzero(~touches_bad & ~in_text_file)
    picked = rng.choice(others, N_DUPLICATE + N_UNKNOWN + N_FUTURE, replace=False)
    duplicate, unknown, future = np.split(picked, [N_DUPLICATE, N_DUPLICATE + N_UNKNOWN])
    bad_position = rng.choice(np.flatnonzero(~touches_bad & in_text_file), N_BAD_POSITION, replace=False)

    product_ids = events["product_id"].to_pylist()
    for k, i in enumerate(unknown):
        product_ids[i] = f"desconocido-{k}"
    stamps = events["ts"].to_pylist()
    for i in future:
        stamps[i] = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    schema = events.schema
    events = events.set_column(schema.get_field_index("product_id"), "product_id", pa.array(product_ids))
    events = events.set_column(schema.get_field_index("ts"), "ts", pa.array(stamps, schema.field("ts").type))
    events = pa.concat_tables([events, events.take(pa.array(duplicate))])

    remove_table(lake, "raw", "events")
    n_original = len(in_text_file)
    text_rows = np.flatnonzero(np.concatenate([in_text_file, np.zeros(len(duplicate), bool)]))
    write_table(
        lake, "raw", "events", events.filter(pa.array(~np.isin(np.arange(events.num_rows), text_rows))), "ts"
    )
    sloppy = events.take(pa.array(text_rows))
    positions = [None if p is None else str(p) for p in sloppy["position"].to_pylist()]
    local = {int(i): k for k, i in enumerate(text_rows)}
    for i in bad_position:
        positions[local[int(i)]] = "abc"
    sloppy = sloppy.set_column(sloppy.schema.get_field_index("position"), "position", pa.array(positions))
    sloppy = sloppy.set_column(sloppy.schema.get_field_index("ts"), "ts", pc.cast(sloppy["ts"], pa.string()))
    write_parquet_atomic(sloppy, f"{lake.partition('raw', 'events', first_day.item())}/part-by-hand.parquet")
    assert n_original + len(duplicate) == events.num_rows

    ids = events["event_id"].to_pylist()
    return {
        "duplicate event_id": {ids[i] for i in duplicate},
        "product_id: unknown product": {ids[i] for i in unknown},
        "ts: in the future": {ids[i] for i in future},
        "position: not a 32-bit integer": {ids[i] for i in bad_position},
        "product_id: product was quarantined": {
            e for e, bad in zip(ids[:n_original], touches_bad, strict=True) if bad
        },
    }


def rows_by_id(table: pa.Table, key: str, drop: set[str]) -> list[dict[str, object]]:
    kept = table.filter(pc.invert(pc.is_in(table[key], value_set=pa.array(sorted(drop), pa.string()))))
    return kept.sort_by(key).to_pylist()


def test_clean_data_validates_and_corruptions_are_quarantined_exactly(
    clean_home: Path, tmp_path: Path
) -> None:
    clean = copy_home(clean_home, tmp_path / "clean")
    clean_report = validate_lake(clean, max_invalid_share=0.0)
    for name, outcome in clean_report.tables.items():
        assert outcome.quarantined_rows == 0, (name, outcome.reasons)
        assert outcome.valid_rows == outcome.input_rows > 0
    assert set(clean_report.missing) <= {"judgments"}  # the simulator grades no queries by hand

    broken = copy_home(clean_home, tmp_path / "broken")
    lake = LakePaths(broken.lake)
    rng = np.random.default_rng(7)
    bad_products = corrupt_catalog(lake, valid(clean, "catalog"), rng)
    expected = corrupt_events(lake, valid(clean, "events"), bad_products, rng)
    report = validate_lake(broken, max_invalid_share=0.05)

    assert report.tables["catalog"].reasons == {
        "price: not a float": N_NOT_A_NUMBER,
        "price: must be > 0": N_NEGATIVE,
    }
    assert report.tables["events"].reasons == {code: len(ids) for code, ids in expected.items() if ids}
    quarantine = read_table(lake, "quarantine", "events")
    assert quarantine.num_rows == sum(len(ids) for ids in expected.values())
    for code, ids in expected.items():
        hits = [r["event_id"] for r in quarantine.to_pylist() if r["_reason"].startswith(code)]
        assert Counter(hits) == Counter(ids), code
    assert set(
        quarantine.filter(pc.starts_with(quarantine["_reason"], "position"))["position"].to_pylist()
    ) == {"abc"}

    shown_bad = sum(
        bool(set(shown) & bad_products) for shown in valid(clean, "search_logs")["results_shown"].to_pylist()
    )
    bought_bad = sum(p in bad_products for p in valid(clean, "transactions")["product_id"].to_pylist())
    assert report.tables["search_logs"].quarantined_rows == shown_bad
    assert report.tables["transactions"].quarantined_rows == bought_bad
    assert report.tables["users"].quarantined_rows == 0

    touched = set().union(*(ids for code, ids in expected.items() if code != "duplicate event_id"))
    assert rows_by_id(valid(broken, "events"), "event_id", set()) == rows_by_id(
        valid(clean, "events"), "event_id", touched
    )
    assert rows_by_id(valid(broken, "catalog"), "product_id", set()) == rows_by_id(
        valid(clean, "catalog"), "product_id", bad_products
    )
    for name, outcome in report.tables.items():
        assert outcome.valid_rows + outcome.quarantined_rows == outcome.input_rows, name


def test_cli_exit_codes_and_message(clean_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "cli"
    settings = copy_home(clean_home, home)
    ok = runner.invoke(app, ["data", "validate", "--home", str(home)])
    assert ok.exit_code == 0, ok.output
    assert "events" in ok.output

    curated = home / "lake" / "raw" / "synonyms" / "synonyms.csv"
    lines = curated.read_text(encoding="utf-8").splitlines()
    n_terms = len(lines) - 1
    curated.write_text("\n".join([lines[0], *(f"termino{i},," for i in range(n_terms))]), encoding="utf-8")
    failed = runner.invoke(app, ["data", "validate", "--home", str(home)])
    assert failed.exit_code == 1
    output = " ".join(failed.output.split())
    assert output.count("validation failed:") == 1
    assert "validation failed: invalid rows exceed the 5.0% limit in synonyms 100.0%" in output
    assert "synonyms: null" in output
    with pytest.raises(ContractViolation) as raised:
        validate_lake(settings, max_invalid_share=0.05)
    report: ValidationReport = raised.value.report
    assert report.failed == ("synonyms",)
    assert report.tables["synonyms"].quarantined_rows == n_terms
    assert valid(settings, "synonyms").num_rows == n_terms  # the last good synonyms keep serving
