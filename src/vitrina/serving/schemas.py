"""Request and response models of the API (pydantic; the OpenAPI schema at ``/docs``).

Every response body extends :class:`Envelope`: the request id, the model version that
answered and the experiment arm the user was served (also sent as the headers
``X-Request-ID``, ``X-Model-Version``, ``X-Experiment-Arm``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from vitrina.contracts.tables import DEVICES, EVENT_TYPES, PAGES

MAX_K = 100
DEFAULT_K = 20
MAX_QUERY_CHARS = 200
MAX_EVENTS = 1000
ID_PATTERN = r"^[^\s\x00-\x1f]{1,128}$"

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Page = Literal[PAGES]  # type: ignore[valid-type]
Device = Literal[DEVICES]  # type: ignore[valid-type]


class Envelope(BaseModel):
    """Fields every response carries."""

    request_id: str = Field(description="X-Request-ID: echoed when the client sent one, else generated.")
    model_version: str = Field(description="The model (or, off the model routes, the served versions).")
    arm: str = Field(description="Experiment arm served: champion | challenger (champion without one).")
    experiment: str | None = Field(default=None, description="Experiment name when one assigned the arm.")


class ErrorResponse(Envelope):
    detail: str
    errors: list[dict[str, Any]] | None = None


class RecItem(BaseModel):
    product_id: str
    score: float
    reason: str


class RecsResponse(Envelope):
    user_id: str
    items: list[RecItem]
    fallback: bool = Field(description="True when the popularity list answered instead of the user's own.")
    fallback_reason: str | None = Field(
        default=None, description="store_unavailable | no_batch | unknown_user | experiment (challenger arm)"
    )
    batch_version: str | None = Field(default=None, description="Store version the list came from.")
    generated_at: dt.datetime | None = None


class SearchItem(BaseModel):
    product_id: str
    title: str
    brand: str
    category: str
    price: float | None
    score: float
    team: str | None = Field(
        default=None,
        description="Interleaving experiments only: the arm whose ranking drafted this item "
        "(champion | challenger); clicks on it are credited to that arm.",
    )


class SearchResponse(Envelope):
    query: str
    normalised: str
    corrected: str
    index_version: str
    mode: str
    cached: bool
    n_candidates: int
    items: list[SearchItem]


class EventIn(BaseModel):
    """One event of the EVENTS contract (SPEC §1); ``ts`` defaults to the time of receipt."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(pattern=ID_PATTERN, description="Idempotency key: a repeated id is ignored.")
    user_id: str = Field(pattern=ID_PATTERN)
    product_id: str = Field(pattern=ID_PATTERN)
    event_type: EventType
    ts: AwareDatetime | None = Field(default=None, description="When it happened (with a UTC offset).")
    session_id: str | None = Field(default=None, pattern=ID_PATTERN)
    device: Device | None = None
    page: Page | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)
    request_id: str | None = Field(default=None, pattern=ID_PATTERN, description="Of the response shown.")


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsResponse(Envelope):
    accepted: int = Field(description="New events buffered.")
    duplicates: list[str] = Field(description="Event ids already received (ignored).")


class HealthResponse(Envelope):
    status: Literal["ok"]


class RefusedVersion(BaseModel):
    """A version the API would serve but refused (damaged, unsealed or unloadable)."""

    component: Literal["recs", "search"]
    version: str | None = Field(
        description="The refused version (search: the index version; recs: null, the serving store)."
    )
    reason: str = Field(description="Why, naming the file at fault when a manifest check failed.")
    serving: str | None = Field(
        description="What answers instead: an earlier index version, the popularity list, or null (nothing)."
    )


class ReadyResponse(Envelope):
    ready: bool
    components: dict[str, str]
    refused: list[RefusedVersion] = Field(
        default_factory=list,
        description="Versions refused at start-up or on the last reload, and what serves instead "
        "(also counted in vitrina_artifact_rejected_total; vitrina_serving_fallback is 1 meanwhile).",
    )


class ComponentReload(BaseModel):
    ok: bool
    serving: str | None = Field(description="Version serving after the reload.")
    error: str | None = None


class ReloadResponse(Envelope):
    ok: bool
    search: ComponentReload
    recs: ComponentReload


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="admin API", min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1, description="Promote this version, not the challenger.")
    republish: bool = Field(default=True, description="Re-publish the recs champion's batch now.")


class SwitchResponse(Envelope):
    model: str
    ok: bool
    message: str
    publish_error: str | None = None
