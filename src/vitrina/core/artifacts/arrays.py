"""Model artifacts in safe formats: named arrays in safetensors, metadata in JSON.

No pickle: a model directory can be loaded by the service without executing code from it.
Writes are atomic (temporary file, then rename), so a reader never sees a half-written file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from safetensors.numpy import load_file, save_file

from vitrina.core.artifacts.files import read_json, write_json_atomic


def save_arrays(path: str | Path, arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Write ``arrays`` (name → numpy array, any numeric or bool dtype) to a safetensors file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    save_file({name: np.ascontiguousarray(value) for name, value in arrays.items()}, str(tmp))
    tmp.replace(target)


def load_arrays(path: str | Path) -> dict[str, npt.NDArray[Any]]:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no safetensors file at {path}")
    return dict(load_file(str(path)))


def save_meta(path: str | Path, payload: dict[str, Any]) -> None:
    write_json_atomic(payload, str(Path(path).resolve()))


def load_meta(path: str | Path) -> dict[str, Any]:
    payload = read_json(str(Path(path).resolve()))
    if not isinstance(payload, dict):
        raise FileNotFoundError(f"no JSON metadata at {path}")
    return payload


def replace_folder(staged: str | Path, target: str | Path) -> None:
    """Move the completely written folder ``staged`` to ``target`` (same file system).

    An existing ``target`` is set aside first and deleted only after the move, so a failure
    before the move leaves the previous artifact in place; readers see the old folder or
    the new one, never a mix.
    """
    new, final = Path(staged), Path(target)
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    new.rename(final)
    if old.exists():
        shutil.rmtree(old)
