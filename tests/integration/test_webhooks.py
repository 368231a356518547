"""Webhooks end to end: real Redis, real `celery worker` processes, the simulator, and a real
HTTP receiver on 127.0.0.1 that verifies every signature with the `standardwebhooks` package
(an implementation independent of ours)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest
import redis
from standardwebhooks import Webhook
from support import ALWAYS, NUMBERS, emitted, engine_env, new_campaign, wait_until, write_sheet
from webhook_receiver import Behaviour, Receiver

from dialer.engine import CampaignStore, Engine, Keys
from dialer.engine.events import EventStore, WebhookEndpoint
from dialer.errors import SheetError
from dialer.models import CampaignSettings, CampaignStatus
from dialer.sheets.append import append
from dialer.sheets.upload import upload
from dialer.webhooks.signing import new_secret

DIALER = [sys.executable, "-m", "dialer.cli"]
# Short backoff, lease and timeouts: retries and recovery within a test.
FAST = {
    "DIALER_WEBHOOK_BACKOFF_BASE_S": "0.2",
    "DIALER_WEBHOOK_BACKOFF_CAP_S": "1",
    "DIALER_WEBHOOK_LEASE_S": "4",
    "DIALER_WEBHOOK_READ_TIMEOUT_S": "1",
    "DIALER_WEBHOOK_CONNECT_TIMEOUT_S": "1",
    "DIALER_CDR_MARGIN_S": "1",
    "DIALER_WEBHOOK_BREAKER_PROBE_S": "0.5",
    "DIALER_WEBHOOK_BREAKER_PROBE_CAP_S": "2",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def dialer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*DIALER, *args], env=env, capture_output=True, text=True, timeout=60)


def webhook_campaign(engine: Engine, sheet, endpoints: list[WebhookEndpoint], **settings) -> str:
    cid = new_campaign(engine, sheet, start=False, **settings)
    EventStore(engine.store.r, engine.store.keys).save_endpoints(cid, endpoints)
    engine.start(cid)
    return cid


def verified(receiver: Receiver, secret: str) -> list[dict]:
    """Every event the receiver took, each signature checked with `secret`."""
    wh = Webhook(secret)
    return [wh.verify(r.body, r.headers) for r in list(receiver.received)]


def by_row(events: list[dict]) -> dict[int, list[dict]]:
    """Each row's distinct events, in sequence order."""
    rows: dict[int, dict[str, dict]] = defaultdict(dict)
    for e in events:
        if e["row"] is not None:
            rows[e["row"]][e["id"]] = e
    return {r: sorted(es.values(), key=lambda e: e["seq"]) for r, es in rows.items()}


def finished(receiver: Receiver, secret: str, rows: int) -> bool:
    events = verified(receiver, secret)
    done = {e["row"] for e in events if e["type"] == "row.finished"}
    statuses = {e["data"]["status"] for e in events if e["type"] == "campaign.status"}
    return len(done) == rows and "DONE" in statuses


def test_every_event_of_a_campaign_is_delivered_signed_and_in_sequence_per_row(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    receiver.behaviour = Behaviour(fail_first=5)  # the first answers are 500s: retried
    secret = new_secret()
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "Caller,Callee,CrmId\n" + "".join(f"1380{i:07d},139{i:08d},lead-{i}\n" for i in range(8))
    )
    cid = webhook_campaign(
        engine,
        sheet,
        [WebhookEndpoint("1", receiver.url, (), (secret,))],
        pool=NUMBERS[:2],
        rate_per_s=5.0,
    )
    env = engine_env(redis_server.url, namespace, simulator.url, **FAST)
    workers(env).start()
    wait_until(lambda: finished(receiver, secret, 8), 90, "every row's row.finished")
    # Deliveries are not ordered: a failed event may still be on its way after the last row's.
    kept = EventStore(engine.store.r, engine.store.keys)
    wait_until(
        lambda: all(d["state"] == "delivered" for d in kept.deliveries(cid).values()),
        30,
        "every delivery delivered",
    )

    events = verified(receiver, secret)
    rows = by_row(events)
    assert sorted(rows) == list(range(1, 9))
    for row, es in rows.items():
        assert [e["type"] for e in es] == ["call.placed", "call.ended", "row.finished"], row
        assert [e["seq"] for e in es] == [1, 2, 3]
        assert [e["occurred_at_ms"] for e in es] == sorted(e["occurred_at_ms"] for e in es)
        assert all(e["campaign"] == cid and e["attempt"] == 1 for e in es)
        assert es[0]["columns"] == {"CrmId": f"lead-{row - 1}"}
        assert es[0]["callee"] == f"139{row - 1:08d}" and es[0]["data"]["job_id"]
        assert es[1]["data"]["outcome"] and es[2]["data"]["state"] == "DISPATCHED"
    # Every event the engine kept was delivered: nothing lost between outbox and receiver.
    assert set(kept.event_times(cid)) == {e["id"] for e in events}
    log = kept.deliveries(cid)
    assert all(d["state"] == "delivered" for d in log.values())
    retried = [d for d in log.values() if d["attempts"] > 1]
    assert retried and all(d["log"][0]["status"] == 500 for d in retried)
    assert receiver.requests >= len({e["id"] for e in events}) + 5


