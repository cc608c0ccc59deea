"""Accessible, server-rendered SVG charts (no JavaScript): each has a title, a description
and a text label on every bar; pages show the same figures as a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count

from markupsafe import Markup, escape

_ids = count(1)
# Colours from the GOV.UK palette with ≥ 4.5:1 contrast against white text or the page.
BAR_COLOURS = ("#1d70b8", "#505a5f", "#00703c", "#912b88", "#d4351c")
WIDTH, LABEL_WIDTH, BAR_HEIGHT, GAP = 640, 200, 22, 10


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and the text shown at its end."""

    label: str
    value: float
    text: str
    series: int = 0


def bar_chart(
    title: str,
    description: str,
    bars: Sequence[Bar],
    scale_at_least: float = 0.0,
    empty: str = "No data",
) -> Markup:
    """A horizontal bar chart as inline SVG, scaled to the largest value, or to
    ``scale_at_least`` when every value is smaller (a few minutes are not drawn as long as the
    chart's unit, an hour); ``empty`` (in the page's language) when there is no bar."""
    uid = next(_ids)
    height = max(1, len(bars)) * (BAR_HEIGHT + GAP) + GAP
    top = max(max((b.value for b in bars), default=0.0), scale_at_least) or 1.0
    room = WIDTH - LABEL_WIDTH - 110
    parts = [
        f'<svg class="civicloom-chart" role="img" width="100%" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="chart-{uid}-title chart-{uid}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{uid}-title">{escape(title)}</title>',
        f'<desc id="chart-{uid}-desc">{escape(description)}</desc>',
    ]
    for i, bar in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        w = max(0.0, bar.value) / top * room
        colour = BAR_COLOURS[bar.series % len(BAR_COLOURS)]
        parts.append(
            f'<g><text x="{LABEL_WIDTH - 8}" y="{y + BAR_HEIGHT - 6}" text-anchor="end" '
            f'font-size="14" fill="#0b0c0c">{escape(bar.label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
            f'fill="{colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
            f'<text x="{LABEL_WIDTH + w + 6:.1f}" y="{y + BAR_HEIGHT - 6}" font-size="14" '
            f'fill="#0b0c0c">{escape(bar.text)}</text></g>'
        )
    if not bars:
        parts.append(f'<text x="8" y="{BAR_HEIGHT}" font-size="14">{escape(empty)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
