"""The CCC actions the simulator answers, with the documented errors and messages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dialer.ccc.client import TAGS_MAX_BYTES
from dialer.ccc.simulator.calls import NUMBER_FIELDS, format_number, national_number
from dialer.ccc.simulator.state import PlacedCall, SimulatorState


class ApiError(Exception):
    """An error answered in the CCC envelope (Code, Message, HttpStatusCode, Params)."""

    def __init__(self, status: int, code: str, message: str, params: list[str]) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Reply:
    data: Any
    # "hang": the call was placed but the answer comes too late; "drop": placed, then the
    # connection is closed without an answer. Both model a request whose fate the client
    # cannot know.
    fate: str = "answer"


def _blank(name: str) -> ApiError:
    return ApiError(
        400, "Parameter.Blank", f"The parameter {name} may not be null or blank.", [name]
    )


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value.strip():
        raise _blank(name)
    return value


def _instance(state: SimulatorState, params: dict[str, str]) -> str:
    instance_id = _required(params, "InstanceId")
    if instance_id not in state.config.instance_ids:
        raise ApiError(
            404,
            "NotExists.InstanceId",
            f"The specified instance {instance_id} does not exist.",
            [instance_id],
        )
    return instance_id


def _number(state: SimulatorState, instance_id: str, number: str) -> None:
    if number not in state.config.numbers:
        raise ApiError(
            404,
            "NotExists.Number",
            f"The specified number {number} does not exist in instance {instance_id}.",
            [number, instance_id],
        )


def _int_param(params: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, "Parameter.Invalid", f"The parameter {name} is not a valid integer.", [name]
        ) from None
    if value < minimum:
        raise ApiError(
            400, "Parameter.Minimum", f"The parameter {name} must be at least {minimum}.", [name]
        )
    return value


def start_back2back_call(state: SimulatorState, params: dict[str, str], request_id: str) -> Reply:
    instance_id = _instance(state, params)
    caller = _required(params, "Caller")
    callee = _required(params, "Callee")
    broker = _required(params, "Broker")
    _number(state, instance_id, broker)
    additional = params.get("AdditionalBroker") or None
    if additional:
        _number(state, instance_id, additional)
    timeout_seconds = _int_param(params, "TimeoutSeconds", 30, 1)
    tags = params.get("Tags") or None
    if tags and len(tags.encode()) > TAGS_MAX_BYTES:
        raise ApiError(
            400,
            "Parameter.Maximum",
            f"The parameter Tags must not exceed {TAGS_MAX_BYTES} bytes.",
            ["Tags"],
        )
    if state.roll(state.faults.fail_rate):
        raise ApiError(
            500,
            "InternalService.CTI",
            "An internal CTI service error occurred. Simulated failure.",
            ["Simulated failure."],
        )
    call = state.place(
        request_id=request_id,
        instance_id=instance_id,
        caller=caller,
        callee=callee,
        broker=broker,
        additional_broker=additional,
        timeout_seconds=timeout_seconds,
        tags=tags,
    )
    now_ms = int(call.accepted_at * 1000)
    data = {
        "CallContext": {
            "CallType": "BACK2BACK",
            "InstanceId": instance_id,
            "JobId": call.job_id,
            "ChannelContexts": [
                {
                    "ReleaseInitiator": "",
                    "ChannelState": "CREATED",
                    "Destination": caller,
                    "UserId": "",
                    "ChannelFlags": "",
                    "Timestamp": now_ms,
                    "ReleaseReason": "",
                    "CallType": "BACK2BACK",
                    "JobId": call.job_id,
                    "ChannelId": f"ch:user:{broker}->{caller}:{now_ms}:{call.job_id}",
                    "Originator": broker,
                    "UserExtension": "",
                }
            ],
        }
    }
    if state.roll(state.faults.drop_rate):
        return Reply(data, "drop")
    if state.roll(state.faults.hang_rate):
        return Reply(data, "hang")
    return Reply(data)


# A lookup answered 200 "OK" whose Data is not a record: CCC still writing it, say.
_NOT_A_RECORD = {"Status": "PROCESSING"}
_MAX_PAGE = 100


def _public_record(call: PlacedCall, *, in_list: bool) -> dict[str, Any]:
    """The record as CCC answers it: GetCallDetailRecord has no Broker fields and an int
    CallDuration; list items carry Broker and a string CallDuration."""
    record = {k: v for k, v in call.cdr.items() if k != "Caller"}
    for name in NUMBER_FIELDS:
        if record.get(name):
            record[name] = format_number(record[name], call.number_format)
    if in_list:
        record["CallDuration"] = str(record["CallDuration"])
    else:
        record.pop("Broker")
        record.pop("AdditionalBroker")
    return record


def get_call_detail_record(state: SimulatorState, params: dict[str, str], request_id: str) -> Reply:
    instance_id = _instance(state, params)
    contact_id = _required(params, "ContactId")
    if state.roll(state.faults.cdr_odd_rate):
        return Reply(dict(_NOT_A_RECORD))
    call = state.call_by_job(contact_id)
    if call is None or call.instance_id != instance_id or not state.cdr_ready(call, time.time()):
        raise ApiError(
            404,
            "NotExists.ContactId",
            f"The specified contact {contact_id} does not exist.",
            [contact_id],
        )
    return Reply(_public_record(call, in_list=False))


def _page_param(params: dict[str, str], name: str) -> int:
    value = _int_param(params, name, 0, 1)
    if value == 0:
        raise _blank(name)
    if value > _MAX_PAGE:
        raise ApiError(
            400, "Parameter.Maximum", f"The parameter {name} must be at most {_MAX_PAGE}.", [name]
        )
    return value


def _id_list(raw: str) -> set[str]:
    """ContactIdList as a JSON array or comma-separated (the docs show neither; accept both)."""
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    items = parsed if isinstance(parsed, list) else raw.split(",")
    return {str(item).strip() for item in items if str(item).strip()}


def _criteria_number(raw: str) -> str:
    try:
        criteria = json.loads(raw) if raw else {}
    except ValueError:
        criteria = {}
    number = criteria.get("phoneNumber") if isinstance(criteria, dict) else None
    return national_number(str(number)) if number else ""


def _record_filter(params: dict[str, str], *, v2: bool) -> Callable[[PlacedCall], bool]:
    names = ("CalledNumber", "CallingNumber", "Broker") if v2 else ("CalledNumber", "CallingNumber")
    # Numbers match as national numbers, however the records happen to write them.
    numbers = {name: national_number(params[name]) for name in names if params.get(name)}
    # Criteria {"phoneNumber": N}: CCC's fuzzy filter, any number of the call containing N.
    fuzzy = _criteria_number(params.get("Criteria") or "")
    ids: set[str] | None = None
    if v2 and params.get("ContactIdList"):
        ids = _id_list(params["ContactIdList"])
    elif not v2 and params.get("ContactId"):
        ids = {params["ContactId"]}

    def wanted(call: PlacedCall) -> bool:
        if fuzzy and not any(
            fuzzy in national_number(call.cdr[name] or "") for name in NUMBER_FIELDS
        ):
            return False
        return (ids is None or call.job_id in ids) and all(
            national_number(call.cdr[name]) == number for name, number in numbers.items()
        )

    return wanted


def _list_records(state: SimulatorState, params: dict[str, str], *, v2: bool) -> Reply:
    instance_id = _instance(state, params)
    page_number = _page_param(params, "PageNumber")
    page_size = _page_param(params, "PageSize")
    if state.roll(state.faults.cdr_odd_rate):
        return Reply(dict(_NOT_A_RECORD))
    now = time.time()
    start = _int_param(params, "StartTime", 0, 0)
    end = _int_param(params, "EndTime", 2**62, 0)
    wanted = _record_filter(params, v2=v2)
    matches = [
        c
        for c in state.snapshot()
        if c.instance_id == instance_id
        and state.cdr_ready(c, now)
        and start <= c.cdr["StartTime"] <= end
        and wanted(c)
    ]
    first = (page_number - 1) * page_size
    return Reply(
        {
            "PageNumber": page_number,
            "PageSize": page_size,
            # CCC reports the real total only on the first page.
            "TotalCount": len(matches) if page_number == 1 else 0,
            "List": [_public_record(c, in_list=True) for c in matches[first : first + page_size]],
        }
    )


def list_call_detail_records(
    state: SimulatorState, params: dict[str, str], request_id: str
) -> Reply:
    return _list_records(state, params, v2=False)


def list_call_detail_records_v2(
    state: SimulatorState, params: dict[str, str], request_id: str
) -> Reply:
    """ListCallDetailRecordsV2: adds the Broker and ContactIdList filters (many known calls
    looked up in one request)."""
    return _list_records(state, params, v2=True)


def release_call(state: SimulatorState, params: dict[str, str], request_id: str) -> Reply:
    instance_id = _instance(state, params)
    job_id = _required(params, "JobId")
    call = state.call_by_job(job_id)
    if call is None or call.instance_id != instance_id:
        raise ApiError(404, "NotExists.JobId", f"The call {job_id} does not exist.", [job_id])
    return Reply(
        {
            "CallContext": {
                "CallType": "BACK2BACK",
                "InstanceId": instance_id,
                "JobId": job_id,
                "ChannelContexts": [
                    {
                        "ChannelState": "RELEASED",
                        "JobId": job_id,
                        "Destination": call.caller,
                        "Originator": call.broker,
                        "ReleaseInitiator": "agent",
                        "Timestamp": int(time.time() * 1000),
                    }
                ],
            }
        }
    )


ACTIONS: dict[str, Callable[[SimulatorState, dict[str, str], str], Reply]] = {
    "StartBack2BackCall": start_back2back_call,
    "GetCallDetailRecord": get_call_detail_record,
    "ListCallDetailRecords": list_call_detail_records,
    "ListCallDetailRecordsV2": list_call_detail_records_v2,
    "ReleaseCall": release_call,
}
