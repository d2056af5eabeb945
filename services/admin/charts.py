"""The dashboard's charts, drawn here as SVG (no script, no library, nothing fetched): a bar
per bucket, its height the no-show rate, its label the bucket and its count underneath, a
`<title>` on each bar for the exact figures. The SVG scales to the width it is given
(`viewBox`), so it fits a phone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from services.admin.schemas import Bucket

HEIGHT = 150
TOP = 18
BOTTOM = 34
LEFT = 30
RIGHT = 14  # room for the last label
BAR_GAP = 0.25


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.0f}%"


def rate_chart(title: str, buckets: Sequence[Bucket], *, width: int = 360,
               label_every: int = 1) -> str:
    """A bar chart of no-show rates, 0 to 100% (or to the highest rate, rounded up to a
    tenth, when every rate is lower: small rates stay readable)."""
    t = escape(title)
    if not buckets:
        return f'<figure class="chart"><figcaption>{t}</figcaption><p class="muted">No ' \
               'kept or missed appointments in this period yet.</p></figure>'
    top = max((b.rate or 0.0) for b in buckets)
    scale = max(0.1, min(1.0, math.ceil(top * 10) / 10))  # up to a tenth
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (width - LEFT - RIGHT) / len(buckets)
    bar = slot * (1 - BAR_GAP)
    parts = [f'<svg viewBox="0 0 {width} {HEIGHT}" width="100%" role="img" '
             f'aria-label="{t}" xmlns="http://www.w3.org/2000/svg">']
    for frac in (0.0, 0.5, 1.0):  # grid lines and their labels
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" x2="{width - 2}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#d0d4da" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#555">{scale * frac * 100:.0f}%</text>')
    for i, b in enumerate(buckets):
        x = LEFT + i * slot + (slot - bar) / 2
        h = plot_h * min(1.0, (b.rate or 0.0) / scale)
        y = TOP + plot_h - h
        seen = b.completed + b.no_show
        tip = escape(f"{b.key}: {_pct(b.rate)} no-shows ({b.no_show} of {seen})")
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                     f'height="{max(h, 0.5):.1f}" fill="#c0392b"><title>{tip}</title></rect>')
        if b.rate is not None and bar >= 14:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="9" '
                         f'text-anchor="middle" fill="#222">{_pct(b.rate)}</text>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 13}" '
                         f'font-size="10" text-anchor="middle" fill="#333">'
                         f'{escape(b.key)}</text>')
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - BOTTOM + 26}" '
                         f'font-size="9" text-anchor="middle" fill="#777">n={seen}</text>')
    parts.append("</svg>")
    return f'<figure class="chart"><figcaption>{t}</figcaption>{"".join(parts)}</figure>'
