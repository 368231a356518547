"""Calling windows and contact caps with an injected clock, real Redis and the simulator:
rows are fed and placed in-process, one pass at a time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from support import NUMBERS, feed_now, new_campaign, write_sheet

from dialer.campaign.status import render, status_view
from dialer.ccc.client import CccClient
from dialer.engine import Engine
from dialer.models import CampaignSettings
from dialer.worker.dialing import place_one
from dialer.worker.feeder import Feeder

SH = ZoneInfo("Asia/Shanghai")
BROKER = NUMBERS[0]


def sh(*args: int) -> float:
    return dt.datetime(*args, tzinfo=SH).timestamp()


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine(depth=10)


def campaign(engine: Engine, tmp_path, callees: list[str], caller: str = "13800000001", **kw):
    sheet = write_sheet(tmp_path / f"s{len(list(tmp_path.iterdir()))}.csv", callees, caller=caller)
    # These calls all ring one caller, back to back: what is tested here is the callee's side
    # (tests/integration/test_callers.py tests the caller's).
    kw.setdefault("caller_pacing", False)
    return new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=100.0, **kw)


def drive(engine: Engine, client: CccClient, cid: str, now: float) -> list[str]:
    """Feed once and place every fed row with the clock at `now`."""
    camp = engine.store.campaign(cid)
    return [
        place_one(engine, client, camp, job, clock=lambda: now)
        for job in feed_now(engine, cid, now=now)
    ]


def states(engine: Engine, cid: str) -> list[tuple[str, str]]:
    return [(s, r.get("error_code", "")) for _, s, r in engine.store.iter_rows(cid)]


def test_feeder_feeds_nothing_outside_the_window_and_says_when_it_resumes(engine, tmp_path):
    cid = campaign(engine, tmp_path, ["13900000001"], windows=("09:00-12:00", "14:00-21:00"))
    fed: list = []
    clock = {"now": sh(2026, 11, 24, 12, 30)}
    feeder = Feeder(engine, fed.extend, clock=lambda: clock["now"])
    assert feeder.tick() == 0 and fed == []
    report = status_view(engine, cid)
    assert engine.store.campaign(cid).resumes_at_ms == sh(2026, 11, 24, 14, 0) * 1000
    clock["now"] = sh(2026, 11, 24, 14, 0)
    feeder.refresh()  # at once, instead of waiting out the refresh interval
    assert feeder.tick() == 1
    assert report.status.value == "RUNNING"


def test_status_shows_when_dialling_resumes(engine, tmp_path, monkeypatch):
    cid = campaign(engine, tmp_path, ["13900000001"], windows=("00:00-00:01",))
    later = dt.datetime.now(SH).replace(hour=12, minute=0).timestamp()
    Feeder(engine, lambda jobs: None, clock=lambda: later).tick()
    text = render(status_view(engine, cid))
    assert "outside calling hours (00:00–00:01 Asia/Shanghai): dialling resumes at" in text


def test_window_crossing_midnight_feeds_after_midnight(engine, tmp_path):
    campaign(engine, tmp_path, ["13900000001"], windows=("22:00-02:00",))
    clock = {"now": sh(2026, 11, 24, 21, 0)}
    feeder = Feeder(engine, lambda jobs: None, clock=lambda: clock["now"])
    assert feeder.tick() == 0
    clock["now"] = sh(2026, 11, 25, 1, 30)
    feeder.refresh()
    assert feeder.tick() == 1


def test_callee_daily_and_monthly_caps_hold_across_campaigns(engine, client, tmp_path):
    x = "13900000001"
    monday = sh(2026, 11, 23, 10, 0)
    caps = {
        "callee_daily_cap": 1,
        "callee_monthly_cap": 2,
        "windows": ("09:00-21:00",),
        "pair_guard_s": 0,
    }
    a = campaign(engine, tmp_path, [x], **caps)
    assert drive(engine, client, a, monday) == ["DISPATCHED"]
    b = campaign(engine, tmp_path, [x], **caps)
    assert drive(engine, client, b, monday) == ["daily_cap"]
    assert states(engine, b) == [("RETRY_WAIT", "Cap.Callee")]
    due = engine.store.r.zrange(engine.keys.retry(b), 0, -1, withscores=True)
    assert due[0][1] == sh(2026, 11, 24, 9, 0) * 1000  # the next day's first window
    tuesday = sh(2026, 11, 24, 10, 0)
    c = campaign(engine, tmp_path, [x], **caps)
    assert drive(engine, client, c, tuesday) == ["DISPATCHED"]
    d = campaign(engine, tmp_path, [x], **caps)
    assert drive(engine, client, d, sh(2026, 11, 25, 10, 0)) == ["monthly_cap"]
    assert states(engine, d) == [("FAILED", "Cap.Callee")]


def test_caps_off_with_zero(engine, client, tmp_path):
    x = "13900000001"
    off = {"callee_daily_cap": 0, "callee_monthly_cap": 0, "pair_guard_s": 0}
    now = sh(2026, 11, 23, 10, 0)
    for _ in range(4):
        cid = campaign(engine, tmp_path, [x], **off)
        assert drive(engine, client, cid, now) == ["DISPATCHED"]


def test_same_pair_is_not_dialled_again_within_the_guard(engine, client, tmp_path, simulator):
    now = sh(2026, 11, 23, 10, 0)
    a = campaign(engine, tmp_path, ["13900000001"])
    assert drive(engine, client, a, now) == ["DISPATCHED"]
    b = campaign(engine, tmp_path, ["13900000001"])
    assert drive(engine, client, b, now) == ["pair_guard"]
    assert states(engine, b) == [("RETRY_WAIT", "Cap.PairGuard")]
    other_caller = campaign(engine, tmp_path, ["13900000001"], caller="13800000002")
    assert drive(engine, client, other_caller, now) == ["DISPATCHED"]
    assert len(simulator.state.snapshot()) == 2


def test_a_call_that_never_left_does_not_count_against_the_caps(
    engine, client, tmp_path, simulator
):
    now = sh(2026, 11, 23, 10, 0)
    simulator.faults.fail_rate = 1.0
    a = campaign(engine, tmp_path, ["13900000001"], callee_daily_cap=1, max_attempts=1)
    assert drive(engine, client, a, now) == ["FAILED"]
    simulator.faults.fail_rate = 0.0
    b = campaign(engine, tmp_path, ["13900000001"], callee_daily_cap=1)
    assert drive(engine, client, b, now) == ["DISPATCHED"]


def test_broker_daily_cap_stops_the_broker_until_the_next_day(engine, client, tmp_path):
    callees = [f"1390000000{i}" for i in range(4)]
    cid = campaign(engine, tmp_path, callees, broker_daily_cap=2)
    now = sh(2026, 11, 23, 10, 0)
    assert drive(engine, client, cid, now) == [
        "DISPATCHED",
        "DISPATCHED",
        "broker_cap",
        "broker_cap",
    ]
    assert drive(engine, client, cid, now) == []  # capped brokers are not fed
    counts = engine.store.counts(cid)
    assert counts == {"DISPATCHED": 2, "PENDING": 2}
    later = sh(2026, 11, 24, 10, 0)
    assert drive(engine, client, cid, later) == ["DISPATCHED", "DISPATCHED"]


def test_default_settings_follow_the_carriers_rule() -> None:
    settings = CampaignSettings("t", "i")
    assert settings.windows == ("09:00-21:00",) and settings.timezone == "Asia/Shanghai"
    assert (settings.callee_daily_cap, settings.callee_monthly_cap) == (3, 5)
    assert settings.pair_guard_s == 60.0
    assert dataclasses.replace(settings, broker_daily_cap=0).broker_daily_cap == 0
