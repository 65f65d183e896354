"""The deployment file of one shop (``vitrina.yaml``): what its data looks like and speaks.

Settings (:mod:`vitrina.config`) say *where* state lives and which backend serves each
concern, and come from the environment. This file says *what the shop is*: the language of its
texts, its currency, and the contract its tables are held to — which values a column may take
(or "open"), how its own spellings map onto the canonical ones, the earliest plausible date,
which event types it logs at all. A shop's data engineer writes it once, beside the home
(``$VITRINA_HOME/vitrina.yaml``, or the path in ``$VITRINA_SHOP_FILE``).

With no file, every default reproduces the simulator's marketplace: Spanish, the simulator's
vocabularies, dates from 2000 on, all four event types. Every key is documented in
``docs/reference/shop-file.md`` (a unit test keeps the two in step).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pyarrow as pa
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vitrina.core import tables
from vitrina.core.recs.business_rules import RulesConfig
from vitrina.core.recs.new_arrivals import ArrivalsRule
from vitrina.core.recs.repurchase import REPEATABLE_RATE
from vitrina.core.search.languages import Language

SHOP_FILE_NAME = "vitrina.yaml"
OPEN = "open"
CURRENCY_PATTERN = r"[A-Z]{3}"

DEFAULT_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "events.event_type": tables.EVENT_TYPES,
    "events.page": tables.PAGES,
    "events.device": tables.DEVICES,
    "users.age_range": tables.AGE_RANGES,
    "users.segment": tables.SEGMENTS,
    "transactions.payment_method": tables.PAYMENT_METHODS,
}
"""The simulator's vocabularies: the contract's allowed values when the shop file says nothing."""
EVENT_TYPE = "events.event_type"


class ShopFileError(ValueError):
    """The shop file cannot be read or breaks its schema; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text_column(key: str) -> tuple[str, str]:
    """``table.column`` split, when it names a canonical text column (vocabularies and value
    maps hold text: a number or a timestamp has no spelling to map)."""
    table, _, column = key.partition(".")
    spec = tables.TABLES.get(table)
    if spec is None or column not in spec.schema.names:
        raise ValueError(f"{key!r} is not a canonical `table.column`")
    if spec.schema.field(column).type != pa.string():
        raise ValueError(f"{key!r} is not a text column (vocabularies and value maps hold text)")
    return table, column


def _vocabulary(value: Any) -> Any:
    """``open`` or a list of texts; anything else named plainly (pydantic would report one error
    per branch of the union)."""
    if value == OPEN:
        return value
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"must be `{OPEN}` or a list of allowed values, got {value!r}")
    if not all(isinstance(v, str) for v in value):
        raise ValueError("allowed values must be texts (quote numbers and dates: '18-24')")
    return value


Vocabulary = Annotated[tuple[str, ...] | Literal["open"], BeforeValidator(_vocabulary)]


