"""Call records against the simulator's GetCallDetailRecord / ListCallDetailRecords (real HTTP,
real Redis, rows placed in-process): outcomes in bulk, and UNKNOWN rows reconciled only by what
the records show — never dialled again because a call is not (yet) there."""

from __future__ import annotations

import time

import pytest
from support import (
    ALWAYS,
    NUMBERS,
    calls_log,
    emitted,
    feed_now,
    new_campaign,
    wait_until,
    write_sheet,
)

from dialer.calendar import Calendar
from dialer.campaign.status import status_view
from dialer.ccc.client import CccClient
from dialer.ccc.records import parse_record
from dialer.ccc.responses import CallDetailRecord
from dialer.ccc.simulator import Simulator, SimulatorConfig
from dialer.engine import Caps, Engine
from dialer.engine.embedded import free_port
from dialer.records.poller import RecordsPoller, classify
from dialer.results.report import render_html
from dialer.settings import Credentials
from dialer.worker.dialing import place_one

BROKER = NUMBERS[0]


@pytest.fixture
def engine(make_engine) -> Engine:
    # Lookups as soon as a row is placed, every tick, never waiting for the request budget.
    return make_engine(
        depth=20, cdr_margin_s=0.0, reconcile_wait_s=0.0, records_poll_s=0.0, records_max_lag_s=0.0
    )


def client_for(sim: Simulator, **kw) -> CccClient:
    return CccClient(sim.url, Credentials("testid", "testsecret"), **kw)


def start(engine: Engine, tmp_path, n: int, **kw) -> str:
    # Campaigns of one test share callers; holding callers is tested in test_callers.py.
    kw.setdefault("caller_pacing", False)
    sheet = write_sheet(tmp_path / "s.csv", n, timeout_seconds=1)
    return new_campaign(engine, sheet, pool=(BROKER,), rate_per_s=200.0, pair_guard_s=0, **kw)


def drive(engine: Engine, client: CccClient, cid: str) -> list[str]:
    """Feed and place until nothing more is fed."""
    campaign = engine.store.campaign(cid)
    placed: list[str] = []
    while jobs := feed_now(engine, cid):
        while jobs:  # and the rows each finishing call feeds into its place
            placed.append(place_one(engine, client, campaign, jobs.pop(0), enqueue=jobs.extend))
    return placed


def waiting(engine: Engine) -> bool:
    return bool(engine.store.records_campaigns())


def poll_until_settled(poller: RecordsPoller, engine: Engine, timeout_s: float = 10) -> None:
    wait_until(lambda: not waiting(engine), timeout_s, "every lookup settled", poller.poll_once)


def rows(engine: Engine, cid: str) -> list[tuple[str, dict]]:
    return [(s, r) for _, s, r in engine.store.iter_rows(cid)]


def lose_answers(sim: Simulator, engine: Engine, client: CccClient, cid: str) -> None:
    """Every call placed, every answer lost: the rows are UNKNOWN."""
    sim.faults.drop_rate = 1.0
    assert set(drive(engine, client, cid)) == {"UNKNOWN"}
    sim.faults.drop_rate = 0.0


@pytest.mark.parametrize(
    ("disposition", "reason", "established", "initiator", "outcome"),
    [
        ("Success", "200 OK", True, "customer", "CONNECTED"),
        ("Success", "200 - OK", True, "callee", "CONNECTED"),
        ("NoAnswer", "480 Temporarily Unavailable", False, "caller", "CALLER_NO_ANSWER"),
        ("NoAnswer", "480:TEMPORARILY_UNAVAILABLE", False, "caller", "CALLER_NO_ANSWER"),
        ("NoAnswer", "408 Request Timeout", False, "callee", "CALLEE_NO_ANSWER"),
        ("Reject", "486 Busy Here", False, "callee", "BUSY"),
        ("Reject", "486:USER_BUSY", False, "caller", "BUSY"),
        ("Reject", "473 CALLED_FREQUENCY_LIMIT", False, "carrier", "REJECTED_BY_CARRIER"),
        ("Reject", "503 Service Unavailable", False, "callee", "FAILED_OTHER"),
    ],
)
def test_outcome_mapping(disposition, reason, established, initiator, outcome) -> None:
    data = {
        "ContactId": "job-1",
        "ContactDisposition": disposition,
        "ReleaseReason": reason,
        "ReleaseInitiator": initiator,
        "StartTime": 1_000_000,
        "EstablishedTime": 1_005_000 if established else None,
        "ReleaseTime": 1_065_000,
    }
    for record in (CallDetailRecord.from_json(data), parse_record(data)):
        got = classify(record)
        assert got["outcome"] == outcome
        assert got["talk_seconds"] == (60 if established else 0)
        assert got["release_reason"] == reason


