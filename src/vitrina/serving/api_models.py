"""Request and response models of the API (pydantic; the OpenAPI schema at ``/docs``).

Every response body extends :class:`Envelope`: the request id, the model version that
answered and the experiment arm the user was served (also sent as the headers
``X-Request-ID``, ``X-Model-Version``, ``X-Experiment-Arm``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_K = 100
DEFAULT_K = 20
MAX_QUERY_CHARS = 200
MAX_EVENTS = 1000

# Characters no id may hold: C0/C1 controls, DEL and every character any common regex engine
# calls whitespace. Spelled out, not as ``\s``: ``\s`` means different sets in pydantic's Rust
# engine, Python's ``re`` and the ECMA-262 dialect of JSON Schema (U+0085 is whitespace in
# the first two only), and the published pattern must accept exactly what the API accepts.
BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
ID_PATTERN = rf"^[^{BLANK}]{{1,128}}$"
# A query: no NUL, and at least one character that is not blank.
QUERY_PATTERN = rf"^[^\x00]*[^{BLANK}][^\x00]*$"
# What a pattern means, in the words of a 422 (pydantic would quote the regular expression).
PATTERN_MEANINGS = {
    ID_PATTERN: "must be an id: 1-128 characters, none of them blank or a control character",
    QUERY_PATTERN: "must contain something other than blanks, and no NUL character",
}
MAX_UNKNOWN_KEYS_SHOWN = 5
MAX_KEY_CHARS = 40

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class StrictBody(BaseModel):
    """A request body that refuses keys it does not know, with one error per object.

    ``extra="forbid"`` alone reports every unknown key as its own error: a body of 900,000
    keys would cost as many errors, built on the event loop. Ignoring unknown keys instead
    would hide a misspelled field (``positon``) and store the event without it. So the keys
    are checked once before the fields are: one error naming a few of them and their count."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = cls.__pydantic_fields__
            unknown = [key for key in data if key not in known]
            if unknown:
                shown = ", ".join(repr(str(key)[:MAX_KEY_CHARS]) for key in unknown[:MAX_UNKNOWN_KEYS_SHOWN])
                extra = len(unknown) - MAX_UNKNOWN_KEYS_SHOWN
                more = f" and {extra} more" if extra > 0 else ""
                raise invalid("unknown_keys", f"unknown keys {shown}{more}; allowed: {', '.join(known)}")
        return data


def invalid(kind: str, message: str) -> PydanticCustomError:
    """A validation error that keeps no reference to the raising frame: pydantic keeps a
    ``ValueError`` in the error's context, its traceback keeps the validator's frame, and with
    it the request's parsed body in a reference cycle, alive until a full collection."""
    return PydanticCustomError(kind, "{message}", {"message": message})


class Envelope(BaseModel):
    """Fields every response carries."""

    request_id: str = Field(description="X-Request-ID: echoed when the client sent one, else generated.")
    model_version: str = Field(description="The model (or, off the model routes, the served versions).")
    arm: str = Field(description="Experiment arm served: champion | challenger (champion without one).")
    experiment: str | None = Field(default=None, description="Experiment name when one assigned the arm.")


class ErrorResponse(Envelope):
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Validation errors: the first 20 (loc, msg, type), each shortened."
    )
    error_count: int | None = Field(default=None, description="How many validation errors there were.")


class RecItem(BaseModel):
    product_id: str
    score: float
    reason: str


class RecsResponse(Envelope):
    user_id: str
    items: list[RecItem]
    fallback: bool = Field(description="True when the popularity list answered instead of the user's own.")
    fallback_reason: str | None = Field(
        default=None,
        description="store_unavailable | no_batch | unknown_user | no_purchases (list=buy_again) | "
        "experiment (challenger arm)",
    )
    batch_version: str | None = Field(default=None, description="Store version the list came from.")
    generated_at: dt.datetime | None = None


