"""The serving store's interface and records (docs/spec.md §3.11, §6).

A store holds *versions*: one version is one batch of precomputed recommendations (every
known user's list, plus a popularity fallback list, plus the keyed lists of :data:`LIST_KINDS`:
each product's similar and bought-together items, each user's buy-again list). Versions are
written in bulk while invisible to readers, then made current by :meth:`RecsStore.publish`, which flips a
single pointer: a reader sees either the whole previous batch or the whole new one, never
a mix. Old versions are kept for :meth:`RecsStore.rollback_to` up to a retention count,
and every version expires ``ttl`` after it was begun (recommendations computed against a
stale catalog must not be served forever); an expired record reads as missing so serving
degrades to popularity.

Two implementations pass the same contract suite (``tests/integration/
test_recs_store_contract.py``): SQLite (embedded default) and Redis (production).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import NamedTuple, Protocol, Self

import numpy as np
import numpy.typing as npt

Clock = Callable[[], dt.datetime]

DEFAULT_TTL = dt.timedelta(hours=6)  # docs/spec.md §3.11: one batch every 6 h, each valid for 6 h
DEFAULT_KEEP = 3  # published versions kept for rollback
TOP_K = 20  # items of a served list (docs/spec.md §3.11: TOP-20)
POPULAR_REASON = "popular ahora"  # the reason on every item of the popularity fallback list
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SIMILAR = "similar"  # keyed by product: items like it (content + co-occurrence)
TOGETHER = "together"  # keyed by product: items bought in the same baskets
BUY_AGAIN = "buy_again"  # keyed by user: what they bought and are due to buy again
DISCOVER = "discover"  # keyed by user: the second list chosen on validation, never what they bought
LIST_KINDS = (SIMILAR, TOGETHER, BUY_AGAIN, DISCOVER)
"""Keyed lists a version may hold beside the users' lists; computed by the batch, never per request."""
CURRENT = "current"  # the pointer to the champion's version: what every user is served
CHALLENGER = "challenger"  # the pointer to a registered challenger's version, served beside it
CHANNELS = (CURRENT, CHALLENGER)
Texts = Sequence[str] | npt.NDArray[np.str_] | npt.NDArray[np.object_]
"""A column of strings as a batch hands it over: a list, or numpy's strings or Python objects."""
"""Named pointers to published versions; reads name one (default :data:`CURRENT`)."""


def utc_now() -> dt.datetime:
    """The default clock (aware, UTC)."""
    return dt.datetime.now(dt.UTC)


def to_us(moment: dt.datetime) -> int:
    """Epoch microseconds of an aware datetime (how instants are stored, as in the lake)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the store needs aware (UTC) instants")
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def from_us(micros: int) -> dt.datetime:
    """Inverse of :func:`to_us` (UTC)."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)


def check_version_name(version: str) -> str:
    """A version names keys and rows, so it is restricted to ``[A-Za-z0-9._-]`` (≤ 128
    characters, not starting with a mark): no separator or glob character can leak in."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ValueError(f"version must match {_VERSION.pattern}, got {version!r}")
    return version


def check_kind(kind: str) -> str:
    """A keyed list's kind names keys and rows: one of :data:`LIST_KINDS`."""
    if kind not in LIST_KINDS:
        raise ValueError(f"list kind must be one of {', '.join(LIST_KINDS)}; got {kind!r}")
    return kind


def check_channel(channel: str) -> str:
    """A pointer's name: one of :data:`CHANNELS`."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}; got {channel!r}")
    return channel


class StoreUnavailableError(RuntimeError):
    """The store's backend cannot be reached; serving catches this to degrade to popularity."""


class VersionError(ValueError):
    """An operation names a version in the wrong state (unknown, unfinished, expired, published)."""


