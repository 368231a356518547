"""`dialer status` tells the truth, on a real Redis: a rate and an ETA over the calling
windows only while the campaign dials; outside its hours, or paused, the reason and when it
resumes, in the campaign's zone; `status --watch` ends with an exit status that says how the
campaign ended."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from zoneinfo import ZoneInfo

import pytest
from support import NUMBERS, live_worker, new_campaign, wait_until, write_sheet

from dialer import times
from dialer.campaign.activity import Activity
from dialer.campaign.status import render, status_view
from dialer.engine import Engine

NY = "America/New_York"  # not the machine's zone, nor the default


def windows_from_now(zone: str, start_min: int, end_min: int) -> tuple[str, dt.datetime]:
    """A daily window from `start_min` to `end_min` minutes after this minute, in `zone`;
    with the minute it opens today (or tomorrow)."""
    now = dt.datetime.now(ZoneInfo(zone)).replace(second=0, microsecond=0)
    start, end = now + dt.timedelta(minutes=start_min), now + dt.timedelta(minutes=end_min)
    return f"{start:%H:%M}-{end:%H:%M}", start


def test_outside_its_window_it_shows_no_rate_nor_eta_but_when_it_resumes_in_its_zone(
    engine: Engine, tmp_path
) -> None:
    window, opens = windows_from_now(NY, 180, 240)
    cid = new_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 20),
        pool=NUMBERS[:1],
        windows=(window,),
        timezone=NY,
    )
    report = status_view(engine, cid)
    assert report.activity is Activity.OUTSIDE_HOURS
    assert report.rate_per_s is None and report.eta_s is None
    assert report.resumes_at_ms == int(opens.timestamp() * 1000)
    text = render(report)
    resumes = f"{opens:%Y-%m-%d %H:%M}:00 {NY}"
    assert (
        f"outside calling hours ({window.replace('-', '–')} {NY}): dialling resumes at "
        f"{resumes}" in text
    )
    assert "ETA" not in text and "/s," not in text


def test_multi_day_eta_counts_only_the_calling_windows(engine: Engine, tmp_path) -> None:
    # Two hours a day (the last hour of today's is now), 280 rows at one a minute: 4 h 40 min
    # of dialling. Today's hour, two hours tomorrow, and the last 1 h 40 min the day after:
    # done 2 d 40 min from now.
    window, _ = windows_from_now("Asia/Shanghai", -60, 60)
    cid = new_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 280),
        pool=NUMBERS[:1],
        rate_per_s=1 / 60,
        windows=(window,),
    )
    live_worker(engine)
    report = status_view(engine, cid)
    assert report.activity is Activity.DIALLING
    assert report.eta_s == pytest.approx(2 * 86400 + 40 * 60, abs=2)
    assert f"ETA ≈ 2 d 1 h, dialling {window.replace('-', '–')} Asia/Shanghai" in render(report)


def test_paused_by_an_error_shows_the_reason_and_when_hours_resume_not_a_rate(
    engine: Engine, tmp_path
) -> None:
    window, opens = windows_from_now(NY, 180, 240)
    cid = new_campaign(
        engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:1], windows=(window,), timezone=NY
    )
    engine.pause(cid, "NotExists.InstanceId: the instance does not exist")
    report = status_view(engine, cid)
    assert report.activity is Activity.PAUSED
    assert report.rate_per_s is None and report.eta_s is None
    text = render(report)
    assert "paused by an error: NotExists.InstanceId: the instance does not exist" in text
    assert f"dialer resume {cid}" in text
    assert f"calling hours resume at {times.shown(int(opens.timestamp() * 1000), NY)}" in text
    assert "ETA" not in text and "/s," not in text


def test_paused_by_the_operator_inside_its_hours_says_who_resumes_it(engine, tmp_path) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:1])
    engine.pause(cid)
    doc = status_view(engine, cid).as_dict()
    assert doc["activity"] == "paused" and doc["rate_per_s"] is None and doc["eta_s"] is None
    assert doc["reason"] == (
        f"paused by the operator: it resumes when someone runs `dialer resume {cid}`"
    )


def test_a_running_campaign_no_worker_feeds_is_stalled(engine, tmp_path, redis_client) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:1])
    live_worker(engine)  # alive, yet leading no feeder
    assert status_view(engine, cid).activity is Activity.DIALLING  # just started
    # Started ten minutes ago, and no worker has led its feeder since.
    redis_client.hset(engine.keys.meta(cid), "running_since", engine.now_ms() - 600_000)
    report = status_view(engine, cid)
    assert report.activity is Activity.STALLED and report.eta_s is None
    assert "no call has begun for 10 min; no worker is feeding it" in render(report)


def test_with_no_live_worker_a_running_campaign_says_so_rather_than_stalled(engine, tmp_path):
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:1])
    report = status_view(engine, cid)
    assert report.activity is Activity.NO_WORKERS and report.eta_s is None
    assert "no live workers (none has been seen): start workers" in render(report)


# --- status --watch ------------------------------------------------------------------------


def watch(redis_server, namespace: str, cid: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_"))}
    env.update(DIALER_REDIS_URL=redis_server.url, DIALER_NAMESPACE=namespace)
    return subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "status", cid, "--watch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


def test_watch_exits_0_when_the_campaign_is_done(engine, tmp_path, redis_server, namespace):
    sheet = tmp_path / "bad.csv"
    sheet.write_text("Caller,Callee\n13800000001,12345\n")  # nothing to dial: DONE at once
    cid = new_campaign(engine, sheet, pool=NUMBERS[:1])
    engine.upkeep(engine.store.campaign(cid))
    status, out, err = finished(watch(redis_server, namespace, cid))
    assert (status, err) == (0, "") and "1/1 DONE" in out


def test_watch_exits_1_when_an_error_pauses_the_campaign(
    engine, tmp_path, redis_server, namespace
) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:1])
    engine.pause(cid, "InvalidAccessKeyId.NotFound: Specified access key is not found.")
    status, _, err = finished(watch(redis_server, namespace, cid))
    assert status == 1
    assert err == (
        f"dialer: campaign {cid} paused by an error: InvalidAccessKeyId.NotFound: Specified "
        f"access key is not found. (fix it, then dialer resume {cid})\n"
    )


def test_watch_waits_through_an_operator_pause_and_exits_3_when_cancelled(
    engine, tmp_path, redis_server, namespace
) -> None:
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 5), pool=NUMBERS[:1])
    engine.pause(cid)
    proc = watch(redis_server, namespace, cid)
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(iter(lambda: proc.stdout.read(1), "")))
    reader.start()
    # However long the process takes to start, it shows the pause and keeps watching.
    wait_until(lambda: "paused by the operator" in "".join(out), 30, "the paused line")
    assert proc.poll() is None  # an operator's pause is not the end
    engine.cancel(cid)
    wait_until(lambda: proc.poll() is not None, 15, "the watch to end")
    reader.join(10)
    status, err = proc.returncode, proc.stderr.read()
    assert status == 3 and err == f"dialer: campaign {cid} was cancelled\n"
    text = "".join(out)
    assert "calls/s" not in text.split("paused by the operator")[1].split("\r")[0]


@pytest.mark.parametrize("zone", [NY])
def test_watch_line_outside_hours_names_the_resume_time_in_the_zone(engine, tmp_path, zone):
    import io

    from dialer.cli.progress import watch as watch_line

    window, opens = windows_from_now(zone, 180, 240)
    cid = new_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 5),
        pool=NUMBERS[:1],
        windows=(window,),
        timezone=zone,
    )
    out = io.StringIO()
    watch_line(engine, cid, stream=out, until_done=False)
    line = out.getvalue()
    assert f"outside calling hours until {opens:%Y-%m-%d %H:%M}:00 {zone}" in line
    assert "calls/s" not in line and "ETA" not in line
