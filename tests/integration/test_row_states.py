"""The row state machine against a real Redis, message by message: a duplicated or stale
Celery message never places a second call."""

from __future__ import annotations

import pytest
import redis
from support import ALWAYS, NUMBERS

from dialer.dialing import place_one
from dialer.engine import Caps, Engine
from dialer.keys import Keys
from dialer.models import CampaignSettings, Timing
from dialer.store import CampaignStore
from dialer.upload import upload

BROKER = NUMBERS[0]


@pytest.fixture
def engine(redis_client: redis.Redis, namespace: str) -> Engine:
    return Engine(CampaignStore(redis_client, Keys(namespace)), Timing(queued_lease_ms=0))


def one_row_campaign(engine: Engine, tmp_path) -> str:
    path = tmp_path / "s.csv"
    path.write_text("Caller,Callee\n13800000001,13900000001\n")
    settings = CampaignSettings("t", "ccc-test", pool=(BROKER,), rate_per_s=50.0, windows=ALWAYS)
    cid = upload(engine.store, path, settings).campaign_id
    engine.start(cid)
    return cid


def test_redelivered_message_after_dispatch_does_nothing(engine, client, simulator, tmp_path):
    cid = one_row_campaign(engine, tmp_path)
    [job] = engine.feed(cid, [BROKER])
    campaign = engine.store.campaign(cid)
    assert place_one(engine, client, campaign, job) == "DISPATCHED"
    assert place_one(engine, client, campaign, job) == "stale"
    assert len(simulator.state.snapshot()) == 1
    assert engine.store.result_of(cid, 1)["attempts"] == 1


def test_message_of_a_requeued_row_is_stale(engine, client, simulator, tmp_path) -> None:
    cid = one_row_campaign(engine, tmp_path)
    [old] = engine.feed(cid, [BROKER])
    engine.housekeeping(engine.store.campaign(cid))  # queued lease 0 ms: swept back to PENDING
    assert engine.store.counts(cid) == {"PENDING": 1}
    [new] = engine.feed(cid, [BROKER])
    assert new.token != old.token
    campaign = engine.store.campaign(cid)
    assert place_one(engine, client, campaign, old) == "stale"
    assert place_one(engine, client, campaign, new) == "DISPATCHED"
    assert place_one(engine, client, campaign, old) == "stale"
    assert len(simulator.state.snapshot()) == 1


def test_row_whose_worker_vanished_mid_call_becomes_unknown(engine, client, simulator, tmp_path):
    fast_lease = Engine(engine.store, Timing(dialing_lease_ms=0))
    cid = one_row_campaign(engine, tmp_path)
    [job] = fast_lease.feed(cid, [BROKER])
    campaign = engine.store.campaign(cid)
    caps = Caps("20261124", "202611", 0, 0, 0, 0, 0)
    assert fast_lease.begin_dial(job, 0.0, caps)[0] == 1  # the worker dies right after this
    fast_lease.housekeeping(campaign)
    result = engine.store.result_of(cid, 1)
    assert engine.store.counts(cid) == {"UNKNOWN": 1}
    assert result["error_code"] == "Worker.Lost"
    assert place_one(engine, client, campaign, job) == "stale"  # the redelivery
    assert simulator.state.snapshot() == []


def test_second_call_cannot_begin_sooner_than_the_interval_after_the_first(engine, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Caller,Callee\n13800000001,13900000001\n13800000001,13900000002\n")
    settings = CampaignSettings("t", "ccc-test", pool=(BROKER,), rate_per_s=1.0, windows=ALWAYS)
    cid = upload(engine.store, path, settings).campaign_id
    engine.start(cid)
    first, second = engine.feed(cid, [BROKER])
    caps = Caps("20261124", "202611", 0, 0, 0, 0, 0)
    assert engine.begin_dial(first, 1000.0, caps) == (1, 0)
    code, wait_ms = engine.begin_dial(second, 1000.0, caps)
    assert code == -4 and 900 < wait_ms <= 1000
    assert engine.store.counts(cid) == {"DIALING": 1, "QUEUED": 1}


def test_account_wide_qps_cap_holds_across_brokers(engine, client, simulator, tmp_path) -> None:
    import threading

    from dialer.pacing import worst_window

    path = tmp_path / "s.csv"
    path.write_text(
        "Caller,Callee,Broker\n"
        + "".join(f"13800000001,139{i:08d},{NUMBERS[i % 2]}\n" for i in range(12))
    )
    settings = CampaignSettings("t", "ccc-test", rate_per_s=50.0, windows=ALWAYS)
    cid = upload(engine.store, path, settings).campaign_id
    engine.start(cid)
    wide = Engine(engine.store, Timing(depth=6))
    jobs = wide.feed(cid, list(NUMBERS[:2]))
    campaign = engine.store.campaign(cid)
    threads = [
        threading.Thread(target=place_one, args=(wide, client, campaign, job),
                         kwargs={"max_qps": 4.0})
        for job in jobs
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [c.accepted_at for c in simulator.state.snapshot()]
    assert len(stamps) == 12
    assert worst_window(stamps) <= 4  # both brokers together, though each may do 50/s
