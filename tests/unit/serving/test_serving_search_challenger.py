"""Search with a registered challenger: its own index version answers the treatment arm, a
missing one degrades to the champion (flagged in the mode), shadow mode compares it with
the champion's shown answer on a background thread, and an interleaving experiment drafts the
two versions' rankings by product id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import marketplace_engine

from vitrina.adapters.experiment_logs import SHADOW, JsonLinesLog, read_log
from vitrina.adapters.prometheus.instruments import build_metrics
from vitrina.adapters.search_cache.cached_search import CachedSearch
from vitrina.bootstrap import open_result_cache
from vitrina.config import get_settings
from vitrina.core.search.engine import SearchEngine
from vitrina.core.search.products import ProductTable
from vitrina.serving.api_models import SearchResponse
from vitrina.serving.experiment_config import SearchExperiment
from vitrina.serving.search.answer import MISSING, SearchService

pytestmark = pytest.mark.unit

USERS = [f"user-{i}" for i in range(60)]


@pytest.fixture(scope="module")
def champion() -> SearchEngine:
    return marketplace_engine.engine(served_mode="bm25")


@pytest.fixture(scope="module")
def challenger() -> SearchEngine:
    engine = marketplace_engine.engine(served_mode="hybrid")
    engine.index_version = "products-v2"
    engine.model_version = "test-challenger"
    return engine


@pytest.fixture
def service(tmp_path: Path, champion: SearchEngine, challenger: SearchEngine) -> Iterator[SearchService]:
    cache = open_result_cache(get_settings(home=tmp_path))
    found = SearchService(
        CachedSearch(champion, cache),
        build_metrics(),
        challenger=challenger,
        shadow_log=JsonLinesLog(tmp_path, SHADOW),
    )
    yield found
    found.close_shadows()
    cache.close()


def experiment(**options: object) -> SearchExperiment:
    base: dict[str, object] = {
        "enabled": True,
        "name": "idx-v2",
        "salt": "idx-v2",
        "challenger": "registered",
    }
    return SearchExperiment.model_validate({**base, **options})


def test_the_treatment_arm_is_answered_by_the_challengers_own_index(service: SearchService) -> None:
    split = experiment(champion_weight=50, challenger_weight=50)
    arms = set()
    for user in USERS:
        answer = service.search(q="taladro", user_id=user, k=10, request_id=f"r-{user}", experiment=split)
        arms.add(answer.arm)
        assert answer.arm == split.arm(user)
        if answer.arm == "challenger":
            assert (answer.index_version, answer.model_version, answer.mode) == (
                "products-v2",
                "test-challenger",
                "hybrid",
            )
        else:
            assert (answer.index_version, answer.mode) == ("products-v1", "bm25")
        assert answer.items
    assert arms == {"champion", "challenger"}


def test_without_a_challenger_index_the_champion_answers_and_says_so(service: SearchService) -> None:
    service.challenger = None
    everyone = experiment(champion_weight=1, challenger_weight=1e6)
    answer = service.search(q="taladro", user_id="user-1", k=10, request_id="r1", experiment=everyone)
    assert answer.arm == "challenger"
    assert answer.index_version == "products-v1"
    assert answer.mode == f"bm25:{MISSING}"


def test_shadow_mode_shows_the_champion_and_logs_the_comparison(
    service: SearchService, tmp_path: Path
) -> None:
    shadow = experiment(champion_weight=50, challenger_weight=50, shadow=True)
    shown = {}
    for user in USERS:
        answer = service.search(
            q="taladro bosch", user_id=user, k=10, request_id=f"r-{user}", experiment=shadow
        )
        assert (answer.arm, answer.index_version) == ("champion", "products-v1")
        shown[user] = [item.product_id for item in answer.items]
    service.wait_for_shadows()
    assert service.shadow_log is not None
    service.shadow_log.flush()
    rows = list(read_log(tmp_path, SHADOW))
    assert sorted(r["user_id"] for r in rows) == sorted(u for u in USERS if shadow.arm(u) == "challenger")
    for row in rows:
        assert row["surface"] == "search"
        assert row["challenger_model"] == "test-challenger@products-v2"
        assert 0.0 <= row["overlap"] <= 1.0
        assert row["kendall"] is not None
        assert row["challenger_ms"] > 0
    hybrid = service.challenger.search("taladro bosch", k=10)  # type: ignore[union-attr]
    ids = service.challenger.products.frame["product_id"].iloc[hybrid.rows].astype(str).tolist()  # type: ignore[union-attr]
    expected = len(set(ids) & set(shown[rows[0]["user_id"]])) / len(shown[rows[0]["user_id"]])
    assert rows[0]["overlap"] == pytest.approx(expected)


def _interleaved(service: SearchService, split: SearchExperiment, q: str = "taladro") -> list[SearchResponse]:
    return [
        service.search(q=q, user_id=user, k=10, request_id=f"r-{user}", experiment=split)
        for user in USERS
        if split.arm(user) == "challenger"
    ]


def test_interleaving_a_registered_challenger_drafts_both_versions_by_product_id(
    service: SearchService, champion: SearchEngine, challenger: SearchEngine
) -> None:
    split = experiment(kind="interleave", champion_weight=50, challenger_weight=50)
    answers = _interleaved(service, split)
    assert answers
    for answer in answers:
        assert answer.mode == "interleave:bm25+registered:products-v2"
        assert (answer.index_version, answer.arm) == ("products-v1", "challenger")
        ids = [item.product_id for item in answer.items]
        teams = [item.team for item in answer.items]
        assert len(set(ids)) == len(ids) == 10
        ranking = {
            "champion": [str(champion.products.shown[0][r]) for r in champion.search("taladro", k=10).rows],
            "challenger": [
                str(challenger.products.shown[0][r]) for r in challenger.search("taladro", k=10).rows
            ],
        }
        for team in ("champion", "challenger"):
            drafted = [pid for pid, t in zip(ids, teams, strict=True) if t == team]
            assert drafted == [pid for pid in ranking[team] if pid in drafted]  # in its own order
        assert abs(teams.count("champion") - teams.count("challenger")) <= 1
    # the draft's coin differs across requests: both teams lead some lists
    assert {answer.items[0].team for answer in answers} == {"champion", "challenger"}


def test_a_product_the_served_index_lacks_is_skipped_in_the_challengers_ranking(
    service: SearchService, challenger: SearchEngine
) -> None:
    frame = challenger.products.frame.copy()
    gone = frame["product_id"].isin([f"p{i:03d}" for i in range(0, 110, 2)])
    frame.loc[gone, "product_id"] = "gone-" + frame.loc[gone, "product_id"]
    renamed = marketplace_engine.engine(served_mode="hybrid")
    renamed.products = ProductTable(frame.reset_index(drop=True))
    renamed.index_version = "products-v2"
    service.challenger = renamed
    split = experiment(kind="interleave", champion_weight=50, challenger_weight=50)
    answers = _interleaved(service, split)
    shown = [item.product_id for answer in answers for item in answer.items]
    assert not [pid for pid in shown if pid.startswith("gone-")]
    assert {item.team for answer in answers for item in answer.items} == {"champion", "challenger"}


def test_interleaving_without_a_challenger_index_gives_the_champion_and_says_so(
    service: SearchService,
) -> None:
    service.challenger = None
    everyone = experiment(kind="interleave", champion_weight=1, challenger_weight=1e6)
    answer = service.search(q="taladro", user_id="user-1", k=10, request_id="r1", experiment=everyone)
    assert answer.mode == f"bm25:{MISSING}"
    assert all(item.team is None for item in answer.items)
