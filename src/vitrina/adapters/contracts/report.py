"""What one validation run found: per-table counts, reasons, freshness; data plus a rich view."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rich.console import Group
from rich.table import Table
from rich.text import Text

from vitrina.core.tables import EVENT_TYPES

SUMMARY_COLUMNS = (
    "table",
    "files",
    "input",
    "valid",
    "quarantined",
    "share",
    "superseded",
    "seconds",
    "status",
)


@dataclass(frozen=True)
class FileIssue:
    """A raw file validation could not use: ``unreadable`` (its bytes copied to ``copy`` under
    ``quarantine/<table>/_files/``) or ``unsupported`` (a type the table is not read from, or
    no table's folder at all: ``table`` is None). ``error`` is ``ErrorClass: message``."""

    table: str | None
    path: str
    problem: Literal["unreadable", "unsupported"]
    error: str
    copy: str | None = None

    def line(self) -> str:
        """One line naming the file and what is wrong with it."""
        where = f" → copied to {self.copy}" if self.copy else ""
        return f"{self.problem} raw file {self.path}: {self.error}{where}"


@dataclass(frozen=True)
class TableReport:
    """One table's outcome. ``input_rows == valid_rows + quarantined_rows`` always.

    ``input_rows`` counts rows after the catalog change log is collapsed; the collapsed
    versions are ``superseded_rows`` (kept in raw, neither valid nor quarantined).
    ``published`` is False when ``validated/`` was left untouched because the invalid
    share exceeded the threshold. ``stale`` is set for dated tables whose newest valid
    timestamp is older than the freshness limit (a warning: no row is quarantined for it).
    ``files`` counts the raw files read; ``unreadable_files`` (quarantined as files) and
    ``unsupported_files`` (not read) the others. ``mapped`` counts, per column, the values the
    shop file's value maps turned into canonical ones.
    """

    table: str
    files: int
    input_rows: int
    valid_rows: int
    quarantined_rows: int
    superseded_rows: int
    reasons: dict[str, int]
    newest: dt.datetime | None
    stale: bool
    published: bool
    seconds: float = 0.0
    unreadable_files: int = 0
    unsupported_files: int = 0
    mapped: dict[str, int] = field(default_factory=dict)

    @property
    def invalid_share(self) -> float:
        return self.quarantined_rows / self.input_rows if self.input_rows else 0.0


@dataclass(frozen=True)
class ValidationReport:
    """The whole run. ``failed`` names the tables over ``max_invalid_share`` (or stale, when
    staleness is configured to fail); ``missing`` the tables with no readable raw files (not
    provided: a normal state, said plainly); ``files`` the raw files that could not be used
    (unreadable ones quarantined as files). ``shop``, ``currency``, ``event_types`` (those the
    shop logs) and ``earliest_date`` are the contract the run held the data to."""

    run_id: str
    validated_at: dt.datetime
    max_invalid_share: float
    freshness_max_age_hours: float
    tables: dict[str, TableReport]
    missing: tuple[str, ...]
    failed: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    files: tuple[FileIssue, ...] = field(default=())
    shop: str = "demo"
    currency: str = "MXN"
    event_types: tuple[str, ...] = EVENT_TYPES
    earliest_date: dt.date = dt.date(2000, 1, 1)
    fail_on_stale: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def unreadable(self) -> tuple[FileIssue, ...]:
        return tuple(f for f in self.files if f.problem == "unreadable")

    @property
    def unsupported(self) -> tuple[FileIssue, ...]:
        return tuple(f for f in self.files if f.problem == "unsupported")

    def reason_counts(self) -> dict[str, dict[str, int]]:
        """``{table: {reason code: rows}}`` for every table with quarantined rows."""
        return {name: dict(t.reasons) for name, t in self.tables.items() if t.reasons}

    def contract_lines(self) -> list[str]:
        """What the data was held to, beyond the defaults everyone shares: the event types the
        shop does not log and the tables it did not provide, each a normal state."""
        lines = []
        not_logged = [kind for kind in EVENT_TYPES if kind not in self.event_types]
        if not_logged:
            lines.append(
                f"event types logged: {', '.join(self.event_types)}; not logged by this shop "
                f"(contracts.event_types): {', '.join(not_logged)} — such events are quarantined"
            )
        if self.missing:
            lines.append(
                f"not provided (no raw files): {', '.join(self.missing)} — nothing to validate; "
                "validated/ keeps what it had, if anything"
            )
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (what is written to ``reports/validation/``)."""
        payload = asdict(self)
        for name, table in self.tables.items():
            payload["tables"][name]["invalid_share"] = table.invalid_share
        return payload

    def render(self) -> Group:
        """Per table: input / valid / quarantined / share / superseded / freshness; then reasons."""
        title = f"validation {self.run_id} · shop {self.shop} · currency {self.currency}"
        summary = Table(title=title, title_justify="left")
        for header in SUMMARY_COLUMNS:
            summary.add_column(header, justify="left" if header in ("table", "status") else "right")
        for name, t in self.tables.items():
            status = []
            if not t.published:
                status.append("[bold red]over threshold, validated/ kept[/]")
            elif name in self.failed:
                status.append("[bold red]failed[/]")
            if t.stale:
                status.append("[yellow]stale[/]" if self.fail_on_stale else "[yellow]stale (warning)[/]")
            if t.unreadable_files:
                status.append(f"[bold red]{t.unreadable_files} unreadable file(s) quarantined[/]")
            if t.unsupported_files:
                status.append(f"[yellow]{t.unsupported_files} unsupported file(s) not read[/]")
            if not status:
                status.append("[green]ok[/]")
            summary.add_row(
                name,
                str(t.files),
                f"{t.input_rows:,}",
                f"{t.valid_rows:,}",
                f"{t.quarantined_rows:,}",
                f"{t.invalid_share:.2%}",
                f"{t.superseded_rows:,}",
                f"{t.seconds:.1f}",
                " ".join(status),
            )
        for name in self.missing:
            unreadable = sum(1 for f in self.unreadable if f.table == name)
            note = f"[bold red]no readable raw files ({unreadable} unreadable)[/]"
            summary.add_row(
                name, "0", "-", "-", "-", "-", "-", "-", note if unreadable else "[dim]not provided[/]"
            )
        parts: list[Any] = [summary]
        reasons = Table(title="quarantined rows per reason", title_justify="left")
        reasons.add_column("table")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for name, counts in self.reason_counts().items():
            for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
                reasons.add_row(name, code, f"{count:,}")
        if reasons.row_count:
            parts.append(reasons)
        mapped = Table(title="values mapped by the shop file (contracts.value_maps)", title_justify="left")
        for header in ("table", "column", "values"):
            mapped.add_column(header, justify="right" if header == "values" else "left")
        for name, t in self.tables.items():
            for column, count in t.mapped.items():
                mapped.add_row(name, column, f"{count:,}")
        if mapped.row_count:
            parts.append(mapped)
        parts.extend(Text(line) for line in self.contract_lines())
        parts.extend(f"[yellow]warning:[/] {w}" for w in self.warnings)
        # one line per file (print with soft_wrap): a log search for the path finds its error
        for issue in self.files:
            unreadable = issue.problem == "unreadable"
            label = ("error: ", "bold red") if unreadable else ("warning: ", "yellow")
            parts.append(Text.assemble(label, issue.line()))
        return Group(*parts)
