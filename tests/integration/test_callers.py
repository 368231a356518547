"""Callers are people: a caller is busy from the moment a call is queued for them until its
record says it ended (plus wrap-up), or its max hold; rows of busy callers wait without
holding up anyone else's; rows without a caller go to the pool agent free longest.
Real Redis, the simulator; the end-to-end ones with real `celery worker` processes."""

from __future__ import annotations

import itertools
import time

import redis
from support import NUMBERS, calls_log, engine_env, feed_now, new_campaign, wait_until

from dialer.campaign.status import render, status_view
from dialer.ccc.simulator.calls import caller_overlaps
from dialer.ccc.simulator.faults import Span
from dialer.engine import AttemptEnd, Backoff, CampaignStore, Caps, Engine, Job, Keys
from dialer.engine.embedded import EmbeddedRedis
from dialer.models import CampaignStatus

BROKER = NUMBERS[0]
A, B, C = "13800000001", "13800000002", "13800000003"
NO_CAPS = Caps("20261124", "202611", 0, 0, 0, 0, 0)


def sheet(path, callers: list[str]):
    path.write_text("Caller,Callee\n" + "".join(f"{c},139{i:08d}\n" for i, c in enumerate(callers)))
    return path


def dial(engine: Engine, job: Job, outcome: AttemptEnd = AttemptEnd.DISPATCHED) -> list[Job]:
    """Begin and finish one queued row as a worker would (no CCC request): the rows fed."""
    settings = engine.store.campaign(job.campaign_id).settings
    interval = engine.store.interval_ms(settings, job.broker)
    begun = engine.begin_dial(job, NO_CAPS, interval, caller_max_hold_s=settings.caller_max_hold_s)
    assert begun.begun_at_ms, begun
    _, fed = engine.finish(
        job,
        begun,
        outcome,
        {"job_id": f"j{job.row}"},
        NO_CAPS,
        settings=settings,
        retry=Backoff(0, 0, 1.0),
        window_open=True,
    )
    return fed


def test_rows_of_a_busy_caller_wait_without_holding_up_the_rows_behind(make_engine, tmp_path):
    engine = make_engine(depth=4)
    cid = new_campaign(
        engine, sheet(tmp_path / "s.csv", [A, A, A, B, C]), pool=(BROKER,), rate_per_s=100.0
    )
    jobs = feed_now(engine, cid)
    assert [j.row for j in jobs] == [1, 4, 5]  # A's second and third rows wait for A
    assert engine.store.counts(cid) == {"QUEUED": 3, "PENDING": 2}


def test_a_call_that_was_never_placed_frees_its_caller_at_once(make_engine, tmp_path):
    engine = make_engine(depth=2)
    cid = new_campaign(engine, sheet(tmp_path / "s.csv", [A, A]), pool=(BROKER,), rate_per_s=100.0)
    [first] = feed_now(engine, cid)
    fed = dial(engine, first, AttemptEnd.FAILED)
    fed += feed_now(engine, cid)
    assert [j.row for j in fed] == [2]


def test_a_placed_call_holds_its_caller_until_its_record_says_it_ended_plus_wrap_up(
    make_engine, tmp_path
) -> None:
    engine = make_engine(depth=2)
    cid = new_campaign(
        engine, sheet(tmp_path / "s.csv", [A, A]), pool=(BROKER,), rate_per_s=100.0, wrap_up_s=0.5
    )
    [first] = feed_now(engine, cid)
    assert dial(engine, first) == []
    assert feed_now(engine, cid) == []  # A is talking: the record has not come
    campaign = engine.store.campaign(cid)
    released = engine.now_ms()
    assert engine.call_ended(campaign, 1, released) == (released + 500, False)
    assert feed_now(engine, cid) == []  # wrap-up
    wait_until(lambda: feed_now(engine, cid), 3, "A's next row after wrap-up")
    assert engine.now_ms() >= released + 500


def test_the_max_hold_frees_a_caller_whose_record_never_comes(make_engine, tmp_path):
    engine = make_engine(depth=2)
    cid = new_campaign(
        engine,
        sheet(tmp_path / "s.csv", [A, A]),
        pool=(BROKER,),
        rate_per_s=100.0,
        caller_max_hold_s=0.6,
    )
    [first] = feed_now(engine, cid)
    dial(engine, first)
    started = time.monotonic()
    [second] = wait_until(lambda: feed_now(engine, cid), 5, "the max hold to lapse")
    assert second.row == 2 and time.monotonic() - started > 0.4


