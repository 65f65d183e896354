"""A small English hardware shop with a catalog, its raters' judgments and nothing else.

The judged queries are enough for the search pipeline to fine-tune the encoder on a quarter of
them (:data:`vitrina.core.evaluation.judged_encoder.MIN_LEARN_QUERIES` in the learning
quarter), and half of them name each kind of tool by the shop's own word for it — a made-up
word no title carries and the base MiniLM cannot know (:data:`SHOP_WORDS`). Only an encoder
that learnt from the judgments maps ``"makita vorpel"`` to Makita drills: the gate half holds
such queries too, so the fine-tuning's effect is measurable on queries it never saw.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pyarrow as pa

from vitrina.core.tables import CATALOG, JUDGMENTS

KINDS = ("drill", "hammer", "screwdriver", "saw", "wrench", "sander", "ladder", "toolbox")
MAKERS = ("Bosch", "Stanley", "Makita", "DeWalt", "Ryobi")
COLOURS = ("red", "black", "yellow", "blue", "green")
WORDS = ("vorpel", "klunter", "twistik", "rasbo", "grimplo", "smoovex", "clambor", "stashbin")
SHOP_WORDS = dict(zip(KINDS, WORDS, strict=True))
"""The shop's jargon: one invented word per kind."""
SIZES = tuple(range(4, 24))


def catalog(created: dt.datetime, seed: int = 11, n: int = 200) -> pa.Table:
    """``n`` products titled "<maker> <size> in. <colour> <kind>", kinds in turn."""
    rng = np.random.default_rng(seed)
    kinds = [KINDS[i % len(KINDS)] for i in range(n)]
    makers = [MAKERS[int(rng.integers(len(MAKERS)))] for _ in range(n)]
    colours = [COLOURS[int(rng.integers(len(COLOURS)))] for _ in range(n)]
    sizes = [f"{int(rng.choice(SIZES))} in." for _ in range(n)]
    return pa.table(
        {
            "product_id": [f"sku-{i:04d}" for i in range(n)],
            "title": [f"{m} {s} {c} {k}" for m, s, c, k in zip(makers, sizes, colours, kinds, strict=True)],
            "description": [None] * n,
            "category_l1": ["Tools"] * n,
            "category_l2": [k.capitalize() for k in kinds],
            "category_l3": [f"{k.capitalize()}s" for k in kinds],
            "brand": makers,
            "price": rng.uniform(5, 300, n).round(2),
            "cost": [None] * n,
            "stock": [3] * n,
            "seller_id": ["hardware-shop"] * n,
            "created_at": [created] * n,
            "updated_at": [created] * n,
            "is_sponsored": [False] * n,
            "is_reported": [False] * n,
        },
        schema=CATALOG.schema,
    )


def judged_queries() -> list[tuple[str, str, str | None, str | None]]:
    """(query, kind, maker or None, colour or None): every maker × colour × kind in both word
    orders, once in the catalog's words and once in the shop's, plus maker × kind and colour ×
    kind in the shop's words (880 distinct queries)."""
    queries: list[tuple[str, str, str | None, str | None]] = []
    for kind, maker, colour in itertools.product(KINDS, MAKERS, COLOURS):
        for word in (kind, SHOP_WORDS[kind]):
            queries.append((f"{maker.lower()} {colour} {word}", kind, maker, colour))
            queries.append((f"{colour} {maker.lower()} {word}", kind, maker, colour))
    for kind in KINDS:
        queries += [(f"{maker.lower()} {SHOP_WORDS[kind]}", kind, maker, None) for maker in MAKERS]
        queries += [(f"{colour} {SHOP_WORDS[kind]}", kind, None, colour) for colour in COLOURS]
    return queries


def judgments(products: pa.Table) -> pa.Table:
    """Graded like a shop's raters would: 2 = the kind with the maker and colour asked for,
    1 = the kind, 0 = the next kind (judged irrelevant; other kinds unjudged)."""
    titles = products.column("title").to_pylist()
    ids = products.column("product_id").to_pylist()
    rows: dict[str, list[object]] = {"query": [], "product_id": [], "grade": [], "source": []}
    for query, kind, maker, colour in judged_queries():
        other = KINDS[(KINDS.index(kind) + 1) % len(KINDS)]
        for product, title in zip(ids, titles, strict=True):
            if title.endswith(f" {kind}"):
                same_maker = maker is None or title.startswith(maker)
                grade = 2.0 if same_maker and (colour is None or f" {colour} " in title) else 1.0
            elif title.endswith(f" {other}"):
                grade = 0.0
            else:
                continue
            rows["query"].append(query)
            rows["product_id"].append(product)
            rows["grade"].append(grade)
            rows["source"].append("raters")
    return pa.table(rows, schema=JUDGMENTS.schema)
