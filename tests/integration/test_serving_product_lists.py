"""The marketplace lists over HTTP, on the SQLite and the real Redis store: a product's similar
and bought-together lists, a user's buy-again list — published by the batch code, keyed in the
store, with their fallbacks — and a user first seen after the batch, whose list follows the
products they chose (``POST /events``), deterministically."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from support.recs_handmade import handmade

from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.stores.base import SIMILAR
from vitrina.bootstrap import open_sessions, open_store
from vitrina.config import Settings, get_settings
from vitrina.core.recs.session_list import REASON_SEEN, REASON_SESSION, session_list
from vitrina.pipelines.recs.batch import publish_recommendations
from vitrina.pipelines.recs.keyed_lists import REASON_BUY_AGAIN, keyed_lists
from vitrina.serving.app import create_app

pytestmark = pytest.mark.integration

# twelve shoppers put p1 (category c1) in the cart and buy p3 (c0) the same day; u12 re-buys p5
EVENTS = [
    *((f"u{i}", "p1", "add_to_cart", i + 0.1) for i in range(12)),
    *((f"u{i}", "p3", "purchase", i + 0.2) for i in range(12)),
    ("u12", "p5", "purchase", 1.0), ("u12", "p5", "purchase", 5.0), ("u12", "p0", "purchase", 6.0),
    ("u13", "p2", "click", 7.0),
]  # fmt: skip
REDIS_DB = "/12"  # its own database: the app's keys use the default prefixes


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    url = (
        None
        if request.param == "sqlite"
        else request.getfixturevalue("redis_url").rsplit("/", 1)[0] + REDIS_DB
    )
    settings = get_settings(home=tmp_path / "home", store_url=url)
    yield settings
    if url is not None:
        from vitrina.adapters.stores.redis import RedisRecsStore
        from vitrina.adapters.stores.sessions_redis import RedisSessions

        RedisRecsStore(url).remove_all()
        RedisSessions(url).remove_all()


def publish(settings: Settings) -> None:
    """One batch of the hand-made shop through the batch's own code (k = 4)."""
    data = handmade(EVENTS, n_users=14, out_of_stock=["p7"])
    users = data.users.ids[:2]
    items = np.array([[0, 2, -1, -1], [3, -1, -1, -1]])
    with open_store(settings) as store:
        publish_recommendations(
            store,
            user_ids=users,
            items=items,
            scores=np.ones(items.shape),
            reasons=np.full(items.shape, "porque sí", dtype=object),
            model_version="recs-test",
            lake=LakePaths(settings.lake),
            run_id="v1",
            servable=data.servable,
            popular=np.array([5, 4, 3, 6]),
            vocab=data.items,
            k=4,
            lists=keyed_lists(data, data.interactions, 4),
        )


def test_product_lists_buy_again_and_their_fallbacks(settings: Settings) -> None:
    publish(settings)
    with TestClient(create_app(settings)) as api:
        similar = api.get("/products/p1/similar").json()
        assert (similar["kind"], similar["fallback"], similar["batch_version"]) == ("similar", False, "v1")
        assert similar["items"][0]["product_id"] == "p3", "chosen by the same shoppers"
        assert all(item["product_id"] not in ("p1", "p7") for item in similar["items"])
        together = api.get("/products/p1/bought-together", params={"k": 2}).json()
        assert [i["product_id"] for i in together["items"]][:1] == ["p3"]
        assert len(together["items"]) == 2
        assert together["items"][1]["reason"].startswith("popular en ")
        unknown = api.get("/products/nuevo/similar").json()
        assert (unknown["fallback"], unknown["fallback_reason"]) == (True, "unknown_product")
        assert [i["product_id"] for i in unknown["items"]] == ["p5", "p4", "p3", "p6"]
        again = api.get("/recs/u12", params={"list": "buy_again"}).json()
        assert [i["product_id"] for i in again["items"]] == ["p5"], "p0 was bought once, never again"
        assert {i["reason"] for i in again["items"]} == {REASON_BUY_AGAIN}
        assert again["fallback"] is False
        nothing = api.get("/recs/u13", params={"list": "buy_again"}).json()
        assert (nothing["fallback"], nothing["fallback_reason"]) == (True, "no_purchases")
        assert api.get("/recs/u3", params={"list": "wishlist"}).status_code == 422
        own = api.get("/recs/u0").json()
        assert [i["product_id"] for i in own["items"]] == ["p0", "p2"], "the personal list is unchanged"
        paths = api.get("/openapi.json").json()["paths"]
        assert {"/products/{product_id}/similar", "/products/{product_id}/bought-together"} <= set(paths)
        assert any(p["name"] == "list" for p in paths["/recs/{user_id}"]["get"]["parameters"])


