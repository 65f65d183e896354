"""The version life cycle, written once for every backend.

:class:`VersionedStore` implements the whole :class:`~vitrina.adapters.stores.base.RecsStore`
contract (state checks, expiry, retention, rollback) over a handful of storage primitives
that each backend provides; so SQLite and Redis cannot drift apart in behaviour, only in
how they keep bytes. :class:`BufferedWriter` is the one bulk writer: it encodes records and
hands them to the backend in chunks (one ``executemany`` / one pipeline per chunk).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self

import numpy as np
import numpy.typing as npt

from vitrina.adapters.closes_on_exit import ClosesOnExit
from vitrina.adapters.stores.base import (
    CHALLENGER,
    CURRENT,
    DEFAULT_KEEP,
    DEFAULT_TTL,
    Clock,
    Recommendation,
    RecsRecord,
    Texts,
    VersionError,
    VersionInfo,
    check_channel,
    check_kind,
    check_version_name,
    utc_now,
    versions_to_drop,
)
from vitrina.adapters.stores.codec import decode_record, encode_items, encode_lists, record_prefix

FLUSH_EVERY = 5_000  # users per backend round (bounded memory, few round trips)


class VersionedStore(ClosesOnExit, ABC):
    """Shared behaviour; subclasses implement the ``_``-prefixed storage primitives."""

    def __init__(self, *, ttl: dt.timedelta = DEFAULT_TTL, keep: int = DEFAULT_KEEP, clock: Clock = utc_now):
        if ttl <= dt.timedelta(0):
            raise ValueError(f"ttl must be positive, got {ttl}")
        if keep < 1:
            raise ValueError(f"keep must be ≥ 1, got {keep}")
        self.ttl = ttl
        self.keep = keep
        self.clock = clock

    # --- storage primitives -------------------------------------------------------------
    @abstractmethod
    def _info(self, version: str) -> VersionInfo | None: ...

    @abstractmethod
    def _infos(self) -> list[VersionInfo]: ...

    @abstractmethod
    def _save_info(self, info: VersionInfo) -> None:
        """Insert or update the bookkeeping of one version (never its records)."""

    @abstractmethod
    def _write_rows(self, info: VersionInfo, rows: Sequence[tuple[str, str]]) -> None:
        """Store encoded records ``(user_id, payload)`` of an unpublished version."""

    @abstractmethod
    def _write_lists(self, info: VersionInfo, kind: str, rows: Sequence[tuple[str, str]]) -> None:
        """Store encoded keyed lists ``(key, payload)`` of kind ``kind`` of an unpublished version."""

    @abstractmethod
    def _write_popular(self, info: VersionInfo, payload: str) -> None: ...

    @abstractmethod
    def _flip(self, info: VersionInfo, channel: str = CURRENT) -> None:
        """Atomically: save ``info`` and point ``channel`` (current or challenger) at its version."""

    @abstractmethod
    def _unpoint(self, channel: str) -> None:
        """Remove the pointer ``channel`` (never ``current``)."""

    @abstractmethod
    def _drop(self, version: str) -> None:
        """Delete a version's records and bookkeeping (never called on the current one)."""

    @abstractmethod
    def _pointed(self, channel: str = CURRENT) -> str | None:
        """The version ``channel`` points at (None: no such pointer)."""

    @abstractmethod
    def _read(self, user_id: str, channel: str = CURRENT) -> str | bytes | None:
        """The payload of ``user_id`` in the version ``channel`` points at, read consistently."""

    @abstractmethod
    def _read_popular(self, channel: str = CURRENT) -> str | bytes | None: ...

    @abstractmethod
    def _read_list(self, kind: str, key: str, channel: str = CURRENT) -> str | bytes | None:
        """The payload of the keyed list ``(kind, key)`` in ``channel``'s version, read consistently."""

    @abstractmethod
    def close(self) -> None: ...

    # --- the contract -------------------------------------------------------------------
    def begin_version(
        self, version: str, *, model_version: str, generated_at: dt.datetime | None = None
    ) -> BufferedWriter:
        check_version_name(version)
        existing = self._info(version)
        if existing is not None and existing.published_at is not None:
            raise VersionError(f"version {version!r} was already published and is immutable")
        if existing is not None:
            self._drop(version)  # leftover of an unfinished run under the same name
        now = self.clock()
        info = VersionInfo(
            version=version,
            model_version=model_version,
            created_at=generated_at or now,
            expires_at=now + self.ttl,
        )
        self._save_info(info)
        return BufferedWriter(self, info)

    def publish(self, version: str, channel: str = CURRENT) -> list[str]:
        """Point ``channel`` at ``version`` (see the contract); publishing the challenger's
        version as current also withdraws the challenger pointer (a promotion)."""
        check_channel(channel)
        info = self._servable_info(version)
        if not info.complete:
            raise VersionError(f"version {version!r} is still being written (finish its writer first)")
        if channel == CHALLENGER and version == self._pointed(CURRENT):
            raise VersionError(f"version {version!r} is the current one; a challenger must differ")
        if info.published_at is None:
            info = dataclasses.replace(info, published_at=self.clock())
        self._flip(info, channel)
        if channel == CURRENT and self._pointed(CHALLENGER) == version:
            self._unpoint(CHALLENGER)
        dropped = versions_to_drop(
            self._infos(),
            current=self._pointed(CURRENT),
            keep=self.keep,
            now=self.clock(),
            challenger=self._pointed(CHALLENGER),
        )
        for old in dropped:
            self._drop(old)
        return dropped

    def challenger_version(self) -> str | None:
        return self._pointed(CHALLENGER)

    def withdraw_challenger(self) -> str | None:
        """Remove the challenger pointer (its version stays until retention drops it);
        returns the version it named."""
        version = self._pointed(CHALLENGER)
        if version is not None:
            self._unpoint(CHALLENGER)
        return version

    def rollback_to(self, version: str) -> None:
        info = self._servable_info(version)
        if info.published_at is None:
            raise VersionError(f"version {version!r} was never published; publish it instead")
        self._flip(info)

    def get(self, user_id: str, channel: str = CURRENT) -> RecsRecord | None:
        payload = self._read(user_id, check_channel(channel))
        return None if payload is None else decode_record(user_id, payload, self.clock())

    def popular(self, channel: str = CURRENT) -> RecsRecord | None:
        payload = self._read_popular(check_channel(channel))
        return None if payload is None else decode_record(None, payload, self.clock())

    def get_list(self, kind: str, key: str, channel: str = CURRENT) -> RecsRecord | None:
        payload = self._read_list(check_kind(kind), key, check_channel(channel))
        return None if payload is None else decode_record(key, payload, self.clock())

    def current_version(self) -> str | None:
        return self._pointed(CURRENT)

    def versions(self) -> list[VersionInfo]:
        """Every stored version, oldest first (published or not)."""
        return sorted(self._infos(), key=lambda i: (i.created_at, i.version))

    def _servable_info(self, version: str) -> VersionInfo:
        info = self._info(check_version_name(version))
        if info is None:
            raise VersionError(f"unknown version {version!r} (never written, or removed by retention)")
        if info.expired(self.clock()):
            raise VersionError(f"version {version!r} expired at {info.expires_at.isoformat()}")
        return info


