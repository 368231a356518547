"""The one way a stored time is shown: in the campaign's zone, the zone named. The CLI, the
console, the results sheets and the report all come here, so a campaign in America/New_York
reads New York times everywhere (times are stored as epoch milliseconds)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000


@cache
def zone(name: str) -> ZoneInfo:
    """The zone `name` (an IANA name, checked when the campaign was made)."""
    return ZoneInfo(name)


def local(ms: Any, timezone: str) -> dt.datetime | None:
    """A stored epoch-milliseconds value as an aware datetime in `timezone`; None for none."""
    if ms in (None, ""):
        return None
    return dt.datetime.fromtimestamp(int(float(ms)) / 1000, zone(timezone))


def shown(ms: Any, timezone: str, *, seconds: bool = True) -> str:
    """'2026-03-02 09:00:05 Asia/Shanghai' ('' for no time)."""
    moment = local(ms, timezone)
    if moment is None:
        return ""
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{moment.strftime(fmt)} {timezone}"


def clock(ms: int, timezone: str, now_ms: int) -> str:
    """A time within a day of `now_ms` as '10:42:07 (Asia/Shanghai)', an older one with its
    date: what a status line needs."""
    moment = local(ms, timezone)
    assert moment is not None
    if abs(now_ms - ms) < DAY_MS:
        return f"{moment:%H:%M:%S} ({timezone})"
    return f"{moment:%Y-%m-%d %H:%M:%S} ({timezone})"
