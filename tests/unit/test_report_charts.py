"""The report chart's time axis: round buckets on the campaign's clock, labels on bars."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from dialer.results.charts import Timeline, render_timeline, time_axis

NINE = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC).timestamp())  # 09:00 on the wall clock


def test_a_ten_minute_campaign_has_ten_second_bars_labelled_on_whole_minutes() -> None:
    axis = time_axis([NINE + 5, NINE + 600], "Asia/Shanghai")
    assert axis.step_s == 10 and axis.count == 61
    assert axis.labels[:3] == ["09:00:00", "09:01:00", "09:02:00"]
    assert axis.ticks[:3] == [0, 6, 12]  # tick = index of the bar that starts then
    assert axis.title == "start of each 10 seconds (2026-03-02, Asia/Shanghai)"


def test_a_three_day_campaign_has_hourly_bars_with_dates() -> None:
    axis = time_axis([NINE, NINE + 3 * 86400 - 1], "Asia/Shanghai")
    assert axis.step_s == 3600 and axis.count == 72
    assert all(0 <= t < axis.count for t in axis.ticks) and len(axis.ticks) <= 11
    assert axis.labels[:3] == ["03-02 12:00", "03-03 00:00", "03-03 12:00"]
    assert axis.ticks[0] == 3  # 09:00 + 3 h
    assert axis.title == "start of each hour (Asia/Shanghai)"


def test_buckets_follow_the_campaigns_clock_not_utc() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    at_ms = int(dt.datetime(2026, 3, 2, 9, 0, 30, tzinfo=zone).timestamp() * 1000)
    timeline = Timeline.empty()
    for i in range(60):
        timeline.add(at_ms + i * 1000, 0)
    svg = render_timeline(timeline, zone)
    # matplotlib draws text as paths and keeps it in comments: labels are on São Paulo's
    # clock (UTC-3), not UTC's 12:00:30.
    labels = re.findall(r"<!-- (.*?) -->", svg)
    assert labels[:3] == ["09:00:30", "09:00:40", "09:00:50"]
    assert "start of each 10 seconds (2026-03-02, America/Sao_Paulo)" in labels
    assert not any(label.startswith("12:") for label in labels)


def test_no_calls_no_chart() -> None:
    assert render_timeline(Timeline.empty(), ZoneInfo("Asia/Shanghai")) == ""
