"""Folder artifacts replaced as a whole: a reader sees the old folder or the new one, never a mix."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing_folder(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``path`` to write into; on success it takes the
    place of ``path`` (the old folder, if any, is removed); on error ``path`` is untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()
    try:
        yield tmp
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def require_folder(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or ``FileNotFoundError`` naming ``what`` was expected there."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"no {what} at {folder}")
    return folder
