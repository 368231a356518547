"""Call records (GetCallDetailRecord, ListCallDetailRecords), read strictly.

An answer is a call record only if it reads as one: a `Data` mapping; for a list, `Data.List`
a list; each record a mapping with a `ContactId` and a numeric `StartTime`, its other fields of
the types the official SDK models give them. Anything else raises `RecordsUnreadable`: the
lookup failed, which proves neither that the call is absent nor how it ended.

Field types follow alibabacloud-ccc20200701's GetCallDetailRecordResponseBodyData and
ListCallDetailRecordsResponseBodyDataList: times are epoch milliseconds (ints, tolerated as
digit strings), `CallDuration` is seconds (an int in one, a string in the other)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dialer.errors import RecordsUnreadable
from dialer.phones import normalise_for_match, same_number

UNREADABLE = "Records.Unreadable"
INCOMPLETE = "Records.Incomplete"
TOO_MANY = "Records.TooMany"
# ListCallDetailRecords takes PageSize and PageNumber from 1 to 100 (SDK request model).
MAX_PAGE_SIZE = 100
MAX_PAGE_NUMBER = 100
# A window holding more records than this many pages is listed in halves, leaving the other
# pages for records written while we page.
SPLIT_ABOVE_PAGES = MAX_PAGE_NUMBER // 2

_KNOWN = frozenset(
    {
        "ContactId",
        "ContactType",
        "CallingNumber",
        "CalledNumber",
        "Broker",
        "AdditionalBroker",
        "StartTime",
        "EstablishedTime",
        "ReleaseTime",
        "CallDuration",
        "ReleaseInitiator",
        "ReleaseReason",
        "ContactDisposition",
    }
)
_DIGITS = re.compile(r"[0-9]+")
# "200 - OK" (GetCallDetailRecord's example), "486:USER_BUSY" (ListCallDetailRecordsV2's),
# "486 Busy Here" (SIP's own wording).
_SIP_CODE = re.compile(r"\s*(\d{3})(?!\d)")


class RecordsClient(Protocol):
    """What these lookups need of a client: `CccClient.call` (or a wrapper that paces and
    counts the requests)."""

    def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class CallRecord:
    """One call record. The attribute names are those of `responses.CallDetailRecord`, so
    code written for that (the poller's `classify`) reads this too; `contact_id` and
    `start_time_ms` are always there, and a list record also names its `broker`."""

    contact_id: str
    start_time_ms: int
    contact_type: str | None = None
    calling_number: str | None = None
    called_number: str | None = None
    broker: str | None = None
    additional_broker: str | None = None
    established_time_ms: int | None = None
    release_time_ms: int | None = None
    call_duration_s: int | None = None
    release_initiator: str | None = None
    release_reason: str | None = None
    contact_disposition: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def release_code(self) -> int | None:
        """The SIP code at the head of ReleaseReason (`200 - OK`, `486:USER_BUSY`), if any."""
        return sip_code(self.release_reason)


def sip_code(reason: str | None) -> int | None:
    """The SIP code at the head of a ReleaseReason: `200 - OK`, `486:USER_BUSY`, `486 Busy Here`."""
    found = _SIP_CODE.match(reason or "")
    return int(found[1]) if found else None


@dataclass(frozen=True)
class RecordPage:
    """One page of ListCallDetailRecords. `total_count` is None where CCC does not report it
    (it fills TotalCount only on page 1 and answers 0 on the others)."""

    records: tuple[CallRecord, ...]
    total_count: int | None
    page_number: int | None
    page_size: int | None


def parse_record(data: object) -> CallRecord:
    """One record: GetCallDetailRecord's `Data`, or one item of ListCallDetailRecords'
    `Data.List`. Raises RecordsUnreadable unless it reads as a call record."""
    return _record(data, "Data", None)


def parse_record_answer(body: object) -> CallRecord:
    """GetCallDetailRecord's whole answer -> its record, or RecordsUnreadable (which carries
    the answer's RequestId)."""
    envelope = _envelope(body)
    return _record(envelope.get("Data"), "Data", envelope)


def parse_record_page(body: object) -> RecordPage:
    """ListCallDetailRecords' whole answer -> its page, or RecordsUnreadable."""
    envelope = _envelope(body)
    data = envelope.get("Data")
    if not isinstance(data, Mapping):
        raise _unreadable(f"Data is {_kind(data)}, not a mapping", envelope)
    items = data.get("List")
    if not isinstance(items, list):
        raise _unreadable(f"Data.List is {_kind(items)}, not a list{_keys(data)}", envelope)
    page_number = _whole(data, "PageNumber", "Data", envelope)
    total = _whole(data, "TotalCount", "Data", envelope)
    if total == 0 and page_number != 1:
        total = None
    return RecordPage(
        records=tuple(_record(item, f"Data.List[{i}]", envelope) for i, item in enumerate(items)),
        total_count=total,
        page_number=page_number,
        page_size=_whole(data, "PageSize", "Data", envelope),
    )


def get_record(client: RecordsClient, instance_id: str, contact_id: str) -> CallRecord:
    """GetCallDetailRecord, read strictly. CCC's own errors (e.g. 404 while the record is not
    written yet) raise as `client.call` raises them; an answer that is not this call's record
    raises RecordsUnreadable."""
    body = client.call("GetCallDetailRecord", {"InstanceId": instance_id, "ContactId": contact_id})
    record = parse_record_answer(body)
    if record.contact_id != contact_id:
        raise _unreadable(f"asked for {contact_id}, answered {record.contact_id}", body)
    return record


def matches(record: CallRecord, *, callee: str, broker: str) -> bool:
    """Whether the record is a call to `callee` through `broker`, however either side writes
    the numbers (+86, 86, 0086, separators, full width, trunk 0). The broker is looked for in
    `Broker` and in `CallingNumber` (GetCallDetailRecord names no Broker)."""
    return same_number(record.called_number, callee) and (
        same_number(record.broker, broker) or same_number(record.calling_number, broker)
    )


def iter_call_records(
    client: RecordsClient,
    instance_id: str,
    *,
    start_ms: int,
    end_ms: int,
    called_number: str | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> Iterator[CallRecord]:
    """Every record whose StartTime is in [start_ms, end_ms], each ContactId once, paging
    through ListCallDetailRecords until a short page. Page 1's TotalCount (the only page that
    reports it) is a check: pages that end short of it raise; a window too big for CCC's
    100-page limit is listed in halves.

    With `called_number`, only records whose CalledNumber is that number (see
    `dialer.phones.same_number`). CCC is asked with the fuzzy `Criteria` filter on the
    national number, not the exact `CalledNumber` filter, which would miss records written as
    +86…; the exact comparison is made here.

    Raises RecordsUnreadable (code Records.Unreadable, Records.Incomplete or Records.TooMany)
    when the pages cannot be read or do not add up, and CCC's errors as `client.call` does.
    Records yielded before an error are real; the absence of one is proven only when the
    iteration ends normally, and even then only for records already written."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}, not {page_size}")
    if start_ms > end_ms:
        raise ValueError(f"start_ms {start_ms} is after end_ms {end_ms}")
    params = {"InstanceId": instance_id, "PageSize": str(page_size)}
    if called_number is not None:
        national = normalise_for_match(called_number)
        if not national:
            raise ValueError("called_number is empty")
        params["Criteria"] = json.dumps({"phoneNumber": national}, separators=(",", ":"))
    seen: set[str] = set()
    for record in _window(client, params, start_ms, end_ms, page_size):
        if record.contact_id in seen:
            # Records written while we page shift the pages; halves of a split overlap.
            continue
        seen.add(record.contact_id)
        if called_number is None or same_number(record.called_number, called_number):
            yield record


def records_by_contact_ids(
    client: RecordsClient,
    instance_id: str,
    contact_ids: Iterable[str],
    *,
    start_ms: int,
    end_ms: int,
    page_size: int = MAX_PAGE_SIZE,
) -> dict[str, CallRecord]:
    """{contact_id: record} for those of `contact_ids` whose record started in the window,
    from one listing of the window (stopping early once all are found). ListCallDetailRecords'
    `ContactId` filter takes one id and ignores every other filter, so it cannot batch; an id
    missing from the result has no record there yet, which does not prove the call never
    happened. Raises as iter_call_records does."""
    wanted = set(contact_ids)
    found: dict[str, CallRecord] = {}
    if not wanted:
        return found
    for record in iter_call_records(
        client, instance_id, start_ms=start_ms, end_ms=end_ms, page_size=page_size
    ):
        if record.contact_id in wanted:
            found[record.contact_id] = record
            if len(found) == len(wanted):
                break
    return found


def _window(
    client: RecordsClient, params: dict[str, str], start_ms: int, end_ms: int, page_size: int
) -> Iterator[CallRecord]:
    window = {**params, "StartTime": str(start_ms), "EndTime": str(end_ms)}
    total: int | None = None
    got = 0
    for number in range(1, MAX_PAGE_NUMBER + 1):
        page = _page(client, window, number)
        if number == 1:
            total = page.total_count
            if total is not None and total > SPLIT_ABOVE_PAGES * page_size and start_ms < end_ms:
                for half_start, half_end in _halves(start_ms, end_ms):
                    yield from _window(client, params, half_start, half_end, page_size)
                return
        yield from page.records
        got += len(page.records)
        # Only a short page ends the listing. Records are written while we page (each as
        # its call ends) and shift the others along, so counting up to page 1's TotalCount
        # would stop before the last of them. A server that pages smaller than asked must
        # not make every page look short.
        if len(page.records) < min(page_size, page.page_size or page_size):
            if total is not None and got < total:
                raise _unreadable(
                    f"TotalCount was {total} but the pages ended after {got} records",
                    None,
                    code=INCOMPLETE,
                )
            return
    raise _unreadable(
        f"still full at page {MAX_PAGE_NUMBER} ({page_size} a page) for StartTime "
        f"{start_ms}..{end_ms}",
        None,
        code=TOO_MANY,
    )


def _halves(start_ms: int, end_ms: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Two windows, each smaller, covering [start_ms, end_ms]. They share their middle
    millisecond because CCC does not say whether EndTime is inclusive."""
    if end_ms - start_ms < 2:
        return (start_ms, start_ms), (end_ms, end_ms)
    middle = (start_ms + end_ms) // 2
    return (start_ms, middle), (middle, end_ms)


def _page(client: RecordsClient, window: dict[str, str], number: int) -> RecordPage:
    body = client.call("ListCallDetailRecords", {**window, "PageNumber": str(number)})
    page = parse_record_page(body)
    if page.page_number is not None and page.page_number != number:
        raise _unreadable(f"asked for page {number}, answered page {page.page_number}", body)
    return page


def _envelope(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise _unreadable(f"the answer is {_kind(body)}, not a JSON object", None)
    return body


def _record(data: object, where: str, envelope: Mapping[str, Any] | None) -> CallRecord:
    if not isinstance(data, Mapping):
        raise _unreadable(f"{where} is {_kind(data)}, not a call record", envelope)
    contact_id = data.get("ContactId")
    if not isinstance(contact_id, str) or not contact_id.strip():
        raise _unreadable(f"{where} has no ContactId{_keys(data)}", envelope)
    start = _whole(data, "StartTime", where, envelope)
    if not start:
        raise _unreadable(f"{where} has no StartTime{_keys(data)}", envelope)

    def text(key: str) -> str | None:
        return _text(data, key, where, envelope)

    def whole(key: str) -> int | None:
        return _whole(data, key, where, envelope)

    return CallRecord(
        contact_id=contact_id,
        start_time_ms=start,
        contact_type=text("ContactType"),
        calling_number=text("CallingNumber"),
        called_number=text("CalledNumber"),
        broker=text("Broker"),
        additional_broker=text("AdditionalBroker"),
        established_time_ms=whole("EstablishedTime"),
        release_time_ms=whole("ReleaseTime"),
        call_duration_s=whole("CallDuration"),
        release_initiator=text("ReleaseInitiator"),
        release_reason=text("ReleaseReason"),
        contact_disposition=text("ContactDisposition"),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


def _text(
    data: Mapping[str, Any], key: str, where: str, envelope: Mapping[str, Any] | None
) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    # The value itself may be a phone number: name its type only.
    raise _unreadable(f"{where}.{key} is {_kind(value)}, not text", envelope)


def _whole(
    data: Mapping[str, Any], key: str, where: str, envelope: Mapping[str, Any] | None
) -> int | None:
    """A non-negative whole number (a time in ms, seconds, a count), given as a JSON number or
    a digit string; None when absent or empty."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and value >= 0 and float(value).is_integer():
        return int(value)
    raise _unreadable(f"{where}.{key} is not a whole number: {str(value)[:40]!r}", envelope)


def _unreadable(
    why: str, envelope: Mapping[str, Any] | None, *, code: str = UNREADABLE
) -> RecordsUnreadable:
    request_id = envelope.get("RequestId") if envelope else None
    status = envelope.get("HttpStatusCode") if envelope else None
    return RecordsUnreadable(
        code,
        f"not call records: {why}",
        http_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        request_id=str(request_id) if request_id else None,
    )


def _kind(value: object) -> str:
    if value is None:
        return "missing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _keys(data: Mapping[str, Any]) -> str:
    names = sorted(str(k) for k in data)[:8]
    return f" (keys: {', '.join(names)})" if names else " (empty)"