def test_the_global_endpoint_signs_with_both_secrets_during_a_rotation_and_filters_events(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    new, old = new_secret(), new_secret()
    cid = new_campaign(engine, write_sheet(tmp_path / "s.csv", 4), pool=NUMBERS[:1], rate_per_s=5.0)
    env = engine_env(
        redis_server.url,
        namespace,
        simulator.url,
        DIALER_WEBHOOK_URL=receiver.url,
        DIALER_WEBHOOK_SECRET=new,
        DIALER_WEBHOOK_SECRET_PREVIOUS=old,
        DIALER_WEBHOOK_EVENTS="row.*,campaign.status",
        **FAST,
    )
    workers(env).start()
    wait_until(lambda: finished(receiver, new, 4), 90, "every row's row.finished")
    assert verified(receiver, old) == verified(receiver, new)  # both signatures verify
    types = {e["type"] for e in verified(receiver, new)}
    assert types == {"row.finished", "campaign.status"} and cid


def test_a_worker_killed_mid_delivery_and_a_redis_restart_lose_no_event(
    simulator, namespace, workers, receiver, tmp_path
) -> None:
    from dialer.engine.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        engine = Engine(CampaignStore(redis.Redis.from_url(server.url), Keys(namespace)))
        secret = new_secret()
        receiver.behaviour = Behaviour(hang_s=30)  # deliveries under way when the kill comes
        cid = webhook_campaign(
            engine,
            write_sheet(tmp_path / "s.csv", 10),
            [WebhookEndpoint("1", receiver.url, (), (secret,))],
            pool=NUMBERS[:2],
            rate_per_s=5.0,
        )
        env = engine_env(
            server.url, namespace, simulator.url, **{**FAST, "DIALER_WEBHOOK_READ_TIMEOUT_S": "60"}
        )
        w = workers(env)
        first = w.start()
        wait_until(lambda: receiver.requests >= 3, 30, "deliveries in flight")
        w.kill(first)
        server.stop(kill=True)
        time.sleep(1)
        server.start()
        receiver.behaviour = Behaviour()
        w.start()
        wait_until(lambda: finished(receiver, secret, 10), 120, "every row's row.finished")
        events = verified(receiver, secret)
        kept = EventStore(engine.store.r, engine.store.keys)
        wait_until(
            lambda: set(kept.event_times(cid)) <= {e["id"] for e in verified(receiver, secret)},
            30,
            "every kept event delivered",
        )
        for row, es in by_row(events).items():
            seqs = [e["seq"] for e in es]
            assert seqs == list(range(1, len(seqs) + 1)), row  # no gap: none lost
            assert es[-1]["type"] == "row.finished"
    finally:
        server.cleanup()


def test_an_endpoint_answering_410_is_disabled_and_shown_so(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    receiver.behaviour = Behaviour(status=410)
    cid = webhook_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 3),
        [WebhookEndpoint("1", receiver.url, (), (new_secret(),))],
        pool=NUMBERS[:1],
        rate_per_s=5.0,
    )
    env = engine_env(redis_server.url, namespace, simulator.url, **FAST)
    workers(env).start()
    kept = EventStore(engine.store.r, engine.store.keys)
    wait_until(lambda: kept.endpoint_state(cid, "1").disabled, 60, "the endpoint disabled")
    listed = json.loads(dialer(env, "webhooks", cid, "--json").stdout)
    assert listed["endpoints"][0]["disabled"] == "Webhook.Gone"
    assert "webhook endpoint 1 disabled: Webhook.Gone" in dialer(env, "status", cid).stdout
    from dialer.settings import Settings
    from dialer.web.backend import Backend

    assert (cid, "1", "Webhook.Gone") in Backend(Settings.from_env(env)).metrics().webhooks_disabled
    # Once disabled, nothing more is sent to it: the rest wait, held, for a redelivery.
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 60, "DONE")
    time.sleep(2)
    asked = receiver.requests
    time.sleep(2)
    assert receiver.requests == asked
    states = {d["state"] for d in kept.deliveries(cid).values()}
    assert states <= {"gone", "held", "pending"} and "held" in states


