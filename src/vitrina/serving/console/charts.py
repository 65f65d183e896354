"""Charts as inline SVG, rendered on the server (no JavaScript chart library, works offline).

Three shapes cover the console: :func:`bar_chart` (the ablation, step durations),
:func:`heatmap` (PSI per feature over time) and :func:`ci_chart` (an estimate with its
confidence interval per row: experiment lifts). Each returns one ``<svg role="img">`` with a
``<title>`` and ``<desc>`` (read by screen readers), and a ``<title>`` per mark (a hover
tooltip), as :class:`markupsafe.Markup` so templates insert it unescaped. Every text that
comes from data is escaped here. Colours are CSS classes (``console.css``), not literals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import count

from markupsafe import Markup

_ids = count()
LABEL_CHARS = 7.0
"""Approximate width of one label character in px at the charts' 12 px font."""


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None or not math.isfinite(value) else format(value, spec)


def _svg(width: float, height: float, title: str, desc: str, body: list[str]) -> Markup:
    uid = f"chart{next(_ids)}"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-labelledby="{uid}-t {uid}-d">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _label_width(labels: Sequence[str], minimum: float = 60.0, maximum: float = 260.0) -> float:
    longest = max((len(label) for label in labels), default=0)
    return min(max(minimum, longest * LABEL_CHARS + 12), maximum)


def bar_chart(
    bars: Sequence[tuple[str, float | None]],
    *,
    title: str,
    value_format: str = ".4f",
    highlight: Sequence[str] = (),
    width: float = 640.0,
    bar_height: float = 22.0,
) -> Markup:
    """Horizontal bars, one per ``(label, value)`` in the given order; ``None`` (not measured)
    draws no bar and prints "—". Bars named in ``highlight`` get the ``bar-hi`` class. Values
    must be ≥ 0 (metrics, seconds)."""
    labels = [label for label, _ in bars]
    left = _label_width(labels)
    value_room = 70.0
    plot = max(width - left - value_room, 40.0)
    finite = [v for _, v in bars if v is not None and math.isfinite(v)]
    if any(v < 0 for v in finite):
        raise ValueError("bar_chart draws values >= 0 only")
    top = max(finite, default=0.0) or 1.0
    height = bar_height * len(bars) + 8
    body: list[str] = []
    for i, (label, value) in enumerate(bars):
        y = 4 + i * bar_height
        text = _fmt(value, value_format)
        body.append(
            f'<text class="chart-label" x="{left - 6:.1f}" y="{y + bar_height * 0.68:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        length = 0.0 if value is None or not math.isfinite(value) else plot * value / top
        css = "bar bar-hi" if label in highlight else "bar"
        body.append(
            f'<rect class="{css}" x="{left:.1f}" y="{y + 3:.1f}" width="{length:.1f}" '
            f'height="{bar_height - 6:.1f}"><title>{escape(label)}: {text}</title></rect>'
        )
        body.append(
            f'<text class="chart-value" x="{left + length + 4:.1f}" '
            f'y="{y + bar_height * 0.68:.1f}">{text}</text>'
        )
    desc = "; ".join(f"{label} {_fmt(value, value_format)}" for label, value in bars)
    return _svg(width, height, title, desc, body)


def psi_level(value: float | None, warn: float, critical: float) -> str:
    """``na`` | ``ok`` | ``warn`` | ``crit``: the CSS class of a PSI cell (docs/spec.md §5.4 bands)."""
    if value is None or not math.isfinite(value):
        return "na"
    return "crit" if value >= critical else "warn" if value >= warn else "ok"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    warn: float = 0.10,
    critical: float = 0.25,
    cell: float = 28.0,
) -> Markup:
    """A ``len(rows) × len(columns)`` grid; each cell is coloured by its PSI band
    (:func:`psi_level`) with an opacity growing with the value, and prints it when it is at
    least ``warn``. ``None`` means not measured (hatched)."""
    if len(values) != len(rows) or any(len(r) != len(columns) for r in values):
        raise ValueError(f"values must be {len(rows)} rows of {len(columns)} columns")
    left = _label_width(rows, maximum=320.0)
    header = 90.0
    width = left + cell * len(columns) + 90  # room for the last rotated column label
    height = header + cell * len(rows) + 8
    body: list[str] = []
    for j, column in enumerate(columns):
        x = left + j * cell + cell / 2
        body.append(
            f'<text class="chart-label" transform="translate({x:.1f},{header - 6:.1f}) rotate(-55)">'
            f"{escape(column)}</text>"
        )
    for i, row in enumerate(rows):
        y = header + i * cell
        body.append(
            f'<text class="chart-label" x="{left - 6:.1f}" y="{y + cell * 0.62:.1f}" '
            f'text-anchor="end">{escape(row)}</text>'
        )
        for j, value in enumerate(values[i]):
            x = left + j * cell
            level = psi_level(value, warn, critical)
            strength = 1.0 if value is None else min(0.35 + 0.65 * min(value / critical, 1.0), 1.0)
            text = _fmt(value, ".3f")
            body.append(
                f'<rect class="cell cell-{level}" x="{x + 1:.1f}" y="{y + 1:.1f}" '
                f'width="{cell - 2:.1f}" height="{cell - 2:.1f}" fill-opacity="{strength:.2f}">'
                f"<title>{escape(row)} · {escape(columns[j])}: PSI {text}</title></rect>"
            )
            if value is not None and level in ("warn", "crit"):
                body.append(
                    f'<text class="cell-text" x="{x + cell / 2:.1f}" y="{y + cell * 0.62:.1f}" '
                    f'text-anchor="middle">{value:.2f}</text>'
                )
    flagged = sum(1 for r in values for v in r if psi_level(v, warn, critical) in ("warn", "crit"))
    desc = f"{len(rows)} × {len(columns)}; {flagged} ≥ {warn}"
    return _svg(width, height, title, desc, body)


