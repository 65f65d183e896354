"""Search with a registered challenger: its own index version answers the treatment arm, a
missing one degrades to the champion (flagged in the mode), and shadow mode compares it with
the champion's shown answer on a background thread."""

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


def test_interleaving_a_registered_challenger_is_refused() -> None:
    with pytest.raises(ValueError, match="interleaving compares ranking modes"):
        experiment(kind="interleave")
