"""Paging through ListCallDetailRecords and reading GetCallDetailRecord strictly, against the
simulator over real HTTP. Records are put into the simulator through its state, with the
StartTime and numbers each test needs."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from dialer.ccc.client import CccClient
from dialer.ccc.records import (
    get_record,
    iter_call_records,
    matches,
    records_by_contact_ids,
)
from dialer.ccc.simulator import Simulator
from dialer.errors import PermanentCallError, RecordsUnreadable
from dialer.settings import Credentials

INSTANCE = "ccc-test"
BROKER = "02151234567"
T0 = 1_700_000_000_000


class Recorded:
    """A client whose ListCallDetailRecords requests are kept (their query parameters)."""

    def __init__(self, simulator: Simulator) -> None:
        self.requests: list[dict[str, str]] = []
        session = requests.Session()
        session.hooks["response"].append(self._keep)
        self.client = CccClient(simulator.url, Credentials("testid", "testsecret"), session=session)

    def _keep(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.requests.append(dict(parse_qsl(urlsplit(response.request.url or "").query)))

    def pages(self) -> list[int]:
        return [int(r["PageNumber"]) for r in self.requests]


def put(simulator: Simulator, start_ms: int, callee: str = "13900000001", **cdr: object) -> str:
    """A record in the simulator: a placed call whose record starts at start_ms."""
    call = simulator.state.place(
        request_id="R",
        instance_id=INSTANCE,
        caller="13800000000",
        callee=callee,
        broker=BROKER,
        additional_broker=None,
        timeout_seconds=30,
        tags=None,
    )
    call.cdr.update({"StartTime": start_ms, **cdr})
    return call.job_id


def listed(client: CccClient, **kw: object) -> list[str]:
    window = {"start_ms": T0, "end_ms": T0 + 3_600_000, **kw}
    return [r.contact_id for r in iter_call_records(client, INSTANCE, **window)]  # type: ignore[arg-type]


def test_every_page_is_read_until_a_short_page(simulator: Simulator) -> None:
    jobs = [put(simulator, T0 + i * 1000, callee=f"1390000{i:04d}") for i in range(7)]
    recorded = Recorded(simulator)
    assert sorted(listed(recorded.client, page_size=3)) == sorted(jobs)
    assert recorded.pages() == [1, 2, 3]
    assert {r["PageSize"] for r in recorded.requests} == {"3"}
    assert {(r["StartTime"], r["EndTime"]) for r in recorded.requests} == {
        (str(T0), str(T0 + 3_600_000))
    }


def test_a_full_last_page_is_followed_by_one_more_request(simulator: Simulator) -> None:
    # Page 2 answers TotalCount 0: that must not end the listing, and neither may reaching
    # page 1's TotalCount (records written meanwhile shift the pages).
    jobs = [put(simulator, T0 + i * 1000, callee=f"1390000{i:04d}") for i in range(6)]
    recorded = Recorded(simulator)
    assert sorted(listed(recorded.client, page_size=3)) == sorted(jobs)
    assert recorded.pages() == [1, 2, 3]


def test_an_empty_window_is_one_request(simulator: Simulator) -> None:
    put(simulator, T0 - 10_000)
    recorded = Recorded(simulator)
    assert listed(recorded.client) == []
    assert recorded.pages() == [1]
    assert recorded.requests[0]["PageSize"] == "100"


def test_only_records_started_in_the_window_are_listed(simulator: Simulator) -> None:
    before = put(simulator, T0 - 1)
    inside = [put(simulator, T0), put(simulator, T0 + 60_000)]
    after = put(simulator, T0 + 60_001)
    found = listed(Recorded(simulator).client, end_ms=T0 + 60_000)
    assert sorted(found) == sorted(inside)
    assert before not in found and after not in found


def test_called_number_finds_records_written_internationally(simulator: Simulator) -> None:
    wanted = [
        put(simulator, T0 + 1000, callee="13900000001"),
        put(simulator, T0 + 2000, callee="13900000001", CalledNumber="+8613900000001"),
        put(simulator, T0 + 3000, callee="13900000001", CalledNumber="86 139 0000 0001"),
    ]
    put(simulator, T0 + 4000, callee="13900000002")
    put(simulator, T0 + 5000, callee="13900000011", CalledNumber="+8613900000011")
    recorded = Recorded(simulator)
    assert sorted(listed(recorded.client, called_number="+86 139-0000-0001", page_size=2)) == (
        sorted(wanted)
    )
    # Asked with the fuzzy Criteria on the national number, not the exact CalledNumber
    # filter (which would miss "+86…"); the exact comparison is ours.
    first = recorded.requests[0]
    assert "CalledNumber" not in first
    assert json.loads(first["Criteria"]) == {"phoneNumber": "13900000001"}
    # The simulator filters on Criteria as CCC does: that callee's 3 records, 2 a page.
    assert recorded.pages() == [1, 2]


def test_listed_records_match_callee_and_broker_as_written(simulator: Simulator) -> None:
    job = put(simulator, T0 + 1000, CalledNumber="+8613900000001", Broker="+862151234567")
    put(simulator, T0 + 2000, Broker="02151234568", CallingNumber="02151234568")
    records = list(
        iter_call_records(
            Recorded(simulator).client,
            INSTANCE,
            start_ms=T0,
            end_ms=T0 + 10_000,
            called_number="13900000001",
        )
    )
    assert len(records) == 2
    found = [r.contact_id for r in records if matches(r, callee="13900000001", broker=BROKER)]
    assert found == [job]


def test_a_window_over_the_page_limit_is_listed_in_halves(simulator: Simulator) -> None:
    # With PageSize 1, CCC's 100-page limit holds 100 records; above 50 the window is split.
    jobs = [put(simulator, T0 + i * 1000, callee=f"1390000{i:04d}") for i in range(75)]
    recorded = Recorded(simulator)
    found = listed(recorded.client, end_ms=T0 + 100_000, page_size=1)
    assert sorted(found) == sorted(jobs)
    assert len(found) == len(set(found))
    assert max(recorded.pages()) <= 51
    windows = {(r["StartTime"], r["EndTime"]) for r in recorded.requests}
    assert (str(T0), str(T0 + 50_000)) in windows
    assert (str(T0 + 50_000), str(T0 + 100_000)) in windows


def test_more_records_in_one_millisecond_than_pages_allow_is_unreadable(
    simulator: Simulator,
) -> None:
    for i in range(101):
        put(simulator, T0 + 5, callee=f"1390000{i:04d}")
    with pytest.raises(RecordsUnreadable) as info:
        listed(Recorded(simulator).client, end_ms=T0 + 10, page_size=1)
    assert info.value.code == "Records.TooMany"


def test_records_by_contact_ids_lists_the_window_once(simulator: Simulator) -> None:
    jobs = [put(simulator, T0 + i * 1000, callee=f"1390000{i:04d}") for i in range(5)]
    recorded = Recorded(simulator)
    wanted = [jobs[1], jobs[3], "job-0"]
    found = records_by_contact_ids(
        recorded.client, INSTANCE, wanted, start_ms=T0, end_ms=T0 + 10_000, page_size=2
    )
    assert set(found) == {jobs[1], jobs[3]}
    assert found[jobs[3]].called_number == "13900000003"
    assert found[jobs[3]].broker == BROKER
    assert found[jobs[3]].call_duration_s is not None
    assert recorded.pages() == [1, 2, 3]
    assert all("ContactId" not in r for r in recorded.requests)


def test_records_by_contact_ids_stops_once_all_are_found(simulator: Simulator) -> None:
    # The simulator lists in the order calls were placed.
    jobs = [put(simulator, T0 + i * 1000, callee=f"1390000{i:04d}") for i in range(6)]
    recorded = Recorded(simulator)
    found = records_by_contact_ids(
        recorded.client, INSTANCE, jobs[:2], start_ms=T0, end_ms=T0 + 10_000, page_size=1
    )
    assert set(found) == set(jobs[:2])
    assert recorded.pages() == [1, 2]
    assert records_by_contact_ids(recorded.client, INSTANCE, [], start_ms=T0, end_ms=T0) == {}


def test_page_size_over_the_api_limit_is_refused(client: CccClient) -> None:
    with pytest.raises(ValueError):
        list(iter_call_records(client, INSTANCE, start_ms=T0, end_ms=T0 + 1, page_size=101))


def test_get_record_reads_the_placed_call(simulator: Simulator, client: CccClient) -> None:
    job = client.start_back2back_call(
        instance_id=INSTANCE, caller="13800000000", callee="13900000001", broker=BROKER
    ).job_id
    assert job
    record = get_record(client, INSTANCE, job)
    assert record.contact_id == job
    assert matches(record, callee="13900000001", broker=BROKER)
    assert record.start_time_ms == simulator.state.call_by_job(job).cdr["StartTime"]  # type: ignore[union-attr]
    assert record.release_code in {200, 408, 480, 486, 473}


def test_get_record_not_written_yet_is_cccs_own_error(client: CccClient) -> None:
    # A 404 from CCC stays what the client makes of it; only 200s that are not records are
    # RecordsUnreadable.
    with pytest.raises(PermanentCallError) as info:
        get_record(client, INSTANCE, "job-0")
    assert info.value.code == "NotExists.ContactId"
    assert not isinstance(info.value, RecordsUnreadable)
