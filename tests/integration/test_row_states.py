"""The row state machine against a real Redis, message by message: a duplicated or stale
Celery message never places a second call."""

from __future__ import annotations

import threading
import time

import pytest
from support import NUMBERS, feed_now, new_campaign, write_sheet

from dialer.engine import AttemptEnd, Backoff, Begun, Caps, Engine, Refusal
from dialer.engine.pacing import worst_window
from dialer.worker.dialing import place_one

BROKER = NUMBERS[0]
NO_CAPS = Caps("20261124", "202611", 0, 0, 0, 0, 0)


def interval(engine: Engine, cid: str) -> float:
    return engine.store.interval_ms(engine.store.campaign(cid).settings, BROKER)


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine(queued_lease_ms=0)


def begin(engine: Engine, job) -> Begun:
    """BEGIN_DIAL as a worker does it: waiting out the broker's interval when told to."""
    while (
        begun := engine.begin_dial(job, NO_CAPS, interval(engine, job.campaign_id))
    ).refused is Refusal.TOO_SOON:
        time.sleep(begun.wait_ms / 1000)
    return begun


def one_row(engine: Engine, tmp_path) -> str:
    sheet = write_sheet(tmp_path / "s.csv", ["13900000001"])
    return new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=50.0)


def test_redelivered_message_after_dispatch_does_nothing(engine, client, simulator, tmp_path):
    cid = one_row(engine, tmp_path)
    [job] = feed_now(engine, cid)
    campaign = engine.store.campaign(cid)
    assert place_one(engine, client, campaign, job) == "DISPATCHED"
    assert place_one(engine, client, campaign, job) == "stale"
    assert len(simulator.state.snapshot()) == 1
    assert engine.store.result_of(cid, 1)["attempts"] == 1


def test_message_of_a_requeued_row_is_stale(engine, client, simulator, tmp_path) -> None:
    cid = one_row(engine, tmp_path)
    [old] = feed_now(engine, cid)
    engine.upkeep(engine.store.campaign(cid))  # queued lease 0 ms: swept back to PENDING
    assert engine.store.counts(cid) == {"PENDING": 1}
    [new] = feed_now(engine, cid)
    assert new.token != old.token
    campaign = engine.store.campaign(cid)
    assert place_one(engine, client, campaign, old) == "stale"
    assert place_one(engine, client, campaign, new) == "DISPATCHED"
    assert place_one(engine, client, campaign, old) == "stale"
    assert len(simulator.state.snapshot()) == 1


def test_row_whose_worker_vanished_mid_call_becomes_unknown(
    make_engine, client, simulator, tmp_path
):
    engine = make_engine(dialing_lease_ms=0)
    cid = one_row(engine, tmp_path)
    [job] = feed_now(engine, cid)
    campaign = engine.store.campaign(cid)
    assert engine.begin_dial(
        job, NO_CAPS, interval(engine, job.campaign_id)
    ).begun_at_ms  # the worker dies right after this
    engine.upkeep(campaign)
    result = engine.store.result_of(cid, 1)
    assert engine.store.counts(cid) == {"UNKNOWN": 1}
    assert result["error_code"] == "Worker.Lost"
    assert place_one(engine, client, campaign, job) == "stale"  # the redelivery
    assert simulator.state.snapshot() == []


# Two BEGIN_DIALs on the Redis clock: a process stalled between them shortens the wait.
@pytest.mark.timing
def test_second_call_cannot_begin_sooner_than_the_interval_after_the_first(make_engine, tmp_path):
    engine = make_engine(lookahead_ms=2000)
    sheet = write_sheet(tmp_path / "s.csv", 2)
    cid = new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=1.0)
    first, second = feed_now(engine, cid)
    assert 990 <= second.slot_ms - first.slot_ms <= 1030  # slots an interval apart
    assert engine.begin_dial(first, NO_CAPS, interval(engine, cid)).begun_at_ms
    begun = engine.begin_dial(second, NO_CAPS, interval(engine, cid))
    assert begun.refused is Refusal.TOO_SOON and 900 < begun.wait_ms <= 1010
    assert engine.store.counts(cid) == {"DIALING": 1, "QUEUED": 1}


# The wire-level pacing check (others judge the engine's own start times): when requests
# reach the simulator depends on the CPU, so it runs alone.
@pytest.mark.timing
def test_account_wide_qps_cap_holds_across_brokers(make_engine, client, simulator, tmp_path):
    engine = make_engine(depth=6, lookahead_ms=5000, max_qps=4.0)
    sheet = write_sheet(tmp_path / "s.csv", 12, brokers=NUMBERS[:2])
    cid = new_campaign(engine, sheet, rate_per_s=50.0)
    jobs = feed_now(engine, cid)
    assert len(jobs) == 12
    campaign = engine.store.campaign(cid)
    threads = [
        threading.Thread(target=place_one, args=(engine, client, campaign, job)) for job in jobs
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [c.accepted_at for c in simulator.state.snapshot()]
    assert len(stamps) == 12
    assert worst_window(stamps) <= 4  # both brokers together, though each may do 50/s


def test_feed_fills_each_broker_to_depth_and_a_finishing_call_feeds_its_successor(
    make_engine, tmp_path
) -> None:
    engine = make_engine(depth=2)
    sheet = write_sheet(tmp_path / "s.csv", 10)
    cid = new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=5.0)
    first, second = feed_now(engine, cid)
    assert 200 <= second.slot_ms - first.slot_ms <= 210  # reserved an interval apart
    assert feed_now(engine, cid) == []  # two in flight: nothing more until one finishes
    campaign = engine.store.campaign(cid)
    begun = engine.begin_dial(first, NO_CAPS, interval(engine, cid))
    outcome, fed = engine.finish(
        first,
        begun,
        AttemptEnd.DISPATCHED,
        {"job_id": "j"},
        NO_CAPS,
        settings=campaign.settings,
        retry=Backoff(1, 1, 1.0),
        window_open=True,
    )
    assert outcome is AttemptEnd.DISPATCHED
    assert [j.row for j in fed] == [3]
    assert fed[0].slot_ms - second.slot_ms >= 200  # paced after the row still queued
    assert engine.store.counts(cid) == {"DISPATCHED": 1, "QUEUED": 2, "PENDING": 7}
    assert engine.store.result_of(cid, 1)["attempts"] == 1


def test_transient_failure_past_max_attempts_is_failed(engine, tmp_path) -> None:
    sheet = write_sheet(tmp_path / "s.csv", 1)
    cid = new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=50.0, max_attempts=2)
    settings = engine.store.campaign(cid).settings
    outcomes = []
    for _ in range(2):
        [job] = feed_now(engine, cid)
        begun = begin(engine, job)
        outcome, _ = engine.finish(
            job,
            begun,
            AttemptEnd.RETRY_WAIT,
            {},
            NO_CAPS,
            settings=settings,
            retry=Backoff(0, 0, 1.0),
            window_open=False,
        )
        outcomes.append(outcome)
        engine.upkeep(engine.store.campaign(cid))  # the retry (no backoff) is due at once
    assert outcomes == [AttemptEnd.RETRY_WAIT, AttemptEnd.FAILED]
    assert engine.store.result_of(cid, 1)["attempts"] == 2
