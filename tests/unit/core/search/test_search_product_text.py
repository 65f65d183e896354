"""product_text: the one text every search component reads for a product."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vitrina.core.search.product_text import SEPARATOR, catalog_texts, product_text


@pytest.mark.unit
def test_title_brand_and_category_joined_in_order() -> None:
    assert product_text("Nova 5 128 GB", "Samsung", "Celulares") == SEPARATOR.join(
        ["Nova 5 128 GB", "Samsung", "Celulares"]
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("title", "brand"),
    [
        ("Celular Samsung Nova 5", "Samsung"),
        ("Celular SAMSUNG Nova 5", "samsung"),
        ("Vestido Studio F Flex 10", "Studio F"),
    ],
)
def test_brand_named_by_the_title_is_not_repeated(title: str, brand: str) -> None:
    assert product_text(title, brand, "Leaf") == f"{title}{SEPARATOR}Leaf"


@pytest.mark.unit
def test_brand_inside_another_word_is_still_added() -> None:
    # "LG" is not a word of the title, only a substring of "LGA".
    assert product_text("Placa LGA 1700", "LG", None) == f"Placa LGA 1700{SEPARATOR}LG"


@pytest.mark.unit
def test_missing_parts_and_stray_whitespace_are_dropped() -> None:
    assert product_text("  Mat  de\tyoga ", None, math.nan) == "Mat de yoga"
    assert product_text("Mat de yoga", "", "  ") == "Mat de yoga"


@pytest.mark.unit
def test_catalog_texts_follow_row_order_and_require_columns() -> None:
    catalog = pd.DataFrame(
        {
            "product_id": ["p2", "p1"],
            "title": ["Audífonos Xiaomi Fit 3", "Mat de yoga One"],
            "brand": ["Xiaomi", "Reebok"],
            "category_l3": ["Audífonos", "Yoga"],
        }
    )
    assert catalog_texts(catalog) == [
        f"Audífonos Xiaomi Fit 3{SEPARATOR}Audífonos",
        f"Mat de yoga One{SEPARATOR}Reebok{SEPARATOR}Yoga",
    ]
    with pytest.raises(ValueError, match="category_l3"):
        catalog_texts(catalog.drop(columns="category_l3"))
