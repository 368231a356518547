"""Calling windows with an injected clock: no sleeping until 9 am."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.calendar import Calendar, parse_window
from dialer.errors import ConfigError

SH = ZoneInfo("Asia/Shanghai")


def at(zone: ZoneInfo, *args: int) -> float:
    return dt.datetime(*args, tzinfo=zone).timestamp()


def test_default_carrier_window_in_shanghai_time() -> None:
    cal = Calendar.of(("09:00-21:00",), "Asia/Shanghai")
    assert not cal.is_open(at(SH, 2026, 11, 24, 8, 59))
    assert cal.is_open(at(SH, 2026, 11, 24, 9, 0))
    assert cal.is_open(at(SH, 2026, 11, 24, 20, 59))
    assert not cal.is_open(at(SH, 2026, 11, 24, 21, 0))
    # 01:00 UTC is 09:00 in Shanghai: the zone, not the server's clock, decides.
    assert cal.is_open(dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC).timestamp())


def test_two_windows_and_when_dialling_resumes() -> None:
    cal = Calendar.of(("09:00-12:00", "14:00-21:00"), "Asia/Shanghai")
    lunch = at(SH, 2026, 11, 24, 12, 30)
    assert not cal.is_open(lunch)
    assert cal.next_open(lunch) == at(SH, 2026, 11, 24, 14, 0)
    night = at(SH, 2026, 11, 24, 22, 0)
    assert cal.next_open(night) == at(SH, 2026, 11, 25, 9, 0)


def test_window_crossing_midnight() -> None:
    cal = Calendar.of(("22:00-02:00",), "Asia/Shanghai")
    assert cal.is_open(at(SH, 2026, 11, 24, 23, 30))
    assert cal.is_open(at(SH, 2026, 11, 25, 1, 59))
    assert not cal.is_open(at(SH, 2026, 11, 25, 2, 0))
    assert cal.next_open(at(SH, 2026, 11, 25, 3, 0)) == at(SH, 2026, 11, 25, 22, 0)


def test_daylight_saving_zone_opens_at_local_wall_time() -> None:
    ny = ZoneInfo("America/New_York")
    cal = Calendar.of(("09:00-17:00",), "America/New_York")
    # 2026-03-08 is the spring-forward day: 09:00 local is 13:00 UTC, the day before 14:00.
    assert cal.next_open(at(ny, 2026, 3, 7, 18, 0)) == at(ny, 2026, 3, 8, 9, 0)
    assert cal.is_open(dt.datetime(2026, 3, 8, 13, 30, tzinfo=dt.UTC).timestamp())
    assert not cal.is_open(dt.datetime(2026, 3, 7, 13, 30, tzinfo=dt.UTC).timestamp())


def test_day_keys_follow_the_campaign_zone() -> None:
    cal = Calendar.of(("09:00-21:00",), "Asia/Shanghai")
    late_utc = dt.datetime(2026, 11, 24, 17, 0, tzinfo=dt.UTC).timestamp()  # 01:00 on the 25th
    assert cal.day_key(late_utc) == "20261125"
    assert cal.month_key(at(SH, 2026, 12, 1, 0, 30)) == "202612"
    assert cal.next_day_open(at(SH, 2026, 11, 24, 10, 0)) == at(SH, 2026, 11, 25, 9, 0)


@pytest.mark.parametrize("bad", ["9-21", "25:00-26:00", "09:00-09:00", "09:60-10:00"])
def test_bad_windows_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_window(bad)


def test_unknown_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        Calendar.of(("09:00-21:00",), "Mars/Olympus")