def test_the_fast_lane_answers_the_product_routes_as_fastapi_does(settings: Settings) -> None:
    publish(settings)
    paths = [
        "/products/p1/similar?k=3",
        "/products/p1/bought-together",
        "/products/nuevo/similar",
        "/recs/u12?list=buy_again",
        "/recs/u13?list=buy_again&k=2",
    ]
    answers = []
    for lane in (True, False):
        with TestClient(create_app(settings, recs_lane=lane)) as api:
            answers.append([{**api.get(path).json(), "request_id": None} for path in paths])
            assert api.get("/products/p1/similar", params={"k": 0}).status_code == 422
    assert answers[0] == answers[1]


def test_a_user_first_seen_after_the_batch_gets_a_list_from_their_choices(settings: Settings) -> None:
    publish(settings)
    with TestClient(create_app(settings)) as api:
        before = api.get("/recs/visitante-9").json()
        assert (before["fallback"], before["fallback_reason"]) == (True, "unknown_user")
        now = dt.datetime.now(dt.UTC)
        common = {"user_id": "visitante-9", "session_id": "s", "device": "mobile", "page": "home"}
        events = [
            {**common, "event_id": f"s-{n}", "product_id": product, "event_type": kind,
             "ts": (now - ago).isoformat()}
            for n, (product, kind, ago) in enumerate(
                [("p2", "click", dt.timedelta(minutes=3)), ("p6", "view", dt.timedelta(minutes=2)),
                 ("p1", "add_to_cart", dt.timedelta(minutes=1))]
            )
        ]  # fmt: skip
        assert api.post("/events", json={"events": events}).status_code == 202
        after = api.get("/recs/visitante-9", params={"k": 4}).json()
        with open_store(settings) as store:
            neighbours = {p: store.get_list(SIMILAR, p).items for p in ("p1", "p2")}  # type: ignore[union-attr]
            popular = store.popular().items  # type: ignore[union-attr]
        expected = session_list(["p1", "p2"], neighbours, popular, 4)  # the view of p6 is no choice
        assert [(i["product_id"], i["reason"]) for i in after["items"]] == [(p, r) for p, _, r in expected]
        assert after["fallback"] is False
        assert after["batch_version"] == "v1"
        ids = [i["product_id"] for i in after["items"]]
        assert ids[0] in ("p1", "p3"), "the latest choice, or what its shoppers chose with it"
        assert "p3" in ids[:2]
        listed = {item.product_id for items in neighbours.values() for item in items}
        assert {i["product_id"] for i in after["items"]} <= listed, "every item is near a choice"
        assert all(i["reason"] == REASON_SEEN for i in after["items"] if i["product_id"] in ("p1", "p2"))
        assert any(i["reason"] == REASON_SESSION for i in after["items"])
        again = api.get("/recs/visitante-9", params={"k": 4}).json()
        assert again["items"] == after["items"], "the same events, the same list"
    with open_sessions(settings) as sessions:  # what the API kept for the next request
        import asyncio

        assert asyncio.run(sessions.recent("visitante-9", 5)) == ["p1", "p2"]


def test_the_console_shows_a_products_lists_and_a_users_buy_again(settings: Settings) -> None:
    publish(settings)
    token = "product-page-token"
    with TestClient(
        create_app(get_settings(home=settings.home, store_url=settings.store_url, console_token=token))
    ) as api:
        assert api.get("/console", params={"token": token}).status_code == 200
        html = api.get("/console/product", params={"product_id": "p1"}).text
        similar = html.split('id="similar-h"')[1].split("</section>")[0]
        assert similar.index(">p3<") < similar.index(">p4<"), "co-chosen before the same category"
        assert "otros clientes también lo eligieron" in similar
        together = html.split('id="together-h"')[1].split("</section>")[0]
        assert "se compra junto con este" in together
        assert "lote v1" in together
        unknown = api.get("/console/product", params={"product_id": "nuevo", "lang": "en"}).text
        assert "fallback: product not in the batch" in unknown
        user = api.get("/console/user", params={"user_id": "u12"}).text
        again = user.split('id="buy-again-h"')[1].split("</section>")[0]
        assert [m for m in ("p5", "p0") if f">{m}<" in again] == ["p5"]