class ProductListResponse(Envelope):
    product_id: str
    kind: str = Field(description="similar | bought_together")
    items: list[RecItem]
    fallback: bool = Field(description="True when the popularity list answered instead of the product's own.")
    fallback_reason: str | None = Field(
        default=None,
        description="store_unavailable | no_batch | unknown_product (not in the published batch)",
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


class FacetCount(BaseModel):
    value: str
    count: int


class PriceBandCount(BaseModel):
    low: float
    high: float | None = Field(description="Exclusive upper edge; null: no upper edge.")
    count: int


class SearchFacets(BaseModel):
    """Counts over the matched pool (every result of the search within its filters)."""

    category_l1: list[FacetCount]
    category_l2: list[FacetCount]
    category_l3: list[FacetCount]
    brand: list[FacetCount]
    seller: list[FacetCount]
    price: list[PriceBandCount]
    price_min: float | None
    price_max: float | None


class Relaxed(BaseModel):
    """How a search that found nothing was relaxed (see ``vitrina.core.search.relax``)."""

    steps: list[str] = Field(description="completion | semantic | filters, in the order they ran.")
    query: str = Field(description="The query text that answered.")
    dropped_filters: list[str] = Field(description="Filter fields lifted: price, seller, brand, category.")
    message: str


class SearchResponse(Envelope):
    query: str
    normalised: str
    corrected: str
    index_version: str
    mode: str
    cached: bool
    n_candidates: int
    items: list[SearchItem]
    total: int | None = Field(
        default=None,
        description="Results the search has in all (marketplace searches: filters, pages, sort).",
    )
    offset: int = Field(default=0, description="Position of the first item in the whole result list.")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null: last page."
    )
    sort: str = "relevance"
    filters: dict[str, Any] = Field(default_factory=dict, description="The filters that answered.")
    facets: SearchFacets | None = Field(default=None, description="With facets=true.")
    relaxed: Relaxed | None = Field(
        default=None, description="Set when nothing matched and the search was relaxed."
    )


class SuggestionItem(BaseModel):
    text: str
    kind: str = Field(description="query | phrase | brand | category | title")
    score: float


class SuggestResponse(Envelope):
    query: str
    corrected: str | None = Field(
        description="What was completed instead of a mistyped prefix; null: as typed."
    )
    index_version: str
    suggestions: list[SuggestionItem]


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


class SwitchIn(StrictBody):
    reason: str = Field(default="admin API", min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1, description="Promote this version, not the challenger.")
    republish: bool = Field(
        default=True,
        description="vitrina-recs: queue a job re-publishing every active user's list with the "
        "new champion (false: the lists change with the next `vitrina train recs`).",
    )


class JobInfo(BaseModel):
    """A batch job run outside the API (``vitrina.adapters.jobs``)."""

    id: int
    kind: str = Field(description="publish-recs: re-publish every active user's list with the recs champion.")
    state: Literal["queued", "running", "done", "failed"]
    requested_by: str
    reason: str
    created_at: AwareDatetime
    started_at: AwareDatetime | None = Field(description="When its last attempt started.")
    finished_at: AwareDatetime | None
    updated_at: AwareDatetime
    progress: str = Field(description="What it is doing now, or why it waits; when done, what it published.")
    error: str | None = Field(description="Why it failed (the previous batch keeps serving).")
    attempts: int = Field(description="Runs started (a runner that died leaves the job to the next one).")
    runner: str | None = Field(description="The process that ran it last (pid on host).")
    result: dict[str, Any] = Field(
        description="When done: store_version, model_version, users, recommendations, seconds."
    )


class JobResponse(Envelope):
    job: JobInfo


class JobsResponse(Envelope):
    jobs: list[JobInfo] = Field(description="Newest first.")


class SwitchResponse(Envelope):
    model: str
    ok: bool = Field(description="The champion alias moved (the switch stands even if a later job fails).")
    message: str
    champion: int = Field(description="The champion version now.")
    index_version: str | None = Field(
        default=None, description="vitrina-search: the index version served now (null: none named)."
    )
    job: JobInfo | None = Field(
        default=None,
        description="vitrina-recs: the job re-publishing the lists (null when republish was false); "
        "the lists change when it is done. Follow it at GET /admin/jobs/{id}.",
    )
