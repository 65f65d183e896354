"""The deployment file of one shop (``vitrina.yaml``): what its data looks like and speaks.

Settings (:mod:`vitrina.config`) say *where* state lives and which backend serves each
concern, and come from the environment. This file says *what the shop is*: the language of its
texts, its currency, and the contract its tables are held to — which values a column may take
(or "open"), how its own spellings map onto the canonical ones, the earliest plausible date,
which event types it logs at all. A shop's data engineer writes it once, beside the home
(``$VITRINA_HOME/vitrina.yaml``, or the path in ``$VITRINA_SHOP_FILE``).

With no file, every default reproduces the simulator's marketplace: Spanish, the simulator's
vocabularies, dates from 2000 on, all four event types. Every key is documented in
``docs/bring-your-own-data.md``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vitrina.core import tables
from vitrina.core.search.languages import Language

SHOP_FILE_NAME = "vitrina.yaml"
OPEN = "open"

DEFAULT_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "events.event_type": tables.EVENT_TYPES,
    "events.page": tables.PAGES,
    "events.device": tables.DEVICES,
    "users.age_range": tables.AGE_RANGES,
    "users.segment": tables.SEGMENTS,
    "transactions.payment_method": tables.PAYMENT_METHODS,
}
"""The simulator's vocabularies: the contract's allowed values when the shop file says nothing."""


class ShopFileError(ValueError):
    """The shop file cannot be read or breaks its schema; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractsConfig(_Strict):
    """How strictly this shop's tables are checked (docs/spec.md §1)."""

    vocabularies: dict[str, tuple[str, ...] | Literal["open"]] = Field(
        default_factory=dict,
        description="Per `table.column`: the allowed values, or `open` (any non-empty text). "
        "Columns not named keep the simulator's vocabulary.",
    )
    value_maps: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per `table.column`: the shop's spelling → the value kept (e.g. `web: desktop`), "
        "applied before the vocabulary check.",
    )
    earliest_date: dt.date = Field(
        default=dt.date(2000, 1, 1), description="Timestamps before this day are implausible."
    )
    event_types: tuple[str, ...] = Field(
        default=tables.EVENT_TYPES,
        description="The event types this shop logs (a shop with orders only: `[purchase]`).",
    )
    max_invalid_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Validation fails above this invalid share per table "
        "(unset: $VITRINA_MAX_INVALID_SHARE).",
    )
    freshness_max_age_hours: float | None = Field(
        default=None,
        gt=0,
        description="A dated table older than this is stale (unset: $VITRINA_FRESHNESS_MAX_AGE_HOURS).",
    )

    @field_validator("vocabularies", "value_maps")
    @classmethod
    def _known_columns(cls, value: dict[str, object]) -> dict[str, object]:
        for key in value:
            table, _, column = key.partition(".")
            spec = tables.TABLES.get(table)
            if spec is None or column not in spec.schema.names:
                raise ValueError(f"{key!r} is not a canonical `table.column`")
        return value

    @field_validator("event_types")
    @classmethod
    def _known_event_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(tables.EVENT_TYPES))
        if unknown or not value:
            raise ValueError(f"event types must be a non-empty subset of {list(tables.EVENT_TYPES)}")
        return value

    def allowed(self, table: str, column: str) -> tuple[str, ...] | None:
        """The values ``table.column`` may take; None when it is open or has no vocabulary."""
        key = f"{table}.{column}"
        declared = self.vocabularies.get(key)
        if declared == OPEN:
            return None
        if declared is not None:
            return tuple(declared)
        if key == "events.event_type":
            return self.event_types
        return DEFAULT_VOCABULARIES.get(key)


class ShopConfig(_Strict):
    """One shop's deployment file."""

    name: str = Field(default="demo", description="The shop's name, shown in reports and the console.")
    language: Language = Field(
        default="es", description="Language of the catalog and queries: es | pt | en (text analysis)."
    )
    currency: str = Field(default="MXN", min_length=3, max_length=3, description="ISO 4217 code of prices.")
    synonyms_file: Path | None = Field(
        default=None,
        description="A synonyms CSV (term,synonyms,category_scope) to use instead of the language's "
        "starter file; relative paths are taken from the file's folder.",
    )
    contracts: ContractsConfig = Field(default_factory=ContractsConfig)


def shop_file_path(home: Path, explicit: Path | None) -> Path:
    """Where the shop file is looked for: the explicit path, else ``<home>/vitrina.yaml``."""
    return explicit if explicit is not None else home / SHOP_FILE_NAME


def load_shop_config(path: Path) -> ShopConfig:
    """The shop file at ``path``; the defaults (the simulator's shop) when there is none."""
    if not path.exists():
        return ShopConfig()
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ShopFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(loaded, dict):
        raise ShopFileError(f"{path}: must be a mapping of keys to values")
    try:
        config = ShopConfig.model_validate(loaded)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ShopFileError(f"{path}: {where}: {first['msg']}") from error
    if config.synonyms_file is not None and not config.synonyms_file.is_absolute():
        config = config.model_copy(update={"synonyms_file": path.parent / config.synonyms_file})
    return config
