"""``vitrina data generate``: simulate the marketplace and write raw tables plus the hidden truth.

Order of work: validate arguments → build the static marketplace → clear the raw and truth
tables this run owns → simulate and write day by day (memory stays bounded by one day) →
write the catalog (lake or PostgreSQL), users and synonyms snapshots → write the truth.
"""

from __future__ import annotations

import datetime as dt
import logging
import resource
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from rich.table import Table

from vitrina.adapters.lake.io import remove_table, write_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.lake.truth import clear_truth
from vitrina.config import Settings
from vitrina.core.artifacts.files import write_bytes_atomic
from vitrina.core.tables import AGE_RANGES, CATALOG, SEGMENTS, TS, USERS
from vitrina.simulator.common import US_PER_DAY, format_ids
from vitrina.simulator.day import simulate_day
from vitrina.simulator.day_tables import day_tables
from vitrina.simulator.market import SELLER_ID, Marketplace, build_marketplace
from vitrina.simulator.scales import get_scale
from vitrina.simulator.scenarios import SCENARIOS
from vitrina.simulator.truth import write_truth
from vitrina.simulator.vocabulary import synonyms_csv_bytes

log = logging.getLogger(__name__)

RAW_TABLES = ("catalog", "users", "events", "transactions", "search_logs", "synonyms")
PART = "sim"  # fixed part name: regenerating into the same home replaces files


@dataclass
class GenerationSummary:
    """What a generation wrote, how long it took and the peak memory of the process."""

    scale: str
    seed: int
    drift: str | None
    start_date: dt.date
    end_date: dt.date
    lake: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    peak_memory_mb: float = 0.0
    catalog_destination: str = "raw/catalog"

    def render(self) -> Table:
        title = (
            f"marketplace {self.scale} · seed {self.seed} · {self.start_date} → {self.end_date}"
            f"{' · drift ' + self.drift if self.drift else ''}"
        )
        table = Table(title=title)
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, count in self.counts.items():
            table.add_row(name, f"{count:,}")
        table.caption = (
            f"{self.seconds:.1f} s · peak memory {self.peak_memory_mb:,.0f} MB · "
            f"catalog → {self.catalog_destination} · lake {self.lake}"
        )
        return table


def _check_arguments(drift: str | None, end_date: dt.date | None, catalog_to: str | None) -> dt.date:
    if drift is not None and drift not in SCENARIOS:
        raise ValueError(f"unknown drift {drift!r}; expected one of {', '.join(SCENARIOS)}")
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    last = end_date or yesterday
    if last > yesterday:
        raise ValueError(
            f"end_date {last} must be {yesterday} (yesterday, UTC) or earlier: "
            "a later day would write timestamps in the future"
        )
    if catalog_to is not None and not catalog_to.startswith(("postgresql://", "postgres://", "postgresql+")):
        raise ValueError(f"catalog_to must be a PostgreSQL URL (postgresql://…), got {catalog_to!r}")
    return last


def catalog_table(m: Marketplace) -> pa.Table:
    """The catalog snapshot at the end of the window (drifted prices included)."""
    cat, tax = m.catalog, m.taxonomy
    end_day = float(m.scale.n_days)
    products = np.arange(cat.n)
    price = np.round(cat.base_price * m.world.price_factor(products, end_day - 1e-9), 2)
    updated = cat.updated_us
    if m.drift is not None and m.drift.scenario == "price_inflation":
        changed = m.world.price_jump != 1.0
        updated = np.where(changed, np.maximum(updated, m.start_us + m.drift.start_day * US_PER_DAY), updated)
    leaves = tax.leaves
    columns = {
        "product_id": m.product_ids,
        "title": pa.array(cat.titles),
        "description": pa.array(cat.descriptions),
        "category_l1": pa.array(np.array(tax.l1_names)[cat.l1]),
        "category_l2": pa.array(np.array(tax.l2_names)[cat.l2]),
        "category_l3": pa.array(np.array([leaf.l3 for leaf in leaves])[cat.leaf]),
        "brand": pa.array(np.array(tax.brand_names)[cat.brand]),
        "price": pa.array(price),
        "cost": pa.array(cat.cost),
        "stock": pa.array(cat.stock),
        "seller_id": pa.array(format_ids(SELLER_ID[0], cat.seller, SELLER_ID[1])),
        "created_at": pa.array(cat.created_us, type=TS),
        "updated_at": pa.array(updated, type=TS),
        "is_sponsored": pa.array(cat.is_sponsored),
        "is_reported": pa.array(cat.is_reported),
    }
    return pa.Table.from_pydict(columns, schema=CATALOG.schema)


