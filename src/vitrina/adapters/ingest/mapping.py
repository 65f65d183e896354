"""The import mapping file: how one shop's own files become vitrina's canonical raw tables.

A data engineer writes it once (``docs/reference/import-mapping.md`` documents every key) and
``vitrina data import`` runs it. A mistake in it must be cheap to find, so every error names
the file and the line it comes from (``mapping.yaml:23: …``): the YAML is composed with PyYAML
first to keep each key's line (:class:`MappingLines`), then loaded and validated by the
pydantic model of :mod:`vitrina.adapters.ingest.mapping_model`; a validation error's location is
walked back to the line of the key it names. Checks that need no data (canonical names,
references between tables, the columns a table must give) are done here, before any file is read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from vitrina.adapters.contracts.schemas import NULLABLE
from vitrina.adapters.ingest.mapping_model import (
    FORMATS,
    ColumnSpec,
    CsvSource,
    Filter,
    JsonLinesSource,
    Mapping,
    ParquetSource,
    PostgresSource,
    Sessions,
)
from vitrina.core.tables import TABLES

Path_ = tuple[str | int, ...]
"""Where a value sits in the mapping: keys and list positions from the top."""

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
SESSION_COLUMNS = ("user_id", "ts", "session_id")


class MappingError(ValueError):
    """A mapping file that cannot be run; ``str()`` is ``file:line: what is wrong``."""

    def __init__(self, file: str, line: int, detail: str) -> None:
        super().__init__(f"{file}:{line}: {detail}")
        self.file = file
        self.line = line
        self.detail = detail


@dataclass(frozen=True)
class MappingLines:
    """The line (1-based) of every key and list item of one mapping file."""

    file: str
    lines: dict[Path_, int]

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (1 for the file itself)."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return 1

    def error(self, path: Path_, detail: str) -> MappingError:
        return MappingError(self.file, self.line(path), detail)


@dataclass(frozen=True)
class LoadedMapping:
    """A checked mapping, the lines of its keys and the folder its source paths start from."""

    mapping: Mapping
    lines: MappingLines
    root: Path


# -- YAML with lines -------------------------------------------------------------------------


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`
                _walk(value_node, path, lines, file)
                continue
            key = str(key_node.value)
            if key in seen:
                raise MappingError(file, key_node.start_mark.line + 1, f"{key!r} is given twice")
            seen.add(key)
            lines.setdefault((*path, key), key_node.start_mark.line + 1)
            _walk(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, index), item.start_mark.line + 1)
            _walk(item, (*path, index), lines, file)


_OPENED_CONTEXTS = (
    "while parsing a flow",
    "while scanning a quoted scalar",
    "while scanning a double-quoted",
)


def _yaml_error(file: str, error: yaml.YAMLError) -> MappingError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        if context.startswith(_OPENED_CONTEXTS):  # an unclosed bracket or quote: where it opened
            problem = f"{context} opened here: {problem} on line {line}"
            line = context_mark.line + 1
        else:
            problem = f"{problem} ({context} on line {context_mark.line + 1})"
    return MappingError(file, line, f"not valid YAML: {problem}")


def _expand(value: Any, path: Path_, lines: MappingLines) -> Any:
    """``${NAME}`` (or ``${NAME:-default}``) in any text value becomes that environment variable."""
    if isinstance(value, dict):
        return {key: _expand(item, (*path, key), lines) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, (*path, index), lines) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is not None:
            return found
        if default is not None:
            return default
        raise lines.error(path, f"environment variable {name} is not set")

    return _ENV.sub(substitute, value)


# -- pydantic errors → lines -----------------------------------------------------------------

_KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "mapping": ("name", "root", "sources", "tables"),
    "csv": tuple(CsvSource.model_fields),
    "parquet": tuple(ParquetSource.model_fields),
    "jsonl": tuple(JsonLinesSource.model_fields),
    "postgres": tuple(PostgresSource.model_fields),
    "table": ("from", "sql", "filters", "group_by", "columns", "sessions"),
    "column": tuple(ColumnSpec.model_fields),
    "filter": tuple(Filter.model_fields),
    "sessions": tuple(Sessions.model_fields),
}


def _data_path(loc: tuple[int | str, ...], lines: MappingLines) -> Path_:
    """The error location without pydantic's union tags (``csv``, ``ColumnSpec``, ``str``…)."""
    path: list[str | int] = []
    for part in loc:
        key: str | int = "from" if part == "from_" else part
        if (*path, key) in lines.lines:
            path.append(key)
    return tuple(path)


def _context(path: Path_, raw: dict[str, Any]) -> str:
    """Which kind of mapping ``path`` points into (to list its known keys)."""
    if len(path) <= 1:
        return "mapping"
    if path[0] == "sources":
        source = raw.get("sources", {}).get(path[1], {})
        kind = source.get("format") if isinstance(source, dict) else None
        return str(kind) if kind in FORMATS else "csv"
    if path[0] == "tables":
        if len(path) >= 5 and path[2] == "columns":
            return "column"
        if len(path) >= 5 and path[2] == "filters":
            return "filter"
        if len(path) >= 4 and path[2] == "sessions":
            return "sessions"
        return "table"
    return "mapping"


