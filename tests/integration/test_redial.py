"""`dialer redial`: an operator puts UNKNOWN or FAILED rows back as fresh attempts, paced and
capped like any call, keeping their history. Real Redis, the simulator, the real CLI entry
point and, for pacing, real `celery worker` processes."""

from __future__ import annotations

import subprocess

import pytest
from support import (
    NUMBERS,
    calls_log,
    cli_env,
    engine_env,
    feed_now,
    new_campaign,
    run_dialer,
    wait_until,
    write_sheet,
)

from dialer.campaign.redial import select_rows
from dialer.campaign.status import render, status_view
from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Simulator
from dialer.engine import Engine
from dialer.engine.pacing import worst_window
from dialer.models import CampaignStatus, RowState
from dialer.records.poller import RecordsPoller
from dialer.settings import Credentials
from dialer.worker.dialing import place_one

BROKER = NUMBERS[0]


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine(
        depth=20, cdr_margin_s=0.0, reconcile_wait_s=0.0, records_poll_s=0.0, records_max_lag_s=0.0
    )


def client_for(sim: Simulator) -> CccClient:
    return CccClient(sim.url, Credentials("testid", "testsecret"))


def drive(engine: Engine, client: CccClient, cid: str) -> list[str]:
    campaign = engine.store.campaign(cid)
    placed: list[str] = []
    while jobs := feed_now(engine, cid):
        while jobs:
            placed.append(place_one(engine, client, campaign, jobs.pop(0), enqueue=jobs.extend))
    return placed


def start(engine: Engine, tmp_path, n: int, **kw) -> str:
    kw.setdefault("rate_per_s", 200.0)
    kw.setdefault("pair_guard_s", 0)
    # Campaigns of one test share callers; holding callers is tested in test_callers.py.
    kw.setdefault("caller_pacing", False)
    sheet = write_sheet(tmp_path / "s.csv", n, timeout_seconds=1)
    return new_campaign(engine, sheet, pool=(BROKER,), **kw)


def results(engine: Engine, cid: str) -> list[tuple[str, dict]]:
    return [(state, result) for _, state, result in engine.store.iter_rows(cid)]


def dialer(
    redis_url: str, namespace: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess:
    return run_dialer(*args, env=cli_env(redis_url, namespace), stdin=stdin)


def test_redialled_rows_are_paced_and_keep_their_history(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.fail_rate = 1.0  # every request refused: no call placed
    cid = start(engine, tmp_path, 10, rate_per_s=2.0, max_attempts=1)
    pool = workers(engine_env(redis_server.url, namespace, simulator.url))
    pool.start()
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 30, "DONE")
    assert engine.store.counts(cid) == {"FAILED": 10} and not calls_log(simulator.config.calls_log)
    simulator.faults.fail_rate = 0.0

    done = dialer(
        redis_server.url,
        namespace,
        "redial",
        cid,
        "--state",
        "failed",
        "--code",
        "InternalService.CTI",
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    assert "10 FAILED rows (code InternalService.CTI) to dial again" in done.stdout
    assert f"10 rows put back; campaign {cid}: RUNNING" in done.stdout

    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 30, "DONE")
    placed = calls_log(simulator.config.calls_log)
    assert sorted(c["callee"] for c in placed) == [f"139{i:08d}" for i in range(10)]
    # Paced at the broker's 2/s, as any call: judged on the start times the engine set on
    # the Redis clock (what the wire shows is checked once, in test_row_states).
    begun = [result["last_attempt_at"] / 1000 for _, result in results(engine, cid)]
    assert worst_window(begun) <= 2
    for state, result in results(engine, cid):
        assert state == "DISPATCHED" and result["job_id"] and not result.get("error_code")
        assert result["attempts"] == 2 and result["redials"] == 1
        assert result["redialled_from"] == ["FAILED InternalService.CTI"]
    again = dialer(redis_server.url, namespace, "redial", cid, "--status", "FAILED", "--yes")
    assert again.returncode == 0 and "no FAILED rows; nothing to dial again" in again.stdout


def test_redial_asks_first_and_changes_nothing_unless_told_yes(
    engine, simulator, redis_server, namespace, tmp_path
) -> None:
    simulator.faults.drop_rate = 1.0  # placed, answer lost: UNKNOWN, and (no records) left so
    cid = start(engine, tmp_path, 3, outcomes=False)
    assert drive(engine, client_for(simulator), cid) == ["UNKNOWN"] * 3
    no = dialer(redis_server.url, namespace, "redial", cid, "--status", "UNKNOWN", stdin="n\n")
    assert no.returncode == 1 and "nothing changed" in no.stdout
    assert "3  Client.ConnectionLost" in no.stdout and "may be called twice" in no.stdout
    assert engine.store.counts(cid) == {"UNKNOWN": 3}
    closed = dialer(redis_server.url, namespace, "redial", cid, "--status", "UNKNOWN")  # EOF
    assert closed.returncode == 1 and engine.store.counts(cid) == {"UNKNOWN": 3}
    yes = dialer(redis_server.url, namespace, "redial", cid, "--status", "UNKNOWN", stdin="y\n")
    assert yes.returncode == 0 and "3 rows put back" in yes.stdout
    assert engine.store.counts(cid) == {"PENDING": 3}
    assert engine.store.campaign(cid).status is CampaignStatus.RUNNING  # it was DONE


def test_redial_refuses_a_cancelled_campaign_and_a_bad_status(
    engine, redis_server, namespace, tmp_path
) -> None:
    cid = start(engine, tmp_path, 2)
    engine.cancel(cid)
    done = dialer(redis_server.url, namespace, "redial", cid, "--status", "UNKNOWN", "--yes")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"dialer: campaign {cid} is CANCELLED: its rows cannot be dialled again"
    )
    bad = dialer(redis_server.url, namespace, "redial", cid, "--status", "DISPATCHED")
    assert bad.returncode == 2 and "--status" in bad.stderr