def users_table(m: Marketplace) -> pa.Table:
    """The users snapshot: everyone signed up by the last day."""
    u = m.users
    signup = np.array(m.start_date, dtype="datetime64[D]") + u.signup_day
    columns = {
        "user_id": m.user_ids,
        "signup_date": pa.array(signup, type=pa.date32()),
        "age_range": pa.array(np.array(AGE_RANGES)[u.age]),
        "city": pa.array(np.array(u.city_names)[u.city]),
        "segment": pa.array(np.array(SEGMENTS)[u.segment]),
        "lifetime_value": pa.array(u.lifetime_value),
    }
    return pa.Table.from_pydict(columns, schema=USERS.schema)


def _peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def generate_marketplace(
    settings: Settings,
    *,
    scale: str,
    seed: int,
    drift: str | None,
    end_date: dt.date | None,
    catalog_to: str | None,
) -> GenerationSummary:
    """Generate the marketplace into ``settings.lake``; deterministic for (seed, scale, drift, end_date).

    ``end_date`` is the last simulated day (default yesterday, UTC, so the data is fresh).
    With ``catalog_to`` (a PostgreSQL URL) the catalog is upserted into
    ``settings.catalog_table`` there instead of being written to ``raw/catalog``.
    """
    began = time.perf_counter()
    spec = get_scale(scale)
    last = _check_arguments(drift, end_date, catalog_to)
    m = build_marketplace(spec, seed, last, drift)
    lake = LakePaths(settings.lake)
    for name in RAW_TABLES:
        remove_table(lake, "raw", name)
    clear_truth(settings)

    counts = {"events": 0, "transactions": 0, "search_logs": 0}
    truth_parts: list[pa.Table] = []
    for day in range(spec.n_days):
        tables = day_tables(m, simulate_day(m, day))
        for name in counts:
            table = getattr(tables, name)
            counts[name] += table.num_rows
            # one file per simulated day: a row that crossed midnight can never overwrite another day's
            write_table(lake, "raw", name, table, "ts", part=f"{PART}-{day:03d}")
        truth_parts.append(tables.search_truth)
        log.debug("simulated day %d/%d", day + 1, spec.n_days)

    catalog = catalog_table(m)
    destination = "raw/catalog"
    if catalog_to is None:
        write_table(lake, "raw", "catalog", catalog, None, snapshot_day=last, part=PART)
    else:
        from vitrina.adapters.ingest.catalog_to_postgres import load_catalog_to_postgres

        load_catalog_to_postgres(catalog, catalog_to, settings.catalog_table)
        destination = f"PostgreSQL table {settings.catalog_table}"
    write_table(lake, "raw", "users", users_table(m), None, snapshot_day=last, part=PART)
    write_bytes_atomic(synonyms_csv_bytes(), f"{lake.table('raw', 'synonyms')}/synonyms.csv")
    truth_counts = write_truth(settings, m, pa.concat_tables(truth_parts), last.isoformat())
    counts = {"catalog": catalog.num_rows, "users": m.users.n, **counts, **truth_counts}
    return GenerationSummary(
        scale=spec.name,
        seed=seed,
        drift=drift,
        start_date=m.start_date,
        end_date=last,
        lake=settings.lake,
        counts=counts,
        seconds=time.perf_counter() - began,
        peak_memory_mb=_peak_memory_mb(),
        catalog_destination=destination,
    )
