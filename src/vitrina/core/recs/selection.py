"""Which policy a shop serves: the contenders, and the choice on the validation window.

Every run compares, on the shop's own validation window, the full model with each candidate
source alone and with simple blends of them (:func:`contenders`), and serves the best
(:func:`choose`). NDCG@10 is read in two views of the same held-out choices:

* **all positives** — every item the user chose in the window counts, including one bought
  before: buying again is most of a repeat-purchase shop's revenue, and a list that never
  shows it loses that;
* **discovery** — only items new to the user count (the evaluation's default protocol).

The choice is made on all positives (what the shop earns from the list); contenders the best
does not beat beyond noise — a one-sided paired test on the same users' NDCG@10
(:mod:`~vitrina.core.recs.paired`, docs/adr/0029) — are told apart by their discovery mean, so
between two lists equally good at bringing customers back the one that also finds them
something new wins (docs/adr/0017).
Popularity is always a contender, so the chosen policy is never worse than it on validation.

A second list, **discover** (never what the user bought), is chosen beside it on the discovery
view among the same contenders minus those built on buy-again-like sources
(:func:`discovery_contenders`): a marketplace shows it next to "buy again", so the two lists
together cover what the shop earns from repeats and from new finds (docs/adr/0017).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from vitrina.core.recs.paired import Scores, beyond_noise
from vitrina.core.recs.policy import FILL, FULL, TWO_TOWER, Policy
from vitrina.core.recs.source_ranker import SOURCE_LTR

ALL_POSITIVES = "all_positives"
DISCOVERY = "discovery"
VIEWS = (ALL_POSITIVES, DISCOVERY)
TIE = 0.005
"""NDCG@10 differences up to this count as a tie on a table without per-user scores (a table
read back from a record); with them, the paired test decides (docs/adr/0029)."""
WEIGHTS = (0.25, 0.5, 0.75)
"""Weights of the first part tried in each score blend."""
PERSONAL = ("ease", "item_knn", TWO_TOWER, "als")
"""Sources that learn from who chose what together, in the order they are tried in blends."""
AGAIN = ("buy_again", "repurchase")
"""Sources that list the user's own past purchases: nothing they offer survives the discover
list's filter, so no contender of that list is built on them."""


def contenders(available: Iterable[str]) -> list[Policy]:
    """Every policy worth trying with the ``available`` sources (names of
    :data:`~vitrina.core.recs.policy.SOURCES`, trained models and new sources alike): each
    source alone; the customer's own items first, then one personal source, then recent
    popularity; and each personal source blended with recent popularity by score."""
    names = list(dict.fromkeys(available))
    policies = [Policy("single", (name,)) for name in names]
    personal = [name for name in PERSONAL if name in names]
    if FILL in names:
        for again in ("buy_again", "repurchase"):
            if again in names:
                policies.append(Policy("sequence", (again, FILL)))
                policies += [Policy("sequence", (again, name, FILL)) for name in personal]
        if "item_knn" in names:  # its lists end where co-occurrence does
            policies.append(Policy("sequence", ("item_knn", FILL)))
        policies += [Policy("score", (name, FILL), weight) for name in personal for weight in WEIGHTS]
    return policies


def choose_discover(
    table: Mapping[str, Mapping[str, float]], tie: float = TIE, scores: Scores | None = None
) -> str:
    """The discover list's choice: ``table``'s best row on discovery, exact ties going to the
    simpler (listed first). All positives does not break ties here: the list never shows a purchase,
    so what a contender scores on repeats is nothing the list will serve."""
    return choose(table, DISCOVERY, tie, by_other=False, scores=scores)


def serves_discover(name: str) -> bool:
    """Whether the validation row ``name`` is a contender of the discover list: no
    buy-again-like part (:data:`AGAIN`), and not the served list's source ranker, which learns
    to re-offer the user's own items (the discover list has its own, ``source_ltr_discovery``,
    docs/adr/0035). Its discovery number is in the table all the same, so the discover list's
    paired test must leave it out."""
    return name != SOURCE_LTR and not any(again in name for again in AGAIN)


def discovery_contenders(policies: Iterable[Policy]) -> list[Policy]:
    """The contenders of the discover list: ``policies`` without any buy-again-like part
    (:data:`AGAIN`), in their order (simpler first, for ties)."""
    return [policy for policy in policies if not set(policy.parts) & set(AGAIN)]


def discover_default(policy: Policy) -> Policy:
    """The discover list of a model version that recorded none (trained before the list
    existed): ``policy`` without its buy-again-like parts — recent popularity when nothing
    else is left, and a sequence of one part becomes that part alone."""
    parts = tuple(part for part in policy.parts if part not in AGAIN)
    if not parts:
        return Policy("single", (FILL,))
    if policy.kind == "sequence" and len(parts) == 1:
        return Policy("single", parts)
    return Policy(policy.kind, parts, policy.weight)


def _value(row: Mapping[str, float], view: str) -> float:
    value = row.get(view, math.nan)
    return float(value) if value is not None else math.nan


