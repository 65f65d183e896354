"""Typed settings. Everything is read from the environment (prefix ``VITRINA_``).

Nothing happens at import time: call :func:`get_settings` where work starts.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vitrina.shop_config import ShopConfig, load_shop_config, shop_file_path


class Settings(BaseSettings):
    """Where state lives and which backend serves each concern.

    All state sits under ``home`` so a user can delete one folder and start over.
    """

    model_config = SettingsConfigDict(env_prefix="VITRINA_", extra="ignore")

    home: Path = Field(default=Path(".vitrina"), description="Root of all local state.")
    shop_file: Path | None = Field(
        default=None,
        description="The shop's deployment file (language, contracts); default $VITRINA_HOME/vitrina.yaml.",
    )
    lake_url: str | None = Field(
        default=None, description="fsspec URL of the lake; default is $VITRINA_HOME/lake."
    )
    engine: str = Field(
        default="duckdb",
        description="Engine of feature frames, batch inference and evaluation joins: duckdb | spark.",
    )
    spark_master: str = Field(
        default="local[2]",
        description="Spark master URL when the engine is spark: local[N] or spark://host:port.",
    )
    spark_cores: int = Field(
        default=2,
        gt=0,
        description="Cores the Spark application takes from a cluster (one per 512 MiB executor).",
    )
    batch_block_users: int = Field(
        default=4096,
        gt=0,
        description="Users per scoring call of batch inference (one Spark row when the engine is spark).",
    )
    mlflow_uri: str | None = Field(default=None, description="MLflow tracking URI.")
    mlflow_artifacts_url: str | None = Field(
        default=None,
        description="Artifact root of the MLflow experiments vitrina creates (e.g. s3://bucket/mlflow); "
        "default $VITRINA_HOME/mlartifacts with the default store, the server's root otherwise.",
    )
    store_url: str | None = Field(default=None, description="Serving store: sqlite (default) or redis://…")
    events_url: str | None = Field(default=None, description="Event buffer: embedded log or redis://…")
    pushgateway_url: str | None = Field(
        default=None,
        description="Prometheus Pushgateway (host:port or URL) the batch runs push their metrics to; "
        "unset: nothing is pushed.",
    )
    catalog_url: str | None = Field(
        default=None, description="PostgreSQL URL of the catalog source (incremental ingestion)."
    )
    catalog_table: str = Field(default="vitrina_catalog", description="PostgreSQL catalog table.")
    max_invalid_share: float = Field(
        default=0.05, ge=0.0, le=1.0, description="Validation fails above this invalid share per table."
    )
    freshness_max_age_hours: float = Field(
        default=48.0, gt=0, description="A dated table whose newest row is older than this is stale."
    )
    future_skew_minutes: float = Field(
        default=5.0, ge=0, description="Timestamps later than now + skew are invalid."
    )
    validate_group_files: int = Field(
        default=7,
        ge=0,
        description="Validate events this many raw files at a time (a week of day files); 0: in one piece.",
    )
    fail_on_stale: bool = Field(
        default=False, description="Validation fails (not only warns) when a dated table is stale."
    )
    store_ttl_hours: float = Field(
        default=6.0, gt=0, description="Lifetime of a published recommendation batch in the store."
    )
    store_keep_versions: int = Field(
        default=3, ge=1, description="Published batches kept in the store for rollback."
    )
    store_read_timeout_ms: float = Field(
        default=100.0,
        gt=0,
        le=10_000,
        description="API: a Redis store read slower than this answers with the popularity fallback.",
    )
    search_cache_ttl_minutes: float = Field(
        default=30.0, gt=0, description="Lifetime of a cached search result (same backend as the store)."
    )
    search_warm_queries: int = Field(
        default=2000,
        ge=0,
        description="API: run up to this many of the served index version's most searched queries "
        "in the background after loading it, and again every cache TTL, so they stay cached (0: off).",
    )
    events_dedup_hours: float = Field(
        default=168.0, gt=0, description="POST /events refuses an event_id seen within this many hours."
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="API: a request body larger than this is refused (413) without being read.",
    )
    body_timeout_seconds: float = Field(
        default=15.0, gt=0, le=600, description="API: a request body must arrive within this (else 408)."
    )
    header_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="API (vitrina serve): a connection must send a request's headers within this "
        "(counted from its first byte, or from the connection) or it is closed.",
    )
    admin_api_key: SecretStr | None = Field(
        default=None, description="X-API-Key of the admin endpoints; unset: admin endpoints answer 503."
    )
    console: bool = Field(
        default=True, description="Serve the web console at /console (off: its routes answer 404)."
    )
    job_runner: bool = Field(
        default=True,
        description="`vitrina serve` starts the runner of queued batch jobs (re-publishing the recs "
        "lists after an admin promote) beside the API workers; off: run `python -m "
        "vitrina.pipelines.jobs_runner` elsewhere.",
    )
    console_token: SecretStr | None = Field(
        default=None,
        description="Key of the web console; unset: `vitrina serve` draws a random one at start-up "
        "and prints the console's link with it.",
    )
    # Gate of docs/spec.md §5.2. Our NDCG@10 is on held-out logged events (≈0.05–0.07 for the full
    # recommender, popularity ≈0.015–0.03), not the seed's 0.33 scale: the recs floor sits
    # between the popularity baseline and a working model.
    gate_ndcg_floor_recs: float = Field(
        default=0.03, ge=0, le=1, description="Gate: minimum NDCG@10 of a recommendations challenger."
    )
    gate_ndcg_floor_search: float = Field(
        default=0.25, ge=0, le=1, description="Gate: minimum NDCG@10 of a search challenger."
    )
    gate_max_ndcg_drop: float = Field(
        default=0.02, ge=0, le=1, description="Gate: a challenger may be at most this below the champion."
    )
    gate_max_psi: float = Field(
        default=0.25, gt=0, description="Gate: the largest feature PSI must stay below this."
    )
    gate_min_baseline_ratio: float = Field(
        default=1.0, ge=0, description="Gate: NDCG@10 ≥ ratio × the popularity baseline's (0 disables)."
    )
    gate_live_search: bool = Field(
        default=False,
        description=(
            "Search gate: refuse a version the served one beats beyond noise on the same held-out "
            "live searches (docs/adr/0033). Off: the comparison is recorded, not enforced — judged "
            "by clicks the served version is favoured."
        ),
    )

    # The drift branch of `vitrina train all` (docs/spec.md §5.5): retrain on drift, or when the
    # champion is older than this, otherwise keep it and only re-publish / re-index.
    retrain_max_age_days: float = Field(
        default=7.0, gt=0, description="Retrain on schedule when the champion is older than this (days)."
    )
    # A drift warn that holds check after check is a shift the serving models never saw
    # (ADR-0031): after this many consecutive warn checks since they were registered, retrain.
    retrain_warn_checks: int = Field(
        default=3,
        ge=0,
        description="Retrain when drift warned in this many consecutive checks since the serving "
        "versions were registered (0: a warn never retrains).",
    )
    # A champion re-published on a changed shop folds new products and customers in
    # (vitrina.core.recs.fold_in); once this share of the current products or customers is new
    # to it, most lists lean on cold-start paths and a full retrain is due.
    retrain_max_new_share: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Retrain recs once more than this share of products or customers is new to the champion.",
    )
    # The source rankers (ADR-0035) train over up to 8 forward windows of the history and refit
    # every simple source in each (the windows shared by the whole run). Measured: on online-retail
    # they lift both lists, `vitrina train all` 75 s → about 225 s; on the demo the pipeline takes
    # about 310-340 s instead of 180 s and, corrected for the logged exposure, their list trails
    # the default's by 1.6 % on true utility. With a ranker serving, the demo's batch runs at
    # 1,600-2,000 users/s (AVX2 or AVX-512 machines), at or below its 2,000 users/s bar, so a
    # shop opts in.
    recs_source_rankers: bool = Field(
        default=False,
        description="Let the source rankers (LambdaRank over the simple sources' candidates) "
        "challenge the recs selection's choices (ADR-0035).",
    )
    lock_wait_seconds: float = Field(
        default=0.0,
        ge=0,
        description="A run finding the home locked by another run waits this long for it (0: fail at once).",
    )

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if value not in {"duckdb", "spark"}:
            raise ValueError(f"engine must be 'duckdb' or 'spark', got {value!r}")
        return value

    @cached_property
    def shop(self) -> ShopConfig:
        """The shop's deployment file (:mod:`vitrina.shop_config`), read once per settings object."""
        return load_shop_config(shop_file_path(self.home, self.shop_file))

    @property
    def lake(self) -> str:
        """The lake root as an fsspec URL or local path."""
        return self.lake_url or str(self.home / "lake")


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (tests, CLI flags)."""
    return Settings(**overrides)  # type: ignore[arg-type]
