"""A recommender's artifact on disk: ``arrays.safetensors`` + ``params.json`` in one folder.

Safetensors and JSON, never pickle: loading a model file must not run code. ``params["kind"]``
names the class that wrote it, so a folder is never loaded as another model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy.typing as npt

from vitrina.core.artifacts.arrays import load_arrays, load_meta, save_arrays, save_meta


def save_artifact(folder: str | Path, arrays: dict[str, npt.NDArray[Any]], params: dict[str, Any]) -> None:
    """``arrays.safetensors`` + ``params.json`` under ``folder`` (both written atomically)."""
    save_arrays(Path(folder) / "arrays.safetensors", arrays)
    save_meta(Path(folder) / "params.json", params)


def load_artifact(folder: str | Path, kind: str) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """The arrays and parameters under ``folder``; raises when it holds another ``kind``."""
    params = load_meta(Path(folder) / "params.json")
    if params.get("kind") != kind:
        raise ValueError(f"{folder} holds a {params.get('kind')!r}, not a {kind}")
    return load_arrays(Path(folder) / "arrays.safetensors"), params
