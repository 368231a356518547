"""Strict reading of call records: real shapes parse, everything else is RecordsUnreadable."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from dialer.ccc.records import (
    CallRecord,
    parse_record,
    parse_record_answer,
    parse_record_page,
)
from dialer.ccc.responses import CallDetailRecord
from dialer.errors import (
    BrokerUnavailable,
    CampaignFatal,
    CccError,
    OutcomeUnknown,
    PermanentCallError,
    RecordsUnreadable,
    TransientCallError,
)

# GetCallDetailRecord as the SDK model and the API doc's example give it: times and
# CallDuration are ints, ReleaseReason is "SIP code - text", no Broker.
DETAIL = {
    "RequestId": "BA03159C-E808-4FF1-B27E-A61B6E888D7F",
    "Code": "OK",
    "HttpStatusCode": 200,
    "Message": "",
    "Params": [],
    "Data": {
        "ContactId": "job-10963442671187****",
        "ContactType": "BACK2BACK",
        "CallingNumber": "02151234567",
        "CalledNumber": "13900000001",
        "StartTime": 1_700_000_000_000,
        "EstablishedTime": 1_700_000_005_000,
        "ReleaseTime": 1_700_000_065_000,
        "CallDuration": 65,
        "ReleaseInitiator": "customer",
        "ReleaseReason": "200 - OK",
        "ContactDisposition": "Success",
        "EarlyMediaState": "",
        "RecordingReady": True,
    },
}
# A ListCallDetailRecords item: CallDuration is a string here; the double-call fields are there.
LIST_ITEM = {
    "ContactId": "job-20000000000000001",
    "ContactType": "BACK2BACK",
    "CallingNumber": "02151234567",
    "CalledNumber": "+8613900000002",
    "Broker": "02151234567",
    "AdditionalBroker": "",
    "StartTime": "1700000100000",
    "EstablishedTime": None,
    "ReleaseTime": 1_700_000_112_000,
    "CallDuration": "12",
    "ReleaseInitiator": "callee",
    "ReleaseReason": "486:USER_BUSY",
    "ContactDisposition": "Reject",
    "RingTime": 12,
    "CallIds": "abc@10.0.0.1",
}


def page_body(items: list, *, number: int = 1, total: int | None = None) -> dict:
    return {
        "RequestId": "5FF8B5B3-0000-4A46-8F2E-1AD4B1C0A6E2",
        "Code": "OK",
        "HttpStatusCode": 200,
        "Data": {
            "PageNumber": number,
            "PageSize": 100,
            "TotalCount": len(items) if total is None else total,
            "List": items,
        },
    }


def test_detail_answer_is_parsed_with_sdk_types() -> None:
    record = parse_record_answer(DETAIL)
    assert record == CallRecord(
        contact_id="job-10963442671187****",
        start_time_ms=1_700_000_000_000,
        contact_type="BACK2BACK",
        calling_number="02151234567",
        called_number="13900000001",
        established_time_ms=1_700_000_005_000,
        release_time_ms=1_700_000_065_000,
        call_duration_s=65,
        release_initiator="customer",
        release_reason="200 - OK",
        contact_disposition="Success",
    )
    assert record.broker is None
    assert record.release_code == 200
    assert record.extra == {"EarlyMediaState": "", "RecordingReady": True}


def test_list_item_with_string_duration_and_time_is_parsed() -> None:
    record = parse_record(LIST_ITEM)
    assert record.start_time_ms == 1_700_000_100_000
    assert record.call_duration_s == 12
    assert record.established_time_ms is None
    assert record.release_time_ms == 1_700_000_112_000
    assert record.broker == "02151234567"
    assert record.additional_broker is None
    assert record.called_number == "+8613900000002"
    assert record.release_code == 486
    assert record.extra == {"RingTime": 12, "CallIds": "abc@10.0.0.1"}


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("200 - OK", 200),
        ("486:USER_BUSY", 486),
        ("480 Temporarily Unavailable", 480),
        ("473", 473),
        ("", None),
        (None, None),
        ("OK", None),
        ("4861 odd", None),
    ],
)
def test_release_code_reads_both_reason_shapes(reason: str | None, code: int | None) -> None:
    assert CallRecord("job-1", 1, release_reason=reason).release_code == code


def test_page_is_parsed_and_total_kept_only_where_reported() -> None:
    first = parse_record_page(page_body([LIST_ITEM, {**LIST_ITEM, "ContactId": "job-2"}]))
    assert [r.contact_id for r in first.records] == ["job-20000000000000001", "job-2"]
    assert (first.total_count, first.page_number, first.page_size) == (2, 1, 100)
    # CCC answers TotalCount 0 on every page but the first: that is "not reported", not 0.
    second = parse_record_page(page_body([LIST_ITEM], number=2, total=0))
    assert second.total_count is None
    empty = parse_record_page(page_body([]))
    assert (empty.records, empty.total_count) == ((), 0)


def test_page_metadata_may_be_absent_or_strings() -> None:
    page = parse_record_page({"Code": "OK", "Data": {"List": [], "PageNumber": "1"}})
    assert (page.total_count, page.page_number, page.page_size) == (None, 1, None)


def test_call_record_answers_to_every_name_the_tolerant_record_has() -> None:
    # The poller's classify() reads CallDetailRecord's attributes; CallRecord must have them.
    tolerant = {f.name for f in dataclasses.fields(CallDetailRecord)}
    strict = {f.name for f in dataclasses.fields(CallRecord)}
    assert tolerant <= strict


def _with(data: dict, **changes: object) -> dict:
    changed = copy.deepcopy(data)
    for key, value in changes.items():
        if value is _DROP:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


_DROP = object()

BAD_RECORDS = {
    "not a mapping": "job-1",
    "a list": [LIST_ITEM],
    "no ContactId": _with(LIST_ITEM, ContactId=_DROP),
    "empty ContactId": _with(LIST_ITEM, ContactId=""),
    "ContactId a number": _with(LIST_ITEM, ContactId=12345),
    "no StartTime": _with(LIST_ITEM, StartTime=_DROP),
    "empty StartTime": _with(LIST_ITEM, StartTime=""),
    "StartTime zero": _with(LIST_ITEM, StartTime=0),
    "StartTime text": _with(LIST_ITEM, StartTime="yesterday"),
    "StartTime ISO date": _with(LIST_ITEM, StartTime="2024-05-01T12:00:00Z"),
    "StartTime negative": _with(LIST_ITEM, StartTime=-5),
    "StartTime boolean": _with(LIST_ITEM, StartTime=True),
    "StartTime fraction": _with(LIST_ITEM, StartTime=1.5),
    "EstablishedTime text": _with(LIST_ITEM, EstablishedTime="soon"),
    "ReleaseTime a mapping": _with(LIST_ITEM, ReleaseTime={"ms": 1}),
    "CallDuration with unit": _with(LIST_ITEM, CallDuration="12s"),
    "CallDuration negative": _with(LIST_ITEM, CallDuration=-1),
    "CalledNumber a list": _with(LIST_ITEM, CalledNumber=["13900000002"]),
    "Broker a mapping": _with(LIST_ITEM, Broker={"n": "02151234567"}),
    "ReleaseReason a boolean": _with(LIST_ITEM, ReleaseReason=False),
    "Status only": {"Status": "PROCESSING"},
    "empty": {},
}


@pytest.mark.parametrize("record", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_record_that_does_not_read_as_one_is_unreadable(record: object) -> None:
    with pytest.raises(RecordsUnreadable) as info:
        parse_record(record)
    assert info.value.code == "Records.Unreadable"


@pytest.mark.parametrize("record", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_one_bad_record_makes_the_whole_page_unreadable(record: object) -> None:
    with pytest.raises(RecordsUnreadable) as info:
        parse_record_page(page_body([LIST_ITEM, record]))
    assert "Data.List[1]" in info.value.message


BAD_DETAIL_ANSWERS = {
    "processing": {"Code": "OK", "RequestId": "R-1", "Data": {"Status": "PROCESSING"}},
    "no Data": {"Code": "OK", "RequestId": "R-1"},
    "Data null": {"Code": "OK", "RequestId": "R-1", "Data": None},
    "Data a list": {"Code": "OK", "RequestId": "R-1", "Data": [DETAIL["Data"]]},
    "Data text": {"Code": "OK", "RequestId": "R-1", "Data": "job-1"},
    "StartTime text": _with(DETAIL, Data=_with(DETAIL["Data"], StartTime="n/a")),
}


@pytest.mark.parametrize("body", BAD_DETAIL_ANSWERS.values(), ids=BAD_DETAIL_ANSWERS.keys())
def test_detail_answer_that_is_not_a_record_is_unreadable(body: dict) -> None:
    with pytest.raises(RecordsUnreadable) as info:
        parse_record_answer(body)
    assert info.value.request_id == body["RequestId"]


def _answer(data: object) -> dict:
    return {"Code": "OK", "RequestId": "R-2", "Data": data}


BAD_PAGES = {
    "processing": _answer({"Status": "PROCESSING"}),
    "no Data": {"Code": "OK", "RequestId": "R-2"},
    "Data a list": _answer([LIST_ITEM]),
    "List missing": _answer({"TotalCount": 0}),
    "List null": _answer({"List": None}),
    "List a mapping": _answer({"List": {"0": LIST_ITEM}}),
    "List text": _answer({"List": "[]"}),
    "TotalCount text": _answer({"List": [], "TotalCount": "many"}),
    "PageNumber a fraction": _answer({"List": [], "PageNumber": 1.5}),
}


@pytest.mark.parametrize("body", BAD_PAGES.values(), ids=BAD_PAGES.keys())
def test_page_answer_that_is_not_a_list_of_records_is_unreadable(body: dict) -> None:
    with pytest.raises(RecordsUnreadable) as info:
        parse_record_page(body)
    assert info.value.request_id == "R-2"


@pytest.mark.parametrize("body", [None, [], "OK", 200])
def test_answer_that_is_not_an_object_is_unreadable(body: object) -> None:
    with pytest.raises(RecordsUnreadable):
        parse_record_answer(body)
    with pytest.raises(RecordsUnreadable):
        parse_record_page(body)


def test_unreadable_is_a_ccc_error_of_its_own_class() -> None:
    with pytest.raises(RecordsUnreadable) as info:
        parse_record_answer(BAD_DETAIL_ANSWERS["processing"])
    error = info.value
    assert isinstance(error, CccError)
    # Not "absent" (PermanentCallError is how a 404 NotExists.ContactId arrives), not a
    # reason to pause, and not a statement about whether a call was placed.
    others = (
        PermanentCallError,
        BrokerUnavailable,
        CampaignFatal,
        TransientCallError,
        OutcomeUnknown,
    )
    assert not isinstance(error, others)
    assert (error.code, error.request_id) == ("Records.Unreadable", "R-1")
    assert "Data has no ContactId" in error.message
    assert "Status" in error.message


def test_unreadable_keeps_the_http_status_the_answer_gives() -> None:
    with pytest.raises(RecordsUnreadable) as info:
        parse_record_answer({**BAD_DETAIL_ANSWERS["processing"], "HttpStatusCode": 200})
    assert info.value.http_status == 200


def test_unreadable_message_never_carries_a_phone_number() -> None:
    bad = _with(LIST_ITEM, CalledNumber=["13900000002"], CallingNumber="02151234567")
    with pytest.raises(RecordsUnreadable) as info:
        parse_record_page(page_body([bad]))
    assert "CalledNumber" in info.value.message
    assert "13900000002" not in str(info.value)
