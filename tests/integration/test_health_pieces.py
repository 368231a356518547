"""The pieces of the dialler's health against a real Redis and the simulator, in one process:
the breaker's scripts, one row meeting an unreachable CCC or a refused key, the monitor's
watchdog and pausing rule, and what status says."""

from __future__ import annotations

import time

import pytest
from support import NUMBERS, feed_now, new_campaign, write_sheet

from dialer.campaign.status import render, status_view
from dialer.ccc.client import CccClient
from dialer.engine import Engine
from dialer.engine.health import WorkerBeat
from dialer.errors import WorkerFatal
from dialer.models import CampaignStatus
from dialer.settings import Credentials
from dialer.worker.dialing import place_one
from dialer.worker.monitor import (
    BREAKER_THRESHOLD,
    FIRST_PROBE_MS,
    HEARTBEAT_TTL_S,
    PROBE_CAP_MS,
    PROBE_GROWTH,
    Breaker,
    Identity,
    Monitor,
    WorkerHealth,
)

NAME = "ccc.test|ccc-test"


def failed(engine: Engine, code: str = "Client.ConnectFailed", owner: str = "") -> tuple:
    return engine.health.breaker_failed(
        NAME,
        threshold=BREAKER_THRESHOLD,
        first_spacing_ms=FIRST_PROBE_MS,
        spacing_cap_ms=PROBE_CAP_MS,
        growth=PROBE_GROWTH,
        code=code,
        owner=owner,
    )


def test_breaker_opens_after_a_run_of_failures_and_any_answer_closes_it(engine) -> None:
    for _ in range(BREAKER_THRESHOLD - 1):
        assert failed(engine) == (False, 0)
    engine.health.breaker_answered(NAME)  # an answer ends the run
    for _ in range(BREAKER_THRESHOLD - 1):
        assert not failed(engine)[0]
    is_open, next_probe = failed(engine)
    state = engine.health.breaker(NAME)
    assert is_open and state.open and state.error == "Client.ConnectFailed"
    assert next_probe - state.since_ms == FIRST_PROBE_MS
    assert engine.health.breaker_answered(NAME) is True
    assert not engine.health.breaker(NAME).open


def test_one_probe_at_a_time_spaced_further_after_each_failure_up_to_the_cap(
    engine, redis_client
) -> None:
    key = engine.keys.breaker(NAME)
    for _ in range(BREAKER_THRESHOLD):
        failed(engine)
    assert engine.health.claim_probe(NAME, owner="a", lease_ms=5000)[0] is False  # not yet
    redis_client.hset(key, "next_probe", 0)
    assert engine.health.claim_probe(NAME, owner="a", lease_ms=5000)[0]
    assert not engine.health.claim_probe(NAME, owner="b", lease_ms=5000)[0]
    failed(engine, owner="b")  # another worker's failure does not reschedule the probe
    assert redis_client.hget(key, "probe") == b"a"
    spacings = []
    for _ in range(12):
        failed(engine, owner="a")  # a's probe failed: the next is spaced further
        spacings.append(int(redis_client.hget(key, "spacing")))
        redis_client.hset(key, "next_probe", 0)
        assert engine.health.claim_probe(NAME, owner="a", lease_ms=5000)[0]
    assert spacings == sorted(spacings) and spacings[0] > FIRST_PROBE_MS
    assert spacings[-1] == PROBE_CAP_MS


def one_row(engine: Engine, tmp_path) -> str:
    sheet = write_sheet(tmp_path / "s.csv", ["13900000001"])
    return new_campaign(engine, sheet, pool=(NUMBERS[0],), rate_per_s=50.0)


def test_a_row_meeting_an_unreachable_ccc_waits_without_using_an_attempt(
    engine, simulator, tmp_path
) -> None:
    cid = one_row(engine, tmp_path)
    [job] = feed_now(engine, cid)
    simulator.go_offline()
    breaker = Breaker(engine, simulator.url)
    outcome = place_one(
        engine,
        CccClient(simulator.url, Credentials("testid", "testsecret")),
        engine.store.campaign(cid),
        job,
        breaker=breaker,
    )
    assert outcome == "NOT_PLACED"  # waits its backoff ...
    assert engine.store.counts(cid) == {"RETRY_WAIT": 1}
    assert engine.store.result_of(cid, 1) == {}  # ... and no attempt is written
    assert breaker.state("ccc-test").failures == 1


def test_while_the_breaker_is_open_a_queued_row_goes_back_undialled(
    engine, simulator, tmp_path
) -> None:
    cid = one_row(engine, tmp_path)
    [job] = feed_now(engine, cid)
    breaker = Breaker(engine, simulator.url)
    for _ in range(BREAKER_THRESHOLD):
        breaker.failed("ccc-test", "Client.ConnectFailed")
    client = CccClient(simulator.url, Credentials("testid", "testsecret"))
    outcome = place_one(engine, client, engine.store.campaign(cid), job, breaker=breaker)
    assert outcome == "ccc_unreachable"
    assert engine.store.counts(cid) == {"PENDING": 1}
    assert simulator.state.snapshot() == []


def test_a_refused_key_makes_the_worker_unhealthy_and_leaves_the_row_untouched(
    engine, simulator, tmp_path
) -> None:
    cid = one_row(engine, tmp_path)
    [job] = feed_now(engine, cid)
    health = WorkerHealth()
    bad = CccClient(simulator.url, Credentials("testid", "wrong"), signature_version="v1")
    campaign = engine.store.campaign(cid)
    assert place_one(engine, bad, campaign, job, health=health) == "NOT_PLACED"
    assert not health.healthy and health.reason.startswith("SignatureDoesNotMatch")
    assert "13900000001" not in health.reason
    assert engine.store.counts(cid) == {"RETRY_WAIT": 1}
    assert engine.store.result_of(cid, 1) == {}
    assert engine.store.campaign(cid).status is CampaignStatus.RUNNING


