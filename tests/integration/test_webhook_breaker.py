"""The endpoint circuit breaker in the webhook scripts, on a real Redis and no workers: which
deliveries a claim hands out while an endpoint fails in a row, and what its closing does."""

from __future__ import annotations

import redis

from dialer.engine.events import Delivery, EventStore, Retry
from dialer.engine.keys import Keys

CID = "c1"
# Probes due at once (probe_ms 0) so the test waits for nothing; the backoff is 0 too: a
# failed delivery is due again at once, and must be parked, not handed out.
RETRY = Retry(
    base_ms=0,
    cap_ms=0,
    max_age_ms=3_600_000,
    max_failures=1000,
    min_failing_ms=3_600_000,
    breaker_failures=3,
    probe_ms=0,
    probe_cap_ms=0,
)
LEASE_MS = 60_000


def deliveries(redis_client: redis.Redis, namespace: str, n: int) -> EventStore:
    """`n` events of campaign CID fanned out to its endpoint "1", each due now."""
    events = EventStore(redis_client, Keys(namespace))
    events.ensure_group()
    for seq in range(1, n + 1):
        redis_client.xadd(
            events.keys.outbox(),
            {"type": "call.placed", "campaign": CID, "row": seq, "seq": 1, "at": 0, "data": "{}"},
        )
    for event in events.read("test", count=n, block_ms=0, claim_idle_ms=60_000):
        assert events.fan_out(event, b"{}", ["1"]) == 1
    return events


def record(events: EventStore, d: Delivery, act: str) -> str:
    status = {"ok": 200, "gone": 410}.get(act, 503)
    state, _ = events.record_attempt(
        d, act=act, status=status, latency_ms=1, error="", jitter=0.5, retry=RETRY
    )
    return state


def test_failures_in_a_row_park_the_rest_one_probe_goes_at_a_time_and_success_drains_all(
    redis_client: redis.Redis, namespace: str
) -> None:
    events = deliveries(redis_client, namespace, 10)
    first = events.claim_due(limit=3, lease_ms=LEASE_MS)
    for d in first:
        assert not events.paused(CID, "1")
        record(events, d, "fail")
    assert events.paused(CID, "1")

    # The 7 never tried and the 3 failed ones (due again at once) are parked; one goes out as
    # the probe, and no other while it is out.
    probe = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(probe) == 1 and events.parked_count() == 9
    assert events.claim_due(limit=100, lease_ms=LEASE_MS) == []

    # A failed probe: the next one goes when its time comes (now, here), still one at a time.
    record(events, probe[0], "fail")
    probe = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(probe) == 1 and events.parked_count() == 9
    assert events.endpoint_state(CID, "1").paused

    # It gets through: the circuit closes and every parked delivery is due at once.
    assert record(events, probe[0], "ok") == "delivered"
    assert not events.paused(CID, "1") and events.parked_count() == 0
    rest = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(rest) == 9
    assert {record(events, d, "ok") for d in rest} == {"delivered"}
    log = events.deliveries(CID)
    assert len(log) == 10 and all(d["state"] == "delivered" for d in log.values())
    # Never tried while paused: only the 3 that opened it and the 2 probes were attempted.
    assert sum(d["attempts"] for d in log.values()) == 3 + 2 + 9


def test_a_probe_answered_410_disables_the_endpoint_and_releases_its_parked_deliveries(
    redis_client: redis.Redis, namespace: str
) -> None:
    events = deliveries(redis_client, namespace, 5)
    for d in events.claim_due(limit=3, lease_ms=LEASE_MS):
        record(events, d, "fail")
    probe = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(probe) == 1 and events.parked_count() == 4
    assert record(events, probe[0], "gone") == "gone"
    assert events.endpoint_state(CID, "1").disabled == "Webhook.Gone"
    assert not events.paused(CID, "1") and events.parked_count() == 0
    # Due again, to be held by the deliverer as every delivery of a disabled endpoint is.
    released = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(released) == 4
    assert {record(events, d, "held") for d in released} == {"held"}


def test_a_probe_whose_delivery_vanished_is_replaced_by_the_next(
    redis_client: redis.Redis, namespace: str
) -> None:
    events = deliveries(redis_client, namespace, 4)
    for d in events.claim_due(limit=3, lease_ms=LEASE_MS):
        record(events, d, "fail")
    probe = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(probe) == 1
    # The probe's delivery is gone (its campaign deleted): the next claim sends another.
    redis_client.hdel(events.keys.webhook_deliveries(CID), f"{probe[0].event_id}|1")
    assert record(events, probe[0], "fail") == "missing"
    again = events.claim_due(limit=100, lease_ms=LEASE_MS)
    assert len(again) == 1 and again != probe
    # It gets through; nothing waits any more.
    record(events, again[0], "ok")
    assert not events.paused(CID, "1")
