"""Where a real-data recommendations benchmark cuts the log into the past it learns from and
the future it is scored on.

A split is a cutoff time per user: the user's events strictly before it are the past (train),
the positives at or after it the future (test). The forward split gives every user the same
cutoff, derived from the data (its last day − 28 days), never from today's date, so the same
files always give the same split. The per-user split ("leave the last N out") is for logs
such as MovieLens whose users rarely span a global cut: each user's cutoff is the time of
their N-th last event, so ties at that second go to the test side (a user may hold out a few
more than N).

Two views of the future are scored: *all positives* (a re-purchase counts) and *discovery*
(only items the user had no event with before their cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

FORWARD_DAYS = 28
"""The test window of the forward split: the last 28 calendar days (UTC) of the data."""
HOLDOUT_EVENTS = 10
"""N of the per-user split: each user's last 10 events (at least) are held out."""

DISCOVERY = "discovery"
ALL_POSITIVES = "all_positives"
VIEWS = (DISCOVERY, ALL_POSITIVES)


@dataclass(frozen=True)
class Split:
    """``cutoff`` (UTC) per held-out user; users missing from it keep all their events in train.

    ``as_of`` is the moment the train side ends (the catalog and users a model may know);
    ``cut`` is the global cut of a forward split (None for a per-user split).
    """

    name: str
    cutoff: pd.Series
    as_of: pd.Timestamp
    cut: pd.Timestamp | None
    description: str

    def is_train(self, events: pd.DataFrame) -> pd.Series:
        """Which of ``events`` (``user_id``, ``ts``) lie before their user's cutoff."""
        if self.cut is not None:
            return events["ts"] < self.cut
        limit = events["user_id"].map(self.cutoff)
        return limit.isna() | (events["ts"] < limit)


def forward_split(events: pd.DataFrame, days: int = FORWARD_DAYS, end: pd.Timestamp | None = None) -> Split:
    """Train on everything before the last ``days`` calendar days of ``events`` (up to ``end``,
    default the midnight after the last event); the cut is the UTC midnight that starts them
    (so day partitions fall wholly on one side)."""
    end = events["ts"].max().floor("D") + pd.Timedelta(days=1) if end is None else end
    last_day = end - pd.Timedelta(days=1)
    cut = end - pd.Timedelta(days=days)
    users = events["user_id"].unique()
    return Split(
        name="forward",
        cutoff=pd.Series(cut, index=users),
        as_of=cut,
        cut=cut,
        description=f"train before {cut:%Y-%m-%d} (UTC), test the {days} days from it to {last_day:%Y-%m-%d}",
    )


def leave_last_out_split(events: pd.DataFrame, n: int = HOLDOUT_EVENTS) -> Split:
    """Hold out each user's last ``n`` events (by time, then event id); users with at most
    ``n`` events are not held out."""
    ordered = events.sort_values(["user_id", "ts", "event_id"])
    from_end = ordered.groupby("user_id").cumcount(ascending=False)
    sizes = ordered.groupby("user_id")["ts"].transform("size")
    nth_last = ordered[(from_end == n - 1) & (sizes > n)]
    cutoff = nth_last.set_index("user_id")["ts"]
    split = Split("leave_last_out", cutoff, events["ts"].max(), None, "")
    as_of = events.loc[split.is_train(events), "ts"].max() + pd.Timedelta(seconds=1)  # just after the last
    return Split(
        name="leave_last_out",
        cutoff=cutoff,
        as_of=as_of,
        cut=None,
        description=f"each user's last {n} events (at least: ties at that second too) held out; "
        f"{len(cutoff)} users with more than {n} events",
    )


def validation_split(split: Split, train: pd.DataFrame) -> Split:
    """The same protocol once more inside the train side (to choose hyper-parameters without
    looking at the test): forward → the 28 days before the cut; per user → the last N of the
    train events."""
    if split.cut is not None:
        return forward_split(train, FORWARD_DAYS, end=split.cut)
    return leave_last_out_split(train, HOLDOUT_EVENTS)


@dataclass(frozen=True)
class Truth:
    """What each user did in the future, per view, and who counts as returning."""

    relevant: dict[str, dict[str, frozenset[str]]]
    returning: frozenset[str]
    history: dict[str, frozenset[str]]

    def users(self, view: str, population: str) -> list[str]:
        """The users scored in ``view`` (at least one relevant item), sorted; ``population`` is
        ``returning`` (an event before their cutoff) or ``all``."""
        users = [u for u, items in self.relevant[view].items() if items]
        if population == "returning":
            users = [u for u in users if u in self.returning]
        return sorted(users)


def build_truth(events: pd.DataFrame, split: Split, positive: pd.Series) -> Truth:
    """Relevant items per user and view; ``positive`` flags the events that count as a
    positive (a purchase; a rating ≥ 4)."""
    is_train = split.is_train(events)
    past = events[is_train]
    future = events[~is_train & positive]
    history = {str(u): frozenset(g) for u, g in past.groupby("user_id")["product_id"]}
    relevant_all = {str(u): frozenset(g) for u, g in future.groupby("user_id")["product_id"]}
    relevant_new = {u: items - history.get(u, frozenset()) for u, items in relevant_all.items()}
    return Truth(
        relevant={ALL_POSITIVES: relevant_all, DISCOVERY: relevant_new},
        returning=frozenset(history),
        history=history,
    )
