"""The simulator's calls that take time and its record faults, over real HTTP: records appear
only after release + delay, a caller already in a call fails 486 at the caller's leg, numbers
written as +86/86, 200 answers that are not records, paging, and faults changed at run time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
from support import NUMBERS

from dialer.ccc.client import CccClient
from dialer.ccc.simulator import Faults, Simulator, SimulatorConfig, Span, caller_overlaps
from dialer.errors import PermanentCallError
from dialer.settings import Credentials

CALL = {
    "instance_id": "ccc-test",
    "caller": "13800000000",
    "callee": "13900000000",
    "broker": "02151234567",
}


@pytest.fixture
def make_sim(tmp_path) -> Iterator:
    sims: list[Simulator] = []

    def make(**faults) -> tuple[Simulator, CccClient]:
        log = tmp_path / f"calls{len(sims)}.jsonl"
        config = SimulatorConfig(numbers=NUMBERS, seed=11, calls_log=log, faults=Faults(**faults))
        sim = Simulator(config).start()
        sims.append(sim)
        return sim, CccClient(sim.url, Credentials("testid", "testsecret"))

    yield make
    for sim in sims:
        sim.stop()


def place(client: CccClient, **change: str) -> str:
    job_id = client.start_back2back_call(**{**CALL, **change}).job_id
    assert job_id
    return job_id


def entry(sim: Simulator, job_id: str) -> dict:
    [found] = [e for e in sim.calls() if e["job_id"] == job_id]
    return found


def get_record(client: CccClient, job_id: str) -> dict | None:
    try:
        body = client.call("GetCallDetailRecord", {"InstanceId": "ccc-test", "ContactId": job_id})
    except PermanentCallError as exc:
        assert exc.code == "NotExists.ContactId"
        return None
    return body["Data"]


def list_page(
    client: CccClient,
    page: int = 1,
    size: int = 100,
    action: str = "ListCallDetailRecords",
    **filters: str,
) -> dict:
    params = {"InstanceId": "ccc-test", "PageNumber": str(page), "PageSize": str(size), **filters}
    return client.call(action, params)["Data"]


def sleep_until(epoch_ms: float) -> None:
    time.sleep(max(0.0, epoch_ms / 1000 - time.time()))


def test_default_calls_stay_instant_records_at_once_and_callers_never_busy(make_sim) -> None:
    sim, client = make_sim()
    first, second = place(client), place(client)
    for job_id in (first, second):
        assert entry(sim, job_id)["timed"] is False
        assert entry(sim, job_id)["caller_busy"] is False
        record = get_record(client, job_id)
        assert record and record["ReleaseReason"] != "486:USER_BUSY"
    assert record["ReleaseTime"] > time.time() * 1000  # notional times, visible all the same


def test_timed_call_record_is_visible_only_after_release_plus_delay(make_sim) -> None:
    # 1 s ring per leg and 150 s talk, 100x faster: released 1.52 s after it is placed.
    sim, client = make_sim(
        ring_s=Span(1, 1), talk_s=Span(150, 150), time_scale=100, cdr_delay_ms=600
    )
    job_id = place(client)
    line = entry(sim, job_id)
    start = line["start_ms"]
    assert line["timed"] is True
    assert (line["caller_answered_ms"], line["established_ms"], line["release_ms"]) == (
        start + 10,
        start + 20,
        start + 1520,
    )
    assert get_record(client, job_id) is None
    assert list_page(client)["List"] == []

    sleep_until(line["release_ms"] + 150)  # released, but the record is not written yet
    assert get_record(client, job_id) is None
    assert list_page(client)["TotalCount"] == 0

    sleep_until(line["release_ms"] + 600 + 50)
    record = get_record(client, job_id)
    assert record is not None
    assert (record["StartTime"], record["EstablishedTime"], record["ReleaseTime"]) == (
        start,
        start + 20,
        start + 1520,
    )
    assert (record["ReleaseReason"], record["ContactDisposition"]) == ("200 - OK", "Success")
    assert record["CallDuration"] == 1
    assert record["ReleaseInitiator"] in {"caller", "callee"}
    [listed] = list_page(client)["List"]
    assert listed["ContactId"] == job_id and listed["CallDuration"] == "1"


def test_caller_already_in_a_call_fails_486_at_the_callers_leg(make_sim) -> None:
    sim, client = make_sim(talk_s=Span(200, 200), time_scale=100)  # each call lasts 2 s
    first = place(client)
    busy = place(client, callee="13900000001")  # CCC accepts it; the caller's leg fails
    other = place(client, caller="13700000000", callee="13900000002")

    line = entry(sim, busy)
    assert line["caller_busy"] is True
    assert line["release_ms"] == line["start_ms"]
    assert line["caller_answered_ms"] is None and line["established_ms"] is None
    assert not entry(sim, first)["caller_busy"] and not entry(sim, other)["caller_busy"]
    record = get_record(client, busy)  # released at once, so its record is already there
    assert record is not None
    assert record["ReleaseReason"] == "486:USER_BUSY"
    assert record["ReleaseInitiator"] == "caller"
    assert record["EstablishedTime"] is None
    assert get_record(client, first) is None  # still talking

    log = [json.loads(x) for x in sim.config.calls_log.read_text().splitlines()]
    assert [e["job_id"] for e in caller_overlaps(log)] == [busy]

    sleep_until(entry(sim, first)["release_ms"] + 20)
    again = place(client, callee="13900000003")  # the first call is over: free again
    assert entry(sim, again)["caller_busy"] is False
    assert entry(sim, again)["established_ms"] is not None
    assert [e["job_id"] for e in caller_overlaps(sim.calls())] == [busy]


@pytest.mark.parametrize(
    ("answers", "reason", "initiator", "caller_answered"),
    [
        ({"caller_answer": 0.0}, "480:TEMPORARILY_UNAVAILABLE", "caller", False),
        ({"callee_answer": 0.0}, "408:REQUEST_TIMEOUT", "callee", True),
    ],
)
def test_unanswered_leg_rings_until_the_timeout(
    make_sim, answers, reason, initiator, caller_answered
) -> None:
    sim, client = make_sim(ring_s=Span(2, 2), time_scale=1000, **answers)
    job_id = client.start_back2back_call(**CALL, timeout_seconds=40).job_id
    line = entry(sim, job_id)
    assert line["release_ms"] == line["start_ms"] + 40  # 40 s at 1000x
    assert (line["caller_answered_ms"] is not None) == caller_answered
    assert line["established_ms"] is None
    sleep_until(line["release_ms"] + 20)
    record = get_record(client, job_id)
    assert record is not None
    assert (record["ReleaseReason"], record["ReleaseInitiator"]) == (reason, initiator)
    assert (record["ContactDisposition"], record["EstablishedTime"]) == ("NoAnswer", None)


def test_answer_probabilities_and_talk_range_shape_the_calls(make_sim) -> None:
    sim, client = make_sim(
        caller_answer=0.8,
        callee_answer=0.5,
        ring_s=Span(1, 3),
        talk_s=Span(30, 180),
        time_scale=1000,
    )
    for i in range(200):
        place(client, caller=f"1370000{i:04d}")
    lines = sim.calls()
    caller_answered = [e for e in lines if e["caller_answered_ms"] is not None]
    talked = [e for e in lines if e["established_ms"] is not None]
    assert 140 <= len(caller_answered) <= 180  # ~160
    assert 55 <= len(talked) <= 105  # ~80
    for e in talked:
        ring = e["established_ms"] - e["start_ms"]
        assert 2 - 1 <= ring <= 6 + 1  # two legs of 1-3 s, at 1000x, in ms
        assert 30 - 1 <= e["release_ms"] - e["established_ms"] <= 180 + 1


def test_same_seed_same_call_timelines(make_sim) -> None:
    def offsets(sim: Simulator) -> list[tuple]:
        return [
            tuple(
                None if e[k] is None else e[k] - e["start_ms"]
                for k in ("caller_answered_ms", "established_ms", "release_ms")
            )
            for e in sim.calls()
        ]

    runs = []
    for _ in range(2):
        sim, client = make_sim(
            caller_answer=0.7, ring_s=Span(1, 9), talk_s=Span(30, 180), time_scale=1000
        )
        for i in range(20):
            place(client, caller=f"1370000{i:04d}")
        runs.append(offsets(sim))
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 5


@pytest.mark.parametrize(
    ("number_format", "calling", "called"),
    [
        ("plain", "02151234567", "13900000000"),
        ("plus86", "+862151234567", "+8613900000000"),
        ("86", "862151234567", "8613900000000"),
    ],
)
def test_records_write_numbers_in_the_configured_format(
    make_sim, number_format, calling, called
) -> None:
    _, client = make_sim(cdr_number_format=number_format)
    job_id = place(client)
    record = get_record(client, job_id)
    assert record and (record["CallingNumber"], record["CalledNumber"]) == (calling, called)
    # A query with the national number still finds the record, written the configured way.
    [listed] = list_page(client, CalledNumber="13900000000")["List"]
    assert (listed["Broker"], listed["CallingNumber"], listed["CalledNumber"]) == (
        calling,
        calling,
        called,
    )
    # And a query with the number as the record writes it finds the same record.
    assert [r["ContactId"] for r in list_page(client, CalledNumber=called)["List"]] == [job_id]
    assert list_page(client, CalledNumber="13900000009")["List"] == []


@pytest.mark.parametrize(
    "action", ["GetCallDetailRecord", "ListCallDetailRecords", "ListCallDetailRecordsV2"]
)
def test_odd_rate_answers_200_ok_with_no_record(make_sim, action) -> None:
    sim, client = make_sim(cdr_odd_rate=1.0)
    job_id = place(client)
    params = {"InstanceId": "ccc-test", "ContactId": job_id, "PageNumber": "1", "PageSize": "10"}
    for _ in range(3):
        body = client.call(action, params)
        assert (body["Code"], body["HttpStatusCode"]) == ("OK", 200)
        assert body["Data"] == {"Status": "PROCESSING"}
    sim.faults.cdr_odd_rate = 0.0
    data = client.call(action, params)["Data"]
    assert data.get("ContactId") == job_id or data["List"][0]["ContactId"] == job_id


def test_odd_rate_is_a_share_of_lookups(make_sim) -> None:
    _, client = make_sim(cdr_odd_rate=0.3)
    job_id = place(client)
    odd = sum(get_record(client, job_id) == {"Status": "PROCESSING"} for _ in range(200))
    assert 35 <= odd <= 85


def test_list_pages_with_total_count_only_on_page_one(make_sim) -> None:
    _, client = make_sim()
    placed = [place(client, callee=f"1390000000{i}") for i in range(5)]
    pages = [list_page(client, page=n, size=2) for n in (1, 2, 3, 4)]
    assert [p["TotalCount"] for p in pages] == [5, 0, 0, 0]
    assert [len(p["List"]) for p in pages] == [2, 2, 1, 0]
    assert [r["ContactId"] for p in pages for r in p["List"]] == placed
    for bad in ({"size": 101}, {"page": 101}):
        with pytest.raises(PermanentCallError) as info:
            list_page(client, **bad)
        assert info.value.code == "Parameter.Maximum"


def test_list_filters_by_window_called_number_and_contact_ids(make_sim) -> None:
    sim, client = make_sim()
    jobs = []
    for i in range(4):
        jobs.append(place(client, callee=f"1390000000{i % 2}"))
        time.sleep(0.02)
    starts = [entry(sim, j)["start_ms"] for j in jobs]

    def ids(data: dict) -> list[str]:
        return [r["ContactId"] for r in data["List"]]

    window = {"StartTime": str(starts[1]), "EndTime": str(starts[2])}
    assert ids(list_page(client, **window)) == jobs[1:3]
    assert ids(list_page(client, CalledNumber="13900000001")) == [jobs[1], jobs[3]]
    assert ids(list_page(client, ContactId=jobs[2])) == [jobs[2]]
    v2 = "ListCallDetailRecordsV2"
    assert ids(list_page(client, action=v2, ContactIdList=json.dumps(jobs[:2]))) == jobs[:2]
    assert ids(list_page(client, action=v2, ContactIdList=f"{jobs[0]},{jobs[3]}")) == [
        jobs[0],
        jobs[3],
    ]
    assert ids(list_page(client, action=v2, Broker="02151234567")) == jobs
    assert ids(list_page(client, action=v2, Broker="02151234568")) == []


def test_faults_change_at_run_time_over_http(make_sim) -> None:
    sim, client = make_sim()
    url = f"{sim.url}/_simulator/faults"
    change = {
        "talk_s": "100-100",
        "time_scale": 100,
        "caller_answer": 1,
        "cdr_delay_ms": 50,
        "cdr_number_format": "plus86",
        "cdr_odd_rate": 0.0,
    }
    answer = requests.post(url, json=change, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["talk_s"] == "100-100" and answer.json()["time_scale"] == 100
    job_id = place(client)
    line = entry(sim, job_id)
    assert line["timed"] and line["release_ms"] - line["start_ms"] == 1000
    assert place(client, callee="13900000001") and sim.calls()[-1]["caller_busy"] is True

    # All or nothing: one bad value changes none of the others.
    for bad in (
        {"fail_rate": 0.5, "talk_s": "9-1"},
        {"cdr_number_format": "0086"},
        {"nope": 1},
        {"fail_rate": 2},
    ):
        refused = requests.post(url, json=bad, timeout=5)
        assert refused.status_code == 400 and refused.json()["error"]
    assert sim.faults.fail_rate == 0.0

    sleep_until(line["release_ms"] + 50 + 30)
    record = get_record(client, job_id)
    assert record and record["CalledNumber"] == "+8613900000000"

    # What GET answers can be posted back; null switches call times off again.
    current = requests.get(url, timeout=5).json()
    assert requests.post(url, json=current, timeout=5).json() == current
    off = {"talk_s": None, "caller_answer": None}
    assert requests.post(url, json=off, timeout=5).status_code == 200
    assert entry(sim, place(client, callee="13900000002"))["timed"] is False


def test_calls_admin_endpoint_and_method_match_the_log(make_sim) -> None:
    sim, client = make_sim(talk_s=Span(5, 5), time_scale=10)
    place(client)
    place(client)
    from_http = requests.get(f"{sim.url}/_simulator/calls", timeout=5).json()
    from_log = [json.loads(x) for x in sim.config.calls_log.read_text().splitlines()]
    assert from_http == from_log == sim.calls()
    assert [e["caller_busy"] for e in from_log] == [False, True]


def test_official_sdk_parses_v2_list_and_busy_record(make_sim) -> None:
    pytest.importorskip("alibabacloud_ccc20200701")
    from alibabacloud_ccc20200701 import models
    from alibabacloud_ccc20200701.client import Client
    from alibabacloud_tea_openapi.models import Config

    sim, client = make_sim(talk_s=Span(60, 60), cdr_number_format="plus86")
    place(client)
    busy = place(client, callee="13900000001")
    sdk = Client(
        Config(
            access_key_id="testid",
            access_key_secret="testsecret",
            endpoint=f"127.0.0.1:{sim.port}",
            protocol="http",
        )
    )
    listed = sdk.list_call_detail_records_v2(
        models.ListCallDetailRecordsV2Request(
            instance_id="ccc-test",
            page_number=1,
            page_size=10,
            contact_id_list=json.dumps([busy]),
        )
    ).body.data
    assert listed.total_count == 1
    [item] = listed.list
    assert (item.contact_id, item.release_reason) == (busy, "486:USER_BUSY")
    assert item.call_duration == "0"
    assert item.called_number == "+8613900000001"
    got = sdk.get_call_detail_record(
        models.GetCallDetailRecordRequest(instance_id="ccc-test", contact_id=busy)
    ).body.data
    assert (got.release_initiator, got.established_time, got.call_duration) == ("caller", None, 0)


def test_cli_starts_timed_simulator_and_refuses_bad_ranges(tmp_path) -> None:
    cli = [sys.executable, "-m", "dialer.cli", "simulator", "--port", "0"]
    bad = subprocess.run([*cli, "--talk-s", "180-30"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "talk" not in bad.stdout and "180-30" in bad.stderr
    proc = subprocess.Popen(
        [
            *cli,
            "--caller-answer",
            "0.9",
            "--callee-answer",
            "0.6",
            "--ring-s",
            "2-8",
            "--talk-s",
            "30-180",
            "--time-scale",
            "60",
            "--cdr-delay-ms",
            "250",
            "--cdr-number-format",
            "86",
            "--cdr-odd-rate",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
        faults = requests.get(f"{url}/_simulator/faults", timeout=5).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert {
        k: faults[k]
        for k in (
            "caller_answer",
            "callee_answer",
            "ring_s",
            "talk_s",
            "time_scale",
            "cdr_delay_ms",
            "cdr_number_format",
            "cdr_odd_rate",
        )
    } == {
        "caller_answer": 0.9,
        "callee_answer": 0.6,
        "ring_s": "2-8",
        "talk_s": "30-180",
        "time_scale": 60.0,
        "cdr_delay_ms": 250.0,
        "cdr_number_format": "86",
        "cdr_odd_rate": 0.1,
    }
