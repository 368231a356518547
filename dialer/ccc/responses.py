"""Typed views of CCC answers, parsed tolerantly: unknown fields are kept aside in `extra`,
missing optional fields become None/empty."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _extra(data: Mapping[str, Any], known: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in known}


@dataclass(frozen=True)
class ChannelContext:
    channel_id: str | None
    channel_state: str | None
    call_type: str | None
    job_id: str | None
    originator: str | None
    destination: str | None
    release_initiator: str | None
    release_reason: str | None
    timestamp_ms: int | None
    user_id: str | None
    user_extension: str | None
    channel_flags: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelContext:
        return cls(
            channel_id=_str(data, "ChannelId"),
            channel_state=_str(data, "ChannelState"),
            call_type=_str(data, "CallType"),
            job_id=_str(data, "JobId"),
            originator=_str(data, "Originator"),
            destination=_str(data, "Destination"),
            release_initiator=_str(data, "ReleaseInitiator"),
            release_reason=_str(data, "ReleaseReason"),
            timestamp_ms=_int(data, "Timestamp"),
            user_id=_str(data, "UserId"),
            user_extension=_str(data, "UserExtension"),
            channel_flags=_str(data, "ChannelFlags"),
        )


@dataclass(frozen=True)
class CallContext:
    call_type: str | None
    instance_id: str | None
    job_id: str | None
    channel_contexts: tuple[ChannelContext, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallContext:
        channels = data.get("ChannelContexts") or []
        return cls(
            call_type=_str(data, "CallType"),
            instance_id=_str(data, "InstanceId"),
            job_id=_str(data, "JobId"),
            channel_contexts=tuple(
                ChannelContext.from_json(c) for c in channels if isinstance(c, Mapping)
            ),
        )


@dataclass(frozen=True)
class UserContext:
    user_id: str | None
    extension: str | None
    instance_id: str | None
    job_id: str | None
    user_state: str | None
    work_mode: str | None
    device_id: str | None
    device_state: str | None
    mobile: str | None
    break_code: str | None
    heartbeat_ms: int | None
    reserved_ms: int | None
    outbound_scenario: bool | None
    signed_skill_group_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserContext:
        scenario = data.get("OutboundScenario")
        return cls(
            user_id=_str(data, "UserId"),
            extension=_str(data, "Extension"),
            instance_id=_str(data, "InstanceId"),
            job_id=_str(data, "JobId"),
            user_state=_str(data, "UserState"),
            work_mode=_str(data, "WorkMode"),
            device_id=_str(data, "DeviceId"),
            device_state=_str(data, "DeviceState"),
            mobile=_str(data, "Mobile"),
            break_code=_str(data, "BreakCode"),
            heartbeat_ms=_int(data, "Heartbeat"),
            reserved_ms=_int(data, "Reserved"),
            outbound_scenario=scenario if isinstance(scenario, bool) else None,
            signed_skill_group_ids=tuple(str(s) for s in data.get("SignedSkillGroupIdList") or ()),
        )


_ENVELOPE = frozenset({"Code", "HttpStatusCode", "Message", "RequestId", "Params", "Data"})
_DATA = frozenset({"CallContext", "UserContext"})


@dataclass(frozen=True)
class CallResult:
    """The answer to StartBack2BackCall."""

    code: str
    http_status_code: int | None
    message: str | None
    request_id: str | None
    params: tuple[str, ...]
    call_context: CallContext | None
    user_context: UserContext | None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def job_id(self) -> str | None:
        return self.call_context.job_id if self.call_context else None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CallResult:
        raw = body.get("Data")
        data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        call = data.get("CallContext")
        user = data.get("UserContext")
        extra = _extra(body, _ENVELOPE)
        data_extra = _extra(data, _DATA)
        if data_extra:
            extra["Data"] = data_extra
        return cls(
            code=_str(body, "Code") or "",
            http_status_code=_int(body, "HttpStatusCode"),
            message=_str(body, "Message"),
            request_id=_str(body, "RequestId"),
            params=tuple(str(p) for p in body.get("Params") or ()),
            call_context=CallContext.from_json(call) if isinstance(call, Mapping) else None,
            user_context=UserContext.from_json(user) if isinstance(user, Mapping) else None,
            extra=extra,
        )


@dataclass(frozen=True)
class CallDetailRecord:
    """The fields of GetCallDetailRecord's Data that decide a call's final outcome."""

    contact_id: str | None
    contact_type: str | None
    calling_number: str | None
    called_number: str | None
    start_time_ms: int | None
    established_time_ms: int | None
    release_time_ms: int | None
    call_duration_s: int | None
    release_initiator: str | None
    release_reason: str | None
    contact_disposition: str | None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = frozenset(
        {
            "ContactId",
            "ContactType",
            "CallingNumber",
            "CalledNumber",
            "StartTime",
            "EstablishedTime",
            "ReleaseTime",
            "CallDuration",
            "ReleaseInitiator",
            "ReleaseReason",
            "ContactDisposition",
        }
    )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallDetailRecord:
        return cls(
            contact_id=_str(data, "ContactId"),
            contact_type=_str(data, "ContactType"),
            calling_number=_str(data, "CallingNumber"),
            called_number=_str(data, "CalledNumber"),
            start_time_ms=_int(data, "StartTime"),
            established_time_ms=_int(data, "EstablishedTime"),
            release_time_ms=_int(data, "ReleaseTime"),
            call_duration_s=_int(data, "CallDuration"),
            release_initiator=_str(data, "ReleaseInitiator"),
            release_reason=_str(data, "ReleaseReason"),
            contact_disposition=_str(data, "ContactDisposition"),
            extra=_extra(data, cls._KNOWN),
        )
