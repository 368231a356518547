"""The dialing engine end to end: real Redis, real `celery worker` subprocesses, the simulator
over HTTP. The simulator's calls log is the ground truth of what was dialled and when."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict

import redis
from support import NUMBERS, calls_log, engine_env, feed_now, new_campaign, wait_until, write_sheet

from dialer.ccc.simulator import Simulator
from dialer.engine import CampaignStore, Engine, Keys
from dialer.engine.pacing import worst_window
from dialer.models import TERMINAL_STATES, CampaignStatus


def calls(sim: Simulator) -> list[dict]:
    return calls_log(sim.config.calls_log)


def wait_for(
    engine: Engine, cid: str, statuses: set[CampaignStatus], timeout_s: float, tick=lambda: None
):
    def reached():
        campaign = engine.store.campaign(cid)
        return campaign if campaign.status in statuses else None

    what = f"campaign {cid} to be {'/'.join(statuses)}"
    return wait_until(reached, timeout_s, what, tick=tick)


def start_campaign(engine, tmp_path, rows, **settings):
    return new_campaign(engine, write_sheet(tmp_path / "s.csv", rows), **settings)


def dialing(engine: Engine, cid: str) -> bool:
    return engine.store.counts(cid).get("DIALING", 0) > 0


def in_flight(engine: Engine, cid: str) -> bool:
    counts = engine.store.counts(cid)
    return counts.get("QUEUED", 0) + counts.get("DIALING", 0) > 0


def begun_at_ms(engine: Engine, cid: str) -> list[int]:
    """When each attempted row's last call began, on the Redis clock (BEGIN_DIAL's time)."""
    rows = engine.store.iter_rows(cid)
    return [int(r["last_attempt_at"]) for _, _, r in rows if r.get("last_attempt_at")]


def assert_each_row_once(engine: Engine, cid: str, sim: Simulator) -> list:
    placed = calls(sim)
    callees = [c["callee"] for c in placed]
    assert len(callees) == len(set(callees)), "a callee was dialled twice"
    rows = list(engine.store.iter_rows(cid))
    assert all(state in TERMINAL_STATES for _, state, _ in rows)
    by_job = {c["job_id"]: c for c in placed}
    for record, state, result in rows:
        if state == "DISPATCHED":
            assert by_job[result["job_id"]]["callee"] == record[2]
    return rows


def test_campaign_over_several_brokers_each_row_once_within_limits(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    pool = NUMBERS[:3]
    cid = start_campaign(
        engine, tmp_path, 90, pool=pool, rate_per_s=5.0, broker_rates={NUMBERS[2]: 3.0}
    )
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    w.start()
    wait_for(engine, cid, {CampaignStatus.DONE}, 60)
    rows = assert_each_row_once(engine, cid, simulator)
    assert {state for _, state, _ in rows} == {"DISPATCHED"}
    # Pacing judged on the start times the engine set on the Redis clock, not on when the
    # requests reached the simulator: two test processes share the CPUs, and a request held
    # up after its start was recorded is the sender's jitter (test_row_states checks the wire).
    broker_of = {c["job_id"]: c["broker"] for c in calls(simulator)}
    by_broker = defaultdict(list)
    for _, _, result in rows:
        by_broker[broker_of[result["job_id"]]].append(result["last_attempt_at"] / 1000)
    assert {b: len(t) for b, t in by_broker.items()} == {b: 30 for b in pool}
    limits = {NUMBERS[0]: 5, NUMBERS[1]: 5, NUMBERS[2]: 3}
    for broker, times in by_broker.items():
        assert worst_window(times) <= limits[broker], broker
    first = rows[0][2]
    assert first["attempts"] == 1 and first["request_id"] and first["dispatched_at"]


def test_killed_workers_lose_no_row_and_dial_nobody_twice(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.latency_ms = 150  # keep calls in flight when the kill lands
    cid = start_campaign(engine, tmp_path, 80, pool=NUMBERS[:4], rate_per_s=4.0)
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    victim = w.start()
    w.start()
    for _ in range(3):
        # The kill lands mid-call: a row is DIALING (150 ms answers keep one in flight).
        wait_until(lambda: dialing(engine, cid), 30, "a row in flight")
        w.kill(victim)
        victim = w.start()
    wait_for(engine, cid, {CampaignStatus.DONE}, 120)
    rows = assert_each_row_once(engine, cid, simulator)
    states = {state for _, state, _ in rows}
    assert states <= {"DISPATCHED", "UNKNOWN"}


def test_redis_restart_mid_campaign_completes(simulator, namespace, workers, tmp_path) -> None:
    from dialer.engine.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        engine = Engine(CampaignStore(redis.Redis.from_url(server.url), Keys(namespace)))
        cid = start_campaign(engine, tmp_path, 60, pool=NUMBERS[:3], rate_per_s=5.0)
        w = workers(engine_env(server.url, namespace, simulator.url))
        w.start()
        wait_until(lambda: len(calls(simulator)) >= 5, 30, "the campaign under way")
        server.restart()
        # Celery's threads pool can die on a lost broker connection (kombu acks from pool
        # threads race the reconnect); production runs workers under a supervisor, as here.
        wait_for(engine, cid, {CampaignStatus.DONE}, 90, tick=w.revive)
        rows = assert_each_row_once(engine, cid, simulator)
        assert len(rows) == 60
    finally:
        server.cleanup()


def test_transient_failures_retry_then_fail_after_max_attempts(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.fail_rate = 0.3
    cid = start_campaign(engine, tmp_path, 40, pool=NUMBERS[:2], rate_per_s=10.0)
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    wait_for(engine, cid, {CampaignStatus.DONE}, 90)
    rows = assert_each_row_once(engine, cid, simulator)
    outcomes = {(state, r.get("error_code") or "") for _, state, r in rows}
    assert outcomes <= {("DISPATCHED", ""), ("FAILED", "InternalService.CTI")}
    assert any(r["attempts"] > 1 and s == "DISPATCHED" for _, s, r in rows), "no retry succeeded"
    for _, state, result in rows:
        assert 1 <= result["attempts"] <= 3
        if state == "FAILED":
            assert result["attempts"] == 3 and result["http_status"] == 500


def test_read_timeout_marks_unknown_and_never_calls_again(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.hang_rate = 0.3
    simulator.faults.hang_s = 4.0
    cid = start_campaign(engine, tmp_path, 30, pool=NUMBERS[:2], rate_per_s=10.0)
    w = workers(engine_env(redis_server.url, namespace, simulator.url, CCC_READ_TIMEOUT_S="1"))
    w.start()
    wait_for(engine, cid, {CampaignStatus.DONE}, 60)
    rows = assert_each_row_once(engine, cid, simulator)
    unknown = [(rec, r) for rec, s, r in rows if s == "UNKNOWN"]
    assert unknown, "no request timed out"
    placed = {c["callee"] for c in calls(simulator)}
    for record, result in unknown:
        assert result["error_code"] == "Client.ReadTimeout" and result["attempts"] == 1
        assert record[2] in placed  # the call was in fact placed: retrying would dial twice
    assert len(placed) == 30


def test_pause_resume_and_cancel(engine, simulator, redis_server, namespace, workers, tmp_path):
    cid = start_campaign(engine, tmp_path, 200, pool=NUMBERS[:2], rate_per_s=5.0)
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    wait_until(lambda: len(calls(simulator)) >= 5, 30, "calls before the pause")
    engine.pause(cid)
    paused_at_ms = engine.now_ms()
    # Nothing queued before the pause may begin after it (on the Redis clock, where the row
    # scripts decide): wait until no row is in flight, then long enough for any straggler.
    wait_until(lambda: not in_flight(engine, cid), 10, "rows in flight to settle")
    time.sleep(1.5)
    before_resume = calls(simulator)
    assert max(begun_at_ms(engine, cid)) <= paused_at_ms
    assert len(before_resume) == len(begun_at_ms(engine, cid))
    engine.resume(cid)
    n = len(before_resume)
    wait_until(lambda: len(calls(simulator)) > n + 3, 30, "calls after resuming")
    engine.cancel(cid)
    cancelled_at_ms = engine.now_ms()
    wait_for(engine, cid, {CampaignStatus.CANCELLED}, 5)
    wait_until(lambda: not in_flight(engine, cid), 10, "rows in flight to settle")
    time.sleep(1.0)
    after = calls(simulator)
    assert max(begun_at_ms(engine, cid)) <= cancelled_at_ms
    assert len(after) == len(begun_at_ms(engine, cid))
    states = defaultdict(int)
    for _, state, _ in engine.store.iter_rows(cid):
        states[state] += 1
    assert set(states) == {"DISPATCHED", "CANCELLED"}
    assert states["DISPATCHED"] == len(after)
    assert engine.store.counts(cid) == dict(states)


def test_refused_broker_moves_pool_rows_and_its_own_rows_wait_for_it(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    bad = "01000000000"
    sheet = tmp_path / "s.csv"
    lines = ["Caller,Callee,Broker"] + [f"1380{i:07d},139{i:08d}," for i in range(20)]
    lines += [f"1381{i:07d},137{i:08d},{bad}" for i in range(3)]
    sheet.write_text("\n".join(lines) + "\n")
    cid = new_campaign(engine, sheet, pool=(NUMBERS[0], bad), rate_per_s=10.0)
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    # The pool's rows go out on the other number; the rows that named the refused broker
    # wait for it, and once nothing else is left the campaign pauses saying why.
    campaign = wait_for(engine, cid, {CampaignStatus.PAUSED}, 60)
    assert campaign.pause_reason.startswith("no usable broker: CCC refused 0100000****")
    assert engine.store.counts(cid) == {"DISPATCHED": 20, "PENDING": 3}
    assert {c["broker"] for c in calls(simulator)} == {NUMBERS[0]}
    simulator.add_number(bad)
    engine.resume(cid)  # the operator fixed the instance: resume tries the broker again
    wait_for(engine, cid, {CampaignStatus.DONE}, 60)
    rows = assert_each_row_once(engine, cid, simulator)
    assert {state for _, state, _ in rows} == {"DISPATCHED"}
    assert all(r["attempts"] == 1 for _, _, r in rows)
    assert {c["broker"] for c in calls(simulator)} == {NUMBERS[0], bad}


def test_campaign_fatal_error_pauses_with_reason(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    sheet = write_sheet(tmp_path / "s.csv", 10)
    cid = new_campaign(
        engine, sheet, instance_id="no-such-instance", pool=NUMBERS[:1], rate_per_s=10.0
    )
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    campaign = wait_for(engine, cid, {CampaignStatus.PAUSED}, 30)
    assert campaign.pause_reason.startswith("NotExists.InstanceId")
    wait_until(lambda: not in_flight(engine, cid), 10, "rows in flight to settle")
    assert calls(simulator) == []
    counts = engine.store.counts(cid)
    assert counts.get("PENDING") == 10, counts


def test_a_feeder_tick_is_published_together_without_numbers_in_headers(
    engine, simulator, redis_server, redis_client, namespace, tmp_path
) -> None:
    """The tick's rows reach the Celery queue as one message each; the headers Celery logs
    (argsrepr) name campaign and row, never the packed row's phone numbers."""
    cid = start_campaign(engine, tmp_path, 4, pool=NUMBERS[:2], rate_per_s=5.0)
    jobs = feed_now(engine, cid)
    assert len(jobs) == 4  # depth 2 per broker
    script = (
        "import json, sys\n"
        "from dialer.engine import Job\n"
        "from tasks.celery import app\n"
        "from tasks.calls import enqueue\n"
        "enqueue(app, [Job(*j) for j in json.loads(sys.argv[1])])\n"
    )
    payload = json.dumps([[j.campaign_id, j.broker, j.packed, j.token, j.slot_ms] for j in jobs])
    env = engine_env(redis_server.url, namespace, simulator.url)
    subprocess.run([sys.executable, "-c", script, payload], env=env, check=True, timeout=60)
    queue = Keys(namespace).celery_prefix() + f"{namespace}.calls"
    messages = [json.loads(m) for m in redis_client.lrange(queue, 0, -1)]
    assert sorted(m["headers"]["id"] for m in messages) == sorted(
        f"{j.campaign_id}:{j.row}:{j.token}" for j in jobs
    )
    for message, job in zip(reversed(messages), jobs, strict=True):
        argsrepr = message["headers"]["argsrepr"]
        assert argsrepr == f"(campaign {cid}, row {job.row})"
        assert job.entry.callee not in json.dumps(message["headers"])