def test_calls_keep_their_pace_while_the_receiver_hangs(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    receiver.behaviour = Behaviour(hang_s=5)  # every delivery waits out its read timeout
    rate = 4.0
    cid = webhook_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 24),
        [WebhookEndpoint("1", receiver.url, (), (new_secret(),))],
        pool=NUMBERS[:1],
        rate_per_s=rate,
    )
    env = engine_env(
        redis_server.url, namespace, simulator.url, **{**FAST, "DIALER_WEBHOOK_READ_TIMEOUT_S": "3"}
    )
    workers(env).start(concurrency=4)
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 90, "DONE")
    log = EventStore(engine.store.r, engine.store.keys).deliveries(cid).values()
    assert receiver.requests > 0 and not any(d["state"] == "delivered" for d in log)
    assert any(d.get("last", {}).get("error") == "read timeout" for d in log)
    # The engine's own start times (Redis clock): spaced by the broker's interval, no more.
    begun = sorted(r["first_attempt_at"] for _, _, r in engine.store.iter_rows(cid))
    gaps = [b - a for a, b in itertools.pairwise(begun)]
    interval_ms = 1000 / rate
    assert min(gaps) >= interval_ms * 0.98
    assert sorted(gaps)[len(gaps) // 2] <= interval_ms * 1.15


def test_an_endpoint_failing_long_enough_is_disabled_and_a_redelivery_brings_it_back(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    receiver.behaviour = Behaviour(fail_first=10**6)
    secret = new_secret()
    cid = webhook_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 3),
        [WebhookEndpoint("1", receiver.url, (), (secret,))],
        pool=NUMBERS[:1],
        rate_per_s=5.0,
    )
    failing = {"DIALER_WEBHOOK_MAX_FAILURES": "4", "DIALER_WEBHOOK_DISABLE_AFTER_S": "1"}
    env = engine_env(redis_server.url, namespace, simulator.url, **FAST, **failing)
    workers(env).start()
    kept = EventStore(engine.store.r, engine.store.keys)
    wait_until(
        lambda: kept.endpoint_state(cid, "1").disabled == "Webhook.Failing",
        60,
        "the endpoint disabled",
    )
    assert "webhook endpoint 1 disabled: Webhook.Failing" in dialer(env, "status", cid).stdout
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 60, "DONE")
    receiver.behaviour = Behaviour()  # the receiver is fixed; the operator redelivers
    done = dialer(env, "webhooks", cid, "--since", "1h")
    assert done.returncode == 0 and "deliveries queued again" in done.stdout, done.stderr
    wait_until(lambda: finished(receiver, secret, 3), 60, "every row's row.finished")
    assert not kept.endpoint_state(cid, "1").disabled
    assert set(kept.event_times(cid)) == {e["id"] for e in verified(receiver, secret)}


