"""How high a search ranker can go on the simulator's qrels, and what it would need to know.

A qrels query is one (text, target product) pair, graded by the target (3: the target or its
duplicates; 2: its category and brand; 1: its category, or its brand for a brand-only query;
:mod:`vitrina.simulator.queries`). The qrels carry no shopper, so a ranker sees only the words;
where shoppers typed the same words after different targets ("samsung", "celular"), no single
order is right for all of them. Each query gets the served order and three re-orderings, each
knowing more:

* **text ceiling** (queries whose words do not name the model: brand-only, category-only, and
  the synonym and partial queries without it): every servable product ordered by its mean
  normalised gain over the targets of the pairs in the simulator's logs with the same text.
  The expected NDCG@10 over those targets is a sum over positions of discount × mean normalised
  gain, so this order maximises it (rearrangement inequality): the best a ranker without the
  shopper could do knowing which products shoppers typing those words were after. Two readings:
  the *other* pairs only (about fifty per broad text; what everyone else's searches teach), and
  every pair, the query's own included (what a ranker could memorise from logs that hold the
  query's own search, as the demo's training logs hold most qrels pairs').
* **intent oracle**: the served list re-ordered by the true grade capped at 2, knowing the
  target's category and brand but not the product.
* **model oracle**: the same, also knowing the target's model (not its variant: colour, size).

**Reachable without the shopper** composes them: a query whose words hold the model (exact,
accent-free and typo queries always do; synonym and partial ones when the model's words are
there) at the model oracle, every other query at the text ceiling (the intent oracle where no
other pair has its text). A bar above it asks for the variant the words do not name, or for the
shopper.

    python benchmarks/search_ceilings.py --home DIR

``DIR``: a demo home whose search version is served. Writes
``benchmarks/results/search_ceilings.{json,md}``; ``benchmarks/search.py`` reports the same after
its run.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from machine import describe, summary

from vitrina.adapters.lake.truth import Truth, load_truth
from vitrina.adapters.models.search_index import load_version
from vitrina.config import get_settings
from vitrina.core.ranking.visible_products import servable_mask
from vitrina.core.search.types import Hits, ParsedQuery
from vitrina.simulator.queries import relevance

RESULTS = Path(__file__).parent / "results"
K = 10
SERVED_K = 150
ALWAYS_NAME_THE_MODEL = ("exact", "no_accent", "typo")
"""Query types the simulator always writes with the model's words (docs of its query maker)."""
MODEL_WORDS = 2
"""The simulator's model names are a word and a number ("Nova 5")."""
COLUMNS = {
    "bm25": "bm25 as typed",
    "hybrid_ltr": "hybrid_ltr (served)",
    "text_ceiling_others": "text ceiling, other pairs",
    "text_ceiling_all": "text ceiling, every pair",
    "intent_oracle": "intent oracle",
    "model_oracle": "model oracle",
    "reachable_others": "reachable, other pairs",
    "reachable_all": "reachable, every pair",
}
"""Measured columns and their headings."""
IntArray = npt.NDArray[np.int64]
DISCOUNT = 1.0 / np.log2(np.arange(2, K + 2))


