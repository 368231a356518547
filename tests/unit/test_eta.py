"""Time left over the calling windows, and what a running campaign is doing when it is not
dialling (waiting for a retry or a cap, stalled): pure functions, the clock handed in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.calendar import Calendar
from dialer.campaign.activity import (
    Activity,
    BrokerStatus,
    StallCause,
    Wait,
    WaitFor,
    activity,
    format_duration,
    pause_code,
)
from dialer.campaign.status import dialling_seconds
from dialer.engine import Campaign, Progress
from dialer.models import CampaignSettings, CampaignStatus

SH = ZoneInfo("Asia/Shanghai")
DAY = 86400.0


def sh(*args: int) -> float:
    return dt.datetime(*args, tzinfo=SH).timestamp()


def test_work_longer_than_today_s_window_finishes_on_a_later_day() -> None:
    cal = Calendar.of(("09:00-21:00",), "Asia/Shanghai")
    start = sh(2026, 3, 2, 20, 0)
    # 1 h today, 12 h tomorrow, 12 h the day after, 5 h on the third day.
    assert cal.after_open_seconds(start, 30 * 3600) == sh(2026, 3, 5, 14, 0)
    assert cal.after_open_seconds(start, 3600) == sh(2026, 3, 2, 21, 0)


def test_work_asked_outside_the_windows_starts_when_they_open() -> None:
    cal = Calendar.of(("09:00-12:00", "14:00-21:00"), "Asia/Shanghai")
    assert cal.after_open_seconds(sh(2026, 3, 2, 12, 30), 3600) == sh(2026, 3, 2, 15, 0)
    assert cal.after_open_seconds(sh(2026, 3, 2, 22, 0), 4 * 3600) == sh(2026, 3, 3, 15, 0)


def test_windows_that_meet_or_cross_midnight_count_as_one_stretch() -> None:
    meeting = Calendar.of(("09:00-12:00", "12:00-21:00"), "Asia/Shanghai")
    assert meeting.window_end(sh(2026, 3, 2, 10, 0)) == sh(2026, 3, 2, 21, 0)
    night = Calendar.of(("22:00-02:00",), "Asia/Shanghai")
    assert night.window_end(sh(2026, 3, 2, 23, 0)) == sh(2026, 3, 3, 2, 0)
    # 3 h to 02:00, then 2 h from 22:00 the next evening.
    assert night.after_open_seconds(sh(2026, 3, 2, 23, 0), 5 * 3600) == sh(2026, 3, 4, 0, 0)


def test_around_the_clock_is_plain_addition_and_said_so() -> None:
    cal = Calendar.of(("00:00-24:00",), "Asia/Shanghai")
    assert cal.after_open_seconds(1000.0, 3 * DAY) == 1000.0 + 3 * DAY
    assert cal.describe() == "around the clock (Asia/Shanghai)"
    two = Calendar.of(("09:00-12:00", "14:00-21:00"), "Asia/Shanghai")
    assert two.describe() == "09:00–12:00, 14:00–21:00 Asia/Shanghai"


def test_daylight_saving_day_is_counted_in_wall_clock_hours() -> None:
    ny = ZoneInfo("America/New_York")
    cal = Calendar.of(("09:00-21:00",), "America/New_York")
    before = dt.datetime(2026, 3, 7, 20, 0, tzinfo=ny).timestamp()  # clocks spring forward on 8th
    assert (
        cal.after_open_seconds(before, 2 * 3600)
        == dt.datetime(2026, 3, 8, 10, 0, tzinfo=ny).timestamp()
    )


DURATIONS = [
    (200_000, "2 d 8 h"),
    (2 * DAY + 59 * 60, "2 d 1 h"),
    (84_000, "23 h 20 min"),
    (86_300, "1 d 0 h"),
    (7500, "2 h 5 min"),
    (3590, "1 h 0 min"),
    (450, "8 min"),
    (40, "40 s"),
]


@pytest.mark.parametrize(("seconds", "text"), DURATIONS)
def test_durations_never_wrap_at_a_day(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def broker(number: str, waiting: int, rate: float = 1.0, down: str = "") -> BrokerStatus:
    return BrokerStatus(number, rate, 0, 0.0, waiting, down)


def test_dialling_time_is_set_by_the_busiest_broker() -> None:
    brokers = [broker("A", 1000), broker("B", 10)]
    assert dialling_seconds({"PENDING": 1010}, brokers, None) == 1000.0
    # Every row over every broker when rows wait elsewhere (retries), or the account cap.
    assert dialling_seconds({"PENDING": 10, "RETRY_WAIT": 90}, [broker("A", 10)], None) == 100
    assert dialling_seconds({"PENDING": 1010}, brokers, 0.5) == 2020.0
    assert dialling_seconds({"PENDING": 5}, [broker("A", 5, down="NotExists.Number")], None) is None


def campaign(running_since_ms: int, **settings: object) -> Campaign:
    return Campaign(
        id="c1",
        settings=CampaignSettings("t", "ccc-test", **settings),  # type: ignore[arg-type]
        status=CampaignStatus.RUNNING,
        file="s.csv",
        created_at_ms=0,
        passthrough=(),
        running_since_ms=running_since_ms,
    )


NOW = sh(2026, 3, 2, 10, 0)
CAL = Calendar.of(("09:00-21:00",), "Asia/Shanghai")


def progress(**kw: object) -> Progress:
    base: dict = {"next_retry_ms": None, "capped": {}, "fed": True, "last_call_ms": 0}
    return Progress(**{**base, **kw})


def doing(camp: Campaign, counts: dict[str, int], brokers: list[BrokerStatus], prog: Progress):
    return activity(camp, counts, brokers, prog, CAL, int(NOW * 1000))


def test_running_with_rows_and_calls_lately_is_dialling() -> None:
    now = doing(
        campaign(0), {"PENDING": 5}, [broker("A", 5)], progress(last_call_ms=int(NOW * 1000) - 2000)
    )
    assert now.activity is Activity.DIALLING and now.resumes_at_ms is None


def test_no_call_for_minutes_without_a_feeder_is_stalled() -> None:
    ten_min_ago = int(NOW * 1000) - 600_000
    now = doing(
        campaign(ten_min_ago),
        {"PENDING": 5},
        [broker("A", 5)],
        progress(fed=False, last_call_ms=ten_min_ago),
    )
    assert now.activity is Activity.STALLED
    assert "no call has begun for 10 min" in now.reason and "no worker is feeding" in now.reason
    assert now.resumes_at_ms is None
    # The same facts as data, for the console to word in its own language.
    assert now.stall is StallCause.NO_FEEDER and now.idle_s == 600


def test_no_call_for_minutes_while_its_callers_talk_is_not_a_stall() -> None:
    ten_min_ago = int(NOW * 1000) - 600_000
    now = activity(
        campaign(ten_min_ago),
        {"PENDING": 5},
        [broker("A", 5)],
        progress(last_call_ms=ten_min_ago),
        CAL,
        int(NOW * 1000),
        callers_busy=True,
    )
    assert now.activity is Activity.DIALLING


def test_a_campaign_just_started_is_not_stalled() -> None:
    now = doing(
        campaign(int(NOW * 1000) - 5000), {"PENDING": 5}, [broker("A", 5)], progress(fed=False)
    )
    assert now.activity is Activity.DIALLING


def test_a_slow_broker_s_gap_between_calls_is_not_a_stall() -> None:
    last = int(NOW * 1000) - 20 * 60_000  # 20 min ago, at 1 call per 10 min
    now = doing(
        campaign(0), {"PENDING": 5}, [broker("A", 5, rate=1 / 600)], progress(last_call_ms=last)
    )
    assert now.activity is Activity.DIALLING


def test_only_retries_left_waits_until_the_next_one_in_the_campaign_zone() -> None:
    due = sh(2026, 3, 2, 10, 5)
    now = doing(
        campaign(0),
        {"RETRY_WAIT": 3, "DISPATCHED": 7},
        [broker("A", 0)],
        progress(next_retry_ms=int(due * 1000)),
    )
    assert now.activity is Activity.WAITING
    assert now.resumes_at_ms == int(due * 1000)
    assert "2026-03-02 10:05:00 Asia/Shanghai" in now.reason


def test_a_retry_due_after_hours_waits_for_the_next_window() -> None:
    due = sh(2026, 3, 2, 22, 0)
    now = doing(
        campaign(0), {"RETRY_WAIT": 1}, [broker("A", 0)], progress(next_retry_ms=int(due * 1000))
    )
    assert now.resumes_at_ms == int(sh(2026, 3, 3, 9, 0) * 1000)


def test_every_broker_capped_today_waits_for_tomorrow_s_window() -> None:
    now = doing(
        campaign(0, broker_daily_cap=2),
        {"PENDING": 5},
        [broker("A", 5)],
        progress(capped={"A": "20260302"}),
    )
    assert now.activity is Activity.WAITING
    assert now.resumes_at_ms == int(sh(2026, 3, 3, 9, 0) * 1000)
    assert "daily cap of 2 calls" in now.reason
    assert now.waits == (Wait(WaitFor.BROKER_CAP, int(sh(2026, 3, 3, 9, 0) * 1000), 5, 2),)


def test_rows_in_flight_are_dialling_even_when_the_rest_wait() -> None:
    now = doing(
        campaign(0),
        {"DIALING": 1, "RETRY_WAIT": 3},
        [broker("A", 0)],
        progress(next_retry_ms=int(NOW * 1000) + 60_000, last_call_ms=int(NOW * 1000)),
    )
    assert now.activity is Activity.DIALLING


def test_rows_waiting_for_busy_callers_wait_until_the_first_is_free() -> None:
    free = sh(2026, 3, 2, 10, 3)
    now = doing(
        campaign(0),
        {"PENDING": 4, "DISPATCHED": 2},
        [broker("A", 0)],
        progress(parked=4, caller_free_ms=int(free * 1000)),
    )
    assert now.activity is Activity.WAITING
    assert now.resumes_at_ms == int(free * 1000)
    assert "4 row(s) wait for their caller, busy on another call" in now.reason
    assert "Dialling resumes at 2026-03-02 10:03:00 Asia/Shanghai" in now.reason


def test_the_first_wait_to_end_says_when_dialling_resumes() -> None:
    retry, free = sh(2026, 3, 2, 10, 5), sh(2026, 3, 2, 10, 3)
    now = doing(
        campaign(0),
        {"PENDING": 1, "RETRY_WAIT": 1},
        [broker("A", 0)],
        progress(next_retry_ms=int(retry * 1000), parked=1, caller_free_ms=int(free * 1000)),
    )
    assert now.resumes_at_ms == int(free * 1000)
    assert "tried again" in now.reason and "busy on another call" in now.reason
    assert now.waits == (
        Wait(WaitFor.RETRY, int(retry * 1000), 1),
        Wait(WaitFor.CALLER, int(free * 1000), 1),
    )


def test_a_pause_reason_gives_its_reason_code() -> None:
    from dialer.engine import PAUSED_BY_USER

    assert pause_code(PAUSED_BY_USER) == "Operator.Pause"
    assert pause_code("NotExists.InstanceId: the instance does not exist") == "NotExists.InstanceId"
    assert (
        pause_code(
            "no usable broker: CCC refused 0215123**** (NotExists.Number) on instance "
            "ccc-1; add the number"
        )
        == "Broker.NoneUsable"
    )
    assert pause_code("no healthy worker: w2@b (SignatureDoesNotMatch)") == "Worker.NoneHealthy"
    assert pause_code("") == "" and pause_code("something else") == ""


def test_every_row_finished_with_records_awaited_that_may_recycle_is_waiting_not_stalled() -> None:
    ten_min_ago = int(NOW * 1000) - 600_000
    lookup = sh(2026, 3, 2, 10, 1)
    now = doing(
        campaign(ten_min_ago, recycle={"CALLEE_NO_ANSWER": [60.0]}),
        {"DISPATCHED": 10},
        [broker("A", 0)],
        progress(last_call_ms=ten_min_ago, records_awaited=2, next_lookup_ms=int(lookup * 1000)),
    )
    assert now.activity is Activity.WAITING and now.resumes_at_ms is None
    assert [(w.kind, w.rows) for w in now.waits] == [(WaitFor.RECORDS, 2)]
    assert now.reason == (
        "every row finished; 2 call record(s) awaited, which may send a customer round again "
        "(next lookup at 2026-03-02 10:01:00 Asia/Shanghai)"
    )
