"""``/recs`` for a user the batch has not seen: a list from their session when the history holds
choices, the popularity fallback when it holds none or cannot be read."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from vitrina.adapters.prometheus.instruments import build_metrics
from vitrina.adapters.stores import Recommendation, RecsRecord, StoreUnavailableError
from vitrina.core.recs.session_list import REASON_SEEN
from vitrina.serving.experiment_config import RecsExperiment
from vitrina.serving.popular_fallback import PopularList
from vitrina.serving.recs.answer import RecsService

pytestmark = pytest.mark.unit
WHEN = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
POPULAR = PopularList((Recommendation("pop", 1.0, "popular ahora"),), "recs-1", "store")


class Store:
    """The batch ``v1`` holds p1's similar list and nobody's personal list."""

    async def lookup(self, key: str, kind: str = "user") -> tuple[str | None, RecsRecord | None]:
        if kind == "similar" and key == "p1":
            items = (Recommendation("p2", 2.0, "r"), Recommendation("p1", 1.0, "r"))
            return "v1", RecsRecord(key, items, "v1", "recs-1", WHEN, WHEN + dt.timedelta(hours=6))
        return "v1", None


class Sessions:
    def __init__(self, touched: list[str] | Exception) -> None:
        self.touched = touched

    async def recent(self, user_id: str, limit: int) -> list[str]:
        if isinstance(self.touched, Exception):
            raise self.touched
        return self.touched[:limit]


def answer(sessions: Any) -> Any:
    service = RecsService(Store(), POPULAR, build_metrics(CollectorRegistry()), sessions)  # type: ignore[arg-type]
    return asyncio.run(service.recommend(user_id="new", k=3, request_id="r", experiment=RecsExperiment()))


def test_session_choices_drive_the_list() -> None:
    got = answer(Sessions(["p1"]))
    assert [(i.product_id, i.reason) for i in got.items][:2] == [
        ("p1", REASON_SEEN),
        ("p2", "parecido a lo que viste"),
    ]
    assert (got.fallback, got.batch_version) == (False, "v1")


@pytest.mark.parametrize("sessions", [Sessions([]), Sessions(StoreUnavailableError("down")), None])
def test_no_choice_or_no_history_is_the_fallback(sessions: Any) -> None:
    got = answer(sessions)
    assert (got.fallback, got.fallback_reason) == (True, "unknown_user")
    assert [i.product_id for i in got.items] == ["pop"]


@pytest.mark.parametrize(("sessions", "session_list"), [(Sessions(["p1"]), True), (Sessions([]), False)])
def test_a_user_without_a_discover_list_gets_the_personal_lists_fallbacks(
    sessions: Any, session_list: bool
) -> None:
    service = RecsService(Store(), POPULAR, build_metrics(CollectorRegistry()), sessions)  # type: ignore[arg-type]
    got = asyncio.run(
        service.recommend(
            user_id="new", k=3, request_id="r", experiment=RecsExperiment(), list_name="discover"
        )
    )
    personal = asyncio.run(service.recommend(user_id="new", k=3, request_id="r", experiment=RecsExperiment()))
    assert got.items == personal.items
    assert (got.fallback, got.fallback_reason) == (personal.fallback, personal.fallback_reason)
    assert got.fallback is not session_list
    assert got.fallback_reason == (None if session_list else "unknown_user")


class ChallengerStore(Store):
    """The champion's batch ``v1`` (p1's similar list) and a challenger batch ``c2``; neither
    has a personal list for the new user."""

    async def lookup(
        self, key: str, kind: str = "user", channel: str = "champion"
    ) -> tuple[str | None, RecsRecord | None]:
        if channel != "champion":
            return "c2", None
        return await super().lookup(key, kind)


@pytest.mark.parametrize(("sessions", "fallback"), [(Sessions(["p1"]), False), (Sessions([]), True)])
def test_the_challenger_arm_has_the_same_session_path_for_a_new_user(sessions: Any, fallback: bool) -> None:
    # a canary counts a fallback as a degraded answer: an arm without the path would be blamed
    # for every new customer the champion's arm serves from the session
    service = RecsService(ChallengerStore(), POPULAR, build_metrics(CollectorRegistry()), sessions)  # type: ignore[arg-type]
    everyone = RecsExperiment(
        enabled=True, name="canary", challenger="registered", champion_weight=1e-9, challenger_weight=100.0
    )
    got = asyncio.run(service.recommend(user_id="new", k=3, request_id="r", experiment=everyone))
    assert got.arm == "challenger"
    assert got.fallback is fallback
    if not fallback:
        assert [i.product_id for i in got.items][:2] == ["p1", "p2"]
    else:
        assert got.fallback_reason == "unknown_user"
