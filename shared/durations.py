"""Human durations for messages: 250 -> '4 min 10 s'."""

from __future__ import annotations

import math


def humanize_seconds(seconds: float) -> str:
    """Round up to whole seconds and spell out days/hours/minutes/seconds, largest two units."""
    total = max(0, math.ceil(seconds))
    if total < 60:
        return f"{total} s"
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        value, total = divmod(total, size)
        if value or parts:
            parts.append(f"{value} {name}")
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0 "))


def approximate(seconds: float) -> str:
    """A loose estimate for ETAs: 'a few seconds', '40 s', '3 min'."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"{int(round(seconds / 10.0) * 10)} s"
    return f"{int(round(seconds / 60.0))} min"
