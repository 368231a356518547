"""The CCC actions the simulator answers, with the documented errors and messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dialer.ccc.client import TAGS_MAX_BYTES
from dialer.ccc.simulator.state import SimulatorState


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


def _cdr_public(cdr: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cdr.items() if k not in ("Caller",)}


def get_call_detail_record(state: SimulatorState, params: dict[str, str], request_id: str) -> Reply:
    instance_id = _instance(state, params)
    contact_id = _required(params, "ContactId")
    call = state.call_by_job(contact_id)
    if call is None or call.instance_id != instance_id or not state.cdr_ready(call, time.time()):
        raise ApiError(
            404,
            "NotExists.ContactId",
            f"The specified contact {contact_id} does not exist.",
            [contact_id],
        )
    cdr = _cdr_public(call.cdr)
    cdr.pop("Broker")
    cdr.pop("AdditionalBroker")
    return Reply(cdr)


def list_call_detail_records(
    state: SimulatorState, params: dict[str, str], request_id: str
) -> Reply:
    instance_id = _instance(state, params)
    page_number = _int_param(params, "PageNumber", 0, 1)
    page_size = _int_param(params, "PageSize", 0, 1)
    if page_number == 0:
        raise _blank("PageNumber")
    if page_size == 0:
        raise _blank("PageSize")
    if page_size > 100:
        raise ApiError(
            400, "Parameter.Maximum", "The parameter PageSize must be at most 100.", ["PageSize"]
        )
    now = time.time()
    start = _int_param(params, "StartTime", 0, 0)
    end = _int_param(params, "EndTime", 2**62, 0)
    filters = {
        "ContactId": params.get("ContactId"),
        "CalledNumber": params.get("CalledNumber"),
        "CallingNumber": params.get("CallingNumber"),
    }
    matches = [
        _cdr_public(c.cdr)
        for c in state.snapshot()
        if c.instance_id == instance_id
        and state.cdr_ready(c, now)
        and start <= c.cdr["StartTime"] <= end
        and all(not v or c.cdr.get(k) == v for k, v in filters.items())
    ]
    for m in matches:
        m["CallDuration"] = str(m["CallDuration"])
    first = (page_number - 1) * page_size
    return Reply(
        {
            "PageNumber": page_number,
            "PageSize": page_size,
            # CCC reports the real total only on the first page.
            "TotalCount": len(matches) if page_number == 1 else 0,
            "List": matches[first : first + page_size],
        }
    )


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
    "ReleaseCall": release_call,
}
