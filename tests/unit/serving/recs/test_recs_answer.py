"""The /recs hot path encodes its answer without pydantic models: the bytes must be exactly
those of the documented schema, :class:`~vitrina.serving.api_models.RecsResponse`."""

from __future__ import annotations

import datetime as dt

import pytest

from vitrina.adapters.stores import Recommendation
from vitrina.serving.api_models import ProductListResponse, RecItem, RecsResponse
from vitrina.serving.middleware import RequestIds, request_id_from
from vitrina.serving.recs.answer import RecsAnswer
from vitrina.serving.recs.products import ProductListAnswer

pytestmark = pytest.mark.unit

UTC = dt.UTC
LIMA = dt.timezone(dt.timedelta(hours=-5))

ITEMS = (
    Recommendation("p1", 0.428465098954384, "porque viste Zapatillas Nike Max 11 talla 36 Negro"),
    Recommendation("p2", 1e-7, "popular en tu ciudad: «Lima» ñandú \u2603"),
    Recommendation("p3", 12345678901234.5, 'comillas " y barra \\'),
    Recommendation("p4", 3, "entero"),  # an integer score is still a float in the schema
    Recommendation("p5", -0.0, "cero negativo"),
)


@pytest.mark.parametrize(
    "fields",
    [
        {"fallback": False, "batch_version": "v1", "generated_at": dt.datetime(2026, 1, 2, 1, 5, 1, 7, UTC)},
        {"fallback": True, "fallback_reason": "unknown_user"},
        {"fallback": False, "experiment": "ab-1", "arm": "challenger", "fallback_reason": "experiment"},
        {"fallback": False, "generated_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=LIMA)},
    ],
)
def test_the_answer_encodes_to_the_bytes_of_its_response_model(fields: dict[str, object]) -> None:
    common: dict[str, object] = {
        "request_id": "req-1",
        "model_version": "recs-20261122T145016",
        "arm": "champion",
        "experiment": None,
        "user_id": "u0000002",
    }
    common.update(fields)
    answer = RecsAnswer(items=ITEMS, **common)  # type: ignore[arg-type]
    items = [RecItem(product_id=p, score=s, reason=r) for p, s, r in ITEMS]
    model = RecsResponse(items=items, **common)  # type: ignore[arg-type]
    assert answer.to_json() == model.model_dump_json().encode()


def test_answer_of_no_items_is_an_empty_list() -> None:
    answer = RecsAnswer("r", "m", "champion", None, "u", (), fallback=True, fallback_reason="no_batch")
    assert RecsResponse.model_validate_json(answer.to_json()).items == []


def test_new_request_ids_are_unique_32_hex_characters_and_sane_ids_are_echoed() -> None:
    first, second = RequestIds(), RequestIds()
    ids = [first.new() for _ in range(1000)] + [second.new() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert first.new()[:16] != second.new()[:16]  # each process draws its own prefix
    assert request_id_from([(b"x-request-id", b"abc-1")], first) == "abc-1"
    assert len(request_id_from([(b"x-request-id", b"bad id")], first)) == 32


@pytest.mark.parametrize(
    "fields",
    [
        {"fallback": False, "batch_version": "v1", "generated_at": dt.datetime(2026, 1, 2, 1, 5, 1, 7, UTC)},
        {"fallback": True, "fallback_reason": "unknown_product"},
    ],
)
def test_a_product_list_encodes_to_the_bytes_of_its_response_model(fields: dict[str, object]) -> None:
    common: dict[str, object] = {
        "request_id": "req-1",
        "model_version": "recs-1",
        "product_id": "p-ñ",
        "kind": "bought_together",
    }
    common.update(fields)
    answer = ProductListAnswer(items=ITEMS, **common)  # type: ignore[arg-type]
    items = [RecItem(product_id=p, score=s, reason=r) for p, s, r in ITEMS]
    model = ProductListResponse(items=items, arm="champion", **common)  # type: ignore[arg-type]
    assert answer.to_json() == model.model_dump_json().encode()