class Recommendation(NamedTuple):
    """One recommended product: id, model score (higher is better) and a short reason shown
    to the user ("porque viste X", "popular en tu ciudad")."""

    product_id: str
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class RecsRecord:
    """A user's list as served: items best first, from batch ``version`` of ``model_version``.

    ``user_id`` is None for the version's popularity fallback list; for a keyed list
    (:meth:`RecsStore.get_list`) it holds the list's key (a product id, or a user id).
    """

    user_id: str | None
    items: tuple[Recommendation, ...]
    version: str
    model_version: str
    generated_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """Bookkeeping of one version. ``users`` is None while the version is being written (it
    cannot be published then); ``published_at`` is None until it was first published."""

    version: str
    model_version: str
    created_at: dt.datetime
    expires_at: dt.datetime
    users: int | None = None
    published_at: dt.datetime | None = None

    @property
    def complete(self) -> bool:
        return self.users is not None

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at

    def to_dict(self) -> dict[str, str | int | None]:
        """JSON-safe form (instants as epoch µs)."""
        return {
            "version": self.version,
            "model_version": self.model_version,
            "created_at": to_us(self.created_at),
            "expires_at": to_us(self.expires_at),
            "users": self.users,
            "published_at": None if self.published_at is None else to_us(self.published_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> VersionInfo:
        published = data.get("published_at")
        users = data.get("users")
        return cls(
            version=str(data["version"]),
            model_version=str(data["model_version"]),
            created_at=from_us(int(str(data["created_at"]))),
            expires_at=from_us(int(str(data["expires_at"]))),
            users=None if users is None else int(str(users)),
            published_at=None if published is None else from_us(int(str(published))),
        )


class VersionWriter(Protocol):
    """Bulk writer of one unpublished version. Use it as a context manager: leaving the block
    normally finishes the version (it may then be published); an exception aborts it and
    deletes whatever was written, so a crashed batch can never be published half-done."""

    version: str

    def put(self, user_id: str, items: Sequence[Recommendation]) -> None: ...

    def put_many(self, records: Iterable[tuple[str, Sequence[Recommendation]]]) -> int: ...

    def put_columns(
        self,
        user_ids: Sequence[str],
        counts: Sequence[int],
        product_ids: Texts,
        scores: Sequence[float] | npt.NDArray[np.float64],
        reasons: Texts,
    ) -> int: ...

    def put_lists(
        self,
        kind: str,
        keys: Sequence[str],
        counts: Sequence[int],
        product_ids: Texts,
        scores: Sequence[float] | npt.NDArray[np.float64],
        reasons: Texts,
    ) -> int: ...

    def set_popular(self, items: Sequence[Recommendation]) -> None: ...

    def finish(self) -> VersionInfo: ...

    def abort(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class RecsStore(Protocol):
    """Versioned store of precomputed recommendations.

    - ``begin_version(version, model_version=…)`` → a :class:`VersionWriter`; a version
      already published is immutable (:class:`VersionError`); an unfinished leftover of
      the same name is discarded and written again (a re-run of a crashed batch).
    - ``publish(version)`` makes a finished, unexpired version current in one atomic step,
      then applies retention; returns the versions it deleted.
    - ``get(user_id)`` / ``popular()`` / ``get_list(kind, key)`` read the current version;
      None when there is no current version, the user (key) is not in it, or it has expired.
    - ``rollback_to(version)`` makes a previously published, retained, unexpired version
      current again.
    - ``publish(version, channel="challenger")`` points the second pointer at a finished
      version instead (a registered challenger's lists, written beside the champion's under
      their own version key); the reads take ``channel="challenger"`` to read through it;
      ``withdraw_challenger()`` removes that pointer (a rolled-back canary). Retention never
      drops the version either pointer names.
    """

    def begin_version(
        self, version: str, *, model_version: str, generated_at: dt.datetime | None = None
    ) -> VersionWriter: ...

    def publish(self, version: str, channel: str = CURRENT) -> list[str]: ...

    def get(self, user_id: str, channel: str = CURRENT) -> RecsRecord | None: ...

    def popular(self, channel: str = CURRENT) -> RecsRecord | None: ...

    def get_list(self, kind: str, key: str, channel: str = CURRENT) -> RecsRecord | None: ...

    def current_version(self) -> str | None: ...

    def challenger_version(self) -> str | None: ...

    def withdraw_challenger(self) -> str | None: ...

    def versions(self) -> list[VersionInfo]: ...

    def rollback_to(self, version: str) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...


def versions_to_drop(
    infos: Iterable[VersionInfo],
    *,
    current: str | None,
    keep: int,
    now: dt.datetime,
    challenger: str | None = None,
) -> list[str]:
    """Retention: keep the ``keep`` most recently (first) published versions, the current
    one (which may be older after a rollback) and the challenger's; drop other published
    versions, and drop unpublished versions that have already expired (abandoned runs)."""
    if keep < 1:
        raise ValueError(f"keep must be ≥ 1, got {keep}")
    infos = list(infos)
    published = sorted(
        (i for i in infos if i.published_at is not None), key=lambda i: (i.published_at, i.version)
    )
    pointed = {v for v in (current, challenger) if v}
    kept = {i.version for i in published[-keep:]} | pointed
    drop = [i.version for i in published if i.version not in kept]
    drop += [
        i.version for i in infos if i.published_at is None and i.expired(now) and i.version not in pointed
    ]
    return drop