class BufferedWriter:
    """Writes one version in chunks; see :class:`~vitrina.adapters.stores.base.VersionWriter`."""

    def __init__(self, store: VersionedStore, info: VersionInfo, flush_every: int = FLUSH_EVERY):
        self._store = store
        self._info = info
        self._prefix = record_prefix(info)
        self._flush_every = flush_every
        self._buffer: list[tuple[str, str]] = []
        self._users: set[str] = set()
        self._state = "open"
        self.version = info.version

    def put(self, user_id: str, items: Sequence[Recommendation]) -> None:
        self._check_open()
        if not isinstance(user_id, str) or not user_id:
            raise ValueError(f"user_id must be a non-empty string, got {user_id!r}")
        self._buffer.append((user_id, encode_items(self._prefix, items)))
        self._users.add(user_id)
        if len(self._buffer) >= self._flush_every:
            self._flush()

    def put_many(self, records: Iterable[tuple[str, Sequence[Recommendation]]]) -> int:
        """Write many users' lists; returns how many were given. A user written twice keeps
        the last list."""
        count = 0
        for user_id, items in records:
            self.put(user_id, items)
            count += 1
        return count

    def put_columns(
        self,
        user_ids: Sequence[str],
        counts: Sequence[int],
        product_ids: Texts,
        scores: Sequence[float] | npt.NDArray[np.float64],
        reasons: Texts,
    ) -> int:
        """Bulk form of :meth:`put` for batch inference: user ``user_ids[u]`` gets the next
        ``counts[u]`` cells of the flat ``product_ids``/``scores``/``reasons`` (best first).
        Same records as :meth:`put`, built without per-item objects. Returns users written."""
        self._check_open()
        _check_columns(user_ids, counts, product_ids)
        records = encode_lists(self._prefix, counts, product_ids, scores, reasons)
        for user_id, payload in zip(user_ids, records, strict=True):
            self._buffer.append((user_id, payload))
            if len(self._buffer) >= self._flush_every:
                self._flush()
        self._users.update(user_ids)
        return len(user_ids)

    def put_lists(
        self,
        kind: str,
        keys: Sequence[str],
        counts: Sequence[int],
        product_ids: Texts,
        scores: Sequence[float] | npt.NDArray[np.float64],
        reasons: Texts,
    ) -> int:
        """Keyed lists of ``kind`` (:data:`~vitrina.adapters.stores.base.LIST_KINDS`) in the
        columns of :meth:`put_columns`; written at once, chunk by chunk. Returns keys written."""
        self._check_open()
        check_kind(kind)
        _check_columns(keys, counts, product_ids)
        records = encode_lists(self._prefix, counts, product_ids, scores, reasons)
        rows: list[tuple[str, str]] = []
        for key, payload in zip(keys, records, strict=True):
            rows.append((key, payload))
            if len(rows) >= self._flush_every:
                self._store._write_lists(self._info, kind, rows)
                rows = []
        if rows:
            self._store._write_lists(self._info, kind, rows)
        return len(keys)

    def set_popular(self, items: Sequence[Recommendation]) -> None:
        """The version's fallback list, served when a user has no record."""
        self._check_open()
        self._store._write_popular(self._info, encode_items(self._prefix, items))

    def finish(self) -> VersionInfo:
        """Flush and mark the version complete (publishable). Returns its bookkeeping."""
        self._check_open()
        self._flush()
        self._info = dataclasses.replace(self._info, users=len(self._users))
        self._store._save_info(self._info)
        self._state = "finished"
        return self._info

    def abort(self) -> None:
        """Discard everything written for this version."""
        if self._state != "open":
            return
        self._buffer.clear()
        self._state = "aborted"
        self._store._drop(self.version)

    def _flush(self) -> None:
        if self._buffer:
            self._store._write_rows(self._info, self._buffer)
            self._buffer = []

    def _check_open(self) -> None:
        if self._state != "open":
            raise VersionError(f"the writer of version {self.version!r} is {self._state}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is not None:
            self.abort()
        elif self._state == "open":
            self.finish()


def _check_columns(keys: Sequence[str], counts: Sequence[int], product_ids: Texts) -> None:
    if len(keys) != len(counts) or sum(counts) != len(product_ids):
        raise ValueError(
            f"{len(keys)} keys with {len(counts)} counts summing to {sum(counts)} "
            f"for {len(product_ids)} cells"
        )
    if not all(isinstance(k, str) and k for k in keys):
        raise ValueError("user_ids and list keys must be non-empty strings")
