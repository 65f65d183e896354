"""Small shared helpers of the simulator: array types, random streams, ids and clocks.

Every random draw of the simulator comes from a *named stream* (:func:`stream`), keyed by
the seed, a stream name and optional integers (a day index). Streams are independent, so
adding a drift scenario, which draws from its own stream and only touches the last days,
leaves every other draw, and therefore the pre-drift data, bit-for-bit identical.
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

US_PER_DAY = 86_400_000_000
US_PER_SECOND = 1_000_000
_EPOCH = dt.date(1970, 1, 1)


def stream(seed: int, name: str, *keys: int) -> np.random.Generator:
    """An independent random generator for ``(seed, name, *keys)``."""
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), *(int(k) & 0xFFFFFFFF for k in keys)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def format_ids(prefix: str, numbers: npt.ArrayLike, width: int) -> StrArray:
    """Zero-padded string ids, vectorised: ``format_ids("p", [7], 7) -> ["p0000007"]`` (read back
    with :func:`vitrina.adapters.lake.truth.parse_ids`)."""
    digits = np.strings.zfill(np.asarray(numbers, dtype=np.int64).astype(np.str_), width)
    return np.asarray(np.strings.add(prefix, digits), dtype=np.str_)


def day_to_us(day: dt.date) -> int:
    """Microseconds since the epoch at 00:00 UTC of ``day``."""
    return (day - _EPOCH).days * US_PER_DAY


def us_to_datetime(us: int) -> dt.datetime:
    """A UTC-aware datetime from epoch microseconds."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))


def datetime_to_us(value: dt.datetime | dt.date) -> int:
    """Epoch microseconds of a datetime (naive is taken as UTC) or of a date's midnight."""
    if not isinstance(value, dt.datetime):
        return day_to_us(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def sigmoid(x: FloatArray) -> FloatArray:
    """The logistic function, vectorised."""
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def gumbel(rng: np.random.Generator, shape: tuple[int, ...]) -> FloatArray:
    """Standard Gumbel noise (Gumbel-max trick: argmax(logits + G) samples softmax(logits))."""
    return np.asarray(-np.log(-np.log(rng.random(shape) + 1e-300) + 1e-300), dtype=np.float64)
