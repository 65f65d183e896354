"""Drift inputs from the recommendation features and from the served predictions.

**Features** (:mod:`vitrina.adapters.features`): the ``user``, ``item`` and ``user_category`` frames
are computed as of the end of every reference block and as of the end of the current
window, so each windowed feature covers exactly one block; the reference pools its blocks.
Monitored: every feature whose look-back fits in one block (the 7-day and 24-hour counts
and CTRs at the default window) and the catalog attributes, except

* functions of the cutoff itself (hour / weekday of ``as_of``, ``item_freshness_days``):
  they differ between two cutoffs by construction;
* duplicates (``*_code`` of the category labels, ``item_log_price`` of ``item_price``).

Impression counts (``item_views_*``, ``user_cat_impressions_7d``) count what the served lists
showed: every shown item is a view event. They are monitored as model outputs (ADR-0031):
a new recommender that concentrates its lists on fewer products moves them on the first live
day with the same shoppers (the live shop's first day: ``item_views_24h`` PSI 0.14, the
products viewed 1 550 → 1 400 a day). Clicks, purchases and CTRs stay data: the shoppers
decide them.

Catalog attributes are current values (the lake keeps no catalog history), so
``item_price`` is the same in both windows except for new products; the price actually
paid is monitored on ``transactions`` (see :mod:`vitrina.pipelines.drift.monitored_tables`).
Rows of ``user`` and ``user_category`` exist for 30 or 90 days of activity; only rows with
activity inside the block are kept, so a longer-lived row does not dilute a 7-day count.

**Predictions**: the audit copy of every published batch
(``predictions/recs/…``, see :mod:`vitrina.pipelines.recs.batch`). The latest batch is the current
one, the one before it the reference.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.compute as pc

from vitrina.adapters.features.definitions import FRAMES, FeatureFrame
from vitrina.adapters.lake.io import list_parquet_files, read_table
from vitrina.adapters.lake.paths import LakePaths
from vitrina.bootstrap import compute_features_configured
from vitrina.config import Settings
from vitrina.core.drift.decision import Kind, MonitoredTable
from vitrina.core.drift.windows import DriftWindows
from vitrina.pipelines.recs.batch import AUDIT_SCHEMA, AUDIT_TABLE

MONITORED_FRAMES = ("user", "item", "user_category")
"""``user_affinity`` has only 30-day features: none fits a 7-day block."""
CUTOFF_FUNCTIONS = frozenset(
    {"user_hour_sin", "user_hour_cos", "user_dow_sin", "user_dow_cos", "item_freshness_days"}
)
DUPLICATES = frozenset({"item_log_price"})
ACTIVE_ROWS_ONLY = frozenset({"user", "user_category"})
IMPRESSION_COUNTS = frozenset({"item_views_24h", "item_views_7d", "user_cat_impressions_7d"})
"""Counts of what the served lists showed: model outputs (module docstring)."""


def frame_columns(frame: FeatureFrame, window_days: int) -> dict[str, Kind]:
    """The monitored features of ``frame`` at blocks of ``window_days`` (module docstring)."""
    columns: dict[str, Kind] = {}
    for feature in frame.features:
        skip = feature.name in CUTOFF_FUNCTIONS | DUPLICATES or feature.name.endswith("_code")
        if skip or (feature.window_days is not None and feature.window_days > window_days):
            continue
        columns[feature.name] = "categorical" if feature.dtype == "string" else "numeric"
    if frame.name == "user_category":
        columns["category_l1"] = "categorical"  # the key: which L1s users were active in
    return columns


def _active(frame: pd.DataFrame, spec: FeatureFrame, columns: dict[str, Kind]) -> pd.DataFrame:
    counts = [f.name for f in spec.features if f.name in columns and f.dtype == "int64"]
    if spec.name not in ACTIVE_ROWS_ONLY or not counts:
        return frame
    return frame[frame[counts].fillna(0).gt(0).any(axis=1)]


def feature_tables(settings: Settings, windows: DriftWindows) -> list[MonitoredTable]:
    """One table per monitored frame, rows as of the block ends (reference) and the end (current)."""
    cutoffs = [*windows.reference_cutoffs, windows.end]
    computed = compute_features_configured(settings, cutoffs, MONITORED_FRAMES)
    end = pd.Timestamp(windows.end)
    tables = []
    for name in MONITORED_FRAMES:
        spec = FRAMES[name]
        columns = frame_columns(spec, windows.block_days)
        if not columns:
            continue
        frame = _active(computed[name].to_pandas(), spec, columns)
        is_current = frame["as_of"] == end
        active = " (rows active in the block only)" if name in ACTIVE_ROWS_ONLY else ""
        tables.append(
            MonitoredTable(
                f"{name}_features",
                f"{spec.description.rstrip('.')}; as of each block's end{active}",
                "recs",
                columns,
                frame[~is_current].reset_index(drop=True),
                frame[is_current].reset_index(drop=True),
                descriptions={f.name: f.description for f in spec.features if f.name in columns},
                outputs=IMPRESSION_COUNTS & set(columns),
            )
        )
    return tables


def prediction_batches(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The previous and the latest published batches (rows of the audit table), or None
    when fewer than two batches were published."""
    lake = LakePaths(settings.lake)
    if not list_parquet_files(lake, "predictions", AUDIT_TABLE):
        return None
    table = read_table(lake, "predictions", AUDIT_TABLE, schema=AUDIT_SCHEMA)
    stamps = sorted(set(pc.unique(table["generated_at"]).to_pylist()))
    if len(stamps) < 2:
        return None
    frame = table.to_pandas()
    previous, latest = stamps[-2], stamps[-1]
    return (
        frame[frame["generated_at"] == previous].reset_index(drop=True),
        frame[frame["generated_at"] == latest].reset_index(drop=True),
    )


def ranked_lists(batch: pd.DataFrame) -> list[list[str]]:
    """Each user's product ids in rank order."""
    ordered = batch.sort_values(["user_id", "rank"])
    return [list(items) for _, items in ordered.groupby("user_id", sort=True)["product_id"]]
