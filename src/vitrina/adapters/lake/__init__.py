"""The lake: paths, atomic Parquet I/O over fsspec, DuckDB views."""

from vitrina.adapters.lake.paths import LAYERS, LakePaths, Layer

__all__ = ["LAYERS", "LakePaths", "Layer"]