def dcg(grades: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """DCG@10 (gain 2^grade − 1) of each row of ``grades`` taken in its order (last axis)."""
    top = np.atleast_2d(np.asarray(grades, dtype=np.float64))[:, :K]
    return np.asarray(((2.0**top - 1.0) * DISCOUNT[: top.shape[1]]).sum(axis=1))


def ideal_dcg(grades: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """DCG@10 of each row of ``grades`` in its best order."""
    rows = np.atleast_2d(np.asarray(grades))
    return dcg(-np.sort(-rows, axis=1))


def best_order_for_targets(grades: npt.ArrayLike, ideals: npt.ArrayLike) -> IntArray:
    """Columns of ``grades`` (targets × products) ordered by mean normalised gain: the order
    that maximises the mean NDCG@10 over the targets (ties: column order)."""
    gain = (2.0 ** np.asarray(grades, dtype=np.float64) - 1.0) / np.asarray(ideals, dtype=np.float64)[:, None]
    return np.argsort(-gain.mean(axis=0), kind="stable").astype(np.int64)


def oracle_order(grades: npt.ArrayLike, same_model: npt.ArrayLike | None = None) -> IntArray:
    """A served list's positions re-ordered by the grade capped at 2 (the intent oracle), then,
    when ``same_model`` is given, by the target's model among those of grade 2 (the model
    oracle); the served order breaks ties."""
    capped = np.minimum(np.asarray(grades), 2).astype(np.float64)
    if same_model is not None:
        capped += 0.5 * (np.asarray(same_model, dtype=bool) & (capped == 2))
    return np.argsort(-capped, kind="stable").astype(np.int64)


def names_model(query: str, title: str, brand: str) -> bool:
    """Whether ``query`` holds the model's words of a product titled ``title``: the words that
    follow its brand in the title ("celular samsung nova 5 128 gb" → "nova 5")."""
    words, brand_words = title.lower().split(), brand.lower().split()
    span = len(brand_words)
    for start in range(len(words) - span + 1):
        if words[start : start + span] == brand_words:
            model = words[start + span : start + span + MODEL_WORDS]
            return bool(model) and set(model) <= set(query.lower().split())
    return False


def reachable(frame: pd.DataFrame, text_ceiling: str) -> pd.Series:
    """Per query, the composition of the module docstring with the ``text_ceiling`` column."""
    unnamed = frame[text_ceiling].fillna(frame["intent_oracle"])
    return pd.Series(np.where(frame["names_model"], frame["model_oracle"], unnamed), index=frame.index)


class _TextCeiling:
    """The text ceiling for one truth and candidate set (servable products)."""

    def __init__(self, truth: Truth, candidates: IntArray) -> None:
        self.truth, self.candidates = truth, candidates
        self.every_product = np.arange(truth.products.leaf.size, dtype=np.int64)
        self.pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for query_id, text, target in zip(
            truth.queries["query_id"], truth.queries["query"], truth.queries["product_id"], strict=True
        ):
            self.pairs[str(text)].append((str(query_id), str(target)))

    def ndcg(
        self, query_id: str | None, text: str, brand_only: bool, own: npt.NDArray[np.int64], own_ideal: float
    ) -> float:
        """NDCG@10 of the query's own target (``own``: grade per candidate) under the order the
        targets of the pairs with this text give, all but ``query_id``'s (None: every pair);
        NaN when there is none."""
        others = [target for other, target in self.pairs[text] if other != query_id]
        if not others:
            return float("nan")
        targets = self.truth.product_rows(np.asarray(others))[:, None]
        grades = relevance(self.truth.products, targets, self.every_product[None, :], brand_only)
        order = best_order_for_targets(grades[:, self.candidates], ideal_dcg(grades))
        return float(dcg(own[order])[0] / own_ideal)


def measure(settings: Any, name: str | None = None) -> dict[str, Any]:
    """Served NDCG@10, the three re-orderings and bm25 as typed, per qrels query (``name``: the
    index version; default the served one)."""
    truth = load_truth(settings)
    version = load_version(settings, name)
    engine = version.engine()
    frame = version.products.frame
    ids = frame["product_id"].to_numpy()
    truth_rows = truth.product_rows(ids)
    titles = dict(zip(ids, frame["title"].astype(str), strict=True))
    brands = dict(zip(ids, frame["brand"].astype(str), strict=True))
    target_of = dict(zip(truth.queries["query_id"], truth.queries["product_id"], strict=True))
    servable = servable_mask(frame)
    ceiling = _TextCeiling(truth, truth_rows[servable])
    servable_index = pd.Index(ids[servable])
    model = truth.products.model
    rows: list[dict[str, Any]] = []
    for query_id, judged in truth.qrels.groupby("query_id", sort=True):
        text, kind = str(judged["query"].iloc[0]), str(judged["query_type"].iloc[0])
        grade = dict(zip(judged["product_id"], judged["relevance"], strict=True))
        own_ideal = float(ideal_dcg(judged["relevance"].to_numpy())[0])
        parsed = engine.understanding.parse(text)
        served = engine.rank(parsed, *engine.retrieve(parsed), k=SERVED_K).rows  # engine.search, parsed once
        as_typed = ParsedQuery(raw=parsed.raw, normalised=parsed.normalised, corrected=parsed.normalised)
        plain = engine.lexical.search(as_typed, SERVED_K) if as_typed.corrected else Hits.empty()
        bm25 = engine.rank(parsed, plain, Hits.empty(), k=SERVED_K, mode="bm25").rows
        grades = np.array([grade.get(ids[r], 0) for r in served], dtype=np.int64)
        target = str(target_of[query_id])
        same_model = model[truth_rows[served]] == model[truth.product_rows([target])[0]]
        row = {
            "query_type": kind,
            "names_model": kind in ALWAYS_NAME_THE_MODEL or names_model(text, titles[target], brands[target]),
            "bm25": float(dcg([grade.get(ids[r], 0) for r in bm25])[0] / own_ideal),
            "hybrid_ltr": float(dcg(grades)[0] / own_ideal),
            "intent_oracle": float(dcg(grades[oracle_order(grades)])[0] / own_ideal),
            "model_oracle": float(dcg(grades[oracle_order(grades, same_model)])[0] / own_ideal),
            "text_ceiling_others": float("nan"),
            "text_ceiling_all": float("nan"),
        }
        if not row["names_model"]:
            every = np.zeros(len(servable_index), dtype=np.int64)
            found = servable_index.get_indexer(judged["product_id"])
            every[found[found >= 0]] = judged["relevance"].to_numpy()[found >= 0]
            brand_only = kind == "brand_only"
            row["text_ceiling_others"] = ceiling.ndcg(str(query_id), text, brand_only, every, own_ideal)
            row["text_ceiling_all"] = ceiling.ndcg(None, text, brand_only, every, own_ideal)
        rows.append(row)
    engine.close()
    return summarise(pd.DataFrame(rows))


def summarise(frame: pd.DataFrame) -> dict[str, Any]:
    """Means overall and per query type (and per "names the model" for the named types)."""
    frame = frame.assign(
        reachable_others=reachable(frame, "text_ceiling_others"),
        reachable_all=reachable(frame, "text_ceiling_all"),
    )
    groups = []
    for (kind, named), group in frame.groupby(["query_type", "names_model"], sort=True):
        means = group[list(COLUMNS)].mean()
        groups.append(
            {"query_type": str(kind), "names_model": bool(named), "n": len(group)}
            | {column: (None if pd.isna(v) else float(v)) for column, v in means.items()}
        )
    return {"n_queries": len(frame), "all": {c: float(frame[c].mean()) for c in COLUMNS}, "groups": groups}


def markdown(result: dict[str, Any]) -> list[str]:
    """The ceilings table (NDCG@10 on the qrels; × bm25 as typed on the last row)."""
    lines = [
        "| query type | names the model | queries | " + " | ".join(COLUMNS.values()) + " |",
        "|---|---|---:|" + "---:|" * len(COLUMNS),
    ]
    for group in result["groups"]:
        cells = ["—" if group[c] is None else f"{group[c]:.4f}" for c in COLUMNS]
        lines.append(
            f"| {group['query_type']} | {'yes' if group['names_model'] else 'no'} | {group['n']} | "
            + " | ".join(cells)
            + " |"
        )
    overall = result["all"]
    base = overall["bm25"]
    # a text ceiling's mean covers the queries without the model only: not a whole-set figure
    cells = [
        "—" if column.startswith("text") else f"{overall[column]:.4f} ({overall[column] / base:.3f}×)"
        for column in list(COLUMNS)[1:]
    ]
    lines.append(f"| **all** | | {result['n_queries']} | {base:.4f} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", required=True, help="A demo home whose search version is served.")
    args = parser.parse_args()
    started = time.perf_counter()
    result = measure(get_settings(home=Path(args.home)))
    result |= {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": describe(),
        "home": args.home,
        "seconds": time.perf_counter() - started,
    }
    header = ["# Search ceilings on the qrels", "", f"{result['when']} · {summary(result['machine'])}", ""]
    text = "\n".join(header + markdown(result)) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_ceilings.json").write_text(json.dumps(result, indent=2))
    (RESULTS / "search_ceilings.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