def test_outcomes_come_in_bulk_listings(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 60)
    assert set(drive(engine, client, cid)) == {"DISPATCHED"}
    poller = RecordsPoller(engine, client, qps=500)
    poll_until_settled(poller, engine)
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
    # 60 outcomes from one listing, not one GetCallDetailRecord each.
    asked = simulator.requests()
    assert asked.get("GetCallDetailRecord", 0) == 0
    assert asked["ListCallDetailRecords"] == poller.requests <= 2


def test_no_outcomes_fetches_nothing(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 3, outcomes=False)
    drive(engine, client, cid)
    assert not engine.store.r.exists(engine.keys.cdr_due(cid))
    assert all("outcome" not in r for _, r in rows(engine, cid))


def test_record_not_written_yet_is_looked_for_again_later(make_engine, tmp_path) -> None:
    engine = make_engine(cdr_margin_s=0.0, records_poll_s=1.0, records_max_lag_s=0.0)
    config = SimulatorConfig(numbers=NUMBERS, cdr_delay_ms=60_000)
    with Simulator(config) as sim:
        client = client_for(sim)
        cid = start(engine, tmp_path, 1)
        drive(engine, client, cid)
        poller = RecordsPoller(engine, client, qps=500)
        poller.poll_once()
        assert poller.requests == 1
        [(state, result)] = rows(engine, cid)
        assert state == "DISPATCHED" and "outcome" not in result and "outcome_note" not in result
        assert engine.store.r.zscore(engine.keys.cdr_due(cid), "1") > time.time() * 1000


def test_outcome_not_recorded_by_the_horizon_says_why(engine, tmp_path) -> None:
    config = SimulatorConfig(numbers=NUMBERS, cdr_delay_ms=60_000)
    with Simulator(config) as sim:
        client = client_for(sim)
        cid = start(engine, tmp_path, 2, reconcile_horizon_s=1.0)
        drive(engine, client, cid)
        poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
        for state, result in rows(engine, cid):
            assert state == "DISPATCHED" and "outcome" not in result
            assert result["outcome_note"] == "no call record within 1 s of the call"
            assert result["outcome_code"] == "Records.NotFound"
        # The report says why in the reader's language, from the code.
        english = render_html(engine.store, cid, "en")
        assert "no record (No call record)" in english
        assert "the campaign&#39;s reconcile horizon" in english  # escaped once, not twice
        assert "无通话记录" in render_html(engine.store, cid, "zh_CN")


def test_forbidden_ram_is_a_note_and_unknown_rows_say_why(engine, tmp_path) -> None:
    forbidden = frozenset({"GetCallDetailRecord", "ListCallDetailRecords"})
    config = SimulatorConfig(numbers=NUMBERS, forbidden_actions=forbidden)
    with Simulator(config) as sim:
        client = client_for(sim)
        cid = start(engine, tmp_path, 2)
        assert drive(engine, client, cid) == ["DISPATCHED", "DISPATCHED"]
        lost = start(engine, tmp_path, 1)
        lose_answers(sim, engine, client, lost)
        poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
        assert "Forbidden.RAM" in engine.store.campaign(cid).outcomes_note
        assert engine.store.counts(cid) == {"DISPATCHED": 2}
        assert all("Forbidden.RAM" in r["outcome_note"] for _, r in rows(engine, cid))
        [(state, result)] = rows(engine, lost)
        assert state == "UNKNOWN" and result["reconcile_code"] == "Reconcile.Unavailable"
        assert len(sim.calls()) == 3
        # Each row's last event: a DISPATCHED row whose record will never be read is finished,
        # saying why; the UNKNOWN row's row.unknown stays its last.
        last = {(e.campaign, e.row): e for e in emitted(engine) if e.row is not None}
        for row in (1, 2):
            assert last[(cid, row)].type == "row.finished"
            assert last[(cid, row)].data["state"] == "DISPATCHED"
            assert "Forbidden.RAM" in last[(cid, row)].data["outcome_note"]
        assert last[(lost, 1)].type == "row.unknown"


