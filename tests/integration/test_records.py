"""Final outcomes from call records and UNKNOWN reconciliation, against the simulator's
GetCallDetailRecord / ListCallDetailRecords (real HTTP, real Redis, rows placed in-process)."""

from __future__ import annotations

import json
import time

import pytest
from support import NUMBERS, feed_now, new_campaign, write_sheet

from dialer.ccc.client import CccClient
from dialer.ccc.responses import CallDetailRecord
from dialer.ccc.simulator import Simulator, SimulatorConfig
from dialer.dialing import place_one
from dialer.embedded_redis import free_port
from dialer.engine import Engine
from dialer.records import RecordsPoller, classify
from dialer.settings import Credentials

BROKER = NUMBERS[0]


@pytest.fixture
def engine(make_engine) -> Engine:
    return make_engine(depth=20, cdr_margin_s=-1.0, reconcile_wait_s=0.0)


def client_for(sim: Simulator, **kw) -> CccClient:
    return CccClient(sim.url, Credentials("testid", "testsecret"), **kw)


def start(engine: Engine, tmp_path, n: int, **kw) -> str:
    sheet = write_sheet(tmp_path / "s.csv", n, timeout_seconds=1)
    return new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=200.0, pair_guard_s=0, **kw)


def drive(engine: Engine, client: CccClient, cid: str) -> list[str]:
    """Feed and place until nothing more is fed."""
    campaign = engine.store.campaign(cid)
    placed: list[str] = []
    while jobs := feed_now(engine, cid):
        placed += [place_one(engine, client, campaign, j) for j in jobs]
    return placed


