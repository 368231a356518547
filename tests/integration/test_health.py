"""Outages, misconfigured and dead workers never burn a campaign: real Redis, real `celery
worker` processes, the simulator over HTTP (taken offline, given numbers at run time), the CLI
as operators run it."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import redis
from support import (
    NUMBERS,
    calls_log,
    engine_env,
    new_campaign,
    run_dialer,
    wait_until,
    write_sheet,
)

from dialer.ccc.simulator import Simulator
from dialer.engine import CampaignStore, Engine, Keys
from dialer.models import TERMINAL_STATES, CampaignStatus
from dialer.settings import Settings

OUTAGE_S = 15
WRONG_SECRET = {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "not-the-secret"}


def dialer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run_dialer(*args, env=env)


def status_json(env: dict[str, str], cid: str) -> dict:
    done = dialer(env, "status", cid, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def calls(sim: Simulator) -> list[dict]:
    return calls_log(sim.config.calls_log)


def wait_for(engine: Engine, cid: str, status: CampaignStatus, timeout_s: float, tick=lambda: 0):
    def reached():
        campaign = engine.store.campaign(cid)
        return campaign if campaign.status is status else None

    return wait_until(reached, timeout_s, f"campaign {cid} to be {status}", tick=tick)


def settled(engine: Engine, cid: str) -> bool:
    counts = engine.store.counts(cid)
    return not counts.get("QUEUED") and not counts.get("DIALING")


def each_row_dispatched_once(engine: Engine, cid: str, sim: Simulator) -> list:
    """Every row DISPATCHED on its first counted attempt, and no callee rung twice."""
    callees = [c["callee"] for c in calls(sim)]
    assert len(callees) == len(set(callees)), "a callee was dialled twice"
    rows = list(engine.store.iter_rows(cid))
    assert {state for _, state, _ in rows} == {"DISPATCHED"}
    assert [r["attempts"] for _, _, r in rows] == [1] * len(rows)
    return rows


def test_ccc_outage_fails_no_row_shows_in_status_and_dialling_resumes_by_itself(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    cid = new_campaign(
        engine, write_sheet(tmp_path / "s.csv", 60), pool=NUMBERS[:2], rate_per_s=4.0
    )
    env = engine_env(redis_server.url, namespace, simulator.url)
    w = workers(env)
    w.start()
    w.start()
    wait_until(lambda: len(calls(simulator)) >= 10, 30, "calls before the outage")
    simulator.go_offline()
    down_at = time.time()
    outage = wait_until(lambda: status_json(env, cid)["ccc_unreachable"], 15, "the outage shown")
    assert outage["error"] == "Client.ConnectFailed" and outage["since_ms"] / 1000 >= down_at - 1
    assert outage["next_probe_in_s"] is not None
    human = dialer(env, "status", cid).stdout
    assert "CCC unreachable since" in human and "next probe in" in human
    assert "ETA" not in human
    # Longer than every lease and health limit of engine_env's workers (the longest: the 10 s
    # stall limit), so the outage outlasts each of them.
    time.sleep(max(0.0, OUTAGE_S - (time.time() - down_at)))
    during = status_json(env, cid)
    assert during["ccc_unreachable"] is not None and not during["counts"].get("FAILED")
    simulator.go_online()
    back_at = time.time()
    wait_until(lambda: any(c["ts"] > back_at for c in calls(simulator)), 20, "dialling to resume")
    wait_for(engine, cid, CampaignStatus.DONE, 90)
    each_row_dispatched_once(engine, cid, simulator)
    assert status_json(env, cid)["ccc_unreachable"] is None


def test_a_worker_with_a_wrong_secret_takes_no_call_and_the_other_finishes_both_campaigns(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    sheet_a = write_sheet(tmp_path / "a.csv", 30, timeout_seconds=5)
    sheet_b = tmp_path / "b.csv"  # callers of its own: a caller is in one call at a time
    sheet_b.write_text(
        "Caller,Callee,Broker,TimeoutSeconds\n"
        + "".join(f"1381{i:07d},137{i:08d},,5\n" for i in range(30))
    )
    a = new_campaign(engine, sheet_a, pool=NUMBERS[:2], rate_per_s=5.0)
    b = new_campaign(engine, sheet_b, pool=NUMBERS[2:4], rate_per_s=5.0)
    env = engine_env(redis_server.url, namespace, simulator.url, DIALER_CDR_MARGIN_S="1")
    workers({**env, **WRONG_SECRET}, name="bad").start()
    workers(env, name="good").start()
    for cid in (a, b):
        assert wait_for(engine, cid, CampaignStatus.DONE, 90).pause_reason == ""
        each_row_dispatched_once(engine, cid, simulator)

    def outcomes_fetched() -> bool:
        rows = [r for cid in (a, b) for _, _, r in engine.store.iter_rows(cid)]
        return all(r.get("outcome") for r in rows)

    wait_until(outcomes_fetched, 60, "every call's outcome from the call records")
    listed = json.loads(dialer(env, "workers", "--json").stdout)
    by_name = {w["name"].split("@")[0]: w for w in listed["workers"]}
    assert set(by_name) == {"bad0", "good0"} and listed["workers_alive"] == 2
    assert by_name["good0"]["healthy"] and not by_name["bad0"]["healthy"]
    assert by_name["bad0"]["reason"].startswith("SignatureDoesNotMatch")
    human = dialer(env, "workers").stdout
    assert "bad0@" in human and "UNHEALTHY (SignatureDoesNotMatch" in human


def test_with_no_healthy_worker_left_campaigns_pause_naming_them_and_no_number_leaks(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    callees = [f"139{i:08d}" for i in range(10)]
    cid = new_campaign(
        engine, write_sheet(tmp_path / "s.csv", callees), pool=NUMBERS[:1], rate_per_s=5.0
    )
    env = engine_env(redis_server.url, namespace, simulator.url)
    # V1 signing: CCC's SignatureDoesNotMatch quotes the string to sign, callee and all. CCC
    # is down while the worker starts, so its key is first refused on a call.
    simulator.go_offline()
    bad = workers({**env, **WRONG_SECRET, "CCC_SIGNATURE_VERSION": "v1"}, name="bad")
    bad.start()
    wait_until(lambda: status_json(env, cid)["workers_alive"] == 1, 30, "the worker's heartbeat")
    simulator.go_online()
    campaign = wait_for(engine, cid, CampaignStatus.PAUSED, 30)
    assert campaign.pause_reason.startswith(f"no healthy worker: bad0@{socket.gethostname()}")
    assert "SignatureDoesNotMatch" in campaign.pause_reason
    wait_until(lambda: not engine.store.counts(cid).get("DIALING"), 10, "calls in flight to end")
    assert calls(simulator) == []
    # The rows are untouched: waiting (rows queued for the worker stay queued for the next),
    # no attempt counted, nothing written about them.
    counts = engine.store.counts(cid)
    assert set(counts) <= {"PENDING", "QUEUED"} and sum(counts.values()) == 10, counts
    assert all(not result for _, _, result in engine.store.iter_rows(cid))
    masked = tmp_path / "masked.csv"
    assert dialer(env, "export", cid, "-o", str(masked), "--masked").returncode == 0
    said = "\n".join(
        [
            campaign.pause_reason,
            dialer(env, "status", cid).stdout,
            dialer(env, "status", cid, "--json").stdout,
            dialer(env, "workers").stdout,
            bad.log(0).read_text(errors="replace"),
            masked.read_text(encoding="utf-8-sig"),
        ]
    )
    assert "SignatureDoesNotMatch" in bad.log(0).read_text(errors="replace")
    for number in [*callees, "13800000001"]:
        assert number not in said
    # A worker with the right key, and the operator's resume: the campaign completes.
    workers(env, name="good").start()

    def healthy() -> bool:
        listed = json.loads(dialer(env, "workers", "--json").stdout)["workers"]
        return any(w["healthy"] for w in listed)

    # As an operator would: once the new worker shows healthy (resumed before that, the
    # campaign may pause again at once, for want of a healthy worker).
    wait_until(healthy, 30, "a healthy worker")
    assert dialer(env, "resume", cid).returncode == 0
    wait_for(engine, cid, CampaignStatus.DONE, 60)
    each_row_dispatched_once(engine, cid, simulator)


def test_when_every_worker_is_gone_status_says_so_once_the_alive_window_passes(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    cid = new_campaign(
        engine, write_sheet(tmp_path / "s.csv", 200), pool=NUMBERS[:2], rate_per_s=1.0
    )
    env = engine_env(redis_server.url, namespace, simulator.url)
    w = workers(env)
    procs = [w.start(), w.start()]
    wait_until(lambda: status_json(env, cid)["workers_alive"] == 2, 30, "two live workers")
    assert "ETA" in dialer(env, "status", cid).stdout
    for proc in procs:
        w.kill(proc)
    # Alive means a heartbeat at most 30 s old, one written every 5 s (8 s and 1 s here).
    wait_until(lambda: status_json(env, cid)["workers_alive"] == 0, 40, "no live worker")
    human = dialer(env, "status", cid).stdout
    assert "no live workers since" in human and "ETA" not in human and "/s (limit" not in human
    assert "no live workers since" in dialer(env, "workers").stdout


def test_workers_ride_out_a_redis_restart_without_a_supervisor(
    simulator, namespace, workers, tmp_path
) -> None:
    from dialer.engine.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        engine = Engine(CampaignStore(redis.Redis.from_url(server.url), Keys(namespace)))
        cid = new_campaign(
            engine, write_sheet(tmp_path / "s.csv", 60), pool=NUMBERS[:2], rate_per_s=4.0
        )
        w = workers(engine_env(server.url, namespace, simulator.url))
        procs = [w.start(), w.start()]
        wait_until(lambda: len(calls(simulator)) >= 8, 30, "the campaign under way")
        server.stop(kill=True)
        time.sleep(3)
        server.start()
        # No supervisor: the same processes carry the campaign to its end.
        wait_for(engine, cid, CampaignStatus.DONE, 90)
        assert [p.poll() for p in procs] == [None, None], "a worker exited"
        callees = [c["callee"] for c in calls(simulator)]
        assert len(callees) == len(set(callees)), "a callee was dialled twice"
        rows = list(engine.store.iter_rows(cid))
        assert all(state in TERMINAL_STATES for _, state, _ in rows)
        assert sum(state == "DISPATCHED" for _, state, _ in rows) == len(callees)
    finally:
        server.cleanup()


def test_a_worker_that_stops_consuming_while_calls_wait_exits_for_its_supervisor(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    from tasks.app import make_app, queue_name

    new_campaign(engine, write_sheet(tmp_path / "s.csv", 100), pool=NUMBERS[:2], rate_per_s=2.0)
    env = engine_env(redis_server.url, namespace, simulator.url)
    w = workers(env)
    proc = w.start()
    wait_until(lambda: len(calls(simulator)) >= 3, 30, "calls under way")
    # What a stuck consumer looks like from outside: alive, healthy, taking nothing.
    settings = Settings.from_env(env)
    app = make_app(settings)
    replies = app.control.cancel_consumer(
        queue_name(settings), destination=[f"w0@{socket.gethostname()}"], reply=True, timeout=5
    )
    assert replies, "the worker did not answer the control command"
    stuck_at = time.monotonic()
    assert proc.wait(timeout=45) == 70
    assert time.monotonic() - stuck_at <= 30
    assert "consumer is stuck" in w.log(0).read_text(errors="replace")


def test_an_instance_without_the_broker_pauses_the_campaign_until_resumed(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    missing = "02150000000"
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 12), pool=(missing,), rate_per_s=5.0)
    env = engine_env(redis_server.url, namespace, simulator.url)
    workers(env).start()
    campaign = wait_for(engine, cid, CampaignStatus.PAUSED, 30)
    reason = campaign.pause_reason
    assert reason.startswith("no usable broker") and "NotExists.Number" in reason
    assert missing not in reason
    wait_until(lambda: settled(engine, cid), 10, "rows in flight to settle")
    assert calls(simulator) == []
    assert engine.store.counts(cid) == {"PENDING": 12}
    assert all(not r.get("attempts") for _, _, r in engine.store.iter_rows(cid))
    simulator.add_number(missing)
    assert dialer(env, "resume", cid).returncode == 0
    wait_for(engine, cid, CampaignStatus.DONE, 60)
    each_row_dispatched_once(engine, cid, simulator)