def test_dropped_answer_is_reconciled_to_the_call_that_was_placed(engine, tmp_path, simulator):
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    lose_answers(simulator, engine, client, cid)
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    [(state, result)] = rows(engine, cid)
    [call] = calls_log(simulator.config.calls_log)
    assert state == "DISPATCHED"
    assert result["job_id"] == call["job_id"]
    assert result["reconcile_code"] == "Reconcile.Found"
    assert result["reconciled_from"] == "Client.ConnectionLost"
    assert result["outcome"]  # the record found is the outcome too


def test_row_of_a_worker_lost_mid_call_is_looked_for_too(make_engine, tmp_path, simulator):
    engine = make_engine(
        dialing_lease_ms=0, reconcile_wait_s=0.0, records_poll_s=0.0, records_max_lag_s=0.0
    )
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    campaign = engine.store.campaign(cid)
    [job] = feed_now(engine, cid)
    caps = Caps.for_campaign(campaign.settings, Calendar.of(ALWAYS, "UTC"), engine.clock())
    assert engine.begin_dial(job, caps, 1.0).begun_at_ms
    entry = job.entry  # the request leaves; the worker dies before it writes anything down
    client.start_back2back_call(
        instance_id="ccc-test", caller=entry.caller, callee=entry.callee, broker=entry.broker
    )
    engine.upkeep(campaign)  # its dialing lease ran out: UNKNOWN, Worker.Lost
    assert engine.store.counts(cid) == {"UNKNOWN": 1}
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    [(state, result)] = rows(engine, cid)
    assert state == "DISPATCHED" and result["reconciled_from"] == "Worker.Lost"
    assert result["job_id"] == simulator.calls()[0]["job_id"]


def test_request_that_placed_no_call_stays_unknown_and_says_why(engine, tmp_path, simulator):
    slow = client_for(simulator, read_timeout_s=0.2)
    cid = start(engine, tmp_path, 1, reconcile_horizon_s=1.5)
    simulator.faults.latency_ms = 600  # the answer (a CTI failure) comes after our timeout
    simulator.faults.fail_rate = 1.0
    assert drive(engine, slow, cid) == ["UNKNOWN"]
    simulator.faults.latency_ms = 0
    simulator.faults.fail_rate = 0.0
    poller = RecordsPoller(engine, slow, qps=500)
    poller.poll_once()
    [(state, result)] = rows(engine, cid)
    assert state == "UNKNOWN" and result["reconcile_code"] == "Reconcile.Pending"
    poll_until_settled(poller, engine)
    [(state, result)] = rows(engine, cid)
    assert state == "UNKNOWN" and result["reconcile_code"] == "Reconcile.NotFound"
    assert result["reconcile_tries"] >= 2 and "dialer redial" in result["reconcile"]
    assert not feed_now(engine, cid) and simulator.calls() == []  # never dialled again


def test_unreadable_answers_are_failed_lookups_not_absence_or_outcomes(
    engine, tmp_path, simulator
) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 3, reconcile_horizon_s=1.5)
    assert set(drive(engine, client, cid)) == {"DISPATCHED"}
    lost = start(engine, tmp_path, 2, reconcile_horizon_s=1.5)
    lose_answers(simulator, engine, client, lost)
    simulator.faults.cdr_odd_rate = 1.0  # every lookup: 200 OK {"Data": {"Status": ...}}
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    for state, result in rows(engine, cid):
        assert state == "DISPATCHED" and "outcome" not in result  # no FAILED_OTHER invented
    for state, result in rows(engine, lost):
        assert state == "UNKNOWN" and result["reconcile_code"] == "Reconcile.Unreadable"
        assert result["reconcile_failures"] >= 2 and result["reconcile_tries"] == 0
    failures = engine.store.lookup_failures(lost)
    assert set(failures) == {"Records.Unreadable"} and failures["Records.Unreadable"] >= 2
    assert len(simulator.calls()) == 5


def test_an_unreadable_record_of_a_lone_call_is_no_outcome(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1, reconcile_horizon_s=1.0)
    assert drive(engine, client, cid) == ["DISPATCHED"]
    simulator.faults.cdr_odd_rate = 1.0
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    [(state, result)] = rows(engine, cid)
    assert state == "DISPATCHED" and "outcome" not in result
    assert result["outcome_note"] == "no call record within 1 s of the call"
    assert simulator.requests()["GetCallDetailRecord"] >= 2  # looked up by its ContactId
    assert engine.store.lookup_failures(cid)["Records.Unreadable"] >= 2


