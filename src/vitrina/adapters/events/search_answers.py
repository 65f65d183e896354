"""A ``/search`` answer as the event buffer holds it, beside the events.

The answers travel through the same buffer as the events, so one flush moves both into
``raw/`` with the same write-first, commit-second guarantee. A buffered body is told apart
by its ``kind`` (events have none: bodies written before answers were logged still read).
The buffer's id of an answer is derived from its request id, so a retried append is a
duplicate, never a second search.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from vitrina.core.tables import SEARCH_ANSWERS

KIND = "search_answer"
ID_PREFIX = "search-answer:"
ANSWER_FIELDS: tuple[str, ...] = tuple(SEARCH_ANSWERS.schema.names)


@dataclass(frozen=True, slots=True)
class SearchAnswerRecord:
    """One answer in the SEARCH_ANSWERS columns (``ts`` aware UTC; ``teams`` empty when the
    answer was not interleaved)."""

    request_id: str
    ts: dt.datetime
    user_id: str | None
    query: str
    results_shown: tuple[str, ...]
    positions: tuple[int, ...]
    arm: str
    mode: str
    index_version: str
    model_version: str
    experiment: str | None = None
    teams: tuple[str, ...] = ()

    @property
    def event_id(self) -> str:
        """The buffer's de-duplication id."""
        return f"{ID_PREFIX}{self.request_id}"

    def row(self) -> dict[str, Any]:
        """The SEARCH_ANSWERS row (``teams`` null when there are none)."""
        row = {name: getattr(self, name) for name in ANSWER_FIELDS}
        row["results_shown"] = list(self.results_shown)
        row["positions"] = list(self.positions)
        row["teams"] = list(self.teams) if self.teams else None
        return row

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form with its ``kind`` (``ts`` as ISO-8601 with offset)."""
        return {"kind": KIND, **self.row(), "ts": self.ts.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchAnswerRecord:
        ts = dt.datetime.fromisoformat(str(data["ts"]))
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=dt.UTC)
        user_id = data.get("user_id")
        experiment = data.get("experiment")
        return cls(
            request_id=str(data["request_id"]),
            ts=ts.astimezone(dt.UTC),
            user_id=None if user_id is None else str(user_id),
            query=str(data["query"]),
            results_shown=tuple(str(p) for p in data["results_shown"]),
            positions=tuple(int(p) for p in data["positions"]),
            arm=str(data["arm"]),
            mode=str(data["mode"]),
            index_version=str(data["index_version"]),
            model_version=str(data["model_version"]),
            experiment=None if experiment is None else str(experiment),
            teams=tuple(str(t) for t in data.get("teams") or ()),
        )