def monitor(engine: Engine, simulator, health: WorkerHealth, **kw) -> Monitor:
    client = CccClient(simulator.url, Credentials("testid", "testsecret"))
    return Monitor(
        engine,
        client,
        health,
        Breaker(engine, simulator.url),
        Identity("w9@h"),
        probe_instance="ccc-test",
        **kw,
    )


def test_the_watchdog_ends_a_worker_with_room_that_takes_none_of_the_waiting_calls(
    engine, simulator
) -> None:
    now = [1000.0]
    stalled: list[bool] = []
    health = WorkerHealth(concurrency=4)
    health.last_task_at = now[0]
    backlog = [3]
    m = monitor(
        engine,
        simulator,
        health,
        consuming=lambda: True,
        backlog=lambda: backlog[0],
        on_stall=lambda: stalled.append(True),
        clock=lambda: now[0],
    )
    stall_s = engine.timing.stall_s
    m.watch_for_stall(now[0])
    now[0] += stall_s - 1
    m.watch_for_stall(now[0])
    assert not stalled
    health.in_flight = 4  # busy: waiting calls are not its fault
    now[0] += 5
    m.watch_for_stall(now[0])
    assert not stalled
    health.in_flight = 0
    m.watch_for_stall(now[0])
    now[0] += stall_s
    m.watch_for_stall(now[0])
    assert stalled == [True]


@pytest.mark.parametrize("healthy_elsewhere", [True, False])
def test_an_unhealthy_worker_pauses_campaigns_only_when_no_healthy_worker_is_alive(
    engine, simulator, tmp_path, healthy_elsewhere: bool
) -> None:
    cid = one_row(engine, tmp_path)
    health = WorkerHealth()
    health.rejected(WorkerFatal("SignatureDoesNotMatch", "nope"))
    m = monitor(engine, simulator, health)
    m.beat()
    now = engine.now_ms()
    why = "" if healthy_elsewhere else "InvalidAccessKeyId.NotFound: not found"
    other = WorkerBeat("w8@h/1", "w8@h", "h", 1, (), 8, healthy_elsewhere, why, 0, now, now)
    engine.health.beat(other, HEARTBEAT_TTL_S)
    paused = m.pause_if_no_healthy_worker()
    campaign = engine.store.campaign(cid)
    if healthy_elsewhere:
        assert paused == [] and campaign.status is CampaignStatus.RUNNING
    else:
        assert paused == [cid] and campaign.status is CampaignStatus.PAUSED
        assert campaign.pause_reason.startswith(
            "no healthy worker: w8@h (InvalidAccessKeyId.NotFound); w9@h (SignatureDoesNotMatch)"
        )


def test_status_says_ccc_is_unreachable_and_shows_no_eta_meanwhile(engine, simulator, tmp_path):
    sheet = write_sheet(tmp_path / "s.csv", 50)
    cid = new_campaign(engine, sheet, pool=NUMBERS[:1], rate_per_s=1.0)
    m = monitor(engine, simulator, WorkerHealth())
    m.beat()
    assert "ETA" in render(status_view(engine, cid))
    breaker = Breaker(engine, simulator.url)
    for _ in range(BREAKER_THRESHOLD):
        breaker.failed("ccc-test", "Client.ConnectFailed")
    report = status_view(engine, cid)
    text = render(report)
    assert "CCC unreachable since" in text and "(Asia/Shanghai), next probe in" in text
    assert "ETA" not in text and report.eta_s is None
    doc = report.as_dict()["ccc_unreachable"]
    assert doc["error"] == "Client.ConnectFailed" and doc["next_probe_in_s"] <= 1
    time.sleep(FIRST_PROBE_MS / 1000 + 0.1)
    m.probe_open_breakers()  # the simulator answers: the probe closes the breaker
    assert status_view(engine, cid).as_dict()["ccc_unreachable"] is None


def test_a_refused_additional_broker_pauses_the_campaign_and_leaves_the_broker_up(
    engine, client, simulator, tmp_path
) -> None:
    sheet = write_sheet(tmp_path / "s.csv", ["13900000001"])
    cid = new_campaign(engine, sheet, pool=(NUMBERS[0],), additional_broker="02150000001")
    [job] = feed_now(engine, cid)
    assert place_one(engine, client, engine.store.campaign(cid), job) == "CAMPAIGN_FATAL"
    campaign = engine.store.campaign(cid)
    assert campaign.status is CampaignStatus.PAUSED
    assert "the additional broker 0215000**** is not a number of instance ccc-test" in (
        campaign.pause_reason
    )
    assert [b.down for b in engine.store.broker_figures(cid)] == [""]
    assert engine.store.counts(cid) == {"PENDING": 1}


def test_a_worker_whose_key_is_accepted_again_takes_calls_again(engine, simulator) -> None:
    health = WorkerHealth()
    changes: list[bool] = []
    health.on_change(changes.append)
    health.rejected(WorkerFatal("InvalidTimeStamp.Expired", "clock off"))
    m = monitor(engine, simulator, health)  # this client's key and clock are fine
    m.check_credentials()
    assert health.healthy and health.reason == "" and changes == [False, True]
