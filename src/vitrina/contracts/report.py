"""What one validation run found: per-table counts, reasons, freshness; data plus a rich view."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table

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
class TableReport:
    """One table's outcome. ``input_rows == valid_rows + quarantined_rows`` always.

    ``input_rows`` counts rows after the catalog change log is collapsed; the collapsed
    versions are ``superseded_rows`` (kept in raw, neither valid nor quarantined).
    ``published`` is False when ``validated/`` was left untouched because the invalid
    share exceeded the threshold. ``stale`` is set for dated tables whose newest valid
    timestamp is older than the freshness limit (a warning: no row is quarantined for it).
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

    @property
    def invalid_share(self) -> float:
        return self.quarantined_rows / self.input_rows if self.input_rows else 0.0


@dataclass(frozen=True)
class ValidationReport:
    """The whole run. ``failed`` names the tables over ``max_invalid_share`` (or stale, when
    staleness is configured to fail); ``missing`` the tables with no raw files."""

    run_id: str
    validated_at: dt.datetime
    max_invalid_share: float
    freshness_max_age_hours: float
    tables: dict[str, TableReport]
    missing: tuple[str, ...]
    failed: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failed

    def reason_counts(self) -> dict[str, dict[str, int]]:
        """``{table: {reason code: rows}}`` for every table with quarantined rows."""
        return {name: dict(t.reasons) for name, t in self.tables.items() if t.reasons}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (what is written to ``reports/validation/``)."""
        payload = asdict(self)
        for name, table in self.tables.items():
            payload["tables"][name]["invalid_share"] = table.invalid_share
        return payload

    def render(self) -> Group:
        """Per table: input / valid / quarantined / share / superseded / freshness; then reasons."""
        summary = Table(title=f"validation {self.run_id}", title_justify="left")
        for header in SUMMARY_COLUMNS:
            summary.add_column(header, justify="left" if header in ("table", "status") else "right")
        for name, t in self.tables.items():
            status = []
            if not t.published:
                status.append("[bold red]over threshold, validated/ kept[/]")
            elif name in self.failed:
                status.append("[bold red]failed[/]")
            if t.stale:
                status.append("[yellow]stale[/]")
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
            summary.add_row(name, "0", "-", "-", "-", "-", "-", "-", "[dim]no raw files[/]")
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
        parts.extend(f"[yellow]warning:[/] {w}" for w in self.warnings)
        return Group(*parts)