def test_rows_without_a_caller_go_to_the_agent_free_longest(make_engine, tmp_path):
    engine = make_engine(depth=5)
    path = tmp_path / "s.csv"
    path.write_text("Callee\n" + "".join(f"139{i:08d}\n" for i in range(5)))
    cid = new_campaign(engine, path, pool=(BROKER,), rate_per_s=100.0, agents=(A, B, C))
    jobs = feed_now(engine, cid)
    assert [(j.row, j.caller) for j in jobs] == [(1, A), (2, B), (3, C)]  # then none is free
    # B's call never left: B is free again first, and the finishing call feeds its successor.
    [next_job] = dial(engine, jobs[1], AttemptEnd.FAILED)
    assert (next_job.row, next_job.caller) == (4, B)
    result = engine.store.result_of(cid, 2)
    assert result["caller"] == B


def test_no_caller_is_ever_in_two_calls_at_once_with_two_workers(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    # Calls ring 1-2 s and talk 30-90 s, sixty times faster: 0.5-1.5 s each.
    simulator.faults.update({"ring_s": Span(1, 2), "talk_s": Span(30, 90), "time_scale": 60})
    callers = [A, B, C] * 4
    cid = new_campaign(
        engine, sheet(tmp_path / "s.csv", callers), pool=NUMBERS[:2], rate_per_s=5.0, wrap_up_s=0.2
    )
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    w.start()
    w.start()
    wait_until(
        lambda: engine.store.campaign(cid).status is CampaignStatus.DONE,
        90,
        "the campaign to finish",
    )
    placed = calls_log(simulator.config.calls_log)
    assert len(placed) == 12
    assert caller_overlaps(placed) == []
    assert not any(c["caller_busy"] for c in placed)
    # The two workers shared it: calls of different callers overlapped in time.
    spans = sorted((c["start_ms"], c["release_ms"]) for c in placed)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))

    # Once the last records are in, nobody is held and every call counts for its caller.
    def all_free():
        report = status_view(engine, cid)
        return report if all(c.now == "free" for c in report.callers) else None

    report = wait_until(all_free, 20, "every caller free")
    assert sorted(c.number for c in report.callers) == [A, B, C]
    assert all(c.calls == 4 and c.connected <= 4 and c.busy_share > 0 for c in report.callers)
    assert "caller 138****0001: 4 calls" in render(report)


def test_a_worker_killed_mid_call_never_leaves_a_caller_rung_twice_at_once(
    engine, simulator, redis_server, namespace, workers, tmp_path
) -> None:
    simulator.faults.update(
        {"ring_s": Span(1, 2), "talk_s": Span(30, 90), "time_scale": 60, "latency_ms": 300}
    )
    cid = new_campaign(
        engine,
        sheet(tmp_path / "s.csv", [A, B, C] * 3),
        pool=NUMBERS[:2],
        rate_per_s=5.0,
        wrap_up_s=0.2,
        caller_max_hold_s=4.0,
    )
    w = workers(engine_env(redis_server.url, namespace, simulator.url))
    victim = w.start()
    w.start()
    wait_until(lambda: engine.store.counts(cid).get("DIALING"), 30, "a call in flight")
    w.kill(victim)
    w.start()
    wait_until(
        lambda: engine.store.campaign(cid).status is CampaignStatus.DONE,
        90,
        "the campaign to finish",
    )
    placed = calls_log(simulator.config.calls_log)
    assert caller_overlaps(placed) == [] and not any(c["caller_busy"] for c in placed)
    callees = [c["callee"] for c in placed]
    assert len(callees) == len(set(callees))


def test_callers_stay_one_call_at_a_time_across_a_redis_restart(
    simulator, namespace, workers, tmp_path
) -> None:
    simulator.faults.update({"ring_s": Span(1, 2), "talk_s": Span(30, 60), "time_scale": 60})
    server = EmbeddedRedis(tmp_path / "redis").start()  # AOF on: the holds survive
    try:
        engine = Engine(CampaignStore(redis.Redis.from_url(server.url), Keys(namespace)))
        callers = [f"138000000{i:02d}" for i in range(6)] * 4
        cid = new_campaign(
            engine,
            sheet(tmp_path / "s.csv", callers),
            pool=NUMBERS[:2],
            rate_per_s=5.0,
            wrap_up_s=0.2,
        )
        w = workers(engine_env(server.url, namespace, simulator.url, DIALER_CALLER_LOOKUP_S="0.3"))
        w.start()
        wait_until(lambda: len(calls_log(simulator.config.calls_log)) >= 6, 30, "calls")
        server.restart()
        wait_until(
            lambda: engine.store.campaign(cid).status is CampaignStatus.DONE,
            90,
            "the campaign to finish",
            tick=w.revive,
        )
        placed = calls_log(simulator.config.calls_log)
        assert len(placed) == 24
        assert caller_overlaps(placed) == [] and not any(c["caller_busy"] for c in placed)
    finally:
        server.cleanup()