def _message(error: ErrorDetails, path: Path_, raw: dict[str, Any]) -> str:
    kind = error["type"]
    where = ".".join(str(part) for part in path)
    if kind == "extra_forbidden":
        known = ", ".join(_KNOWN_KEYS[_context(path, raw)])
        return f"unknown key {path[-1]!r} (known here: {known})"
    if kind == "missing":
        missing = error["loc"][-1]
        missing = "from" if missing == "from_" else missing
        return f"{where + ': ' if where else ''}{missing!r} is required"
    if kind == "union_tag_not_found":
        return f"{where}: say which format: format: csv | parquet | jsonl | postgres"
    if kind == "union_tag_invalid":
        return f"{where}: format must be one of csv, parquet, jsonl, postgres"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


_SCALAR_TAGS = {"str", "bool", "int", "float", "none", "list[str]"}


def _first_error(error: ValidationError, raw: dict[str, Any], lines: MappingLines) -> MappingError:
    """The error on the earliest line: one message, the one a reader meets first."""
    details = error.errors()
    # A union's members each report: prefer what the long form (a mapping) says over "not a text"
    structured = [d for d in details if not _SCALAR_TAGS & {str(part) for part in d["loc"]}]
    best: tuple[int, MappingError] | None = None
    for detail in structured or details:
        loc = tuple(detail["loc"])
        path = _data_path(loc, lines)
        found = MappingError(lines.file, lines.line(path), _message(detail, path, raw))
        if best is None or found.line < best[0]:
            best = (found.line, found)
    assert best is not None
    return best[1]


# -- checks that need no data ----------------------------------------------------------------


def _check_names(mapping: Mapping, lines: MappingLines) -> None:
    canonical = ", ".join(TABLES)
    for table in mapping.tables:
        if table not in TABLES:
            raise lines.error(("tables", table), f"{table!r} is not a canonical table ({canonical})")
    for name in mapping.sources:
        if name in mapping.tables:
            raise lines.error(
                ("sources", name),
                f"source {name!r} has the name of a table of this mapping; rename the source "
                f"(e.g. {name}_file) so `from: {name}` is not ambiguous",
            )


def _check_table(mapping: Mapping, table: str, built: list[str], lines: MappingLines) -> None:
    spec = TABLES[table]
    spec_path: Path_ = ("tables", table)
    entry = mapping.tables[table]
    if entry.from_ is not None and entry.from_ not in mapping.sources and entry.from_ not in built:
        later = (
            " (it is built later: order the tables so it comes first)"
            if entry.from_ in mapping.tables
            else ""
        )
        known = ", ".join([*mapping.sources, *built]) or "none"
        raise lines.error(
            (*spec_path, "from"),
            f"{table}: from {entry.from_!r} is neither a source nor an earlier table{later} (known: {known})",
        )
    for column in entry.columns:
        if column not in spec.schema.names:
            raise lines.error(
                (*spec_path, "columns", column),
                f"{table}.{column} is not a canonical column of {table} ({', '.join(spec.schema.names)})",
            )
    given = set(entry.columns)
    if entry.sessions is not None:
        lacking = [c for c in SESSION_COLUMNS if c not in spec.schema.names]
        if lacking:
            raise lines.error(
                (*spec_path, "sessions"), f"{table} has no {', '.join(lacking)}: sessions need them"
            )
        if "session_id" in given:
            raise lines.error(
                (*spec_path, "columns", "session_id"),
                f"{table}.session_id is given and also derived by sessions: keep one",
            )
        given.add("session_id")
    missing = [c for c in spec.schema.names if c not in given and c not in NULLABLE[table]]
    if missing:
        raise lines.error(
            (*spec_path, "columns") if "columns" in entry.model_fields_set else spec_path,
            f"{table}: no mapping for the canonical column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (give each a source column, an expression or a constant)",
        )


def parse_mapping(text: str, file: str) -> tuple[Mapping, MappingLines]:
    """The checked mapping in ``text`` (read from ``file``, named in errors) and its lines."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _yaml_error(file, error) from error
    lines_found: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines_found, file)
    lines = MappingLines(file, lines_found)
    if not isinstance(raw, dict):
        raise MappingError(file, 1, "a mapping file is a YAML mapping with name, sources and tables")
    raw = _expand(raw, (), lines)
    try:
        mapping = Mapping.model_validate(raw)
    except ValidationError as error:
        raise _first_error(error, raw, lines) from None
    _check_names(mapping, lines)
    built: list[str] = []
    for table in mapping.tables:
        _check_table(mapping, table, built, lines)
        built.append(table)
    return mapping, lines


def load_mapping(path: Path, data_dir: Path | None = None) -> LoadedMapping:
    """Read and check the mapping at ``path``; source paths start from ``data_dir`` when given,
    else from the mapping's ``root`` (taken from the mapping file's folder)."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise MappingError(file, 1, "no such mapping file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise MappingError(file, 1, f"cannot read the mapping file: {error}") from error
    mapping, lines = parse_mapping(text, file)
    root = data_dir if data_dir is not None else path.parent / mapping.root
    if not root.is_dir():
        where: Path_ = () if data_dir is not None else ("root",)
        how = "--data" if data_dir is not None else "root"
        raise lines.error(where, f"{how}: {root} is not a folder")
    return LoadedMapping(mapping, lines, root.resolve())
