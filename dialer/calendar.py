"""Calling windows in a campaign's time zone: when dialling is allowed, and day/month keys for
the per-callee and per-broker caps. Every function takes the time, so tests drive the clock."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.errors import ConfigError

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAY_MINUTES = 24 * 60


def parse_window(text: str) -> tuple[int, int]:
    """'09:00-12:00' -> (540, 720) minutes of the day; '22:00-02:00' crosses midnight."""
    match = _WINDOW.match(text)
    if not match:
        raise ConfigError(f"a calling window looks like 09:00-21:00, not {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > DAY_MINUTES or start == end:
        raise ConfigError(f"not a valid calling window: {text!r}")
    return start, end


@dataclass(frozen=True)
class Calendar:
    windows: tuple[tuple[int, int], ...]
    tz: ZoneInfo

    @classmethod
    def of(cls, windows: tuple[str, ...], timezone: str) -> Calendar:
        """The calendar for these settings; built once, then shared (the feeder asks every
        tick and every call asks once)."""
        return _calendar(tuple(windows), timezone)

    @classmethod
    def _build(cls, windows: tuple[str, ...], timezone: str) -> Calendar:
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {timezone!r}") from None
        return cls(tuple(parse_window(w) for w in windows), tz)

    def local(self, ts: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(ts, self.tz)

    def is_open(self, ts: float) -> bool:
        now = self.local(ts)
        minute = now.hour * 60 + now.minute
        for start, end in self.windows:
            if start < end and start <= minute < end:
                return True
            if start > end and (minute >= start or minute < end):
                return True
        return False

    def next_open(self, ts: float) -> float:
        """The first moment at or after `ts` inside a window (ts itself when open)."""
        if self.is_open(ts):
            return ts
        now = self.local(ts)
        candidates = []
        for day in range(0, 3):
            date = (now + dt.timedelta(days=day)).date()
            for start, _ in self.windows:
                # Built as wall-clock time in the zone, so DST shifts land where people expect.
                at = dt.datetime(
                    date.year, date.month, date.day, start // 60, start % 60, tzinfo=self.tz
                )
                if at.timestamp() > ts:
                    candidates.append(at.timestamp())
        return min(candidates)

    def window_end(self, ts: float) -> float:
        """When the window `ts` lies in closes (`ts` itself when it is outside every window).
        Windows that meet or overlap count as one."""
        end = ts
        for _ in range(8):  # a week of back-to-back windows at most (never: around the clock)
            if not self.is_open(end):
                break
            end = max(self._ends_of_windows_open_at(end))
        return end

    def _ends_of_windows_open_at(self, ts: float) -> list[float]:
        now = self.local(ts)
        minute = now.hour * 60 + now.minute
        midnight = dt.datetime(now.year, now.month, now.day, tzinfo=self.tz)
        ends = []
        for start, end in self.windows:
            if start < end and start <= minute < end:
                ends.append(_wall(midnight, 0, end))
            elif start > end and minute >= start:
                ends.append(_wall(midnight, 1, end))
            elif start > end and minute < end:
                ends.append(_wall(midnight, 0, end))
        return ends

    def after_open_seconds(
        self, ts: float, seconds: float, *, max_days: int = 3660
    ) -> float | None:
        """The moment `seconds` of calling-window time have passed after `ts`: when work that
        takes that long at full speed is done, dialling only inside the windows. None when
        that is more than `max_days` away."""
        if self.is_always_open():
            return ts + seconds if seconds < max_days * 86400 else None
        at = self.next_open(ts)
        left = seconds
        while at - ts < max_days * 86400:
            end = self.window_end(at)
            if end - at >= left:
                return at + left
            left -= end - at
            at = self.next_open(end)
        return None

    def describe(self) -> str:
        """'09:00–12:00, 14:00–21:00 Asia/Shanghai', or 'around the clock (Asia/Shanghai)'."""
        if self.is_always_open():
            return f"around the clock ({self.tz.key})"
        spans = ", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in self.windows)
        return f"{spans} {self.tz.key}"

    def is_always_open(self) -> bool:
        covered: set[int] = set()
        for start, end in self.windows:
            span = range(start, end) if start < end else [*range(start, DAY_MINUTES), *range(end)]
            covered.update(span)
        return len(covered) == DAY_MINUTES

    def day_key(self, ts: float) -> str:
        return self.local(ts).strftime("%Y%m%d")

    def month_key(self, ts: float) -> str:
        return self.local(ts).strftime("%Y%m")

    def next_day_open(self, ts: float) -> float:
        """The first window opening on a later calendar day than `ts` (for a daily cap)."""
        now = self.local(ts)
        tomorrow = dt.datetime(now.year, now.month, now.day, tzinfo=self.tz) + dt.timedelta(days=1)
        return self.next_open(tomorrow.timestamp())


def _wall(midnight: dt.datetime, days: int, minute: int) -> float:
    """Epoch seconds of a wall-clock time `days` after `midnight`'s date (DST-aware)."""
    day = (midnight + dt.timedelta(days=days)).date() + dt.timedelta(days=minute // DAY_MINUTES)
    rest = minute % DAY_MINUTES
    return dt.datetime(
        day.year, day.month, day.day, rest // 60, rest % 60, tzinfo=midnight.tzinfo
    ).timestamp()


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@functools.lru_cache(maxsize=256)
def _calendar(windows: tuple[str, ...], timezone: str) -> Calendar:
    return Calendar._build(windows, timezone)
