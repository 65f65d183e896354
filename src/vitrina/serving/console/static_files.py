"""Files the console serves from a folder, and only from inside it.

A name that passed the routes' patterns can still be a symbolic link (or sit in a linked
folder) pointing anywhere on the machine: a link in the home to ``/etc/passwd`` must not be
served as a model card's image. :func:`inside` resolves the real path, links included, and
answers only when it lies inside the folder's own real path.
"""

from __future__ import annotations

from pathlib import Path


def inside(folder: Path, *parts: str) -> Path | None:
    """The real path of ``folder / parts`` when it is a regular file inside ``folder`` (after
    following every link), else None."""
    try:
        root = folder.resolve(strict=True)
        path = folder.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of links
        return None
    return path if path.is_relative_to(root) and path.is_file() else None