def poll_until_settled(poller: RecordsPoller, engine: Engine, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and engine.store.r.smembers(engine.keys.records()):
        poller.poll_once()
        time.sleep(0.05)


def rows(engine: Engine, cid: str) -> list[tuple[str, dict]]:
    return [(s, r) for _, s, r in engine.store.iter_rows(cid)]


@pytest.mark.parametrize(
    ("disposition", "reason", "established", "initiator", "outcome"),
    [
        ("Success", "200 OK", True, "customer", "CONNECTED"),
        ("NoAnswer", "480 Temporarily Unavailable", False, "caller", "CALLER_NO_ANSWER"),
        ("NoAnswer", "408 Request Timeout", False, "callee", "CALLEE_NO_ANSWER"),
        ("Reject", "486 Busy Here", False, "callee", "BUSY"),
        ("Reject", "473 CALLED_FREQUENCY_LIMIT", False, "carrier", "REJECTED_BY_CARRIER"),
        ("Reject", "503 Service Unavailable", False, "callee", "FAILED_OTHER"),
    ],
)
def test_outcome_mapping(disposition, reason, established, initiator, outcome) -> None:
    cdr = CallDetailRecord.from_json({
        "ContactDisposition": disposition, "ReleaseReason": reason,
        "ReleaseInitiator": initiator, "StartTime": 1_000_000,
        "EstablishedTime": 1_005_000 if established else None, "ReleaseTime": 1_065_000,
    })  # fmt: skip
    got = classify(cdr)
    assert got["outcome"] == outcome
    assert got["talk_seconds"] == (60 if established else 0)
    assert got["release_reason"] == reason


def test_each_simulated_disposition_maps_to_an_outcome(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 60)
    assert set(drive(engine, client, cid)) == {"DISPATCHED"}
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    seen = {}
    for _state, result in rows(engine, cid):
        cdr = simulator.state.call_by_job(result["job_id"]).cdr
        seen[cdr["ReleaseReason"]] = result["outcome"]
        assert result["release_reason"] == cdr["ReleaseReason"]
        assert (result["outcome"] == "CONNECTED") == bool(cdr["EstablishedTime"])
        if cdr["EstablishedTime"]:
            assert result["talk_seconds"] == (cdr["ReleaseTime"] - cdr["EstablishedTime"]) // 1000
    assert seen == {
        "200 OK": "CONNECTED",
        "480 Temporarily Unavailable": "CALLER_NO_ANSWER",
        "408 Request Timeout": "CALLEE_NO_ANSWER",
        "486 Busy Here": "BUSY",
        "473 CALLED_FREQUENCY_LIMIT": "REJECTED_BY_CARRIER",
    }


def test_no_outcomes_fetches_nothing(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 3, outcomes=False)
    drive(engine, client, cid)
    assert not engine.store.r.exists(engine.keys.cdr_due(cid))
    assert all("outcome" not in r for _, r in rows(engine, cid))


def test_record_not_ready_is_retried_later(engine, tmp_path, redis_client, namespace) -> None:
    config = SimulatorConfig(numbers=NUMBERS, cdr_delay_ms=60_000)
    with Simulator(config) as sim:
        client = client_for(sim)
        cid = start(engine, tmp_path, 1)
        drive(engine, client, cid)
        RecordsPoller(engine, client, qps=500).poll_once()
        [(state, result)] = rows(engine, cid)
        assert state == "DISPATCHED" and result["cdr_tries"] == 1 and "outcome" not in result
        assert engine.store.r.zscore(engine.keys.cdr_due(cid), "1") > time.time() * 1000 + 5_000


def test_forbidden_ram_is_a_note_not_a_failed_campaign(engine, tmp_path) -> None:
    config = SimulatorConfig(numbers=NUMBERS, forbidden_actions=frozenset({"GetCallDetailRecord"}))
    with Simulator(config) as sim:
        client = client_for(sim)
        cid = start(engine, tmp_path, 2)
        assert drive(engine, client, cid) == ["DISPATCHED", "DISPATCHED"]
        poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
        assert "Forbidden.RAM" in engine.store.campaign(cid).outcomes_note
        assert engine.store.counts(cid) == {"DISPATCHED": 2}


def test_dropped_answer_is_reconciled_to_the_call_that_was_placed(engine, tmp_path, simulator):
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    simulator.faults.drop_rate = 1.0
    assert drive(engine, client, cid) == ["UNKNOWN"]
    simulator.faults.drop_rate = 0.0
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    [(state, result)] = rows(engine, cid)
    calls = [json.loads(line) for line in simulator.config.calls_log.read_text().splitlines()]
    assert len(calls) == 1
    assert state == "DISPATCHED"
    assert result["job_id"] == calls[0]["job_id"]
    assert result["reconcile"] == "found in the call records"
    assert result["outcome"]  # and its record was then fetched


def test_request_that_never_placed_a_call_is_dialled_again(engine, tmp_path, simulator) -> None:
    slow = client_for(simulator, read_timeout_s=0.2)
    cid = start(engine, tmp_path, 1)
    simulator.faults.latency_ms = 600  # the answer (a CTI failure) comes after our timeout
    simulator.faults.fail_rate = 1.0
    assert drive(engine, slow, cid) == ["UNKNOWN"]
    simulator.faults.latency_ms = 0
    simulator.faults.fail_rate = 0.0
    RecordsPoller(engine, slow, qps=500).poll_once()
    [(state, result)] = rows(engine, cid)
    assert state == "PENDING" and result["reconcile"].startswith("not in the call records")
    assert drive(engine, slow, cid) == ["DISPATCHED"]
    assert len(simulator.state.snapshot()) == 1


def test_unclear_rows_stay_unknown(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    simulator.faults.drop_rate = 1.0
    drive(engine, client, cid)
    unreachable = CccClient(f"http://127.0.0.1:{free_port()}", Credentials("testid", "testsecret"))
    poller = RecordsPoller(engine, unreachable, qps=500)  # the lookups cannot be made
    poller.poll_once()
    [(state, result)] = rows(engine, cid)
    assert state == "UNKNOWN" and result["reconcile_tries"] == 1