class ContractsConfig(_Strict):
    """How strictly this shop's tables are checked (docs/spec.md §1)."""

    vocabularies: dict[str, Vocabulary] = Field(
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

    @field_validator("vocabularies")
    @classmethod
    def _known_vocabularies(cls, value: dict[str, tuple[str, ...] | str]) -> dict[str, tuple[str, ...] | str]:
        for key, allowed in value.items():
            _text_column(key)
            if key == EVENT_TYPE:
                raise ValueError(f"{key!r}: say which event types the shop logs with contracts.event_types")
            if isinstance(allowed, str):
                continue
            if not allowed or any(not v for v in allowed):
                raise ValueError(f"{key!r}: allowed values must be non-empty texts, at least one (or `open`)")
            if len(set(allowed)) != len(allowed):
                raise ValueError(f"{key!r}: an allowed value is listed twice")
        return value

    @field_validator("value_maps")
    @classmethod
    def _known_value_maps(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for key, mapping in value.items():
            _text_column(key)
            if any(not source or not target for source, target in mapping.items()):
                raise ValueError(f"{key!r}: a value map maps non-empty texts to non-empty texts")
            # one pass maps a value: a target mapped again would mean one thing to validation
            # and another to an API that maps at receipt
            chained = sorted(set(mapping) & set(mapping.values()) - {s for s, t in mapping.items() if s == t})
            if chained:
                raise ValueError(
                    f"{key!r}: {', '.join(map(repr, chained))} is both mapped and a map's target"
                )
        return value

    @field_validator("event_types")
    @classmethod
    def _known_event_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [kind for kind in value if kind not in tables.EVENT_TYPES]
        if unknown or not value:
            named = f"{', '.join(map(repr, unknown))} unknown; " if unknown else ""
            raise ValueError(f"{named}event types are a non-empty subset of {', '.join(tables.EVENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _maps_land_in_the_vocabulary(self) -> ContractsConfig:
        """A value map into a value the vocabulary refuses would quarantine every mapped row:
        a mistake of the file, said at once."""
        for key, mapping in self.value_maps.items():
            table, column = _text_column(key)
            allowed = self.allowed(table, column)
            if allowed is None:
                continue
            outside = sorted({target for target in mapping.values() if target not in allowed})
            if outside:
                verb = "is" if len(outside) == 1 else "are"
                raise ValueError(
                    f"value_maps.{key}: {', '.join(map(repr, outside))} {verb} not allowed in {key} "
                    f"(allowed: {', '.join(allowed)})"
                )
        return self

    def allowed(self, table: str, column: str) -> tuple[str, ...] | None:
        """The values ``table.column`` may take; None when it is open or has no vocabulary."""
        key = f"{table}.{column}"
        declared = self.vocabularies.get(key)
        if declared == OPEN:
            return None
        if declared is not None:
            return tuple(declared)
        if key == EVENT_TYPE:
            return self.event_types
        return DEFAULT_VOCABULARIES.get(key)

    def is_open(self, table: str, column: str) -> bool:
        """Whether the file declares ``table.column`` open: any non-empty text is allowed."""
        return self.vocabularies.get(f"{table}.{column}") == OPEN

    def not_logged(self) -> tuple[str, ...]:
        """The canonical event types this shop says it does not log (in canonical order)."""
        return tuple(kind for kind in tables.EVENT_TYPES if kind not in self.event_types)

    def maps_of(self, table: str) -> dict[str, dict[str, str]]:
        """The value maps of ``table``'s columns, by column."""
        prefix = f"{table}."
        return {key[len(prefix) :]: m for key, m in self.value_maps.items() if key.startswith(prefix) and m}


SIMULATOR_CONSUMABLES = ("Supermercado", "Mascotas")
"""The simulator's consumables: its shoppers re-buy no category more than another, so its data
alone would not mark them repeatable."""


class RepurchaseConfig(_Strict):
    """Which products a customer already bought may be recommended again (learnt, then overridden)."""

    min_rate: float = Field(
        default=REPEATABLE_RATE,
        ge=0,
        description="A bought product may reappear when at least this share of its buyers bought it "
        "again (its category's share when it has few buyers).",
    )
    always_categories: tuple[str, ...] = Field(
        default=SIMULATOR_CONSUMABLES,
        description="Category names (any level) whose products are always repeatable.",
    )
    never_categories: tuple[str, ...] = Field(
        default=(), description="Category names (any level) whose products are never shown again once bought."
    )
    always_items: tuple[str, ...] = Field(default=(), description="Product ids always repeatable.")
    never_items: tuple[str, ...] = Field(default=(), description="Product ids never shown again once bought.")

    @model_validator(mode="after")
    def _not_both(self) -> RepurchaseConfig:
        self.rules()
        return self

    def rules(self) -> RulesConfig:
        """The business rules' settings (raises ``ValueError`` for a name both always and never)."""
        return RulesConfig.of(**self.model_dump())


class NewArrivalsConfig(_Strict):
    """Places of every recommendations list given to products too new to have a history
    (an exploration rule, docs/adr/0025)."""

    slots: int = Field(default=1, ge=0, le=5, description="Places per list for new products (0: none).")
    rank: int = Field(
        default=10, ge=1, le=20, description="The last of those places, 1-based (the first page's last)."
    )
    max_age_days: float = Field(
        default=7.0, gt=0, description="How long after its created_at a product counts as new."
    )

    @model_validator(mode="after")
    def _fits(self) -> NewArrivalsConfig:
        self.rule()
        return self

    def rule(self) -> ArrivalsRule:
        """The rule the publishing pipeline applies."""
        return ArrivalsRule(slots=self.slots, rank=self.rank, max_age_days=self.max_age_days)


class ShopConfig(_Strict):
    """One shop's deployment file."""

    name: str = Field(default="demo", description="The shop's name, shown in reports and the console.")
    language: Language = Field(
        default="es", description="Language of the catalog and queries: es | pt | en (text analysis)."
    )
    currency: str = Field(
        default="MXN",
        description="ISO 4217 code of prices: three capital letters (shown in the validation report).",
    )
    synonyms_file: Path | None = Field(
        default=None,
        description="A synonyms CSV (term,synonyms,category_scope) to use instead of the language's "
        "starter file; relative paths are taken from the file's folder.",
    )
    contracts: ContractsConfig = Field(default_factory=ContractsConfig)
    repurchase: RepurchaseConfig = Field(default_factory=RepurchaseConfig)
    new_arrivals: NewArrivalsConfig = Field(default_factory=NewArrivalsConfig)

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        if not re.fullmatch(CURRENCY_PATTERN, value):
            raise ValueError(f"{value!r} is not an ISO 4217 code (three capital letters, e.g. EUR)")
        return value


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
        raise ShopFileError(f"{path}: {_first_error(error)}") from error
    if config.synonyms_file is not None and not config.synonyms_file.is_absolute():
        config = config.model_copy(update={"synonyms_file": path.parent / config.synonyms_file})
    return config


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``loc`` (a path of field names) accepts."""
    model: type[BaseModel] = ShopConfig
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _first_error(error: ValidationError) -> str:
    """``key.path: what is wrong`` for the first error, in the words of the file's author."""
    first = error.errors(include_url=False)[0]
    loc = tuple(first["loc"])
    where = ".".join(str(part) for part in loc) or "(top level)"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        known = _keys_at(loc[:-1])
        message = f"unknown key (known here: {', '.join(known)})" if known else "unknown key"
    elif first["type"] == "value_error" and loc == ("contracts",):
        return f"contracts.{message}"  # a check across keys names its key first
    elif first["type"] != "value_error" and isinstance(first.get("input"), (str, int, float)):
        message = f"{message} (got {first['input']!r})"
    return f"{where}: {message}"
