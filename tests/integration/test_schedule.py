"""A campaign's schedule (--start-at / --end-at): nothing is dialled before its start, no call
begins after its end, calls in progress finish, and rows still waiting end with
Schedule.Ended. Real Redis, real `celery worker` processes, the simulator."""

from __future__ import annotations

import argparse
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from support import NUMBERS, calls_log, engine_env, new_campaign, wait_until, write_sheet

from dialer.errors import DialerError
from dialer.models import CampaignStatus
from dialer.options.upload import add_upload_options, settings_from_args
from dialer.settings import Settings


def run_to_done(engine, simulator, redis_server, namespace, workers, cid: str) -> None:
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    wait_until(
        lambda: engine.store.campaign(cid).status is CampaignStatus.DONE,
        60,
        "the campaign to be DONE",
    )


def test_no_call_begins_after_the_end_and_rows_still_waiting_end_with_the_reason(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    ends_at = engine.now_ms() + 10_000  # workers take seconds to start on a busy machine
    cid = new_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 60),
        pool=NUMBERS[:1],
        rate_per_s=2.0,
        end_at_ms=ends_at,
    )
    run_to_done(engine, simulator, redis_server, namespace, workers, cid)
    rows = [(s.split("|")[0], r) for _, s, r in engine.store.iter_rows(cid)]
    dialled = [r for s, r in rows if s == "DISPATCHED"]
    ended = [r for s, r in rows if s == "CANCELLED"]
    assert dialled and ended and len(dialled) + len(ended) == 60
    assert all(int(r["last_attempt_at"]) < ends_at for r in dialled)
    assert {r["error_code"] for r in ended} == {"Schedule.Ended"}
    assert len(calls_log(simulator.config.calls_log)) == len(dialled)


def test_a_started_campaign_dials_nothing_before_its_start(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    starts_at = engine.now_ms() + 2500
    cid = new_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 3),
        pool=NUMBERS[:1],
        rate_per_s=5.0,
        start_at_ms=starts_at,
    )
    run_to_done(engine, simulator, redis_server, namespace, workers, cid)
    firsts = [int(r["first_attempt_at"]) for _, _s, r in engine.store.iter_rows(cid)]
    assert len(firsts) == 3 and min(firsts) >= starts_at


def upload_args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_upload_options(parser)
    return parser.parse_args(["s.csv", "--instance-id", "ccc-test", *extra])


def test_start_and_end_are_read_in_the_campaigns_zone() -> None:
    args = upload_args(
        "--timezone",
        "Asia/Shanghai",
        "--start-at",
        "2026-12-05 09:30",
        "--end-at",
        "2026-12-05T18:00",
    )
    s = settings_from_args(args, Settings())
    zone = ZoneInfo("Asia/Shanghai")
    assert s.start_at_ms == int(dt.datetime(2026, 12, 5, 9, 30, tzinfo=zone).timestamp() * 1000)
    assert s.end_at_ms == int(dt.datetime(2026, 12, 5, 18, tzinfo=zone).timestamp() * 1000)
    with pytest.raises(DialerError, match="--end-at must be after --start-at"):
        settings_from_args(
            upload_args("--start-at", "2026-12-05 10:00", "--end-at", "2026-12-05 09:00"),
            Settings(),
        )