@dataclass(frozen=True)
class Interval:
    """One row of a :func:`ci_chart`: an estimate and its interval (same units)."""

    label: str
    estimate: float
    low: float
    high: float
    significant: bool = False


def ci_chart(
    rows: Sequence[Interval],
    *,
    title: str,
    value_format: str = "+.1%",
    width: float = 640.0,
    row_height: float = 30.0,
) -> Markup:
    """Each row's estimate as a dot with its interval as a whisker, on one axis that always
    includes 0 (a dashed reference line: no effect). Significant rows get the ``ci-sig``
    class. Non-finite bounds are drawn as the estimate alone."""
    left = _label_width([r.label for r in rows])
    right = 12.0
    finite = [v for r in rows for v in (r.estimate, r.low, r.high) if math.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    pad = (hi - lo) * 0.08 or 0.01
    lo, hi = lo - pad, hi + pad
    plot = max(width - left - right, 40.0)

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * plot

    axis = 22.0
    height = row_height * len(rows) + axis + 8
    body = [
        f'<line class="ci-zero" x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - axis:.1f}"/>',
        f'<text class="chart-value" x="{left:.1f}" y="{height - 6:.1f}">{_fmt(lo, value_format)}</text>',
        f'<text class="chart-value" x="{x(0):.1f}" y="{height - 6:.1f}" text-anchor="middle">0</text>',
        f'<text class="chart-value" x="{left + plot:.1f}" y="{height - 6:.1f}" '
        f'text-anchor="end">{_fmt(hi, value_format)}</text>',
    ]
    for i, row in enumerate(rows):
        y = 4 + i * row_height + row_height / 2
        css = "ci ci-sig" if row.significant else "ci"
        tip = (
            f"{row.label}: {_fmt(row.estimate, value_format)} "
            f"[{_fmt(row.low, value_format)}, {_fmt(row.high, value_format)}]"
        )
        body.append(
            f'<text class="chart-label" x="{left - 6:.1f}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(row.label)}</text>'
        )
        body.append(f'<g class="{css}"><title>{escape(tip)}</title>')
        if math.isfinite(row.low) and math.isfinite(row.high):
            body.append(f'<line x1="{x(row.low):.1f}" y1="{y:.1f}" x2="{x(row.high):.1f}" y2="{y:.1f}"/>')
            for end in (row.low, row.high):
                body.append(f'<line x1="{x(end):.1f}" y1="{y - 6:.1f}" x2="{x(end):.1f}" y2="{y + 6:.1f}"/>')
        if math.isfinite(row.estimate):
            body.append(f'<circle cx="{x(row.estimate):.1f}" cy="{y:.1f}" r="5"/>')
        body.append("</g>")
    desc = "; ".join(
        f"{r.label} {_fmt(r.estimate, value_format)} "
        f"({_fmt(r.low, value_format)} … {_fmt(r.high, value_format)})"
        for r in rows
    )
    return _svg(width, height, title, desc, body)
