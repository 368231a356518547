"""Pacing arithmetic: how far apart a broker's calls are set, and how pacing is judged.

The reservation itself is Lua on the Redis clock (dialer/engine/lua feed.lua and
begin_dial.lua); the interval is computed here once, at upload, and stored per broker."""

from __future__ import annotations

from dialer.models import CampaignSettings


def interval_ms(settings: CampaignSettings, broker: str, margin_ms: float) -> float:
    """Spacing between a broker's calls: 1/rate, plus a margin for the send jitter after the
    start is recorded (at most 2% of the interval). FEED reserves slots 1% further apart still
    (SLOT_SLACK in the Lua prelude), so utilisation stays >= 0.97."""
    base = 1000.0 / settings.rate_for(broker)
    return base + min(margin_ms, base / 50)


def worst_window(times: list[float], width_s: float = 1.0) -> int:
    """Most calls inside any window [t, t + width) that starts at a call: the figure the
    per-broker limit is checked against in tests and benchmarks."""
    times = sorted(times)
    worst, j = 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + width_s:
            j += 1
        worst = max(worst, j - i)
    return worst
