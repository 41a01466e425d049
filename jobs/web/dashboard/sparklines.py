"""Inline SVG sparklines, drawn on the server: no script, no CDN, no front-end build."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

COLOURS = {"completed": "#417690", "failed": "#ba2121"}


def sparkline(
    lines: dict[str, list[float]], *, label: str, width: int = 120, height: int = 28
) -> SafeString:
    """One polyline per series (same length), scaled together from zero to their peak."""
    peak = max((v for values in lines.values() for v in values), default=0.0) or 1.0
    polylines = []
    for name, values in lines.items():
        if not values:
            continue
        step = width / max(len(values) - 1, 1)
        points = " ".join(
            f"{i * step:.1f},{height - 1 - (v / peak) * (height - 2):.1f}"
            for i, v in enumerate(values)
        )
        polylines.append((COLOURS.get(name, "#666"), points))
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="{}"><title>{} (peak {})</title>{}</svg>',
        width,
        height,
        width,
        height,
        label,
        label,
        _number(peak if peak != 1.0 or any(lines.values()) else 0),
        format_html_join(
            "",
            '<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>',
            polylines,
        ),
    )


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