def choose(
    table: Mapping[str, Mapping[str, float]],
    view: str = ALL_POSITIVES,
    tie: float = TIE,
    order: Sequence[str] | None = None,
    by_other: bool = True,
    scores: Scores | None = None,
    keep_first: bool = False,
) -> str:
    """The name of ``table``'s best row (``{name: {view: NDCG@10}}``) on ``view``; rows within
    ``tie`` of the best are ranked by the other view, then by their position in ``order``
    (default: the table's order — list simpler policies first); without ``by_other``, by that
    position alone. ValueError if no row was measured on ``view``.

    With ``scores`` (each row's per-user NDCG@10, :data:`~vitrina.core.recs.paired.Scores`)
    the constant ``tie`` gives way to the paired test: the rows tied with the best are those it
    does not beat beyond noise; among them the best mean on the other view wins (with
    ``by_other``; without it the best mean on ``view``, the order breaking exact ties). With
    ``keep_first`` (an incumbent against a challenger) the tied rows are narrowed by the same
    test on the other view and the first listed of those stays: a challenger must win beyond
    noise (docs/adr/0029)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    other = DISCOVERY if view == ALL_POSITIVES else ALL_POSITIVES
    rank = {name: i for i, name in enumerate(order or list(table))}
    measured = {name: row for name, row in table.items() if math.isfinite(_value(row, view))}
    if not measured:
        raise ValueError(f"no contender was measured on {view}: nothing to choose from")
    if scores is not None and all(view in scores.get(name, {}) for name in measured):
        return _choose_paired(measured, view, other, rank, by_other, scores, keep_first)
    best = max(_value(row, view) for row in measured.values())
    tied = [name for name, row in measured.items() if _value(row, view) >= best - tie]

    def key(name: str) -> tuple[float, float, int]:
        if not by_other:  # within the tie, the simpler
            return (0.0, 0.0, -rank.get(name, len(rank)))
        second = _value(measured[name], other)
        return (
            second if math.isfinite(second) else -math.inf,
            _value(measured[name], view),
            -rank.get(name, len(rank)),
        )

    return max(tied, key=key)


def _within_noise(
    names: Sequence[str],
    view: str,
    table: Mapping[str, Mapping[str, float]],
    rank: Mapping[str, int],
    scores: Scores,
) -> list[str]:
    """``names`` the best of them on ``view`` (the simpler among equal means) does not beat
    beyond noise on the same users (the best included)."""
    best = max(names, key=lambda name: (_value(table[name], view), -rank.get(name, len(rank))))
    return [
        name for name in names if name == best or not beyond_noise(scores[best][view], scores[name][view])
    ]


def _choose_paired(
    measured: Mapping[str, Mapping[str, float]],
    view: str,
    other: str,
    rank: Mapping[str, int],
    by_other: bool,
    scores: Scores,
    keep_first: bool,
) -> str:
    """:func:`choose` with ties told by the paired test (see there)."""
    tied = _within_noise(list(measured), view, measured, rank, scores)
    known = [n for n in tied if math.isfinite(_value(measured[n], other)) and other in scores.get(n, {})]
    if keep_first:
        if by_other and known:
            tied = _within_noise(known, other, measured, rank, scores)
        return min(tied, key=lambda name: rank.get(name, len(rank)))
    decide, among = (other, known) if by_other and known else (view, tied)
    return max(among, key=lambda name: (_value(measured[name], decide), -rank.get(name, len(rank))))


MIN_PAIRED_USERS = 30
"""Fewest users the full model must be compared on to be chosen: per-user NDCG@10 spreads about
0.2, so below 30 users the mean's standard error (> 0.035) exceeds the differences at stake."""


def full_or(
    best: str,
    paired: Mapping[str, Mapping[str, float]],
    view: str = ALL_POSITIVES,
    users: int | None = None,
    min_users: int = MIN_PAIRED_USERS,
    by_other: bool = True,
    scores: Scores | None = None,
) -> str:
    """The full model if it beats ``best`` on the same users (``paired`` holds both rows,
    measured on ``users`` users the ranker never learnt from; ``scores`` their per-user
    NDCG@10), else ``best``. Within noise (:func:`choose`) the other view decides, then
    ``best`` (the simpler) wins; on fewer than ``min_users`` users the comparison is noise and
    ``best`` is kept."""
    if FULL not in paired or best not in paired or (users is not None and users < min_users):
        return best
    pair = {best: paired[best], FULL: paired[FULL]}
    return FULL if choose(pair, view, by_other=by_other, scores=scores, keep_first=True) == FULL else best


def pooled_table(
    windows: Sequence[tuple[Mapping[str, int], Mapping[str, Mapping[str, float]]]],
) -> dict[str, dict[str, float]]:
    """Each contender's NDCG@10 per view over all the ``windows`` that scored it: ``windows``
    holds, per window, its users per view and its table (``{name: {view: NDCG@10}}``); the
    pooled value is the user-weighted mean of the window means (a window without users in a
    view, or a NaN score, is left out there; NaN where nothing is left). Rows keep the order
    of their first appearance, so the simpler-first order of :func:`contenders` survives."""
    names = list(dict.fromkeys(name for _, table in windows for name in table))
    out: dict[str, dict[str, float]] = {}
    for name in names:
        out[name] = {}
        for view in VIEWS:
            measured = [
                (users.get(view, 0), _value(table[name], view))
                for users, table in windows
                if name in table and users.get(view, 0) > 0 and math.isfinite(_value(table[name], view))
            ]
            total = sum(n for n, _ in measured)
            out[name][view] = sum(n * score for n, score in measured) / total if total else math.nan
    return out


def challenge(
    best: str,
    rival: str,
    table: Mapping[str, Mapping[str, float]],
    view: str = ALL_POSITIVES,
    by_other: bool = True,
    scores: Scores | None = None,
) -> str:
    """``rival`` if it beats ``best`` in ``table`` (both measured on the same users) beyond noise
    on ``view`` (the paired test on ``scores``; without them, by more than :data:`TIE`) — or
    within noise there, on the other view when ``by_other`` — else ``best`` (the incumbent
    wins every full tie). Either missing from ``table``: ``best``."""
    if best not in table or rival not in table or best == rival:
        return best
    if not math.isfinite(_value(table[rival], view)):
        return best
    if not math.isfinite(_value(table[best], view)):
        return rival
    pair = {best: table[best], rival: table[rival]}
    return choose(pair, view, by_other=by_other, scores=scores, keep_first=True)
