"""`vitrina train search` on a shop that speaks English: the shop file's language is analysed,
recorded with the index version, and kept by whatever serves or re-indexes that version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from rich.console import Console
from support.fixed_calendar import WORLD_END_MIDNIGHT

from vitrina.adapters.lake.io import write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.models.index_versions import current_version, read_version_meta
from vitrina.adapters.models.search_index import load_version
from vitrina.config import Settings, get_settings
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.synonyms import SynonymTable
from vitrina.core.tables import CATALOG
from vitrina.pipelines.search.corpus import read_search_inputs, text_inputs
from vitrina.pipelines.search.reindex import reindex_search
from vitrina.pipelines.search.run import SearchConfig, run_search
from vitrina.pipelines.validate import validate_lake

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUIET = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the test module
NO_EVALUATION = SearchConfig(evaluate=False)  # no logs, no judgments: nothing to evaluate
KINDS = {
    "Drill": "Cordless Drills",
    "Hammer": "Hammers",
    "Circular Saw": "Saws",
    "Screwdriver Set": "Screwdrivers",
    "Tape Measure": "Measuring Tools",
    "Wrench": "Wrenches",
}
MAKERS = ("DeWalt", "Milwaukee", "Ryobi", "Stanley")


def _english_shop(home: Path, language: str) -> Settings:
    """A hardware store with English titles and no search traffic yet."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "vitrina.yaml").write_text(f"name: hardware\nlanguage: {language}\ncurrency: USD\n")
    settings = get_settings(home=home)
    if (home / "lake").exists():
        return settings
    end = WORLD_END_MIDNIGHT
    rows = [(kind, maker) for kind in KINDS for maker in MAKERS for _ in range(3)]
    n = len(rows)
    catalog = pa.table(
        {
            "product_id": [f"hw-{i}" for i in range(n)],
            "title": [f"{maker} {kind} Model {i}" for i, (kind, maker) in enumerate(rows)],
            "description": [None] * n,
            "category_l1": ["Tools"] * n,
            "category_l2": [
                "Power Tools" if kind in ("Drill", "Circular Saw") else "Hand Tools" for kind, _ in rows
            ],
            "category_l3": [KINDS[kind] for kind, _ in rows],
            "brand": [maker for _, maker in rows],
            "price": np.linspace(9.99, 299.0, n).round(2),
            "cost": [None] * n,
            "stock": [5] * n,
            "seller_id": [f"store-{i % 3}" for i in range(n)],
            "created_at": [end - dt.timedelta(days=90)] * n,
            "updated_at": [end - dt.timedelta(days=60)] * n,
            "is_sponsored": [False] * n,
            "is_reported": [False] * n,
        },
        schema=CATALOG.schema,
    )
    write_table(LakePaths(settings.lake), "raw", "catalog", catalog, None, snapshot_day=end.date())
    validate_lake(settings, max_invalid_share=0.0)
    return settings


def _bm25_categories(engine: SearchEngine, query: str) -> set[str]:
    """Categories of the lexical hits alone (the English bi-encoder would find drills anyway)."""
    lexical, _ = engine.retrieve(engine.understanding.parse(query))
    return set(engine.products.frame["category_l3"].iloc[lexical.rows])


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = _english_shop(tmp_path_factory.mktemp("hardware") / "home", "en")
    run_search(settings, NO_EVALUATION, QUIET)
    return settings


def test_the_shop_language_chooses_the_starter_synonyms_or_the_shop_file(tmp_path: Path) -> None:
    settings = _english_shop(tmp_path / "home", "en")
    synonyms = read_search_inputs(settings).synonyms
    assert synonyms.language == "en"
    assert synonyms.groups == SynonymTable.from_csv(language="en").groups
    own = tmp_path / "home" / "own_synonyms.csv"
    own.write_text("term,synonyms,category_scope\ndrill,driver|power drill,\n", encoding="utf-8")
    (tmp_path / "home" / "vitrina.yaml").write_text("language: en\nsynonyms_file: own_synonyms.csv\n")
    with_file = get_settings(home=tmp_path / "home")
    synonyms = read_search_inputs(with_file).synonyms
    assert [(g.term, g.synonyms) for g in synonyms.groups] == [("drill", ("driver", "power drill"))]
    # the train step depends on the language and on the file's content
    assert text_inputs(settings) == {"language": "en", "synonyms_file": None}
    digest = text_inputs(with_file)["synonyms_file"]
    own.write_text("term,synonyms,category_scope\ndrill,driver,\n", encoding="utf-8")
    assert digest is not None
    assert text_inputs(with_file)["synonyms_file"] not in (None, digest)


def test_an_english_index_records_its_language_and_serves_with_it(english: Settings) -> None:
    name = current_version(english)
    assert name is not None
    assert read_version_meta(english, name)["language"] == "en"
    loaded = load_version(english)
    assert loaded.language == "en"
    engine = loaded.engine()
    assert engine.language == "en"
    parsed = engine.understanding.parse("Men's DRILLS")
    assert parsed.normalised == "men drills"
    assert _bm25_categories(engine, "drills") == {"Cordless Drills"}
    top = engine.products.frame.iloc[engine.search("drills", k=6).rows]
    assert (top["category_l3"] == "Cordless Drills").all()
    engine.close()


def test_a_changed_shop_file_does_not_change_how_a_built_version_analyses(english: Settings) -> None:
    served = current_version(english)
    spanish = _english_shop(english.home, "es")  # same home and lake, the file now says Spanish
    assert spanish.shop.language == "es"
    engine = load_version(spanish).engine()
    assert engine.language == "en"
    assert _bm25_categories(engine, "drills") == {"Cordless Drills"}
    engine.close()
    done = reindex_search(spanish)  # the re-index keeps the version's models and language
    assert done.previous == served
    assert read_version_meta(spanish, done.version)["language"] == "en"
    assert load_version(spanish).language == "en"
    # A full run is what takes the new language: the changed file invalidates the train step.
    run = run_search(spanish, NO_EVALUATION, QUIET)
    assert run.version not in (served, done.version)
    assert load_version(spanish).language == "es"
    _english_shop(english.home, "en")  # leave the module's home as it was found
