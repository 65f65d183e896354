"""Lake layout (docs/spec.md §1): ``<layer>/<table>/dt=YYYY-MM-DD/part-*.parquet``.

Paths are plain strings joined with ``/`` so the same layout works for a local folder
and for any fsspec URL (``s3://bucket/lake``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Layer = Literal[
    "raw", "validated", "quarantine", "features", "models", "predictions", "reports", "truth", "state"
]
LAYERS: tuple[Layer, ...] = (
    "raw",
    "validated",
    "quarantine",
    "features",
    "models",
    "predictions",
    "reports",
    "truth",
    "state",
)


PARTITION_GLOB = "dt=*/[!._]*.parquet"


@dataclass(frozen=True)
class LakePaths:
    """Builds every path of the lake from its root URL."""

    root: str

    def layer(self, layer: Layer) -> str:
        return f"{self.root.rstrip('/')}/{layer}"

    def table(self, layer: Layer, table: str) -> str:
        return f"{self.layer(layer)}/{table}"

    def partition(self, layer: Layer, table: str, day: dt.date) -> str:
        return f"{self.table(layer, table)}/dt={day.isoformat()}"

    def glob(self, layer: Layer, table: str) -> str:
        """Glob over the visible Parquet files of a table's ``dt=`` partitions (DuckDB, pyarrow).

        Hidden names (``.x`` temporaries, ``_x`` staging folders) never match, as in ``lake.io``.
        """
        return f"{self.table(layer, table)}/{PARTITION_GLOB}"
