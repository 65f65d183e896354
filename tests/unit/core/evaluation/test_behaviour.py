"""Behaviour tests before registration find exactly the lists and queries that break the rule."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.core.evaluation.behaviour import PAD, cold_users_served, exact_titles_found, no_unservable_items

pytestmark = pytest.mark.unit

SERVABLE = np.array([True, True, False, True, False])  # items 2 and 4 out of stock / reported
IDS = ["p0", "p1", "p2", "p3", "p4"]


def test_clean_lists_pass() -> None:
    check = no_unservable_items(np.array([[0, 1, PAD], [3, PAD, PAD]]), SERVABLE, IDS)
    assert check.passed
    assert check.failures == 0
    assert check.checked == 2


def test_an_unservable_item_anywhere_fails_and_is_named() -> None:
    check = no_unservable_items(np.array([[0, 1, 3], [3, 4, PAD], [2, 0, 4]]), SERVABLE, IDS)
    assert not check.passed
    assert check.failures == 2  # two lists hold p2 or p4
    assert "p2" in check.detail
    assert "p4" in check.detail


def test_cold_users_need_a_non_empty_list() -> None:
    assert cold_users_served(np.array([[1, PAD], [0, 3]])).passed
    check = cold_users_served(np.array([[1, PAD], [PAD, PAD], [PAD, PAD]]))
    assert not check.passed
    assert check.failures == 2
    assert not cold_users_served(np.array([[1, PAD]]), min_items=2).passed


def test_no_cold_users_passes_and_says_nothing_was_checked() -> None:
    check = cold_users_served(np.zeros((0, 20), dtype=np.int64))
    assert check.passed
    assert check.checked == 0


TITLES = {"a": "Zapatilla Nike Air", "b": "Polo Adidas azul", "c": "Polo Adidas azul", "d": "Taza de café"}


def fake_search(results: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda query: results.get(query, [])


def test_exact_titles_found_accepts_any_product_sharing_the_title() -> None:
    search = fake_search(
        {"Zapatilla Nike Air": ["x", "y", "a"], "Polo Adidas azul": ["c"], "Taza de café": ["d", "a"]}
    )
    check = exact_titles_found(search, TITLES)
    assert check.passed
    assert check.checked == 3


def test_exact_titles_outside_the_top_k_fail_unless_the_share_allows() -> None:
    search = fake_search(
        {"Zapatilla Nike Air": ["x", "y", "z", "a"], "Polo Adidas azul": ["b"], "Taza de café": ["d"]}
    )
    strict = exact_titles_found(search, TITLES)
    assert not strict.passed
    assert strict.failures == 1
    assert "Zapatilla Nike Air" in strict.detail
    assert exact_titles_found(search, TITLES, k=4).passed
    assert exact_titles_found(search, TITLES, min_share=0.6).passed


def test_exact_titles_with_nothing_to_check_fails() -> None:
    assert not exact_titles_found(fake_search({}), {}).passed


@pytest.mark.unit
def test_exact_titles_accept_catalog_duplicates_outside_the_sample() -> None:
    def search(query: str) -> list[str]:
        return ["twin", "other"]  # the sampled product's twin (same title) ranks first

    sampled = {"p1": "Camiseta Puma talla XS"}
    catalog = {"p1": "Camiseta Puma talla XS", "twin": "Camiseta Puma talla XS", "other": "Camiseta XL"}
    assert not exact_titles_found(search, sampled, k=1).passed
    assert exact_titles_found(search, sampled, k=1, catalog_titles=catalog).passed
