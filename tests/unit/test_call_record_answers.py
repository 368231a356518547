"""Answers the simulator does not give — 200s that are not records, pages that do not add up —
served to the real client through a requests transport adapter."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import requests.adapters

from dialer.ccc.client import CccClient
from dialer.ccc.records import get_record, iter_call_records, records_by_contact_ids
from dialer.errors import RecordsUnreadable
from dialer.settings import Credentials

Answer = Callable[[dict[str, str]], dict]


class Canned(requests.adapters.BaseAdapter):
    """Answers every request with answer(query parameters), as HTTP 200 JSON."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer
        self.seen: list[dict[str, str]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        params = dict(parse_qsl(urlsplit(request.url or "").query))
        self.seen.append(params)
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(self.answer(params)).encode()
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def client_with(answer: Answer) -> tuple[CccClient, Canned]:
    adapter = Canned(answer)
    session = requests.Session()
    session.mount("http://", adapter)
    return CccClient("http://ccc.test", Credentials("testid", "testsecret"), session=session), (
        adapter
    )


def item(n: int) -> dict:
    return {
        "ContactId": f"job-{n}",
        "StartTime": 1_700_000_000_000 + n,
        "CallDuration": "3",
        "CalledNumber": "13900000001",
        "Broker": "02151234567",
    }


def pages(by_number: dict[int, list[dict]], total: int, *, size: int | None = None) -> Answer:
    def answer(params: dict[str, str]) -> dict:
        number = int(params["PageNumber"])
        items = by_number.get(number, [])
        data = {
            "PageNumber": number,
            "PageSize": size or int(params["PageSize"]),
            "TotalCount": total if number == 1 else 0,
            "List": items,
        }
        return {"Code": "OK", "HttpStatusCode": 200, "RequestId": f"R-{number}", "Data": data}

    return answer


def listing(client: CccClient, page_size: int = 2) -> list[str]:
    return [
        r.contact_id
        for r in iter_call_records(
            client, "ccc-test", start_ms=0, end_ms=2_000_000_000_000, page_size=page_size
        )
    ]


PROCESSING = {
    "RequestId": "R-P",
    "Code": "OK",
    "HttpStatusCode": 200,
    "Data": {"Status": "PROCESSING"},
}


def test_processing_answer_to_a_listing_is_unreadable_not_empty() -> None:
    client, _ = client_with(lambda params: PROCESSING)
    with pytest.raises(RecordsUnreadable) as info:
        listing(client)
    assert (info.value.code, info.value.request_id, info.value.http_status) == (
        "Records.Unreadable",
        "R-P",
        200,
    )


def test_processing_answer_to_a_bulk_lookup_is_unreadable_not_absent() -> None:
    client, _ = client_with(lambda params: PROCESSING)
    with pytest.raises(RecordsUnreadable):
        records_by_contact_ids(client, "ccc-test", ["job-1"], start_ms=0, end_ms=1)


def test_processing_answer_to_get_record_is_unreadable_not_an_outcome() -> None:
    client, adapter = client_with(lambda params: PROCESSING)
    with pytest.raises(RecordsUnreadable) as info:
        get_record(client, "ccc-test", "job-1")
    assert info.value.request_id == "R-P"
    assert adapter.seen[0]["ContactId"] == "job-1"


def test_record_of_another_call_is_unreadable() -> None:
    client, _ = client_with(lambda params: {"Code": "OK", "Data": item(2)})
    with pytest.raises(RecordsUnreadable) as info:
        get_record(client, "ccc-test", "job-1")
    assert "job-2" in info.value.message


def test_a_bad_later_page_fails_the_listing_after_the_good_ones() -> None:
    def answer(params: dict[str, str]) -> dict:
        if params["PageNumber"] == "1":
            return pages({1: [item(1), item(2)]}, 3)(params)
        return {"Code": "OK", "Data": {"PageNumber": 2, "List": [{"ContactId": "job-3"}]}}

    client, _ = client_with(answer)
    got: list[str] = []
    with pytest.raises(RecordsUnreadable) as info:
        for record in iter_call_records(client, "ccc-test", start_ms=0, end_ms=1, page_size=2):
            got.append(record.contact_id)
    assert got == ["job-1", "job-2"]
    assert "StartTime" in info.value.message


def test_pages_ending_short_of_total_count_are_incomplete_not_done() -> None:
    client, _ = client_with(pages({1: [item(1), item(2)], 2: [item(3)]}, 5))
    with pytest.raises(RecordsUnreadable) as info:
        listing(client)
    assert info.value.code == "Records.Incomplete"


def test_an_answer_for_another_page_is_unreadable() -> None:
    def answer(params: dict[str, str]) -> dict:
        return pages({1: [item(1), item(2)]}, 4)({**params, "PageNumber": "1"})

    client, _ = client_with(answer)
    with pytest.raises(RecordsUnreadable) as info:
        listing(client)
    assert "page 2" in info.value.message


def test_a_server_paging_smaller_than_asked_is_read_to_the_end() -> None:
    # Asked for 100 a page, answered 2 a page (and says so): a page of 2 is not short.
    by_number = {1: [item(1), item(2)], 2: [item(3), item(4)], 3: [item(5)]}
    client, adapter = client_with(pages(by_number, 5, size=2))
    assert listing(client, page_size=100) == [f"job-{n}" for n in range(1, 6)]
    assert [p["PageNumber"] for p in adapter.seen] == ["1", "2", "3"]


def test_a_record_repeated_on_the_next_page_is_listed_once() -> None:
    # A record written meanwhile pushes the last one of page 1 onto page 2.
    client, _ = client_with(pages({1: [item(1), item(2)], 2: [item(2), item(3)], 3: []}, 3))
    assert listing(client) == ["job-1", "job-2", "job-3"]
