"""``GET /search`` as a marketplace and ``GET /suggest`` on the served ci home (index built by the
real search pipeline): filters, facets, sorted pages walked by offset and by cursor, zero-result
relaxation, clear 422s for bad filters, and autocomplete with typos and a user."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from vitrina.adapters.models.index_versions import current_version, version_folder
from vitrina.config import get_settings
from vitrina.core.search.products import ProductTable
from vitrina.serving.app import create_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Path:
    root = tmp_path_factory.mktemp("marketplace") / "home"
    shutil.copytree(served_home, root)
    return root


@pytest.fixture(scope="module")
def api(home: Path) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(home=home))) as client:
        yield client


@pytest.fixture(scope="module")
def products(home: Path) -> pd.DataFrame:
    settings = get_settings(home=home)
    name = current_version(settings)
    assert name is not None
    frame = ProductTable.load(version_folder(settings, name)).frame
    return frame.set_index("product_id")


@pytest.fixture(scope="module")
def brand_and_word(products: pd.DataFrame) -> tuple[str, str]:
    """A frequent brand, and the first word of its most common category (a broad query)."""
    servable = products[products["stock"] > 0]
    brand = str(servable["brand"].value_counts().index[0])
    category = str(servable.loc[servable["brand"] == brand, "category_l3"].value_counts().index[0])
    return brand, category.split()[0].lower()


def _search(api: TestClient, **params: Any) -> dict[str, Any]:
    answer = api.get("/search", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_filters_restrict_every_result_and_facets_count_the_pool(
    api: TestClient, products: pd.DataFrame, brand_and_word: tuple[str, str]
) -> None:
    brand, word = brand_and_word
    body = _search(api, q=word, brand=brand.upper(), facets="true", k=10)  # names are folded
    ids = [item["product_id"] for item in body["items"]]
    assert ids
    assert set(products.loc[ids, "brand"]) == {brand}
    assert body["filters"] == {"brand": [brand.upper()]}
    assert body["facets"]["brand"] == [{"value": brand, "count": body["total"]}]
    assert sum(band["count"] for band in body["facets"]["price"]) == body["total"]
    level1 = str(products.loc[ids[0], "category_l1"])
    in_level1 = _search(api, q=word, category=level1, k=20)
    assert set(products.loc[[i["product_id"] for i in in_level1["items"]], "category_l1"]) == {level1}
    low, high = products["price"].quantile([0.25, 0.5]).tolist()
    priced = _search(api, q=word, price_min=low, price_max=high, k=20)
    prices = [item["price"] for item in priced["items"]]
    assert prices
    assert all(low <= p <= high for p in prices)


def test_pages_walked_by_cursor_or_offset_are_the_same_stable_list(
    api: TestClient, brand_and_word: tuple[str, str]
) -> None:
    _, word = brand_and_word
    first = _search(api, q=word, sort="price_asc", k=7)
    walked = [item["product_id"] for item in first["items"]]
    prices = [item["price"] for item in first["items"]]
    cursor = first["next_cursor"]
    assert cursor is not None
    for _ in range(4):
        if cursor is None:
            break
        page = _search(api, q=word, sort="price_asc", k=7, cursor=cursor)
        walked += [item["product_id"] for item in page["items"]]
        prices += [item["price"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert len(walked) == len(set(walked))
    assert prices == sorted(prices)
    by_offset: list[str] = []
    for offset in range(0, len(walked), 7):
        by_offset += [
            i["product_id"] for i in _search(api, q=word, sort="price_asc", k=7, offset=offset)["items"]
        ]
    assert by_offset == walked
    assert first["total"] >= len(walked)
    foreign = api.get("/search", params={"q": word, "sort": "newest", "k": 7, "cursor": first["next_cursor"]})
    assert foreign.status_code == 422
    assert "cursor belongs to another search" in foreign.json()["detail"]


def test_the_plain_first_page_is_the_pools_first_page(
    api: TestClient, brand_and_word: tuple[str, str]
) -> None:
    _, word = brand_and_word
    plain = _search(api, q=word, k=20)
    paged = _search(api, q=word, k=20, facets="true")
    assert [i["product_id"] for i in paged["items"]] == [i["product_id"] for i in plain["items"]]
    assert plain["total"] is None  # the plain answer stays as it was
    assert paged["total"] >= len(paged["items"])


def test_a_search_whose_filters_leave_nothing_is_relaxed_and_says_so(
    api: TestClient, products: pd.DataFrame, brand_and_word: tuple[str, str]
) -> None:
    brand, word = brand_and_word
    cheapest = float(products["price"].min())
    body = _search(api, q=word, brand=brand, price_max=cheapest / 10, k=5)
    assert body["relaxed"] is not None
    assert body["relaxed"]["dropped_filters"] == ["price"]
    assert "without the price filter" in body["relaxed"]["message"]
    assert body["filters"] == {"brand": [brand]}
    assert body["items"]
    assert set(products.loc[[i["product_id"] for i in body["items"]], "brand"]) == {brand}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"price_min": 50, "price_max": 10}, "price_min (50) is above price_max (10)"),
        (
            {"brand": "Marca-Que-No-Existe"},
            "brand: no product of the served catalog has 'Marca-Que-No-Existe'",
        ),
        ({"category": "nada-de-nada"}, "category: no product of the served catalog has"),
        ({"in_stock": "false"}, "out-of-stock products are never shown"),
        ({"sort": "cheapest"}, "query sort"),
        ({"cursor": "garbage"}, "cursor is not one this API issued"),
        ({"cursor": "garbage", "offset": 5}, "either offset or cursor"),
        ({"price_min": -1}, "query price_min"),
        ({"brand": ""}, "brand: an empty value"),
    ],
)
def test_bad_filters_get_a_422_that_says_why(api: TestClient, params: dict[str, Any], words: str) -> None:
    answer = api.get("/search", params={"q": "celular", **params})
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"]


def test_suggest_completes_prefixes_corrects_typos_and_takes_a_user(
    api: TestClient, brand_and_word: tuple[str, str]
) -> None:
    _, word = brand_and_word
    prefix = word[:4]
    body = api.get("/suggest", params={"q": prefix}).json()
    assert body["suggestions"]
    assert body["corrected"] is None
    assert any(s["text"].lower().startswith(prefix) for s in body["suggestions"])
    typo = api.get("/suggest", params={"q": "celuar sams"}).json()
    assert typo["corrected"] == "celular sams"
    assert typo["suggestions"][0]["text"].lower().startswith("celular sams")
    personal = api.get("/suggest", params={"q": prefix, "user_id": "u1", "k": 3})
    assert personal.status_code == 200
    assert len(personal.json()["suggestions"]) <= 3
    assert api.get("/suggest", params={"q": prefix, "k": 0}).status_code == 422
    assert api.get("/suggest", params={"q": "  "}).status_code == 422
