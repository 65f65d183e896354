"""The simulated marketplace: contracts of the raw tables, truth, learnable structure, online mode."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vitrina.adapters.lake.io import read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.truth import Truth, load_truth
from vitrina.config import Settings, get_settings
from vitrina.core.tables import TABLES
from vitrina.simulator.generate import generate_marketplace
from vitrina.simulator.online import OnlineMarketplace
from vitrina.simulator.queries import QUERY_TYPE_SHARES, QUERY_TYPES
from vitrina.simulator.search_judge import TruthSearchJudge
from vitrina.simulator.truth import query_relevance
from vitrina.simulator.vocabulary import load_synonyms, synonyms_csv_bytes

pytestmark = pytest.mark.unit

END = dt.date(2025, 3, 31)
DATED = ("events", "transactions", "search_logs")


def _generate(home: Path, seed: int = 7) -> Settings:
    settings = get_settings(home=home)
    generate_marketplace(settings, scale="ci", seed=seed, drift=None, end_date=END, catalog_to=None)
    return settings


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _generate(tmp_path_factory.mktemp("sim") / "home")


def _read(settings: Settings, name: str) -> pa.Table:
    return read_table(LakePaths(settings.lake), "raw", name)


@pytest.fixture(scope="module")
def tables(lake: Settings) -> dict[str, pd.DataFrame]:
    return {name: _read(lake, name).to_pandas() for name in ("catalog", "users", *DATED)}


@pytest.fixture(scope="module")
def truth(lake: Settings) -> Truth:
    return load_truth(lake)


@pytest.mark.slow
def test_same_seed_same_tables_other_seed_differs(lake: Settings, tmp_path: Path) -> None:
    again = _generate(tmp_path / "again")
    other = _generate(tmp_path / "other", seed=8)
    for name in ("catalog", "users", *DATED):
        assert _read(again, name).equals(_read(lake, name)), name
    assert not _read(other, "events").equals(_read(lake, "events"))
    assert not _read(other, "catalog").equals(_read(lake, "catalog"))


def test_regenerating_into_the_same_home_replaces(lake: Settings, tmp_path: Path) -> None:
    settings = _generate(tmp_path / "twice")
    first = _read(settings, "events").num_rows
    generate_marketplace(settings, scale="ci", seed=7, drift=None, end_date=END, catalog_to=None)
    assert _read(settings, "events").num_rows == first


def test_schemas_are_the_canonical_ones(lake: Settings) -> None:
    for name in ("catalog", "users", *DATED):
        assert _read(lake, name).schema.remove_metadata() == TABLES[name].schema, name


def test_partitions_match_the_rows_dates(lake: Settings) -> None:
    root = Path(LakePaths(lake.lake).table("raw", "events"))
    days = sorted(p.name for p in root.iterdir())
    assert days[0] == "dt=2025-03-11"
    assert days[-1] == "dt=2025-03-31"
    assert len(days) == 21
    snap = Path(LakePaths(lake.lake).table("raw", "catalog"))
    assert [p.name for p in snap.iterdir()] == [f"dt={END.isoformat()}"]


def test_ids_are_unique_and_references_exist(tables: dict[str, pd.DataFrame]) -> None:
    events = tables["events"]
    assert events["event_id"].is_unique
    assert tables["catalog"]["product_id"].is_unique
    assert tables["users"]["user_id"].is_unique
    assert events["user_id"].isin(tables["users"]["user_id"]).all()
    assert events["product_id"].isin(tables["catalog"]["product_id"]).all()
    tx = tables["transactions"]
    assert not tx.duplicated(["order_id", "product_id"]).any()
    assert events["ts"].max() < pd.Timestamp(END + dt.timedelta(days=1), tz="UTC")


def test_catalog_and_transactions_are_consistent(tables: dict[str, pd.DataFrame]) -> None:
    cat = tables["catalog"]
    assert (cat["price"] > 0).all()
    assert (cat["cost"] < cat["price"]).all()
    assert 0.03 < (cat["stock"] == 0).mean() < 0.15
    assert (cat["updated_at"] >= cat["created_at"]).all()
    assert cat["category_l1"].nunique() >= 8
    tx = tables["transactions"].merge(cat[["product_id", "price", "stock"]], on="product_id")
    expected = (tx["price"] * tx["quantity"] * (1 - tx["discount_pct"] / 100)).round(2)
    assert np.allclose(tx["amount"], expected, atol=0.011)
    assert (tx["stock"] > 0).all()
    purchases = tables["events"].query("event_type == 'purchase'")
    assert len(purchases) == len(tx)


def test_search_logs_clicks_within_shown_and_purchases_within_clicks(tables: dict[str, pd.DataFrame]) -> None:
    logs = tables["search_logs"]
    for shown, clicked, bought in zip(
        logs["results_shown"], logs["results_clicked"], logs["results_purchased"], strict=True
    ):
        assert set(clicked) <= set(shown)
        assert set(bought) <= set(clicked)
        assert len(shown) <= 20
    assert logs["results_clicked"].map(len).sum() > 0


def test_search_events_join_their_search(tables: dict[str, pd.DataFrame]) -> None:
    clicks = tables["events"].query("page == 'search' and event_type == 'click'")
    logs = tables["search_logs"].set_index("search_id")
    assert clicks["request_id"].isin(logs.index).all()
    sample = clicks.head(200)
    for request, product in zip(sample["request_id"], sample["product_id"], strict=True):
        assert product in set(logs.at[request, "results_clicked"])


def test_users_top_categories_dominate_their_purchases(tables: dict[str, pd.DataFrame], truth: Truth) -> None:
    buys = tables["events"].query("event_type == 'purchase'")
    users = truth.user_rows(buys["user_id"].to_numpy())
    l2 = truth.products.l2[truth.product_rows(buys["product_id"].to_numpy())]
    interests = truth.world.interest_l2[users]
    inside = (interests == l2[:, None]).any(axis=1).mean()
    by_chance = truth.world.l2_share[interests].sum(axis=1).mean()
    assert inside > 0.6
    assert inside > 4 * by_chance


def test_click_through_rate_falls_with_position(tables: dict[str, pd.DataFrame]) -> None:
    listed = tables["events"].query("event_type in ('view', 'click') and page in ('home', 'recs')")
    counts = listed.groupby(["position", "event_type"]).size().unstack()
    ctr = (counts["click"] / counts["view"]).to_numpy()
    assert ctr[0] > ctr[2] > ctr[9]
    assert np.corrcoef(np.arange(ctr.size), ctr)[0, 1] < -0.8


def test_exact_title_queries_have_their_product_at_relevance_three(
    tables: dict[str, pd.DataFrame], truth: Truth
) -> None:
    titles = tables["catalog"].set_index("product_id")["title"]
    exact = truth.queries.query("query_type == 'exact'")
    assert len(exact) > 100
    assert (exact["query"].to_numpy() == titles.loc[exact["product_id"]].str.lower().to_numpy()).all()
    assert (query_relevance(truth, exact["query_id"], exact["product_id"]) == 3).all()
    judged = truth.qrels.merge(
        truth.queries[["query_id", "product_id"]], on="query_id", suffixes=("", "_target")
    )
    targets = judged[judged["product_id"] == judged["product_id_target"]]
    assert len(targets) == truth.qrels["query_id"].nunique()
    assert (targets["relevance"] == 3).all()
    assert set(truth.qrels["relevance"]) <= {1, 2, 3}


def test_query_types_follow_the_documented_shares(truth: Truth) -> None:
    per_search = truth.search_queries.merge(truth.queries, on="query_id")
    shares = per_search["query_type"].value_counts(normalize=True)
    for name, share in zip(QUERY_TYPES, QUERY_TYPE_SHARES, strict=True):
        assert abs(shares.get(name, 0.0) - share) < 0.03, name


def test_typo_queries_are_misspelt_prefixes_of_the_title(
    tables: dict[str, pd.DataFrame], truth: Truth
) -> None:
    titles = tables["catalog"].set_index("product_id")["title"].str.lower()
    typos = truth.queries.query("query_type == 'typo'")
    clean = [
        " ".join(titles[target].split()[: len(query.split())])
        for query, target in zip(typos["query"], typos["product_id"], strict=True)
    ]
    differs = np.mean([q != c for q, c in zip(typos["query"], clean, strict=True)])
    assert differs > 0.95
    no_accent = truth.queries.query("query_type == 'no_accent'")["query"]
    assert not no_accent.str.contains("[áéíóúñ]").any()


def test_truth_utility_is_vectorised_and_time_aware(truth: Truth, tables: dict[str, pd.DataFrame]) -> None:
    users = tables["users"]["user_id"].to_numpy()[:50]
    products = tables["catalog"]["product_id"].to_numpy()[:50]
    now = dt.datetime(2025, 3, 20, 12, tzinfo=dt.UTC)
    values = truth.utility(users, products, now)
    assert values.shape == (50,)
    assert np.isfinite(values).all()
    assert np.allclose(values, truth.utility(users, products, [now] * 50))
    later = truth.utility(users, products, now + dt.timedelta(days=20))
    assert not np.allclose(values, later)  # category trends move
    with pytest.raises(ValueError, match="unknown user"):
        truth.utility(["nobody"], products[:1], now)


def test_the_search_judge_reads_a_typed_text_as_the_queries_it_may_mean(truth: Truth) -> None:
    """A text several of the world's queries share means each with its traffic's share; the
    grades and the expected clicks are the truth's and the market's for the query meant."""
    judge = TruthSearchJudge(truth)
    at = dt.datetime.combine(END, dt.time(12), dt.UTC)
    counts = truth.queries.groupby("query")["query_id"].nunique()
    shared, single = str(counts[counts > 1].index[0]), str(counts[counts == 1].index[0])
    meant = judge.intents(shared, at)
    rows = truth.queries[truth.queries["query"] == shared]
    assert {q for q, _ in meant} == set(rows["query_id"])
    assert np.isclose(sum(p for _, p in meant), 1.0)
    weights = rows.set_index("query_id")["n_searches"].clip(lower=1.0)
    for query_id, share in meant:
        assert np.isclose(share, weights[query_id] / weights.sum())
    ((query_id, share),) = judge.intents(single, at)
    assert share == 1.0
    assert judge.intents("no such query at all", at) == []
    products = [str(p) for p in truth.queries["product_id"].iloc[:5]]
    assert (
        judge.grades(query_id, products).tolist()
        == query_relevance(truth, np.full(5, query_id), products).tolist()
    )
    user = "u0000001"
    market = OnlineMarketplace(truth, seed=0)
    assert judge.expected_clicks(user, products, query_id, at) == market.expected_search_clicks(
        user, products, query_id, at
    )


def test_online_mode_is_reproducible(lake: Settings) -> None:
    shown = [f"p{i:07d}" for i in range(0, 200, 10)]

    def run(seed: int) -> list[list[dict[str, object]]]:
        market = OnlineMarketplace.from_lake(lake, seed=seed)
        return [market.respond(f"u{u:07d}", shown, {"page": "recs"}) for u in range(40)]

    first = run(1)
    assert first == run(1)
    assert first != run(2)
    views = [e for batch in first for e in batch if e["event_type"] == "view"]
    assert len(views) == 40 * len(shown)
    assert [e["position"] for e in first[0] if e["event_type"] == "view"] == list(range(1, 21))


def test_online_mode_uses_the_batch_click_model(lake: Settings, tables: dict[str, pd.DataFrame]) -> None:
    """Replaying the logged search lists online gives the same CTR by position (within noise)."""
    logs = tables["search_logs"]
    logs = logs[logs["results_shown"].map(len) == 20].head(1500)
    qids = load_truth(lake).search_queries.set_index("search_id").loc[logs["search_id"], "query_id"]
    market = OnlineMarketplace.from_lake(lake, seed=3)
    online = np.zeros(20)
    batch = np.zeros(20)
    for row, qid in zip(logs.itertuples(), qids, strict=True):
        shown = list(row.results_shown)
        context = {"page": "search", "query_id": qid, "ts": row.ts.to_pydatetime()}
        for event in market.respond(row.user_id, shown, context):
            if event["event_type"] == "click":
                online[int(str(event["position"])) - 1] += 1
        for product in row.results_clicked:
            batch[shown.index(product)] += 1
    n = len(logs)
    for top in (slice(0, 1), slice(1, 3), slice(3, 20)):
        p_online, p_batch = online[top].sum() / n, batch[top].sum() / n
        sigma = np.sqrt((p_online + p_batch) / n)
        assert abs(p_online - p_batch) < 4 * sigma, (top, p_online, p_batch)


def test_synonyms_are_a_curated_spanish_list(lake: Settings) -> None:
    table = load_synonyms()
    assert len(table) >= 60
    assert {"smartphone", "teléfono móvil"} <= set(table["celular"])
    assert {"tenis", "championes"} <= set(table["zapatillas"])
    assert {"laptop", "portátil"} <= set(table["notebook"])
    assert {"heladera", "nevera"} <= set(table["refrigerador"])
    assert {"polera", "camiseta"} <= set(table["remera"])
    copied = Path(LakePaths(lake.lake).table("raw", "synonyms")) / "synonyms.csv"
    assert copied.read_bytes() == synonyms_csv_bytes()
    rows = list(csv.DictReader(io.StringIO(copied.read_text("utf-8"))))
    assert list(rows[0]) == ["term", "synonyms", "category_scope"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": "huge"}, "unknown scale"),
        ({"drift": "meteor"}, "unknown drift"),
        ({"end_date": dt.date.today() + dt.timedelta(days=3)}, "in the future"),
        ({"catalog_to": "mysql://x"}, "PostgreSQL URL"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    settings = get_settings(home=tmp_path / "home")
    arguments: dict[str, object] = {
        "scale": "ci",
        "seed": 1,
        "drift": None,
        "end_date": END,
        "catalog_to": None,
    }
    with pytest.raises(ValueError, match=message):
        generate_marketplace(settings, **(arguments | kwargs))  # type: ignore[arg-type]
    assert not (tmp_path / "home").exists()


def test_validation_quarantines_nothing(lake: Settings) -> None:
    validate = pytest.importorskip("vitrina.pipelines.validate")
    validate.validate_lake(lake, max_invalid_share=0.0)  # raises ContractViolation on any invalid row
    quarantine = Path(LakePaths(lake.lake).layer("quarantine"))
    assert sum(pq.read_table(p).num_rows for p in quarantine.rglob("*.parquet")) == 0
    assert Path(LakePaths(lake.lake).table("validated", "events")).exists()