def test_a_redialled_call_counts_against_the_callee_cap(engine, simulator, tmp_path) -> None:
    client = client_for(simulator)
    simulator.faults.drop_rate = 1.0
    capped = start(engine, tmp_path, 2, outcomes=False, callee_daily_cap=1)
    assert drive(engine, client, capped) == ["UNKNOWN", "UNKNOWN"]
    simulator.faults.drop_rate = 0.0
    assert engine.redial(capped, RowState.UNKNOWN, [1, 2]) == (2, CampaignStatus.RUNNING)
    assert drive(engine, client, capped) == ["daily_cap", "daily_cap"]
    # The earlier call may have been placed: it counted, so the cap holds the redial back.
    assert engine.store.counts(capped) == {"RETRY_WAIT": 2}
    assert {r["error_code"] for _, r in results(engine, capped)} == {"Cap.Callee"}
    assert len(calls_log(simulator.config.calls_log)) == 2


def test_a_redialled_row_gets_its_retries_again(engine, simulator, tmp_path) -> None:
    client = client_for(simulator)
    simulator.faults.fail_rate = 1.0
    cid = start(engine, tmp_path, 1, max_attempts=2)
    assert drive(engine, client, cid) == ["RETRY_WAIT"]
    [waiting] = engine.store.r.zrange(engine.keys.retry(cid), 0, -1)
    engine.store.r.zadd(engine.keys.retry(cid), {waiting: 0})  # its backoff over now
    engine.upkeep(engine.store.campaign(cid))
    assert drive(engine, client, cid) == ["FAILED"]  # the second of 2 attempts
    engine.redial(cid, RowState.FAILED, [1])
    assert drive(engine, client, cid) == ["RETRY_WAIT"]  # not FAILED at once
    [(_, result)] = results(engine, cid)
    assert result["attempts"] == 3 and result["redial_offset"] == 2


def test_redial_by_code_and_what_status_shows(engine, simulator, tmp_path) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 4, reconcile_horizon_s=1.0)
    simulator.faults.update({"fail_rate": 1.0, "latency_ms": 300})
    slow = CccClient(simulator.url, Credentials("testid", "testsecret"), read_timeout_s=0.1)
    assert drive(engine, slow, cid) == ["UNKNOWN"] * 4  # timed out, and no call was placed
    simulator.faults.update({"fail_rate": 0.0, "latency_ms": 0})
    poller = RecordsPoller(engine, client, qps=500)
    poller.poll_once()
    report = status_view(engine, cid)
    assert report.unknown_reasons == {"looking in the call records": 4}
    wait_until(lambda: not engine.store.records_campaigns(), 10, "lookups done", poller.poll_once)
    report = status_view(engine, cid)
    assert report.unknown_reasons == {"Reconcile.NotFound": 4}
    assert f"UNKNOWN: 4 Reconcile.NotFound (`dialer redial {cid} --state UNKNOWN`)" in render(
        report
    )

    selection = select_rows(engine, cid, RowState.UNKNOWN, ["Reconcile.NotFound"])
    assert selection.rows == [1, 2, 3, 4]
    assert selection.reasons == {"Client.ReadTimeout, Reconcile.NotFound": 4}
    assert select_rows(engine, cid, RowState.UNKNOWN, ["Worker.Lost"]).rows == []
    assert engine.redial(cid, RowState.UNKNOWN, [1, 2]) == (2, CampaignStatus.RUNNING)
    assert status_view(engine, cid).unknown_reasons == {"Reconcile.NotFound": 2}
    assert engine.redial(cid, RowState.UNKNOWN, [1, 2])[0] == 0  # no longer UNKNOWN
    assert drive(engine, client, cid) == ["DISPATCHED", "DISPATCHED"]
    by_row = dict(enumerate((r for _, r in results(engine, cid)), start=1))
    assert by_row[1]["redialled_from"] == ["UNKNOWN Client.ReadTimeout Reconcile.NotFound"]
    assert "reconcile" not in by_row[1] and by_row[1]["attempts"] == 2


def test_redial_keeps_every_earlier_job_id(engine, simulator, tmp_path) -> None:
    client = client_for(simulator)
    simulator.faults.drop_rate = 1.0
    cid = start(engine, tmp_path, 1, outcomes=False)
    drive(engine, client, cid)
    # Whenever an attempt had a JobId (here as if an earlier redial had one) it is kept.
    engine.patch_result(cid, 1, {"job_id": "job-2", "previous_job_ids": ["job-1"]})
    engine.redial(cid, RowState.UNKNOWN, [1])
    [(state, result)] = results(engine, cid)
    assert state == "PENDING" and result["previous_job_ids"] == ["job-1", "job-2"]
    assert "job_id" not in result
