"""The shop file: its defaults are the simulator's contract, a bad file names its key, every key
is documented, and every command that reads it turns a bad one into one line and exit 2."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from vitrina.cli.common import SHOP_FILE_EXIT_CODE
from vitrina.cli.main import app
from vitrina.config import get_settings
from vitrina.core import tables
from vitrina.shop_config import ContractsConfig, ShopConfig, ShopFileError, load_shop_config

pytestmark = pytest.mark.unit

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "shop-file.md"


def _load(tmp_path: Path, text: str) -> ShopConfig:
    path = tmp_path / "vitrina.yaml"
    path.write_text(text, encoding="utf-8")
    return load_shop_config(path)


def test_no_file_is_the_simulators_contract(tmp_path: Path) -> None:
    shop = load_shop_config(tmp_path / "vitrina.yaml")
    contracts = shop.contracts
    assert (shop.currency, contracts.earliest_date, contracts.event_types) == (
        "MXN",
        dt.date(2000, 1, 1),
        tables.EVENT_TYPES,
    )
    assert contracts.allowed("events", "event_type") == tables.EVENT_TYPES
    assert contracts.allowed("events", "page") == tables.PAGES
    assert contracts.allowed("events", "device") == tables.DEVICES
    assert contracts.allowed("users", "age_range") == tables.AGE_RANGES
    assert contracts.allowed("users", "segment") == tables.SEGMENTS
    assert contracts.allowed("transactions", "payment_method") == tables.PAYMENT_METHODS
    assert contracts.allowed("catalog", "title") is None
    assert contracts.not_logged() == ()
    assert contracts.maps_of("events") == {}


def test_a_shop_file_opens_closes_and_maps_vocabularies(tmp_path: Path) -> None:
    shop = _load(
        tmp_path,
        "currency: GBP\n"
        "contracts:\n"
        "  vocabularies:\n"
        "    users.segment: open\n"
        "    catalog.category_l1: [Books, Music]\n"
        "  value_maps:\n"
        "    events.device: {web: desktop}\n"
        "  event_types: [purchase]\n"
        "  earliest_date: 1995-01-01\n",
    )
    contracts = shop.contracts
    assert shop.currency == "GBP"
    assert contracts.allowed("users", "segment") is None
    assert contracts.is_open("users", "segment")
    assert contracts.allowed("catalog", "category_l1") == ("Books", "Music")
    assert contracts.allowed("events", "device") == tables.DEVICES
    assert contracts.allowed("events", "event_type") == ("purchase",)
    assert contracts.not_logged() == ("view", "click", "add_to_cart")
    assert contracts.maps_of("events") == {"device": {"web": "desktop"}}
    assert contracts.earliest_date == dt.date(1995, 1, 1)


BAD_FILES = [
    ("colour: red\n", "colour: unknown key"),
    ("contracts:\n  vocabs: {}\n", "contracts.vocabs: unknown key"),
    ("contracts:\n  vocabularies:\n    events.devic: open\n", "'events.devic' is not a canonical"),
    ("contracts:\n  vocabularies:\n    nope.device: open\n", "'nope.device' is not a canonical"),
    ("contracts:\n  vocabularies:\n    catalog.price: open\n", "'catalog.price' is not a text column"),
    (
        "contracts:\n  vocabularies:\n    events.device: opn\n",
        "contracts.vocabularies.events.device: must be",
    ),
    (
        "contracts:\n  vocabularies:\n    users.age_range: [18, 25]\n",
        "users.age_range: allowed values must be texts",
    ),
    ("contracts:\n  vocabularies:\n    users.segment: []\n", "'users.segment': allowed values"),
    ("contracts:\n  vocabularies:\n    events.event_type: open\n", "contracts.event_types"),
    (
        "contracts:\n  value_maps:\n    events.device: {web: computer}\n",
        "value_maps.events.device: 'computer'",
    ),
    ("contracts:\n  value_maps:\n    events.ts: {a: b}\n", "'events.ts' is not a text column"),
    (
        "contracts:\n  value_maps:\n    events.page: {a: b, b: cart}\n",
        "'b' is both mapped and a map's target",
    ),
    (
        "contracts:\n  event_types: [purchase]\n  value_maps:\n    events.event_type: {pageview: view}\n",
        "value_maps.events.event_type: 'view' is not allowed",
    ),
    ("contracts:\n  event_types: [purchase, like]\n", "contracts.event_types: 'like' unknown"),
    ("contracts:\n  event_types: []\n", "contracts.event_types"),
    ("contracts:\n  earliest_date: yesterday\n", "contracts.earliest_date"),
    ("contracts:\n  max_invalid_share: 3\n", "contracts.max_invalid_share"),
    ("contracts:\n  freshness_max_age_hours: 0\n", "contracts.freshness_max_age_hours"),
    ("currency: eur\n", "currency: 'eur' is not an ISO 4217 code"),
    ("currency: EURO\n", "currency: 'EURO' is not an ISO 4217 code"),
    ("language: fr\n", "language"),
    ("- a list\n", "must be a mapping"),
    ("contracts: [unclosed\n", "not valid YAML"),
]


@pytest.mark.parametrize(("text", "words"), BAD_FILES, ids=[w for _, w in BAD_FILES])
def test_a_bad_shop_file_fails_at_once_naming_its_key(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ShopFileError) as raised:
        _load(tmp_path, text)
    message = str(raised.value)
    assert message.startswith(str(tmp_path / "vitrina.yaml"))
    assert words in message
    assert "\n" not in message.split(": not valid YAML")[0]


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _fields(annotation, f"{prefix}{name}.")
    return keys


def test_every_key_is_documented_in_the_reference() -> None:
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", REFERENCE.read_text(encoding="utf-8"), re.MULTILINE))
    keys = _fields(ShopConfig)
    assert {f"contracts.{name}" for name in ContractsConfig.model_fields} <= set(keys)
    assert set(keys) <= documented, sorted(set(keys) - documented)


@pytest.mark.parametrize("command", [["data", "validate"], ["serve"]])
def test_every_command_reading_the_shop_file_says_what_is_wrong_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "vitrina.yaml").write_text(
        "contracts:\n  vocabularies:\n    events.devic: open\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, [*command, "--home", str(home)])
    assert result.exit_code == SHOP_FILE_EXIT_CODE, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("bad shop file:")
    assert "contracts.vocabularies: 'events.devic' is not a canonical `table.column`" in lines[0]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_shop_file_may_live_elsewhere(tmp_path: Path) -> None:
    elsewhere = tmp_path / "shops" / "gift.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text("name: gift\ncurrency: GBP\n", encoding="utf-8")
    settings = get_settings(home=tmp_path / "home", shop_file=elsewhere)
    assert (settings.shop.name, settings.shop.currency) == ("gift", "GBP")


def test_repurchase_overrides_become_the_business_rules_settings(tmp_path: Path) -> None:
    path = tmp_path / "vitrina.yaml"
    path.write_text(
        "repurchase:\n  min_rate: 0.2\n  always_categories: [Coffee]\n  never_items: [SKU-1]\n",
        encoding="utf-8",
    )
    rules = load_shop_config(path).repurchase.rules()
    assert rules.min_rate == 0.2
    assert rules.always_categories == frozenset({"Coffee"})
    assert rules.never_items == frozenset({"SKU-1"})
    assert ShopConfig().repurchase.rules().always_categories == frozenset({"Supermercado", "Mascotas"})
    path.write_text("repurchase:\n  always_items: [A]\n  never_items: [A]\n", encoding="utf-8")
    with pytest.raises(ShopFileError, match="both always and never"):
        load_shop_config(path)


def test_new_arrivals_settings_become_the_publishing_rule(tmp_path: Path) -> None:
    path = tmp_path / "vitrina.yaml"
    path.write_text("new_arrivals:\n  slots: 2\n  rank: 5\n  max_age_days: 3\n", encoding="utf-8")
    rule = load_shop_config(path).new_arrivals.rule()
    assert (rule.slots, rule.rank, rule.max_age_days) == (2, 5, 3.0)
    assert ShopConfig().new_arrivals.rule().slots == 1
    path.write_text("new_arrivals:\n  slots: 3\n  rank: 2\n", encoding="utf-8")
    with pytest.raises(ShopFileError, match="out of range"):
        load_shop_config(path)
