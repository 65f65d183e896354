"""Training and held-out examples for the bi-encoder, from validated ``search_logs``.

A logged search says which products it showed, which were clicked and which bought. For
contrastive fine-tuning (MultipleNegativesRankingLoss) each clicked or bought product gives
one **triple** ``(query, positive, negative)``:

* ``positive``: the clicked (or purchased) product;
* ``negative``: a *hard* negative, a product the same search showed above or around it that
  the user did not click nor buy. Under position bias the highest-ranked skipped products
  are the ones most likely seen and rejected, so a search's clicks take its skipped
  products in rank order (the first click the best-ranked skipped one, the second the next,
  wrapping around).

Pairs are de-duplicated on (query, positive) — popular queries would otherwise dominate the
few minutes of training — keeping the most recent search's negative. Queries are keyed and
trained on lower-case, single-spaced text; the tokenizer folds accents itself.

Time: training uses searches strictly before ``until``; held-out examples (:func:`held_out_clicks`)
come from ``[since, until)``, so a boundary shared by both can never leak.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

TRIPLE_COLUMNS = ["search_id", "ts", "query", "positive", "negative"]
LOG_COLUMNS = ("search_id", "ts", "query", "results_shown", "results_clicked", "results_purchased")


def query_key(text: object) -> str:
    """Lower-case, single-spaced query text: the key pairs are de-duplicated on."""
    return " ".join(str(text).lower().split())


def _ids(values: Iterable[str] | None) -> list[str]:
    """Distinct ids in first-seen order (None / NaN / empty → [])."""
    if values is None or (isinstance(values, float) and values != values):
        return []
    return list(dict.fromkeys(str(v) for v in values))


def _check(logs: pd.DataFrame) -> None:
    missing = [c for c in LOG_COLUMNS if c not in logs.columns]
    if missing:
        raise ValueError(f"search_logs frame lacks the column(s) {missing}")


def _window(logs: pd.DataFrame, since: dt.datetime | None, until: dt.datetime | None) -> pd.DataFrame:
    keep = np.ones(len(logs), dtype=bool)
    if since is not None:
        keep &= (logs["ts"] >= pd.Timestamp(since)).to_numpy()
    if until is not None:
        keep &= (logs["ts"] < pd.Timestamp(until)).to_numpy()
    return logs.loc[keep]


def holdout_start(logs: pd.DataFrame, days: int) -> dt.datetime:
    """UTC midnight that starts the last ``days`` calendar days of ``logs`` (the held-out period).

    ``ValueError`` when nothing would be left before it to train on.
    """
    if days <= 0:
        raise ValueError(f"days must be positive, got {days}")
    _check(logs)
    if logs.empty:
        raise ValueError("search_logs is empty")
    ts = pd.to_datetime(logs["ts"], utc=True)
    start = ts.max().floor("D") + pd.Timedelta(days=1 - days)
    if not (ts < start).any():
        raise ValueError(f"holding out the last {days} days leaves no earlier search to train on")
    return start.to_pydatetime()  # type: ignore[no-any-return]


def training_triples(
    logs: pd.DataFrame,
    *,
    until: dt.datetime | None = None,
    max_examples: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """One (query, clicked product, shown-not-clicked product) triple per distinct pair.

    Args:
        logs: ``search_logs`` rows (:data:`LOG_COLUMNS`; id lists as arrays or lists).
        until: only searches with ``ts < until`` (exclusive; tz-aware) are used.
        max_examples: keep at most this many triples, a seeded random sample.
        seed: seed of that sample.

    Returns:
        :data:`TRIPLE_COLUMNS`, sorted by ``ts``: ``query`` keyed by :func:`query_key`,
        ``positive`` / ``negative`` product ids. Searches without a click, or whose every
        shown product was clicked, give no triple.
    """
    _check(logs)
    if max_examples is not None and max_examples <= 0:
        raise ValueError(f"max_examples must be positive, got {max_examples}")
    frame = _window(logs, None, until)
    rows: list[tuple[str, pd.Timestamp, str, str, str]] = []
    for search_id, ts, query, shown, clicked, bought in zip(*(frame[c] for c in LOG_COLUMNS), strict=True):
        positives = _ids([*_ids(clicked), *_ids(bought)])
        taken = set(positives)
        skipped = [p for p in _ids(shown) if p not in taken]
        if not positives or not skipped:
            continue
        key = query_key(query)
        rows += [(search_id, ts, key, p, skipped[i % len(skipped)]) for i, p in enumerate(positives)]
    triples = pd.DataFrame(rows, columns=TRIPLE_COLUMNS)
    triples = triples.sort_values("ts", ascending=False, kind="stable")
    triples = triples.drop_duplicates(["query", "positive"], keep="first")
    if max_examples is not None and len(triples) > max_examples:
        triples = triples.sample(n=max_examples, random_state=seed)
    return triples.sort_values(["ts", "search_id"], kind="stable").reset_index(drop=True)


def held_out_clicks(
    logs: pd.DataFrame, *, since: dt.datetime, until: dt.datetime | None = None
) -> pd.DataFrame:
    """Distinct (``query``, ``product_id``) clicked or bought in ``[since, until)``.

    The held-out judgement for retrieval: a query's relevant products are all products
    clicked or bought from its searches in that window.
    """
    _check(logs)
    frame = _window(logs, since, until)
    pairs = [
        (query_key(query), p)
        for query, clicked, bought in zip(
            frame["query"], frame["results_clicked"], frame["results_purchased"], strict=True
        )
        for p in _ids([*_ids(clicked), *_ids(bought)])
    ]
    out = pd.DataFrame(pairs, columns=["query", "product_id"]).drop_duplicates()
    return out.sort_values(["query", "product_id"]).reset_index(drop=True)


def triple_texts(triples: pd.DataFrame, texts: Mapping[str, str]) -> tuple[list[str], list[str], list[str]]:
    """``(anchors, positives, negatives)`` texts of the triples whose products have a text.

    ``texts``: ``{product_id: product_text}``; triples naming a product missing from it
    (not in this catalog) are left out.
    """
    known = triples["positive"].isin(list(texts)) & triples["negative"].isin(list(texts))
    kept = triples.loc[known.to_numpy()]
    return (
        kept["query"].tolist(),
        [texts[p] for p in kept["positive"]],
        [texts[p] for p in kept["negative"]],
    )


def id_texts(product_ids: Sequence[str], texts: Sequence[str]) -> dict[str, str]:
    """``{product_id: text}`` from aligned sequences (e.g. a catalog and :func:`catalog_texts`)."""
    if len(product_ids) != len(texts):
        raise ValueError(f"{len(product_ids)} product ids for {len(texts)} texts")
    return dict(zip((str(p) for p in product_ids), texts, strict=True))