def test_unknown_row_is_found_once_the_records_read_again(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    lose_answers(simulator, engine, client, cid)
    simulator.faults.cdr_odd_rate = 1.0
    poller = RecordsPoller(engine, client, qps=500)
    poller.poll_once()
    [(state, result)] = rows(engine, cid)
    assert state == "UNKNOWN" and result["reconcile_failures"] == 1
    simulator.faults.cdr_odd_rate = 0.0
    poll_until_settled(poller, engine)
    [(state, result)] = rows(engine, cid)
    assert state == "DISPATCHED" and result["job_id"] == simulator.calls()[0]["job_id"]


def test_long_call_is_not_taken_for_absent_and_is_found_when_it_ends(
    engine, tmp_path, simulator
) -> None:
    # The call talks for 2 s; its record appears 0.5 s after it ends. Lookups meanwhile find
    # nothing — which is not proof of anything.
    simulator.faults.update({"talk_s": "2", "cdr_delay_ms": 500})
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    lose_answers(simulator, engine, client, cid)
    [call] = simulator.calls()
    poller = RecordsPoller(engine, client, qps=500)
    while time.time() * 1000 < call["release_ms"]:
        poller.poll_once()
        assert engine.store.counts(cid) == {"UNKNOWN": 1}
        time.sleep(0.1)
    poll_until_settled(poller, engine)
    [(state, result)] = rows(engine, cid)
    assert state == "DISPATCHED" and result["job_id"] == call["job_id"]
    assert result["outcome"] == "CONNECTED" and result["talk_seconds"] == 2
    assert len(simulator.calls()) == 1


@pytest.mark.parametrize("number_format", ["plus86", "86"])
def test_numbers_written_internationally_still_match(engine, tmp_path, simulator, number_format):
    simulator.faults.cdr_number_format = number_format
    client = client_for(simulator)
    cid = start(engine, tmp_path, 3)
    lose_answers(simulator, engine, client, cid)
    poll_until_settled(RecordsPoller(engine, client, qps=500), engine)
    by_callee = {c["callee"]: c["job_id"] for c in simulator.calls()}
    for record, state, result in engine.store.iter_rows(cid):
        assert state == "DISPATCHED" and result["job_id"] == by_callee[record[2]]


def test_unreachable_records_leave_rows_unknown(engine, tmp_path, simulator) -> None:
    client = client_for(simulator)
    cid = start(engine, tmp_path, 1)
    lose_answers(simulator, engine, client, cid)
    unreachable = CccClient(f"http://127.0.0.1:{free_port()}", Credentials("testid", "testsecret"))
    RecordsPoller(engine, unreachable, qps=500).poll_once()  # the lookups cannot be made
    [(state, result)] = rows(engine, cid)
    assert state == "UNKNOWN" and result["reconcile_failures"] == 1
    assert engine.store.lookup_failures(cid) == {"Client.ConnectFailed": 1}
    assert status_view(engine, cid).lookup_failures == {"Client.ConnectFailed": 1}


def test_simulator_counts_requests_and_filters_on_criteria(simulator) -> None:
    client = client_for(simulator)
    for callee in ("13900000001", "13900000002"):
        client.start_back2back_call(
            instance_id="ccc-test", caller="13800000001", callee=callee, broker=BROKER
        )
    simulator.faults.cdr_number_format = "plus86"
    client.start_back2back_call(
        instance_id="ccc-test", caller="13800000001", callee="13900000003", broker=BROKER
    )

    def listed(**params: str) -> list[str]:
        body = client.call(
            "ListCallDetailRecords",
            {"InstanceId": "ccc-test", "PageNumber": "1", "PageSize": "100", **params},
        )
        return sorted(r["CalledNumber"] for r in body["Data"]["List"])

    assert listed(Criteria='{"phoneNumber":"13900000002"}') == ["13900000002"]
    assert listed(Criteria='{"phoneNumber":"13900000003"}') == ["+8613900000003"]
    assert len(listed()) == 3
    assert simulator.requests() == {"StartBack2BackCall": 3, "ListCallDetailRecords": 3}