def test_a_worker_started_for_the_webhooks_queue_delivers_and_takes_no_call(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    secret = new_secret()
    env = engine_env(redis_server.url, namespace, simulator.url, **FAST)
    pool = workers(env, name="deliverer")
    deliverer = pool.start(concurrency=4, extra=("-Q", f"{namespace}.webhooks"))
    log = pool.log(0)
    try:
        wait_until(
            lambda: "takes no calls" in log.read_text(errors="replace"),
            30,
            "the delivery-only worker up",
        )
        cid = webhook_campaign(
            engine,
            write_sheet(tmp_path / "s.csv", 4),
            [WebhookEndpoint("1", receiver.url, (), (secret,))],
            pool=NUMBERS[:1],
            rate_per_s=5.0,
        )
        time.sleep(3)
        assert engine.store.counts(cid).get("PENDING") == 4  # no call taken by it
        workers(env).start()  # a worker for calls (and deliveries)
        wait_until(lambda: finished(receiver, secret, 4), 90, "every row's row.finished")
        assert deliverer.poll() is None
        assert "dialer.deliver_webhooks" in log.read_text(errors="replace")
    finally:
        deliverer.terminate()
        deliverer.wait(timeout=20)


def test_a_delivery_failed_in_a_short_outage_is_retried_after_its_backoff_not_its_lease(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    # The lease (a claimed delivery whose worker died) far longer than the backoff: a failed
    # attempt must come back after its backoff, never after the lease.
    base_s, cap_s, lease_s = 0.2, 1.0, 60.0
    receiver.go_away()  # no connection: every attempt fails until it is back
    secret = new_secret()
    cid = webhook_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", 4),
        [WebhookEndpoint("1", receiver.url, (), (secret,))],
        pool=NUMBERS[:1],
        rate_per_s=5.0,
    )
    env = engine_env(
        redis_server.url, namespace, simulator.url, **{**FAST, "DIALER_WEBHOOK_LEASE_S": "60"}
    )
    workers(env).start()
    kept = EventStore(engine.store.r, engine.store.keys)
    wait_until(
        lambda: any(d["attempts"] >= 2 for d in kept.deliveries(cid).values()),
        30,
        "deliveries failed twice",
    )
    receiver.come_back()
    wait_until(lambda: finished(receiver, secret, 4), 60, "every row's row.finished")
    wait_until(
        lambda: all(d["state"] == "delivered" for d in kept.deliveries(cid).values()),
        30,
        "every delivery delivered",
    )
    # Each attempt after a failed one came within that failure's backoff (Redis clock, the
    # delivery log's own times), give or take the dispatcher's round: nowhere near the lease.
    gaps = []
    for d in kept.deliveries(cid).values():
        first = d["attempts"] - len(d["log"]) + 1  # the log keeps the last attempts only
        for n, (failed, next_try) in enumerate(itertools.pairwise(d["log"]), start=first):
            assert failed["error"] == "connection failed"
            backoff_ms = min(cap_s, base_s * 2 ** (n - 1)) * 1000
            gaps.append(next_try["at"] - failed["at"] - backoff_ms)
    assert gaps and max(gaps) < lease_s * 1000 / 10, gaps


def test_a_failing_endpoint_is_paused_tried_by_one_probe_at_a_time_and_drained_when_back(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    receiver.behaviour = Behaviour(status=503)  # up, but failing every request until fixed
    secret, rows = new_secret(), 24
    cid = webhook_campaign(
        engine,
        write_sheet(tmp_path / "s.csv", rows),
        [WebhookEndpoint("1", receiver.url, (), (secret,))],
        pool=NUMBERS[:1],
        rate_per_s=5.0,
    )
    env = engine_env(redis_server.url, namespace, simulator.url, **FAST)
    workers(env).start()
    kept = EventStore(engine.store.r, engine.store.keys)
    wait_until(lambda: kept.paused(cid, "1"), 60, "the endpoint paused")
    wait_until(lambda: engine.store.campaign(cid).status is CampaignStatus.DONE, 90, "DONE")
    wait_until(lambda: kept.outbox_backlog() == 0, 30, "every event fanned out")
    log = kept.deliveries(cid)
    # Without the breaker each delivery is tried at least once, and again after each backoff;
    # paused, most were never tried: only the failures that opened it, the attempts already
    # under way then, and one probe at a time.
    tried = sum(d["attempts"] for d in log.values())
    assert tried == receiver.requests
    assert tried < len(log) / 2, (tried, len(log))
    assert sum(d["attempts"] == 0 for d in log.values()) > len(log) / 2
    assert kept.parked_count() > 0 and not kept.endpoint_state(cid, "1").disabled
    assert kept.endpoint_state(cid, "1").paused
    assert "PAUSED" in dialer(env, "webhooks", cid).stdout

    receiver.behaviour = Behaviour()  # back: the next probe succeeds, the rest follow at once
    wait_until(lambda: finished(receiver, secret, rows), 60, "every row's row.finished")
    wait_until(
        lambda: all(d["state"] == "delivered" for d in kept.deliveries(cid).values()),
        30,
        "every delivery delivered",
    )
    assert set(kept.event_times(cid)) == {e["id"] for e in verified(receiver, secret)}
    assert not kept.paused(cid, "1") and kept.parked_count() == 0
    for es in by_row(verified(receiver, secret)).values():
        assert [e["seq"] for e in es] == list(range(1, len(es) + 1))


def test_rows_rejected_at_upload_and_at_append_are_finished_with_their_reasons(
    engine, tmp_path
) -> None:
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "Caller,Callee,CrmId\n13800000001,13900000001,a\n13800000002,12345,b\n"
        "13800000003,13900000001,c\n"
    )
    cid = upload(
        engine.store,
        sheet,
        CampaignSettings("t", "ccc-test", pool=NUMBERS[:1], windows=("00:00-24:00",)),
        webhooks=[WebhookEndpoint("1", "http://127.0.0.1:9/hook", (), (new_secret(),))],
    ).campaign_id
    got = {e.row: e for e in emitted(engine)}
    assert sorted(got) == [2, 3]  # written as the upload completed, before any start
    assert {r: (e.type, e.seq, e.data["state"]) for r, e in got.items()} == {
        2: ("row.finished", 1, "REJECTED"),
        3: ("row.finished", 1, "REJECTED"),
    }
    assert got[2].data["error_code"] == "Sheet.InvalidNumber"
    assert got[3].data["error_code"] == "Sheet.Duplicate" and got[3].data["error_message"]
    more = tmp_path / "more.csv"
    more.write_text("Caller,Callee,CrmId\n13800000004,13900000004,d\n13800000005,13900000001,e\n")
    append(engine, cid, more)
    [rejected] = emitted(engine)  # the appended row accepted has no event until it is dialled
    assert (rejected.row, rejected.type, rejected.seq) == (5, "row.finished", 1)
    assert rejected.data == {
        "state": "REJECTED",
        "error_code": "Sheet.Duplicate",
        "error_message": rejected.data["error_message"],
    }
    # A sheet the upload refuses stores nothing: no event either.
    (tmp_path / "bad.csv").write_text("Caller,Callee\n")
    with pytest.raises(SheetError):
        upload(
            engine.store, tmp_path / "bad.csv", CampaignSettings("t", "ccc-test", pool=NUMBERS[:1])
        )
    assert emitted(engine) == []


def test_a_row_rejected_at_upload_reaches_the_receiver_as_finished(
    engine, simulator, redis_server, namespace, workers, receiver, tmp_path
) -> None:
    secret = new_secret()
    sheet = tmp_path / "s.csv"
    sheet.write_text("Caller,Callee\n13800000001,13900000001\n13800000002,12345\n")
    cid = upload(
        engine.store,
        sheet,
        CampaignSettings(
            "t", "ccc-test", pool=NUMBERS[:1], rate_per_s=5.0, windows=ALWAYS, max_agent_misses=1
        ),
        webhooks=[WebhookEndpoint("1", receiver.url, (), (secret,))],
    ).campaign_id
    engine.start(cid)
    workers(engine_env(redis_server.url, namespace, simulator.url, **FAST)).start()
    wait_until(lambda: finished(receiver, secret, 2), 60, "both rows' row.finished")
    [rejected] = [e for e in verified(receiver, secret) if e["row"] == 2]
    assert rejected["data"]["state"] == "REJECTED" and rejected["seq"] == 1
    assert rejected["data"]["error_code"] == "Sheet.InvalidNumber"
